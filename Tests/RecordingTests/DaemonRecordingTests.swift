import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import PcapNG
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `lockdiagd --record` with simulated locks, as real processes: the file it writes, read by
/// Debian's tshark with the project's Lua dissectors (firmware-specs/wireshark/).
@Suite(.serialized) struct DaemonRecordingTests {
    static let ldpScript = TestSupport.firmwareSpec("wireshark/ldp.lua").path
    static let tuyaScript = TestSupport.firmwareSpec("wireshark/tuya.lua").path

    /// tshark's fields (`-T fields`), one row per packet, `|` between fields.
    static func fields(_ file: String, script: String, filter: String? = nil, _ names: [String]) throws -> [[String]] {
        var arguments = ["-X", "lua_script:\(script)", "-r", file, "-T", "fields", "-E", "separator=|", "-E", "aggregator=,"]
        if let filter { arguments += ["-Y", filter] }
        for name in names { arguments += ["-e", name] }
        let result = try runTool(PcapNGTests.tshark, arguments)
        #expect(result.status == 0, "tshark: \(result.err)")
        #expect(!result.err.contains("Lua: Error"), "\(result.err)")
        return result.out.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    static func fileMode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }

    static func inode(_ path: String) -> ino_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_ino : nil
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : -1
    }

    @Test func motorStallLockIsRecordedAndDecodedByTshark() throws {
        let directory = try TemporaryDirectory(prefix: "rec")
        defer { directory.remove() }
        let file = directory.path + "/lock.pcapng"
        let daemon = try DaemonProcess(["--simulate", "motor-stall", "--simulate-activity", "0", "--no-discovery", "--record", file])
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        var device = "", model = ""
        #expect(try TestSupport.wait(upTo: 15) {
            guard let lock = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first,
                  lock.model != nil else { return false }
            device = lock.id
            model = lock.model ?? ""
            return true
        })
        try #require(!device.isEmpty)
        // The motor self-test actuates the stalled bolt: its exchange must be in the recording.
        let run = try client.call(APIMethod.testsRun, params: JSONValue(encoding: TestsRunParams(device: device, test: .motor, confirm: true)),
                                  timeoutSeconds: 60).decode(as: TestRun.self)
        #expect(run.results.first?.verdict == .fail)
        #expect(daemon.stop() == 0)

        #expect(Self.fileMode(file) == 0o600)
        let info = try runTool("/usr/bin/capinfos", [file])
        #expect(info.status == 0, "\(info.err)")
        #expect(info.out.contains("lockdiagd \(LockDiagVersion.current)"), "\(info.out)")
        #expect(info.out.contains("may hold unlock"), "\(info.out)")
        #expect(info.out.contains("host "), "\(info.out)")
        // The interface names the lock its IDENTIFY answer gave (if_hardware), though declared by the recorder.
        #expect(info.out.contains("model \(model), serial \(device), firmware "), "\(info.out)")

        let rows = try Self.fields(file, script: Self.ldpScript, ["frame.interface_name", "frame.interface_description",
                                                                    "frame.packet_flags_direction", "ldp1.kind", "ldp1.seq", "ldp1.type",
                                                                    "ldp1.crc.status", "ldp1.serial", "ldp1.result"])
        #expect(rows.count > 20)
        // One interface: the simulated lock's pty, as an LDP/1 serial link.
        #expect(Set(rows.map { $0[0] }).count == 1)
        #expect(rows[0][0].hasPrefix("serial:/"), "\(rows[0])")
        #expect(rows[0][1].contains("LDP/1"), "\(rows[0])")
        // Requests go out, responses come in, every frame's CRC is good, and each response
        // echoes the request's seq (LDP/1 §4.1).
        let outbound = rows.filter { PcapNGTests.direction($0[2]) == .outbound }
        let inbound = rows.filter { PcapNGTests.direction($0[2]) == .inbound }
        #expect(!outbound.isEmpty && !inbound.isEmpty)
        #expect(outbound.allSatisfy { $0[3].split(separator: ",").allSatisfy { $0 == "0" } }, "requests: \(outbound.prefix(3))")
        #expect(inbound.allSatisfy { $0[3].split(separator: ",").allSatisfy { $0 != "0" } }, "answers: \(inbound.prefix(3))")
        #expect(rows.allSatisfy { $0[6].split(separator: ",").allSatisfy { $0 == "1" } }, "a CRC verdict is bad")
        let requestSeqs = Set(outbound.flatMap { $0[4].split(separator: ",").map(String.init) })
        let answerSeqs = Set(inbound.filter { $0[3] == "1" }.flatMap { $0[4].split(separator: ",").map(String.init) })
        #expect(!answerSeqs.isEmpty && answerSeqs.isSubset(of: requestSeqs))
        // IDENTIFY's answer carries the serial the daemon lists; the stall is a RUN_SELFTEST
        // (0x07) sent and a stalled actuation (ACTUATION_FINISHED result 1) received.
        #expect(rows.contains { $0[7] == device }, "serial \(device) not decoded")
        #expect(outbound.contains { $0[5] == "0x07" })
        #expect(inbound.contains { $0[8] == "1" }, "no stalled ACTUATION_FINISHED decoded")
    }

    /// locksim's battery-low Tuya MCU on a pty in `links`, speaking `dialect`; the pty lockdiagd opens.
    static func batteryLowTuyaLock(dialect: String, in links: TemporaryDirectory) throws -> (ChildProcess, String) {
        let sim = try ChildProcess("locksim", ["--pty", "--link-dir", links.path, "--seed", "5", "--dialect", dialect,
                                               "--scenario", "battery-low", "--activity", "0"])
        let line = sim.readLine(within: 10)
        if line == nil {
            sim.terminate()
        }
        return (sim, try #require(line, "locksim gave no pty: \(sim.allErrors)").split(separator: " ").map(String.init)[0])
    }

    /// The standard protocol's DP report is 0x07 after lockdiag's heartbeat (0x00); the
    /// low-power one's is 0x05 (or 0x08, a stored record) after its product query (0x01).
    @Test(arguments: [("tuya", "0x00", ["0x07"]), ("tuya-lowpower", "0x01", ["0x05", "0x08"])])
    func tuyaLockDPsAreDecoded(dialect: String, request: String, reportCommands: [String]) throws {
        let links = try TemporaryDirectory(prefix: "rect")
        defer { links.remove() }
        let (sim, mcu) = try Self.batteryLowTuyaLock(dialect: dialect, in: links)
        defer { sim.terminate() }
        let file = links.path + "/tuya.pcapng"
        let daemon = try DaemonProcess(["--serial", mcu, "--dialect", dialect, "--no-discovery", "--record", file])
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 15) {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(mcu)]).decode(as: DeviceStatus.self).battery.percent != nil
        })
        let percent = try client.call(APIMethod.deviceStatus, params: ["device": .string(mcu)]).decode(as: DeviceStatus.self).battery.percent
        #expect(daemon.stop() == 0)

        let rows = try Self.fields(file, script: Self.tuyaScript, ["frame.interface_description", "frame.packet_flags_direction",
                                                                     "tuyamcu.command", "tuyamcu.checksum.status", "tuyamcu.dp_id", "tuyamcu.value"])
        #expect(rows.first?[0].contains("Tuya MCU") == true && rows.first?[0].contains("(dialect \(dialect))") == true, "\(rows.first ?? [])")
        #expect(rows.allSatisfy { $0[3].split(separator: ",").allSatisfy { $0 == "1" } }, "a checksum verdict is bad")
        // lockdiag's requests go out; the MCU's DP report comes in with DP 12, the battery
        // percentage of the wifi-lock layout, at the value the daemon shows.
        #expect(rows.contains { PcapNGTests.direction($0[1]) == .outbound && $0[2].split(separator: ",").contains(Substring(request)) })
        let reports = rows.filter { row in
            PcapNGTests.direction(row[1]) == .inbound && row[2].split(separator: ",").contains { reportCommands.contains(String($0)) }
        }
        // (`tuyamcu.value` holds the value-type DPs only; DP 12 is this report's one.)
        let battery = reports.filter { $0[4].split(separator: ",").contains("12") }.flatMap { $0[5].split(separator: ",").map(String.init) }
        #expect(!battery.isEmpty, "no DP 12 decoded in \(reports.prefix(3))")
        #expect(battery.contains(percent.map(String.init) ?? "?"), "DP 12 \(battery), daemon \(String(describing: percent))")
    }

    @Test func recordingRotatesAtItsSizeLimitAndKeepsItsFiles() throws {
        let directory = try TemporaryDirectory(prefix: "recr")
        defer { directory.remove() }
        let file = directory.path + "/lock.pcapng"
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--no-discovery", "--poll-hz", "500",
                                        "--record", file, "--record-max-bytes", "65536", "--record-files", "2"])
        // The recorder's own thread, named for ps -L / top -H (docs/architecture.md, "Threads").
        let tasks = "/proc/\(daemon.child.process.processIdentifier)/task"
        let threads = ((try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []).compactMap {
            try? String(contentsOfFile: "\(tasks)/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(threads.contains("lockdiag-rec"), "\(threads)")
        // Two rotations: FILE.1 is replaced by the next FILE (another inode), and FILE.2 never appears.
        var firstInode: ino_t?
        #expect(TestSupport.wait(upTo: 60, pollEvery: 0.05) {
            guard let inode = Self.inode(file + ".1") else { return false }
            if firstInode == nil { firstInode = inode }
            return inode != firstInode
        })
        // The new FILE has had time for some traffic (the rotation may have been a moment ago).
        #expect(TestSupport.wait(upTo: 30, pollEvery: 0.05) { Self.fileSize(file) > 8192 })
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: file + ".2"))
        for path in [file, file + ".1"] {
            #expect(Self.fileSize(path) <= 65536, "\(path): \(Self.fileSize(path)) bytes")
            #expect(Self.fileMode(path) == 0o600)
            // Each file stands alone: its own section header and the link's interface.
            let rows = try Self.fields(path, script: Self.ldpScript, ["frame.interface_name", "ldp1.crc.status"])
            #expect(rows.count > 10, "\(path)")
            #expect(rows.allSatisfy { $0[0].hasPrefix("serial:/") })
        }
    }

    /// The faults a daemon shows for its one lock: device, code, name, status, source.
    static func faults(_ client: JSONRPCClient) throws -> [String] {
        try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults
            .map { "\($0.device) \($0.code) \($0.name) \($0.status) \($0.source)" }.sorted()
    }

    /// `lockdiagd --replay FILE` at `speed`, its one lock listed with transport `replay`, expected
    /// to come to show `liveFaults` (as `faults` reads them); the daemon (stop it), a client, the lock.
    static func replay(_ file: String, speed: Double, showing liveFaults: [String], _ faults: (JSONRPCClient) throws -> [String])
        throws -> (DaemonProcess, JSONRPCClient, DeviceSummary) {
        let replay = try DaemonProcess(["--replay", file, "--replay-speed", "\(speed)", "--no-discovery"])
        let client = JSONRPCClient(socketPath: replay.socketPath)
        guard let lock = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first else {
            replay.stop()
            throw RecordingTestError.noReplayedLock(file)
        }
        #expect(lock.transport == "replay")
        var replayed: [String] = []
        #expect(try TestSupport.wait(upTo: 20) {
            replayed = try faults(client)
            return replayed == liveFaults
        }, "live \(liveFaults), replayed \(replayed)")
        return (replay, client, lock)
    }

    enum RecordingTestError: Error { case noReplayedLock(String) }

    @Test(arguments: [1.0, 20.0])
    func replayedMotorStallLockIsDiagnosedAsLive(speed: Double) throws {
        let directory = try TemporaryDirectory(prefix: "recp")
        defer { directory.remove() }
        let file = directory.path + "/stall.pcapng"
        let live = try DaemonProcess(["--simulate", "motor-stall", "--simulate-activity", "0", "--no-discovery", "--record", file])
        let liveClient = JSONRPCClient(socketPath: live.socketPath)
        #expect(try TestSupport.wait(upTo: 15) { try Self.faults(liveClient).contains { $0.contains("motor_stall confirmed") } })
        // Past the confirmation: the recording then holds the answers that settled the diagnosis.
        let liveFaults = try Self.faults(liveClient)
        #expect(live.stop() == 0)

        let (replay, _, _) = try Self.replay(file, speed: speed, showing: liveFaults, Self.faults)
        defer { replay.stop() }
    }

    /// locksim's one BLE lock on the seqpacket seam in `directory` (`options`: its scenario, its
    /// GATT services), and the socket lockdiagd's --ble-att-socket takes.
    static func bleLock(in directory: TemporaryDirectory, _ options: [String]) throws -> (ChildProcess, String) {
        let sim = try ChildProcess("locksim", ["--ble-att-socket", directory.path + "/locks", "--count", "1", "--activity", "0", "--seed", "5"] + options)
        let socket = sim.readLine(within: 10)
        if socket == nil {
            sim.terminate()
        }
        return (sim, try #require(socket, "locksim gave no socket: \(sim.allErrors)"))
    }

    /// A BLE lock with the LDP service (locksim's GATT server on the seqpacket seam): its LDP/1
    /// byte stream is recorded on a `ble:` interface, decoded, and replayed with the same faults.
    @Test func bleMotorStallLockIsRecordedAndReplayedWithTheSameFaults() throws {
        let directory = try TemporaryDirectory(prefix: "recb")
        defer { directory.remove() }
        let (sim, socket) = try Self.bleLock(in: directory, ["--scenario", "motor-stall"])
        defer { sim.terminate() }
        let file = directory.path + "/ble.pcapng"
        let live = try DaemonProcess(["--ble-att-socket", socket, "--no-discovery", "--record", file])
        let liveClient = JSONRPCClient(socketPath: live.socketPath)
        #expect(try TestSupport.wait(upTo: 20) { try Self.faults(liveClient).contains { $0.contains("motor_stall confirmed") } })
        let liveFaults = try Self.faults(liveClient)
        #expect(live.stop() == 0)

        // HCI ACL packets carrying ATT (L2CAP CID 4): the host's Write Commands to the command
        // characteristic's handle, the lock's notifications from the response/event one — the
        // handles GATT discovery found, named in the interface — and LDP/1 inside their values.
        let rows = try Self.fields(file, script: Self.ldpScript, ["frame.interface_name", "ldp1.crc.status", "ldp1.serial",
                                                                    "frame.interface_description", "frame.packet_flags_direction",
                                                                    "btl2cap.cid", "btatt.opcode", "btatt.handle", "ldp1.kind"])
        #expect(rows.first?[0].hasPrefix("ble:") == true, "\(rows.first ?? [])")
        #expect(rows.allSatisfy { $0[1].split(separator: ",").allSatisfy { $0 == "1" } }, "a CRC verdict is bad")
        #expect(rows.contains { !$0[2].isEmpty })
        #expect(rows.allSatisfy { $0[5] == "0x0004" && !$0[8].isEmpty }, "not all ATT or not all decoded as LDP/1: \(rows.prefix(3))")
        let writes = rows.filter { PcapNGTests.direction($0[4]) == .outbound }
        let notifications = rows.filter { PcapNGTests.direction($0[4]) == .inbound }
        #expect(!writes.isEmpty && writes.allSatisfy { $0[6] == "0x52" && $0[7] == writes[0][7] }, "\(writes.prefix(3))")
        #expect(!notifications.isEmpty && notifications.allSatisfy { $0[6] == "0x1b" && $0[7] == notifications[0][7] }, "\(notifications.prefix(3))")
        let handles = (writes.first?[7] ?? "?", notifications.first?[7] ?? "?")
        #expect(rows[0][3].contains("writes to handle \(handles.0), notifications from \(handles.1)"), "\(rows[0][3])")

        let (replay, _, _) = try Self.replay(file, speed: 1, showing: liveFaults, Self.faults)
        defer { replay.stop() }
    }

    /// The faults a daemon shows, without the device (a replayed Tuya lock is named after the
    /// recorded link: the Tuya protocol has no serial number to list it under).
    static func faultsOfTheLock(_ client: JSONRPCClient) throws -> [String] {
        try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults.map { "\($0.code) \($0.name) \($0.status) \($0.source)" }.sorted()
    }

    /// A Tuya lock (locksim's battery-low MCU on a pty) recorded live, then replayed through the
    /// Tuya driver in the dialect its interface names: the same faults and battery as live.
    @Test(arguments: ["tuya", "tuya-lowpower"])
    func replayedTuyaLockIsDiagnosedAsLive(dialect: String) throws {
        let links = try TemporaryDirectory(prefix: "rectr")
        defer { links.remove() }
        let (sim, mcu) = try Self.batteryLowTuyaLock(dialect: dialect, in: links)
        defer { sim.terminate() }
        let file = links.path + "/tuya.pcapng"
        let live = try DaemonProcess(["--serial", mcu, "--dialect", dialect, "--no-discovery", "--record", file])
        let liveClient = JSONRPCClient(socketPath: live.socketPath)
        #expect(try TestSupport.wait(upTo: 15) { try Self.faultsOfTheLock(liveClient).contains { $0.contains("battery_low confirmed") } })
        let liveFaults = try Self.faultsOfTheLock(liveClient)
        let livePercent = try liveClient.call(APIMethod.deviceStatus, params: ["device": .string(mcu)]).decode(as: DeviceStatus.self).battery.percent
        #expect(live.stop() == 0)

        let (replay, client, lock) = try Self.replay(file, speed: 5, showing: liveFaults, Self.faultsOfTheLock)
        defer { replay.stop() }
        let status = try client.call(APIMethod.deviceStatus, params: ["device": .string(lock.id)]).decode(as: DeviceStatus.self)
        #expect(status.battery.percent == livePercent && status.tuya != nil, "\(status.battery)")
    }

    @Test func aRecordingCutShortIsRefusedSayingWhatToGive() throws {
        let directory = try TemporaryDirectory(prefix: "recx")
        defer { directory.remove() }
        let file = directory.path + "/cut.pcapng"
        var bytes = PcapNG.sectionHeaderBlock(SectionHeader())
        bytes += PcapNG.interfaceDescriptionBlock(InterfaceDescription(linkType: .user(0), name: "serial:/dev/x"))
        try Data(bytes.dropLast(3)).write(to: URL(fileURLWithPath: file))
        let daemon = try ChildProcess("lockdiagd", ["--replay", file, "--no-discovery", "--socket", directory.path + "/s.sock",
                                                    "--db", directory.path + "/h.sqlite"])
        #expect(daemon.waitForExit(within: 20))
        #expect(daemon.process.terminationStatus != 0)
        #expect(daemon.allErrors.contains("does not fit the file (cut short or corrupt)"), "\(daemon.allErrors)")
        #expect(daemon.allErrors.contains("give a file lockdiagd --record wrote"), "\(daemon.allErrors)")
    }

    /// A FIFO would block the daemon's start (nobody reads it) and a device must never be
    /// truncated or made 0600: only regular files are recorded into.
    @Test func aRecordingPathThatIsNotARegularFileIsRefused() throws {
        let directory = try TemporaryDirectory(prefix: "recf")
        defer { directory.remove() }
        let fifo = directory.path + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        let daemon = try ChildProcess("lockdiagd", ["--simulate", "healthy", "--no-discovery", "--socket", directory.path + "/s.sock",
                                                    "--db", directory.path + "/h.sqlite", "--record", fifo])
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }
        #expect(daemon.waitForExit(within: 20))
        #expect(daemon.allErrors.contains("not a regular file"), "\(daemon.allErrors)")
        #expect(Self.fileMode(fifo) == 0o644)
    }

    @Test func unwritableRecordingStopsTheDaemonSayingWhatToDo() throws {
        let directory = try TemporaryDirectory(prefix: "recw")
        defer { directory.remove() }
        let daemon = try ChildProcess("lockdiagd", ["--simulate", "healthy", "--no-discovery", "--socket", directory.path + "/s.sock",
                                                    "--db", directory.path + "/h.sqlite", "--record", directory.path + "/missing/lock.pcapng"])
        #expect(daemon.waitForExit(within: 20))
        #expect(daemon.process.terminationStatus != 0)
        #expect(daemon.allErrors.contains("choose a file in a directory this user may write"), "\(daemon.allErrors)")
    }
}
