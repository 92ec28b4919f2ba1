import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import PcapNG
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `lockdiag record` / `record.start` against a real lockdiagd with simulated locks: the file
/// the CLI writes, read by Debian's tshark with the project's dissectors, and a client that does
/// not read, which loses packets (counted) while the daemon goes on.
@Suite(.serialized) struct SocketRecordingTests {
    /// Waits for the simulated locks to be identified; returns their ids by serial.
    static func identifiedLocks(_ client: JSONRPCClient, count: Int) throws -> [String] {
        var ids: [String] = []
        #expect(try TestSupport.wait(upTo: 15) {
            let devices = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
            ids = devices.filter { $0.model != nil }.map(\.id)
            return ids.count == count
        })
        return ids
    }

    @Test func lockdiagRecordWritesOneLocksTrafficThatTsharkDecodes() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,motor-stall", "--simulate-activity", "0", "--no-discovery"])
        defer { daemon.stop() }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let ids = try Self.identifiedLocks(client, count: 2)
        try #require(ids.count == 2)
        let device = ids[1]
        // An earlier file readable by others is truncated and made owner-only.
        let file = daemon.directory.path + "/lock.pcapng"
        try Data("old".utf8).write(to: URL(fileURLWithPath: file))
        chmod(file, 0o644)

        let env = [DefaultPaths.socketEnvironmentVariable: daemon.socketPath]
        let recorded = try ChildProcess.run("lockdiag", ["record", device, "--seconds", "2", "-o", file], environment: env)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(recorded.stdout.contains("packet(s) recorded from \(device)"), "\(recorded.stdout)")
        #expect(DaemonRecordingTests.fileMode(file) == 0o600)

        // The section and interface lockdiagd --record writes, with the lock's model and serial.
        let info = try runTool("/usr/bin/capinfos", [file])
        #expect(info.status == 0, "\(info.err)")
        #expect(info.out.contains("lockdiagd \(LockDiagVersion.current)"), "\(info.out)")
        #expect(info.out.contains("may hold unlock"), "\(info.out)")
        #expect(info.out.contains("Number of interfaces in file: 1"), "\(info.out)")
        #expect(info.out.contains("serial \(device)"), "\(info.out)")
        let parsed = try PcapNGFile(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
        #expect(parsed.interfaces.first?.hardware?.hasPrefix("model ") == true)

        let rows = try DaemonRecordingTests.fields(file, script: DaemonRecordingTests.ldpScript,
                                                   ["frame.interface_name", "frame.interface_description", "frame.packet_flags_direction",
                                                    "ldp1.kind", "ldp1.crc.status", "ldp1.seq", "ldp1.type", "ldp1.serial"])
        // Two seconds of 50 Hz polling: about 100 exchanges; only the one lock's link.
        #expect(rows.count > 20, "\(rows.count) packets")
        #expect(Set(rows.map { $0[0] }).count == 1)
        #expect(rows.allSatisfy { $0[0].hasPrefix("serial:/") && $0[1].contains("LDP/1") }, "\(rows.prefix(2))")
        #expect(rows.contains { PcapNGTests.direction($0[2]) == .outbound } && rows.contains { PcapNGTests.direction($0[2]) == .inbound })
        #expect(rows.allSatisfy { $0[4].split(separator: ",").allSatisfy { $0 == "1" } }, "a CRC verdict is bad")
        // One lock's requests only: each seq once (another lock's stream would repeat them).
        let requestSeqs = rows.filter { PcapNGTests.direction($0[2]) == .outbound }.flatMap { $0[5].split(separator: ",") }
        #expect(Set(requestSeqs).count == requestSeqs.count, "\(requestSeqs)")
        let otherPath = try #require(try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first { $0.id == ids[0] }?.path)
        #expect(!rows.contains { $0[0].hasSuffix(otherPath) })

        // The lock was identified long before: lockdiagd asked it again when the recording
        // started, so the file holds a genuine IDENTIFY exchange (request out, answer with the serial in).
        let identify = rows.filter { $0[6].split(separator: ",").contains("0x01") }
        #expect(identify.contains { PcapNGTests.direction($0[2]) == .outbound }, "no IDENTIFY request recorded")
        #expect(identify.contains { PcapNGTests.direction($0[2]) == .inbound && $0[7] == device }, "no IDENTIFY answer recorded")

        // lockdiagd --replay takes it as one of its own files: the recorded link becomes a lock,
        // which comes online under the recorded serial with its model.
        let replay = try DaemonProcess(["--replay", file, "--no-discovery"])
        defer { replay.stop() }
        let replayClient = JSONRPCClient(socketPath: replay.socketPath)
        var replayed: [DeviceSummary] = []
        #expect(try TestSupport.wait(upTo: 15) {
            replayed = try replayClient.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
            return replayed.first?.id == device && replayed.first?.model != nil && replayed.first?.online == true
        }, "\(replayed)")
        #expect(replayed.map(\.transport) == ["replay"], "\(replayed)")
        #expect(replayed.first?.path == rows.first?[0])
    }

    /// A BLE lock with the LDP service (the seqpacket seam): `lockdiag record` writes it as
    /// `lockdiagd --record` does, HCI ACL packets carrying ATT on the handles GATT discovery found,
    /// with LDP/1 inside (the IDENTIFY exchange record.start asks for among it).
    @Test func lockdiagRecordWritesABLELockAsHCIACLAndATT() throws {
        let directory = try TemporaryDirectory(prefix: "recsb")
        defer { directory.remove() }
        let (sim, socket) = try DaemonRecordingTests.bleLock(in: directory, ["--scenario", "healthy"])
        defer { sim.terminate() }
        let daemon = try DaemonProcess(["--ble-att-socket", socket, "--no-discovery"])
        defer { daemon.stop() }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let device = try #require(try Self.identifiedLocks(client, count: 1).first)
        // Its model may come from the Device Information Service before the LDP link is open:
        // wait for a status, which only the open link brings.
        #expect(try TestSupport.wait(upTo: 15) {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(device)]).decode(as: DeviceStatus.self).updatedAt != nil
        })
        let file = directory.path + "/ble.pcapng"
        let recorded = try ChildProcess.run("lockdiag", ["record", device, "--seconds", "1", "-o", file],
                                            environment: [DefaultPaths.socketEnvironmentVariable: daemon.socketPath])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let rows = try DaemonRecordingTests.fields(file, script: DaemonRecordingTests.ldpScript,
                                                   ["frame.interface_description", "frame.packet_flags_direction", "btl2cap.cid",
                                                    "btatt.opcode", "ldp1.kind", "ldp1.serial", "ldp1.type"])
        #expect(rows.count > 10, "\(rows.count) packets")
        #expect(rows.first?[0].contains("as HCI ACL/ATT: writes to handle 0x") == true, "\(rows.first ?? [])")
        #expect(rows.allSatisfy { $0[2] == "0x0004" && !$0[4].isEmpty }, "\(rows.prefix(3))")
        #expect(rows.filter { PcapNGTests.direction($0[1]) == .outbound }.allSatisfy { $0[3] == "0x52" })
        #expect(rows.filter { PcapNGTests.direction($0[1]) == .inbound }.allSatisfy { $0[3] == "0x1b" })
        // The IDENTIFY record.start asks for (its answer may be cut across two PDUs: ATT_MTU − 3
        // bytes of the lock's stream each, so it is not checked here).
        #expect(rows.contains { PcapNGTests.direction($0[1]) == .outbound && $0[6] == "0x01" }, "no IDENTIFY request recorded")
        let info = try runTool("/usr/bin/capinfos", [file])
        #expect(info.out.contains("Bluetooth H4 with linux header"), "\(info.out)")
    }

    /// A client that never reads: lockdiagd drops its chunks (counted, told in record.stop)
    /// rather than wait, and its locks go on being polled.
    @Test func aClientThatDoesNotReadLosesPacketsCountedAndNothingStalls() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--no-discovery",
                                        "--poll-hz", "1000", "--subscriber-buffer", "4096"])
        defer { daemon.stop() }
        let watcher = JSONRPCClient(socketPath: daemon.socketPath)
        let device = try #require(try Self.identifiedLocks(watcher, count: 1).first)
        let recorder = JSONRPCClient(socketPath: daemon.socketPath)
        let started = try recorder.call(APIMethod.recordStart, params: ["device": .string(device)]).decode(as: RecordStarted.self)
        #expect(started.interface.linkType == 147)
        // Another connection's record.stop of it is refused: a recording is its connection's.
        #expect(throws: RPCClientError.self) {
            try watcher.call(APIMethod.recordStop, params: JSONValue(encoding: RecordStopParams(recording: started.recording)))
        }
        // `recorder` reads nothing now; the daemon must drop, not queue without end or wait.
        let cyclesBefore = try watcher.call(APIMethod.daemonStats).decode(as: DaemonStats.self).cycles
        #expect(try TestSupport.wait(upTo: 60) {
            try watcher.call(APIMethod.daemonStats).decode(as: DaemonStats.self).clients?.notificationsDropped ?? 0 > 0
        })
        let stats = try watcher.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        #expect(stats.cycles > cyclesBefore)
        #expect(try watcher.call(APIMethod.deviceStatus, params: ["device": .string(device)]).decode(as: DeviceStatus.self).online)

        let stopped = try recorder.call(APIMethod.recordStop, params: JSONValue(encoding: RecordStopParams(recording: started.recording)), timeoutSeconds: 30)
            .decode(as: RecordStopped.self)
        #expect(stopped.lostPackets > 0)
        #expect(stopped.packets > 0)
        // The chunks that did go say how many were lost before them, in all no more than record.stop says.
        var reportedLost = 0
        while let note = try recorder.nextNotification(timeoutSeconds: 0) {
            guard note.method == APIMethod.recordChunkNotification else { continue }
            reportedLost += try note.params.decode(as: RecordChunk.self).lostPackets
        }
        #expect(reportedLost <= stopped.lostPackets)
        // Stopped means stopped: a second stop is an error that says what to give.
        do {
            _ = try recorder.call(APIMethod.recordStop, params: JSONValue(encoding: RecordStopParams(recording: started.recording)))
            Issue.record("a second record.stop succeeded")
        } catch let RPCClientError.remote(error) {
            #expect(error.code == RPCError.Code.invalidParams)
            #expect(error.message.contains("give the id record.start returned"))
        }
    }

    /// A reader may not record (a recording may hold unlock events); a technician may, and both
    /// calls are in the audit log. Real other users through setpriv, as AccessControlTests does.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func onlyATechnicianRecordsAndTheCallIsAudited() throws {
        let readerGID = 47110, technicianGID = 47111
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--no-discovery",
                                        "--reader-group", "\(readerGID)", "--technician-group", "\(technicianGID)"])
        defer { daemon.stop() }
        let device = try #require(try Self.identifiedLocks(JSONRPCClient(socketPath: daemon.socketPath), count: 1).first)
        func run(groups: [Int], file: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try ChildProcess.run("lockdiag", ["record", device, "--seconds", "1", "-o", file, "--socket", daemon.socketPath],
                                 launcher: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                            "--groups=" + groups.map(String.init).joined(separator: ","), "--"])
        }
        let readerFile = daemon.directory.path + "/reader.pcapng"
        let refused = try run(groups: [readerGID], file: readerFile)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("permission denied: record.start needs the technician role"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: readerFile), "a refused recording leaves no file")

        let technicianFile = daemon.directory.path + "/technician.pcapng"
        let recorded = try run(groups: [readerGID, technicianGID], file: technicianFile)
        #expect(recorded.status == 0, "\(recorded.stderr)")
        #expect(DaemonRecordingTests.fileSize(technicianFile) > 100)
        #expect(daemon.child.waitForErrorLine(containing: "command=record.stop", within: 5) != nil)
        let log = daemon.child.allErrors
        #expect(log.contains("role=reader") && log.contains("command=record.start") && log.contains("→ DENIED"), "\(log)")
        #expect(log.contains("role=technician") && log.contains("command=record.start {\"device\":\"\(device)\"} → succeeded"), "\(log)")
    }

    /// A BLE lock with only the standard GATT services has no byte stream: record.start says so
    /// (and what can be recorded) instead of sending an empty recording.
    @Test func aGATTOnlyLockIsRefusedSayingWhatCanBeRecorded() throws {
        let directory = try TemporaryDirectory(prefix: "recg")
        defer { directory.remove() }
        let (sim, socket) = try DaemonRecordingTests.bleLock(in: directory, ["--gatt-services", "standard", "--scenario", "healthy"])
        defer { sim.terminate() }
        let daemon = try DaemonProcess(["--ble-att-socket", socket, "--no-discovery"])
        defer { daemon.stop() }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        var device = ""
        #expect(try TestSupport.wait(upTo: 20) {
            guard let lock = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first, lock.online else { return false }
            device = lock.id
            return try client.call(APIMethod.deviceStatus, params: ["device": .string(device)]).decode(as: DeviceStatus.self).wireProtocol == "GATT"
        })
        let refused = #expect(throws: RPCClientError.self) { try client.call(APIMethod.recordStart, params: ["device": .string(device)]) }
        guard case .remote(let error)? = refused else { return }
        #expect(error.code == RPCError.Code.deviceRefused)
        #expect(error.message.contains("no byte stream to record"), "\(error.message)")
    }
}
