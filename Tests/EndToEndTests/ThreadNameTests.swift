import Foundation
import Glibc
import LinuxIO
import LockDiagTestSupport
import Testing

/// Every thread lockdiagd starts carries its name (at most 15 bytes, as Linux keeps), so `ps -L`,
/// `top -H` and `perf` show what is what: read from /proc of a real daemon process.
@Suite struct ThreadNameTests {
    /// The names of the process's threads, from /proc/PID/task/*/comm.
    static func threadNames(pid: Int32) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
        }
    }

    @Test func theDaemonsThreadsAreNamed() throws {
        let systemd = try NotifySocket(abstract: false)
        defer { systemd.close() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A watchdog (WATCHDOG_USEC) for its thread, a database for the history writer's, and
        // discovery (on by default) for udev's.
        let daemon = try ChildProcess("lockdiagd", ["--simulate", "healthy", "--simulate-activity", "0", "--socket", directory.path + "/l.sock",
                                                    "--db", directory.path + "/h.sqlite"],
                                      environment: ["NOTIFY_SOCKET": systemd.name, "WATCHDOG_USEC": "2000000"])
        defer {
            daemon.signal(SIGTERM)
            _ = daemon.waitForExit(within: 15)
        }
        _ = try #require(systemd.next(within: 30), "no READY=1; log:\n\(daemon.allErrors)")
        let expected: Set = ["lockdiag-poll", "lockdiag-hub", "lockdiag-udev", "lockdiag-hist", "lockdiag-wdog", "locksim-pty"]
        let pid = daemon.process.processIdentifier
        let named = TestSupport.wait(upTo: 10) { expected.isSubset(of: Self.threadNames(pid: pid)) }
        #expect(named, "threads: \(Self.threadNames(pid: pid).sorted()); log:\n\(daemon.allErrors)")
        // The poll loop, the hub and the socket server's event loop ask the fair scheduler for
        // a 100 µs slice (README "--realtime"; sched_getattr reads it back, no privilege needed).
        let threads = Self.threads(pid: pid)
        for name in ["lockdiag-poll", "lockdiag-hub"] {
            let slices = threads.filter { $0.name == name }.map { Realtime.fairSlice(thread: $0.tid) }
            #expect(!slices.isEmpty && slices.allSatisfy { $0 == 100_000 }, "\(name): \(slices)")
        }
        // NIO's threads are all NIO-ELT-…; the socket server's is the one with the slice.
        let nio = threads.filter { $0.name.hasPrefix("NIO-ELT-") }.map { ($0.name, Realtime.fairSlice(thread: $0.tid)) }
        #expect(nio.contains { $0.1 == 100_000 }, "\(nio)")
    }

    /// The process's threads: id and name.
    static func threads(pid: Int32) -> [(tid: Int32, name: String)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { task in
            guard let tid = Int32(task),
                  let name = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8) else { return nil }
            return (tid, name.trimmingCharacters(in: .newlines))
        }
    }

    @Test func theSimulatorsThreadsAreNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sim = try ChildProcess("locksim", ["--pty", "--count", "1", "--activity", "0", "--link-dir", directory.path])
        defer {
            sim.signal(SIGTERM)
            _ = sim.waitForExit(within: 15)
        }
        let pid = sim.process.processIdentifier
        let expected: Set = ["locksim-pty", "locksim-console"]
        let named = TestSupport.wait(upTo: 10) { expected.isSubset(of: Self.threadNames(pid: pid)) }
        #expect(named, "threads: \(Self.threadNames(pid: pid).sorted()); log:\n\(sim.allErrors)")
    }
}
