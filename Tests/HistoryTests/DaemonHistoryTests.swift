import Foundation
import Glibc
import HistoryStore
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Reports
import Testing

extension JSONRPCClient {
    func decodedCall<T: Decodable>(_ method: String, _ params: some Encodable, as: T.Type, timeout: Double = 30) throws -> T {
        try call(method, params: try JSONValue(encoding: params), timeoutSeconds: timeout).decode(as: T.self)
    }
}

/// lockdiagd with a simulated motor-stall lock: history, report, HTML, CLI, all real.
@Suite(.serialized) struct DaemonHistoryTests {
    @Test func aMotorStallLockGetsAHistoryAndASignedReportWithItsRealTracePlotted() async throws {
        try await offPool { try Self.motorStallReport() }
    }

    @Test func lockdiagdRefusesADatabaseOrKeyItCannotTrustAndSaysWhatToDo() async throws {
        try await offPool {
            let dir = try TemporaryDirectory(prefix: "bad")
            defer { dir.remove() }
            let notes = dir.path + "/notes.sqlite"
            _ = FileManager.default.createFile(atPath: notes, contents: Data("not a database\n".utf8))
            let refused = try ChildProcess.run("lockdiagd", ["--simulate", "healthy", "--socket", dir.path + "/s.sock", "--db", notes],
                                               timeoutSeconds: 20)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("is not a lockdiag history database"), "\(refused.stderr)")
            #expect(refused.stderr.contains("--db PATH"))

            let key = dir.path + "/open.key"
            _ = try StationKey.create(path: key)
            chmod(key, 0o644)
            let exposed = try ChildProcess.run("lockdiagd", ["--simulate", "healthy", "--socket", dir.path + "/s.sock",
                                                             "--db", dir.path + "/h.sqlite", "--key", key], timeoutSeconds: 20)
            #expect(exposed.status != 0)
            #expect(exposed.stderr.contains("chmod 600"), "\(exposed.stderr)")
        }
    }

    static func motorStallReport() throws {
        let directory = try TemporaryDirectory(prefix: "rep")
        defer { directory.remove() }
        let daemon = try DaemonProcess(["--simulate", "motor-stall", "--simulate-activity", "0"], directory: directory)
        defer { daemon.stop() }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        // The id is the serial number once the lock has answered IDENTIFY (its path before).
        var device = ""
        #expect(try TestSupport.wait(upTo: 10) {
            guard let lock = try client.decodedCall(APIMethod.devicesList, [String: String](), as: DevicesList.self).devices.first,
                  lock.model != nil else { return false }
            device = lock.id
            return true
        })
        try #require(!device.isEmpty)

        let run = try client.decodedCall(APIMethod.testsRun, TestsRunParams(device: device, test: .all, confirm: true), as: TestRun.self, timeout: 60)
        let motor = try #require(run.results.first { $0.test == .motor })
        #expect(motor.verdict == .fail)
        let trace = try #require(motor.traces.first)
        #expect(trace.samplesMilliamps.count > 100)

        // The stall is in the history, and stays there after the technician clears it.
        #expect(try TestSupport.wait(upTo: 10) {
            try client.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: device), as: FaultHistory.self).events
                .contains { $0.code == "0x0101" }
        })
        let cleared = try client.decodedCall(APIMethod.faultsClear, DeviceParams(device: device), as: FaultsCleared.self)
        #expect(cleared.cleared > 0)
        let history = try client.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: device), as: FaultHistory.self)
        #expect(history.record?.model == "LX-300")
        #expect(history.events.contains { $0.code == "0x0101" && $0.event != .cleared })
        let clear = try #require(history.events.last { $0.event == .cleared })
        #expect(clear.clearedBy == "uid \(getuid()), pid \(getpid())")
        #expect(history.events.count >= cleared.cleared + 1)
        let later = try client.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: device, since: clear.at), as: FaultHistory.self)
        #expect(later.events.first?.at ?? "" >= clear.at)
        #expect(throws: RPCClientError.self) {
            try client.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: device, since: "last tuesday"), as: FaultHistory.self)
        }

        // The same history through the CLI, with an age for --since.
        let env = [DefaultPaths.socketEnvironmentVariable: daemon.socketPath]
        let shown = try ChildProcess.run("lockdiag", ["faults", "--history", device, "--since", "1h"], environment: env)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("0x0101") && shown.stdout.contains("cleared") && shown.stdout.contains("by uid \(getuid())"))
        let badSince = try ChildProcess.run("lockdiag", ["faults", "--history", device, "--since", "soon"], environment: env)
        #expect(badSince.status == 64)
        #expect(badSince.stderr.contains("7d"))

        // The report, through the CLI: JSON and HTML, both verifying with the station's key.
        let json = daemon.directory.path + "/report.json", html = daemon.directory.path + "/report.html"
        let made = try ChildProcess.run("lockdiag", ["report", device, "-o", json, "--html", html], environment: env)
        #expect(made.status == 0 || made.status == 2, "\(made.stderr)")
        #expect(made.stdout.contains("written to"))
        let publicKey = try ChildProcess.run("lockdiag", ["key", "--public"], environment: env).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(PublicKeyText(base64: publicKey) != nil)
        for file in [json, html] {
            let verified = try ChildProcess.run("lockdiag", ["verify", file, "--key", publicKey])
            #expect(verified.status == 0, "\(file): \(verified.stdout) \(verified.stderr)")
            #expect(verified.stdout.hasPrefix("valid"))
        }

        let signed = try JSONDecoder().decode(SignedReport.self, from: try #require(FileManager.default.contents(atPath: json)))
        let report = signed.report
        #expect(report.device.id == device)
        #expect(report.station.host == localHostName())
        #expect(report.selfTests.map(\.test).sorted { $0.rawValue < $1.rawValue } == [.battery, .fingerprint, .motor])
        #expect(report.faultHistory.contains { $0.event == .cleared })
        let stalled = try #require(report.actuations.last { $0.summary.analysis == "stall" && $0.trace != nil })
        #expect(stalled.battery.count >= 2, "status samples under load")
        #expect(stalled.trace!.samplesMilliamps.max()! > report.thresholds.stallCurrentMilliamps)

        // The page plots that very trace: one polyline point per sample, the threshold drawn in.
        let page = String(decoding: try #require(FileManager.default.contents(atPath: html)), as: UTF8.self)
        let caption = "Actuation \(stalled.summary.actuation): "
        let chart = try #require(page.range(of: "<title>\(caption)"))
        let svg = page[chart.lowerBound...].prefix(while: { _ in true })
        let end = try #require(svg.range(of: "</svg>"))
        let body = svg[..<end.lowerBound]
        #expect(body.contains("stall threshold \(report.thresholds.stallCurrentMilliamps) mA"))
        let points = try #require(body.range(of: "points=\""))
        #expect(body[points.upperBound...].prefix { $0 != "\"" }.split(separator: " ").count == stalled.trace!.samplesMilliamps.count)
        for fetch in ["src=", "href=", "url(", "http://", "https://"] { #expect(!page.contains(fetch)) }

        // One changed digit in the signed content: invalid, exit 2.
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: json)))
        let text = String(decoding: bytes, as: UTF8.self)
        let digit = text.utf8.distance(from: text.startIndex, to: try #require(text.range(of: "\"peak_current_ma\":")).upperBound)
        bytes[digit] = bytes[digit] == 0x39 ? 0x38 : bytes[digit] + 1
        _ = FileManager.default.createFile(atPath: json + ".tampered", contents: Data(bytes))
        let tampered = try ChildProcess.run("lockdiag", ["verify", json + ".tampered"])
        #expect(tampered.status == 2)
        #expect(tampered.stdout.hasPrefix("INVALID"))

        let info = try client.decodedCall(APIMethod.stationInfo, [String: String](), as: StationInfo.self)
        #expect(info.history.faultEvents >= history.events.count)
        #expect(info.history.writeErrors == 0)
        #expect(info.key.publicKey == publicKey)
        #expect(info.key.path == directory.path + "/station.key")
        #expect(throws: RPCClientError.remote(RPCError.unknownDevice("LX3-NOBODY"))) {
            try client.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: "LX3-NOBODY"), as: FaultHistory.self)
        }
        client.close()

        // The history outlives the lock: restarted on the same database with another lock
        // attached, the first one's history, and a report on it, still come from the database,
        // signed by the same station key.
        #expect(daemon.stop() == 0)
        let second = try DaemonProcess(["--simulate", "healthy", "--simulate-seed", "2", "--simulate-activity", "0"], directory: directory)
        defer { #expect(second.stop() == 0) }
        let again = JSONRPCClient(socketPath: second.socketPath)
        #expect(try again.decodedCall(APIMethod.devicesList, [String: String](), as: DevicesList.self).devices.allSatisfy { $0.id != device })
        let kept = try again.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: device), as: FaultHistory.self)
        #expect(kept.events == history.events)
        let offline = try again.decodedCall(APIMethod.reportCreate, DeviceParams(device: device), as: SignedReport.self)
        #expect(offline.report.device.state == "not connected")
        #expect(offline.report.device.model == "LX-300")
        #expect(offline.report.status == nil)
        #expect(offline.signature.publicKey == publicKey)
        #expect(ReportVerifier.verify(fileBytes: try ReportSigner.fileBytes(offline), trusted: .key(PublicKeyText(base64: publicKey)!)).valid)
    }
}

func localHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A fault status a client saw, by notification or in `faults.list`.
struct Sighting: Hashable, CustomStringConvertible {
    var device: String
    var code: String
    var status: FaultStatus
    var firstSeen: String
    var count: Int
    /// What the daemon said of it: false when its event was not on disk yet (docs/reports.md#durability).
    var saved: Bool?
    var via: String

    var description: String {
        "\(device) \(code) \(status.rawValue) first_seen \(firstSeen) count \(count) saved \(saved.map(String.init) ?? "absent") (\(via))"
    }

    /// Whether the history holds the event that put the fault in this status.
    func isRecorded(in events: [FaultEvent]) -> Bool {
        events.contains { $0.code == code && $0.status == status && $0.firstSeen == firstSeen && $0.count <= count }
    }
}

/// SIGKILL at random moments while faults are raised, healed and cleared: after a restart, every
/// fault status any client saw — unless the daemon said it was not saved yet — is in the
/// history, and the database passes its integrity check.
@Suite(.serialized) struct CrashDurabilityTests {
    static let arguments = ["--simulate", "motor-stall,noisy-line,flaky,battery-worn,clutch-slip,fingerprint-degraded",
                            "--simulate-activity", "0.25", "--confirm-after", "1", "--heal-after", "1", "--poll-hz", "100"]

