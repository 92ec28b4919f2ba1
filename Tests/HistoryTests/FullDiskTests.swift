import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// The history on a disk that really fills up: a 4 MiB tmpfs, mounted in a private mount
/// namespace (`unshare --mount`) that only the daemon lives in, and filled to the last byte
/// through /proc/PID/root. Clients keep seeing faults, marked unsaved, and `daemon.info` says
/// why; once space is freed every fault status a client saw is in the history.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root to mount a tmpfs in a private mount namespace (unshare --mount)"))
struct FullDiskTests {
    @Test func onAFullDiskFaultsAreShownUnsavedAndAreAllSavedOnceSpaceReturns() async throws {
        try await offPool { try Self.fullDisk() }
    }

    static func fullDisk() throws {
        let directory = try TemporaryDirectory(prefix: "full")
        defer { directory.remove() }
        let mountPoint = directory.path + "/disk"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let launcher = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                        "mount -t tmpfs -o size=4m lockdiag-full \"$1\" && shift && exec \"$@\"", "lockdiag-full-disk", mountPoint]
        let daemon = try DaemonProcess(CrashDurabilityTests.arguments + ["--db", mountPoint + "/history.sqlite"], launcher: launcher,
                                       directory: directory)
        defer { daemon.stop() }
        // The daemon's view of its filesystem (unshare execs, so the pid is lockdiagd's).
        let disk = "/proc/\(daemon.child.process.processIdentifier)/root" + mountPoint
        #expect(FileManager.default.fileExists(atPath: disk + "/history.sqlite"), "the database is on the daemon's tmpfs")
        #expect(!FileManager.default.fileExists(atPath: mountPoint + "/history.sqlite"), "…which nobody else sees")

        let watcher = JSONRPCClient(socketPath: daemon.socketPath)
        let reader = JSONRPCClient(socketPath: daemon.socketPath)
        let devices = try reader.decodedCall(APIMethod.devicesList, [String: String](), as: DevicesList.self).devices.map(\.id)
        for device in devices { _ = try watcher.call(APIMethod.telemetrySubscribe, params: ["device": .string(device)]) }
        var seen = Set<Sighting>()
        func look() {
            while let event = try? watcher.poll(timeoutSeconds: 0.01) {
                if case .notification(_, let params) = event, let fault = (try? params.decode(as: TelemetryNotification.self))?.fault {
                    seen.insert(Sighting(device: fault.device, code: fault.code, status: fault.status, firstSeen: fault.firstSeen,
                                         count: fault.count, saved: fault.saved, via: "notification"))
                }
            }
            for fault in (try? reader.decodedCall(APIMethod.faultsList, FaultsListParams(), as: FaultsList.self))?.faults ?? [] {
                seen.insert(Sighting(device: fault.device, code: fault.code, status: fault.status, firstSeen: fault.firstSeen,
                                     count: fault.count, saved: fault.saved, via: "faults.list"))
            }
        }
        func health() throws -> HistoryHealth? {
            try reader.decodedCall(APIMethod.daemonInfo, [String: String](), as: DaemonInfo.self).health?.history
        }
        #expect(try health()?.status == .ok)

