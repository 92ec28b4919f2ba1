import Foundation
import Glibc
import LockDiagTestSupport
import Testing

/// Promises to the person running lockdiag (README, docs/bench.md, docs/reports.md,
/// docs/security.md) that docs/promises.md listed without a test, each against real processes.
@Suite(.serialized) struct OperatorPromiseTests {
    /// reports.md § The station key: `lockdiag key` works for a user who cannot read the 0600 key
    /// file, because it asks lockdiagd (station.info) instead of reading it.
    @Test(.enabled(if: OtherUser.canSwitch, "needs root and setpriv to act as a reader"))
    func aReaderWhoCannotReadTheKeyFileGetsTheKeyFromTheDaemon() throws {
        let readerGID: UInt32 = 47120
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0",
                                        "--reader-group", "\(readerGID)", "--technician-group", "47121"])
        defer { #expect(daemon.stop() == 0) }
        let keyFile = daemon.directory.path + "/station.key"
        var info = stat()
        #expect(stat(keyFile, &info) == 0 && info.st_mode & 0o777 == 0o600 && info.st_uid == 0, "the key file is not root's 0600")
        let owner = try ChildProcess.run("lockdiag", ["key", "--public", "--socket", daemon.socketPath])
        #expect(owner.status == 0, "\(owner.stderr)")

        let reader = OtherUser(uid: 65534, gid: 65534, groups: [readerGID])
        let cat = try ChildProcess.run("lockdiag", ["key", "--file", keyFile], launcher: reader.launcher)
        #expect(cat.status != 0, "the reader could read the key file itself, so this test proves nothing: \(cat.stdout)")
        let asked = try reader.run("lockdiag", ["key", "--public", "--socket", daemon.socketPath])
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect(!asked.stdout.isEmpty && asked.stdout == owner.stdout, "reader: \(asked.stdout) owner: \(owner.stdout)")
        let full = try reader.run("lockdiag", ["key", "--socket", daemon.socketPath])
        #expect(full.status == 0 && full.stdout.contains("SHA256:") && full.stdout.contains("Ed25519"), "\(full.stdout)\(full.stderr)")
    }

    /// security.md § The metrics endpoint: an address other than loopback makes lockdiagd warn
    /// at start that the port is reachable from other machines; loopback does not.
    @Test func aMetricsAddressBeyondLoopbackIsWarnedAbout() throws {
        let open = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--metrics", "0.0.0.0:0"])
        #expect(open.stop() == 0)
        // Logged before "ready:", which DaemonProcess waited for: read the whole log.
        let warning = open.child.allErrors.split(separator: "\n").first { $0.contains("reachable from other machines") }
        #expect(warning?.contains("warning") == true && warning?.contains("firewall the port or use 127.0.0.1") == true, "\(open.child.allErrors)")
        let loopback = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--metrics", "127.0.0.1:0"])
        #expect(loopback.stop() == 0)
        #expect(!loopback.child.allErrors.contains("reachable from other machines"), "\(loopback.child.allErrors)")
    }

    /// bench.md § Running it: exit 0 when every lock passed every step, 3 when lockdiagd is not
    /// reachable, 4 when no lock matched.
    @Test func benchExitStatusesZeroThreeAndFour() throws {
        let dir = try TemporaryDirectory(prefix: "bench-exit")
        defer { dir.remove() }
        func plan(_ name: String, locks: String) throws -> String {
            let path = dir.path + "/\(name).yaml"
            try """
                name: \(name)
                locks: \(locks)
                steps:
                  - wait_for_attach: 20s
                  - identify
                  - no_confirmed_faults
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let nowhere = try ChildProcess.run("lockdiag", ["bench", "run", try plan("nowhere", locks: "all"), "--socket", dir.path + "/no.sock"])
        #expect(nowhere.status == 3, "\(nowhere.stdout)\(nowhere.stderr)")

        let daemon = try DaemonProcess(["--simulate", "healthy,healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let none = try ChildProcess.run("lockdiag", ["bench", "run", try plan("nope", locks: "{model: NOPE}"), "--socket", daemon.socketPath])
        #expect(none.status == 4, "\(none.stdout)\(none.stderr)")
        let good = try ChildProcess.run("lockdiag", ["bench", "run", try plan("good", locks: "{expect: 2}"), "--csv", dir.path + "/csv",
                                                     "--socket", daemon.socketPath], timeoutSeconds: 120)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        let summary = try String(contentsOfFile: dir.path + "/csv/summary.csv", encoding: .utf8)
        #expect(summary.split(separator: "\r\n").dropFirst().count == 2 && !summary.contains(",fail,"), "\(summary)")
    }

    /// README § Using it with a real lock: `--realtime` gives the USB event thread, which carries
    /// a USB lock's answers, SCHED_FIFO one step below the poll loop, and says so in the log.
    @Test(.enabled(if: getuid() == 0, "needs root for SCHED_FIFO"))
    func realtimeAlsoMakesTheUSBEventThreadFIFO() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--realtime"])
        defer { #expect(daemon.stop() == 0) }
        let pid = daemon.child.process.processIdentifier
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        let usb = tasks.compactMap(Int32.init).first { tid in
            (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8))?.hasPrefix("lockdiag-usb") == true
        }
        let tid = try #require(usb, "no lockdiag-usb thread among \(tasks.count)")
        #expect(sched_getscheduler(tid) == SCHED_FIFO)
        var parameters = sched_param()
        #expect(sched_getparam(tid, &parameters) == 0 && parameters.sched_priority == 79)
        #expect(daemon.child.allErrors.contains("real-time: SCHED_FIFO priority 79 for the USB event thread"), "\(daemon.child.allErrors)")
    }
}