    @Test func everyFaultAClientSawSurvivesSIGKILL() async throws {
        try await offPool { try Self.crashes() }
    }

    static func crashes() throws {
        let environment = ProcessInfo.processInfo.environment
        let cycles = environment["LOCKDIAG_CRASH_CYCLES"].flatMap(Int.init) ?? 4
        var random = SeededGenerator(seed: environment["LOCKDIAG_CRASH_SEED"].flatMap(UInt64.init) ?? 0x10C4_D1A6)
        let directory = try TemporaryDirectory(prefix: "crash")
        defer { directory.remove() }
        var seen = Set<Sighting>()
        // A lock is shown by its path until it answers IDENTIFY; the events of faults it raised
        // before that then belong to its serial (HistoryRecord.DeviceSighting.formerID).
        var laterID: [String: String] = [:]
        var clearsAnswered = 0
        for cycle in 0..<cycles {
            let daemon = try DaemonProcess(Self.arguments, directory: directory)
            let watcher = JSONRPCClient(socketPath: daemon.socketPath)
            let reader = JSONRPCClient(socketPath: daemon.socketPath)
            let devices = try watcher.decodedCall(APIMethod.devicesList, [String: String](), as: DevicesList.self).devices.map(\.id)
            for device in devices { _ = try watcher.call(APIMethod.telemetrySubscribe, params: ["device": .string(device)]) }
            let lifetime = Double.random(in: 0.3...3.0, using: &random)
            let deadline = Date().addingTimeInterval(lifetime)
            var nextClear = Date().addingTimeInterval(Double.random(in: 0.1...0.6, using: &random))
            func record(_ fault: Fault, via: String) {
                seen.insert(Sighting(device: fault.device, code: fault.code, status: fault.status, firstSeen: fault.firstSeen,
                                     count: fault.count, saved: fault.saved, via: via))
            }
            func drain(_ seconds: Double) {
                while let event = try? watcher.poll(timeoutSeconds: seconds) {
                    if case .notification(_, let params) = event, let note = try? params.decode(as: TelemetryNotification.self),
                       let fault = note.fault {
                        record(fault, via: "notification")
                    }
                }
            }
            while Date() < deadline {
                drain(0.01)
                if let list = try? reader.decodedCall(APIMethod.faultsList, FaultsListParams(), as: FaultsList.self, timeout: 5) {
                    for fault in list.faults { record(fault, via: "faults.list") }
                }
                if Date() >= nextClear, let device = devices.randomElement(using: &random) {
                    nextClear = Date().addingTimeInterval(Double.random(in: 0.2...0.8, using: &random))
                    if (try? reader.decodedCall(APIMethod.faultsClear, DeviceParams(device: device), as: FaultsCleared.self, timeout: 5)) != nil {
                        clearsAnswered += 1
                    }
                }
            }
            for lock in (try? reader.decodedCall(APIMethod.devicesList, [String: String](), as: DevicesList.self).devices) ?? []
            where lock.id != lock.path {
                laterID[lock.path] = lock.id
            }
            daemon.child.signal(SIGKILL)
            #expect(daemon.child.waitForExit(within: 10))
            // What was already on its way to the client counts as seen, too.
            drain(0.2)
            // A crashed database is recovered from its WAL on the next open, and whole.
            let check = try HistoryDatabase(path: daemon.databasePath)
            #expect(try check.integrityCheck() == ["ok"], "cycle \(cycle)")
        }

        let daemon = try DaemonProcess(Self.arguments, directory: directory)
        defer { daemon.stop() }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        var missing: [Sighting] = []
        var events: [String: [FaultEvent]] = [:]
        for device in Set(seen.map(\.device)) {
            // By the id it was seen under (if the history knows it) and by the one it got later.
            events[device] = ([device] + (laterID[device].map { [$0] } ?? [])).flatMap { id in
                (try? client.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: id), as: FaultHistory.self).events) ?? []
            }
        }
        // A status shown as unsaved may have died with the daemon; every other one must be on disk.
        let unsaved = seen.filter { $0.saved == false }
        for sighting in seen where sighting.saved != false && !sighting.isRecorded(in: events[sighting.device] ?? []) {
            missing.append(sighting)
        }
        let notifications = seen.filter { $0.via == "notification" }.count
        print("crash test: \(cycles) kills, \(seen.count) sightings (\(notifications) by notification, \(unsaved.count) shown unsaved), \(clearsAnswered) clears answered, \(events.values.joined().count) events in history, \(missing.count) missing")
        #expect(notifications > 10, "the test saw too few fault notifications (\(notifications)) to mean anything")
        #expect(seen.allSatisfy { $0.saved != nil }, "every fault carries `saved` when the daemon keeps a history")
        // With a healthy disk an event is queued (shown unsaved) only while the history thread
        // prunes, every 10 minutes: nearly every status is committed before it is shown.
        #expect(unsaved.count * 20 < seen.count, "\(unsaved.count) of \(seen.count) sightings were unsaved: \(unsaved.prefix(5))")
        #expect(clearsAnswered > 0)
        #expect(events.values.joined().filter { $0.event == .cleared }.count >= 1)
        #expect(missing.isEmpty, "seen by a client but not in the history: \(missing.prefix(5))")
        daemon.stop()
        #expect(try HistoryDatabase(path: daemon.databasePath).integrityCheck() == ["ok"])
    }
}