        // Fill the filesystem to the last byte.
        let ballast = disk + "/ballast"
        func fill() throws {
            let fd = open(ballast, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            try #require(fd >= 0, "open \(ballast): errno \(errno)")
            var filled = 0
            for chunk in [65536, 4096, 512] {
                let block = [UInt8](repeating: 0xA5, count: chunk)
                while true {
                    let n = write(fd, block, chunk)
                    if n > 0 { filled += n }
                    if n < chunk { break }
                }
            }
            let fullErrno = errno
            close(fd)
            #expect(fullErrno == ENOSPC, "filling stopped with errno \(fullErrno)")
            print("full disk test: \(filled) bytes of ballast")
        }
        try fill()

        // Faults keep coming; their events cannot be written: shown unsaved, health degraded.
        var degraded: HistoryHealth?
        #expect(TestSupport.wait(upTo: 60, pollEvery: 0.02) {
            look()
            if degraded == nil, let h = try? health(), h.status == .degraded { degraded = h }
            return degraded != nil && seen.filter { $0.saved == false }.count >= 3
        }, "no unsaved faults seen; health \(String(describing: degraded))")
        let reason = degraded?.reason ?? ""
        #expect(reason.contains("database or disk is full"), "\(reason)")
        #expect(reason.contains("free space on the filesystem holding \(mountPoint)"), "\(reason)")
        let list = try reader.decodedCall(APIMethod.faultsList, FaultsListParams(), as: FaultsList.self)
        #expect(list.history?.status == .degraded)
        #expect(list.faults.allSatisfy { $0.saved != nil })
        let unsavedNow = list.faults.filter { $0.saved == false }
        #expect(unsavedNow.allSatisfy { ($0.unsavedEvents ?? 0) > 0 && $0.lostEvents == nil }, "\(unsavedNow)")

        // What a technician sees: the faults, marked, and why.
        try #require(!unsavedNow.isEmpty, "a fault seen unsaved stays unsaved while the disk is full")
        let env = [DefaultPaths.socketEnvironmentVariable: daemon.socketPath]
        let faults = try ChildProcess.run("lockdiag", ["faults"], environment: env)
        #expect(faults.stdout.contains("NOT SAVED: "), "\(faults.stdout)")
        #expect(faults.stdout.contains("History DEGRADED"))
        #expect(faults.stdout.contains("database or disk is full"))
        let info = try ChildProcess.run("lockdiag", ["info"], environment: env)
        #expect(info.stdout.contains("DEGRADED") && info.stdout.contains("unsaved in memory:"), "\(info.stdout)")
        if ProcessInfo.processInfo.environment["LOCKDIAG_SHOW"] != nil { print(faults.stdout + "\n" + info.stdout) }

        // Space returns: everything waiting is written, and the degraded state clears.
        #expect(unlink(ballast) == 0)
        var recovered: HistoryHealth?
        #expect(TestSupport.wait(upTo: 60, pollEvery: 0.05) {
            look()
            if let h = try? health(), h.status == .ok { recovered = h }
            return recovered != nil
        }, "still degraded: \(String(describing: try? health()))")
        look()
        #expect(recovered?.unsavedRecords == 0)
        #expect(recovered?.droppedRecords == 0)
        #expect(recovered?.quarantined == 0)
        #expect((recovered?.writeErrors ?? 0) > 0)

        // Every fault status a client saw, saved or not at the time, is in the history now.
        // A lock seen by its path before it identified itself has those events under its serial.
        var laterID: [String: String] = [:]
        for lock in try reader.decodedCall(APIMethod.devicesList, [String: String](), as: DevicesList.self).devices where lock.id != lock.path {
            laterID[lock.path] = lock.id
        }
        var events: [String: [FaultEvent]] = [:]
        for device in Set(seen.map(\.device)) {
            events[device] = try reader.decodedCall(APIMethod.faultsHistory, FaultsHistoryParams(device: laterID[device] ?? device),
                                                    as: FaultHistory.self).events
        }
        let missing = seen.filter { !$0.isRecorded(in: events[$0.device] ?? []) }
        let unsaved = seen.filter { $0.saved == false }
        print("full disk test: \(seen.count) sightings, \(unsaved.count) shown unsaved, \(events.values.joined().count) events in history, \(missing.count) missing")
        #expect(missing.isEmpty, "seen by a client but not in the history: \(missing.prefix(5))")
        #expect(events.values.joined().allSatisfy { $0.event != .lost }, "nothing was dropped")
        watcher.close()

        // reports.md § Durability: stopped (SIGTERM) while the disk still refuses writes, it
        // logs how many records it could not write.
        try fill()
        #expect(TestSupport.wait(upTo: 60, pollEvery: 0.05) { ((try? health())?.unsavedRecords ?? 0) > 0 },
                "nothing waiting unsaved on the full disk: \(String(describing: try? health()))")
        reader.close()
        #expect(daemon.stop() == 0)
        let stopping = daemon.child.allErrors.split(separator: "\n").first { $0.contains("history: stopping with") }
        #expect(stopping?.contains("unsaved") == true && stopping?.contains("they are lost") == true
                && stopping?.contains("stopping with 0 record(s) (0 fault event(s)) and 0") == false, "\(daemon.child.allErrors.suffix(600))")
    }
}
