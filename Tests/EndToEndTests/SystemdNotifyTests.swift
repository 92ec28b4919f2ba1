import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// lockdiagd speaking systemd's notification protocol itself, to a real AF_UNIX datagram socket
/// standing where systemd's would (NOTIFY_SOCKET), by path and by abstract name.
@Suite(.serialized) struct SystemdNotifyTests {
    @Test(arguments: [false, true])
    func readyStatusWatchdogAndStoppingArrive(abstract: Bool) async throws {
        let systemd = try NotifySocket(abstract: abstract)
        defer { systemd.close() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = directory.path + "/lockdiag.sock"
        // WatchdogSec=0.5 s: keep-alives every 0.25 s.
        let daemon = try ChildProcess("lockdiagd", ["--simulate", "healthy,battery-worn", "--simulate-activity", "0", "--socket", socket],
                                      environment: ["NOTIFY_SOCKET": systemd.name, "WATCHDOG_USEC": "500000"])
        defer { if daemon.process.isRunning { daemon.signal(SIGKILL) } }

        let ready = try #require(systemd.next(within: 30), "no READY=1; log:\n\(daemon.allErrors)")
        #expect(ready.hasPrefix("READY=1\nSTATUS=2 lock(s), "), "\(ready)")
        #expect(ready.contains("polling at 50 Hz"))
        // Ready means ready: the socket answers now.
        #expect(daemonServes(socket))
        var keepAlives = 0
        var statuses: [String] = []
        while keepAlives < 4, let message = systemd.next(within: 5) {
            for line in message.split(separator: "\n") {
                if line == "WATCHDOG=1" { keepAlives += 1 }
                if line.hasPrefix("STATUS=") { statuses.append(String(line)) }
            }
        }
        #expect(keepAlives == 4)
        // The status follows the locks: both come online.
        #expect(statuses.isEmpty || statuses.allSatisfy { $0.hasPrefix("STATUS=2 lock(s)") }, "\(statuses)")

        daemon.signal(SIGTERM)
        var stopping = false
        while let message = systemd.next(within: 10) {
            if message.hasPrefix("STOPPING=1") {
                stopping = true
                break
            }
            #expect(message.hasPrefix("WATCHDOG=1"), "only keep-alives before STOPPING: \(message)")
        }
        #expect(stopping)
        #expect(daemon.waitForExit(within: 15))
        #expect(daemon.process.terminationStatus == 0)
    }

    /// Without NOTIFY_SOCKET nothing is sent and nothing fails (the other tests run this way).
    @Test func aWatchdogForAnotherPidIsIgnored() async throws {
        let systemd = try NotifySocket(abstract: false)
        defer { systemd.close() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try ChildProcess("lockdiagd", ["--simulate", "healthy", "--simulate-activity", "0", "--socket", directory.path + "/l.sock"],
                                      environment: ["NOTIFY_SOCKET": systemd.name, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        defer {
            daemon.signal(SIGTERM)
            _ = daemon.waitForExit(within: 15)
        }
        let ready = try #require(systemd.next(within: 30))
        #expect(ready.hasPrefix("READY=1"))
        // STATUS refreshes come every 5 s at most without a watchdog; none may be a keep-alive.
        if let next = systemd.next(within: 1) { #expect(!next.contains("WATCHDOG=1")) }
    }
}
