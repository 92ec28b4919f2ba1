import Foundation
import Glibc
import HistoryStore
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// The places in `value` that hold a JSON `null`, as paths (`devices[2].battery.percent`).
func nullPaths(in value: JSONValue, at path: String = "") -> [String] {
    switch value {
    case .null: [path]
    case .array(let elements): elements.enumerated().flatMap { nullPaths(in: $1, at: "\(path)[\($0)]") }
    case .object(let members): members.flatMap { nullPaths(in: $1, at: path.isEmpty ? $0 : "\(path).\($0)") }
    default: []
    }
}

/// Another process (Python's sqlite3 module) holding a database's write lock (BEGIN
/// IMMEDIATE) until released: to lockdiagd, a disk that does not take writes.
final class SQLiteWriteLock {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()

    init(_ path: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN IMMEDIATE")
            print("held", flush=True)
            sys.stdin.readline()
            c.execute("COMMIT")
            """, path]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Its first line, with a deadline: "held", or nothing if it failed (then its stderr says why).
        var line: [UInt8] = []
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(15)
        while !line.contains(0x0A) && Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 64)
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { break }
            line += chunk[0..<n]
        }
        guard line == Array("held\n".utf8) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let why = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw CouldNotLock(path: path, why: why)
        }
    }

    struct CouldNotLock: Error, CustomStringConvertible {
        var path: String
        var why: String
        var description: String { "python3 could not take the write lock of \(path): \(why)" }
    }

    func release() {
        input.fileHandleForWriting.write(Data("\n".utf8))
        process.waitUntilExit()
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// Promises of the README, docs/socket-api.md, docs/reports.md and docs/security.md kept by a
/// real lockdiagd (issue 14, "every promise holds", part A).
@Suite(.serialized) struct PromiseKeeperATests {
    /// README: permission errors say what to do. lockdiagd, run as an unprivileged user, is
    /// named a lock's serial port it may not open (a real pty, mode 0600, owned by root): the
    /// lock is listed with the open error and the advice, and the log says the same.
    @Test(.enabled(if: OtherUser.canSwitch, "needs root and setpriv to run lockdiagd as another user"))
    func aSerialPortThatMayNotBeOpenedSaysWhatToDo() throws {
        let sim = try SimulatedPtyLocks(["--scenario", "healthy", "--activity", "0"])
        defer { sim.stop() }
        let path = sim.paths[0]
        #expect(chown(path, 0, 0) == 0 && chmod(path, 0o600) == 0, "could not make \(path) root's alone")
        let user = OtherUser(uid: 65534, gid: 65534)
        let daemon = try DaemonProcess(["--serial", path, "--no-discovery"], launcher: user.launcher)
        defer { #expect(daemon.stop() == 0) }
        let advice = "Permission denied — add your user to group lockdiag (see udev/README.md) or run as root"
        var problem: String?
        #expect(TestSupport.wait(upTo: 15, pollEvery: 0.2) {
            let list = try? user.run("lockdiag", ["list", "--json", "--socket", daemon.socketPath])
            problem = list.flatMap { try? JSONValue(parsing: $0.stdout) }?["devices"]?[0]?["problem"]?.stringValue
            return problem != nil
        }, "no problem shown: \(daemon.child.allErrors)")
        #expect(problem?.contains(path) == true && problem?.contains(advice) == true, "\(problem ?? "")")
        #expect(daemon.child.waitForErrorLine(containing: advice, within: 5) != nil, "\(daemon.child.allErrors)")
    }

    /// socket-api.md: a field whose value is unknown is absent, never `null`. Locks whose state
    /// leaves much unknown — a dead fingerprint sensor, a Tuya lock (no motor, no voltage), a
    /// path that does not exist (never answered) — and every read method's answer, every
    /// notification and a signed report are searched for a `null`.
    /// The readings of `device.status` (and of telemetry's `status`) a lock did not report are null;
    /// nothing else ever is.
    static let readingFields: Set<String> = ["battery.voltage_mv", "battery.percent", "motor.current_ma", "temperature_c", "calibrated",
                                             "tamper_active", "active_faults", "actuations", "uptime_s", "updated_at"]

    @Test func anUnknownReadingIsNullAndAnyOtherUnknownValueIsAbsent() throws {
        let sim = try SimulatedPtyLocks(["--seed", "3", "--dialect", "tuya", "--scenario", "motor-stall", "--activity", "0"])
        defer { sim.stop() }
        let tuya = sim.paths[0]
        let missing = sim.links.path + "/no-such-lock"
        let daemon = try DaemonProcess(["--simulate", "fingerprint-dead,motor-stall", "--simulate-activity", "0.5",
                                        "--serial", tuya, "--dialect", "tuya", "--serial", missing, "--dialect", "ldp",
                                        "--no-discovery"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let watcher = JSONRPCClient(socketPath: daemon.socketPath)
        var answers: [(String, JSONValue)] = []
        func ask(_ method: String, _ params: JSONValue? = nil) throws -> JSONValue {
            let result = try client.call(method, params: params)
            answers.append(("\(method) \(params.map { "\($0)" } ?? "")", result))
            return result
        }
        // Wait until the simulated locks have confirmed a fault and the Tuya lock has shown its alarm.
        #expect(try TestSupport.wait(upTo: 30, pollEvery: 0.2) {
            let faults = try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults
            let tuyaAlarm = try client.call(APIMethod.deviceStatus, params: ["device": .string(tuya)]).decode(as: DeviceStatus.self).tuya?.alarms
            return faults.contains { $0.status == .confirmed && $0.freezeFrame != nil } && tuyaAlarm?.isEmpty == false
        }, "the locks never reached the states this test looks at")
        answers.append(("devices.subscribe", try watcher.call(APIMethod.devicesSubscribe)))
        let ids = try devices(client).map(\.id)
        #expect(ids.count == 4)
        for id in ids { answers.append(("telemetry.subscribe \(id)", try watcher.call(APIMethod.telemetrySubscribe, params: ["device": .string(id)]))) }
        _ = try ask(APIMethod.daemonInfo)
        _ = try ask(APIMethod.daemonStats)
        _ = try ask(APIMethod.devicesList)
        _ = try ask(APIMethod.faultsList)
        _ = try ask(APIMethod.stationInfo)
        for id in ids {
            let device: JSONValue = ["device": .string(id)]
            _ = try ask(APIMethod.deviceStatus, device)
            _ = try ask(APIMethod.faultsList, device)
            _ = try ask(APIMethod.faultsHistory, device)
        }
        for id in ids.filter({ $0 != missing }) { _ = try ask(APIMethod.reportCreate, ["device": .string(id)]) }
        // Telemetry of every kind the locks send, for a while.
        var notifications = 0
        let until = Date().addingTimeInterval(3)
        while Date() < until, let note = try watcher.nextNotification(timeoutSeconds: 1) {
            answers.append((note.method, note.params))
            notifications += 1
        }
        #expect(notifications > 0)
        for (what, answer) in answers {
            // A status is a view of the readings wherever it appears: device.status, telemetry's
            // `status`, a report's `report.status`.
            let stray = nullPaths(in: answer).filter { path in
                let field = ["report.status.", "status."].first { path.hasPrefix($0) }.map { String(path.dropFirst($0.count)) }
                    ?? (what.hasPrefix(APIMethod.deviceStatus) ? path : "")
                return !Self.readingFields.contains(field)
            }
            #expect(stray.isEmpty, "\(what): null at \(stray)")
        }
        // The Tuya lock reports no voltage, motor current or counters: null, not 0.
        let tuyaStatus = try client.call(APIMethod.deviceStatus, params: ["device": .string(tuya)])
        for path in ["battery.voltage_mv", "motor.current_ma", "actuations", "uptime_s", "active_faults"] {
            #expect(nullPaths(in: tuyaStatus).contains(path), "Tuya device.status \(path) is not null: \(tuyaStatus)")
        }
    }

    /// reports.md Durability: a finished `tests.run` is committed before it is answered. The
    /// daemon is killed (SIGKILL) the moment the answer arrives, long before the history
    /// thread's 2 s flush; the reopened history holds the run.
    @Test func aFinishedTestRunIsOnDiskWhenItIsAnswered() throws {
        let directory = try TemporaryDirectory(prefix: "kill")
        defer { directory.remove() }
        let (daemon, client, id) = try Self.healthyLockDaemon(in: directory)
        for round in 0..<3 {
            let run = try client.call(APIMethod.testsRun, params: ["device": .string(id), "test": "battery"]).decode(as: TestRun.self)
            if round == 2 { daemon.child.signal(SIGKILL) }
            #expect(run.test == .battery)
        }
        #expect(daemon.child.waitForExit(within: 10))
        let runs = try HistoryDatabase(path: daemon.databasePath).testRuns(device: id)
        #expect(runs.count == 3, "\(runs.count) of the 3 answered runs are in the history")
    }

    /// security.md: the audit log's `started` record is committed (synced) before the call runs.
    /// A motor self-test (the bolt moves for about two seconds) is seen running on the lock, and
    /// the daemon is killed (SIGKILL) before it answers; the reopened history holds the
    /// `started` record, and no outcome.
    @Test func theAuditStartedRecordIsOnDiskBeforeTheCallRuns() throws {
        let directory = try TemporaryDirectory(prefix: "kill")
        defer { directory.remove() }
        let (daemon, client, id) = try Self.healthyLockDaemon(in: directory)
        func motor() throws -> String {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(id)]).decode(as: DeviceStatus.self).motor.state
        }
        // Online comes with IDENTIFY's answer; until the first status the motor is `unknown`,
        // which is not a motor that runs.
        #expect(try TestSupport.wait(upTo: 10) { try motor() == "idle" }, "no status from the lock")
        let technician = try RawConnection(daemon.socketPath)
        technician.send(#"{"jsonrpc":"2.0","id":1,"method":"tests.run","params":{"device":"\#(id)","test":"motor","confirm":true}}"# + "\n")
        #expect(try TestSupport.wait(upTo: 10) { ["locking", "unlocking"].contains(try motor()) }, "the motor never ran")
        daemon.child.signal(SIGKILL)
        #expect(daemon.child.waitForExit(within: 10))
        #expect(technician.line(within: 0.5)?["result"] == nil, "the call had already finished: the check below could not fail")
        let audit = try HistoryDatabase(path: daemon.databasePath).auditEntries().filter { $0.method == APIMethod.testsRun }
        #expect(audit.map(\.outcome) == ["started"], "\(audit)")
    }

    /// README / `lockdiag list --help`: with `--json`, `list --follow` prints each
    /// `devices.changed` notification's params as one JSON line. A USB lock faked by umockdev is
    /// plugged in and unplugged; each line is exactly what a subscriber of the same daemon got.
    @Test func listFollowJSONPrintsEachChangeAsOneLine() throws {
        let scratch = try TemporaryDirectory(prefix: "usbjson")
        defer { scratch.remove() }
        let bed = try Testbed()
        defer { bed.quit() }
        let daemon = try DaemonProcess([], launcher: bed.launcher)
        defer { #expect(daemon.stop() == 0) }
        let subscriber = JSONRPCClient(socketPath: daemon.socketPath)
        _ = try subscriber.call(APIMethod.devicesSubscribe)
        let follow = try ChildProcess("lockdiag", ["list", "--follow", "--json", "--socket", daemon.socketPath])
        defer { follow.signal(SIGKILL) }
        // First the list (devices.list's result, pretty-printed, ending with its closing brace).
        var list = ""
        while let line = follow.readLine(within: 10) {
            list += line + "\n"
            if line == "}" { break }
        }
        #expect(try JSONValue(parsing: list)["devices"] == .array([]), "\(list) \(follow.allErrors)")
        func notified() throws -> JSONValue? {
            while let (method, params) = try subscriber.nextNotification(timeoutSeconds: 10) {
                if method == APIMethod.devicesChangedNotification { return params }
            }
            return nil
        }
        try bed.command("ioctl /dev/bus/usb/001/007 " + Recording.path("lock-bulk.ioctl"))
        try bed.command("add " + Recording.prepare("lock-bulk.umockdev", in: scratch))
        let added = try #require(try notified())
        #expect(added["change"] == "added")
        let addedLine = try #require(follow.readLine(within: 10), "\(follow.allErrors)")
        #expect(try JSONValue(parsing: addedLine) == added, "\(addedLine)")
        try bed.command("uevent \(USBTests.bulkSyspath) remove")
        try bed.command("remove \(USBTests.bulkSyspath)")
        var removed = try #require(try notified())
        // The lock may have come online between the two (a second `added` is not sent, but be exact).
        while removed["change"] != "removed" {
            #expect(try JSONValue(parsing: try #require(follow.readLine(within: 10))) == removed)
            removed = try #require(try notified())
        }
        let removedLine = try #require(follow.readLine(within: 10), "\(follow.allErrors)")
        #expect(try JSONValue(parsing: removedLine) == removed, "\(removedLine)")
        follow.signal(SIGINT)
        #expect(follow.waitForExit(within: 5) && follow.process.terminationStatus == 0)
    }

    /// socket-api.md daemon.stats: counters are published once a second, so figures are at most
    /// that old. Measured by the loop's own clock, not the test's: `cycles` counts poll-loop
    /// ticks (a busy machine makes fewer, never more, than time allows), so once it has grown
    /// by two seconds' worth of ticks after a read, a lock polled all along must show new
    /// frames. Counters published every 2 s or more would fail this; no timing is asserted.
    @Test func statsFiguresAreAtMostASecondOld() throws {
        let directory = try TemporaryDirectory(prefix: "stats")
        defer { directory.remove() }
        let (daemon, client, _) = try Self.healthyLockDaemon(in: directory)
        defer { #expect(daemon.stop() == 0) }
        func stats() throws -> DaemonStats { try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self) }
        for _ in 0..<3 {
            let before = try stats()
            let frames = try #require(before.devices.first).frames
            var after = before
            #expect(try TestSupport.wait(upTo: 30, pollEvery: 0.05) {
                after = try stats()
                return after.cycles >= before.cycles + 2 * UInt64(before.pollHz)
            }, "the poll loop stood still")
            #expect(try #require(after.devices.first).frames > frames,
                    "after \(after.cycles - before.cycles) ticks at \(before.pollHz) Hz the counters still read \(frames) frames")
        }
    }

    /// reports.md Durability: telemetry (status samples, actuations) goes through a queue the
    /// history thread flushes, never written inside the hub's lock. While another process holds
    /// the database's write lock, the lock's actuations are queued (`pending_telemetry`), the
    /// daemon goes on answering and notifying, and once the database is free the queue is
    /// written with no one asking.
    @Test func telemetryIsQueuedAndWrittenByTheHistoryThreadNotByTheHub() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0.3"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let watcher = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 10) { try devices(client).first?.online == true })
        let id = JSONValue.string(try devices(client)[0].id)
        _ = try watcher.call(APIMethod.telemetrySubscribe, params: ["device": id])
        func history() throws -> JSONValue? { try client.call(APIMethod.daemonInfo)["health"]?["history"] }
        func rows() throws -> Int { try client.call(APIMethod.stationInfo).decode(as: StationInfo.self).history.statusSamples }

        let held = try SQLiteWriteLock(daemon.databasePath)
        // The history thread has tried to write and failed, and actuations wait in its queue.
        var health: JSONValue?
        #expect(try TestSupport.wait(upTo: 20, pollEvery: 0.1) {
            health = try history()
            return (health?["write_errors"]?.intValue ?? 0) > 0 && (health?["pending_telemetry"]?.intValue ?? 0) > 0
        }, "the write lock never stopped a flush: \(String(describing: health))")
        let before = try rows()
        // The hub answers, and notifies, meanwhile.
        var actuations = 0
        #expect(TestSupport.wait(upTo: 20) {
            if let note = try? watcher.nextNotification(timeoutSeconds: 1), note.params["actuation"] != nil { actuations += 1 }
            return actuations >= 2
        }, "no actuation notified while the database was locked")
        #expect(try client.call(APIMethod.deviceStatus, params: ["device": id]).decode(as: DeviceStatus.self).device == id.stringValue)
        #expect(try rows() == before, "written while another process held the write lock")

        held.release()
        #expect(try TestSupport.wait(upTo: 20, pollEvery: 0.1) { try rows() > before && history()?["pending_telemetry"]?.intValue == 0 },
                "the queue was not written once the database was free: \(String(describing: try? history()))")
    }

    /// socket-api.md faults.clear: a Tuya lock keeps no fault memory, so only the daemon's faults
    /// are cleared (`cleared_on_device` 0). A simulated Tuya lock with a stuck bolt (its alarm
    /// raises motor_stall), cleared over the socket.
    @Test func clearingATuyaLockClearsOnlyTheDaemonsFaults() throws {
        let sim = try SimulatedPtyLocks(["--seed", "5", "--dialect", "tuya", "--scenario", "motor-stall", "--activity", "0"])
        defer { sim.stop() }
        let path = sim.paths[0]
        let daemon = try DaemonProcess(["--serial", path, "--dialect", "tuya", "--no-discovery"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let device: JSONValue = ["device": .string(path)]
        func stall() throws -> Fault? {
            try client.call(APIMethod.faultsList, params: device).decode(as: FaultsList.self).faults.first { $0.name == "motor_stall" }
        }
        #expect(try TestSupport.wait(upTo: 20, pollEvery: 0.1) { try stall()?.status == .confirmed }, "the lock's alarm never raised motor_stall")
        let cleared = try client.call(APIMethod.faultsClear, params: device).decode(as: FaultsCleared.self)
        #expect(cleared.clearedOnDevice == 0 && cleared.cleared >= 1, "\(cleared)")
        #expect(try stall() == nil)
    }

    /// lockdiagd with one healthy simulated lock, online, in `directory` (which outlives it,
    /// so its history can be read after a kill): the daemon, a client and the lock's id.
    static func healthyLockDaemon(in directory: TemporaryDirectory) throws -> (DaemonProcess, JSONRPCClient, String) {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"], directory: directory)
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 10) { try devices(client).first?.online == true })
        return (daemon, client, try devices(client)[0].id)
    }
}
