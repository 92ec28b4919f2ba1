import Foundation
import Glibc
import LinuxIO
import Synchronization
import Testing

/// SIGURG handler runs, counted.
let signalsHandled = Atomic<Int>(0)

/// Interrupted system calls, retried in LinuxIO only: a wait a signal interrupts goes on with
/// the time left, to its deadline, and never reports EINTR. Signals here are real (pthread_kill
/// of SIGURG, whose handler interrupts poll(2) whatever SA_RESTART says).
@Suite(.serialized) struct InterruptTests {
    /// Runs `wait` on a thread of its own while another thread interrupts it every 20 ms, until
    /// it returns or 5 s pass. Returns its result and how many signals it took.
    static func underSignals<T: Sendable>(_ wait: @escaping @Sendable () -> T) throws -> (result: T, signals: Int, stillSignalling: Bool) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in signalsHandled.add(1, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGURG, &action, nil)
        let result = Mutex<T?>(nil)
        let waiter = try JoinableThread(name: "test-waiter") {
            // A thread inherits its creator's mask, and the test's pool threads block signals.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGURG)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            let r = wait()
            result.withLock { $0 = r }
        }
        var signals = 0
        let until = MonotonicClock.nanoseconds() + 5_000_000_000
        while result.withLock({ $0 == nil }) && MonotonicClock.nanoseconds() < until {
            pthread_kill(waiter.handle, SIGURG)
            signals += 1
            usleep(20_000)
        }
        let stillSignalling = MonotonicClock.nanoseconds() < until
        waiter.join()
        return (try #require(result.withLock { $0 }), signals, stillSignalling)
    }

    @Test func anInterruptedPollEndsAtItsDeadlineWithoutAnError() throws {
        let doorbell = try EventDoorbell()
        defer { doorbell.close() }
        let fd = doorbell.fd
        let start = MonotonicClock.nanoseconds()
        let deadline = start + 300_000_000
        let (outcome, signals, stillSignalling) = try Self.underSignals { () -> String in
            do { return "ready \(try Poll.wait(fd, events: Int16(POLLIN), deadlineNanoseconds: deadline))" } catch { return "\(error)" }
        }
        #expect(outcome == "ready 0")
        let handled = signalsHandled.load(ordering: .relaxed)
        #expect(handled >= 5)
        // Ended at its deadline while signals still came every 20 ms: a wait restarted with its
        // whole timeout after each would never have ended while they did.
        #expect(stillSignalling && signals >= 5)
        #expect(MonotonicClock.nanoseconds() >= deadline)
    }

    @Test func anInterruptedDoorbellWaitEndsAtItsTimeout() throws {
        let doorbell = try EventDoorbell()
        defer { doorbell.close() }
        let (rung, signals, stillSignalling) = try Self.underSignals { doorbell.wait(timeoutMilliseconds: 300) }
        #expect(!rung)
        #expect(stillSignalling && signals >= 5)
    }

    @Test func aRungDoorbellIsSeenThroughSignals() throws {
        let doorbell = try EventDoorbell()
        defer { doorbell.close() }
        let ringer = try JoinableThread(name: "test-ringer") {
            usleep(100_000)
            doorbell.ring()
        }
        defer { ringer.join() }
        let (rung, _, _) = try Self.underSignals { doorbell.wait(timeoutMilliseconds: 4000) }
        #expect(rung)
    }

    @Test func aCancellingSignalEndsACallOnlyWhenItIsNoLongerWanted() throws {
        let fds = try SeqPacket.pair()
        defer { FileIO.close(fds.0); FileIO.close(fds.1) }
        // A blocking read with nothing to read: only a signal ends it, and only once unwanted.
        let flags = fcntl(fds.1, F_GETFL)
        _ = fcntl(fds.1, F_SETFL, flags & ~O_NONBLOCK)
        let wanted = Atomic<Bool>(true)
        let reader = fds.1
        let start = MonotonicClock.nanoseconds()
        let (outcome, _, _) = try Self.underSignals { () -> String in
            var byte: UInt8 = 0
            let n = retryingOnInterrupt(while: {
                // Wanted for 200 ms of signals, then no longer.
                if MonotonicClock.nanoseconds() - start > 200_000_000 { wanted.store(false, ordering: .relaxed) }
                return wanted.load(ordering: .relaxed)
            }) { Glibc.read(reader, &byte, 1) }
            return n < 0 && errno == EINTR ? "interrupted" : "read \(n)"
        }
        #expect(outcome == "interrupted")
        let stillWanted = wanted.load(ordering: .relaxed)
        #expect(!stillWanted)
    }

    @Test func aThreadCarriesItsName() throws {
        let name = Mutex<String?>(nil)
        let thread = try JoinableThread(name: "test-named") {
            let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            name.withLock { $0 = comm?.trimmingCharacters(in: .newlines) }
        }
        thread.join()
        #expect(name.withLock { $0 } == "test-named")
    }

    @Test func readToEndStopsAtItsLimit() throws {
        let path = "/tmp/ld-read-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        try Data(repeating: 7, count: 40_000).write(to: URL(fileURLWithPath: path))
        let fd = try FileIO.open(path, flags: O_RDONLY)
        defer { FileIO.close(fd) }
        #expect(try FileIO.readToEnd(fd, limit: 50_000)?.count == 40_000)
        _ = lseek(fd, 0, SEEK_SET)
        #expect(try FileIO.readToEnd(fd, limit: 39_999) == nil)
    }
}

/// Unix socket addresses: paths and abstract names, their lengths and the limits.
@Suite struct UnixSocketAddressTests {
    @Test func aPathIncludesItsNulAndAnAbstractNameDoesNot() throws {
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        #expect(try UnixSocketAddress("/tmp/a.sock").length == socklen_t(offset + 12))
        #expect(try UnixSocketAddress("@lockdiag").length == socklen_t(offset + 9))
        // An abstract name may fill sun_path; a path must leave room for its NUL.
        _ = try UnixSocketAddress("@" + String(repeating: "n", count: 107))
        #expect(throws: SystemError.self) { try UnixSocketAddress("/" + String(repeating: "p", count: 107)) }
        _ = try UnixSocketAddress("/" + String(repeating: "p", count: 106))
    }

    @Test func aSeqPacketListenerIsReachedAtItsPath() throws {
        let path = "/tmp/ld-usa-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let listener = try SeqPacket.listen(path)
        defer { FileIO.close(listener); SeqPacket.unlink(path) }
        let client = try SeqPacket.connect(path)
        defer { FileIO.close(client) }
        #expect(try Poll.wait(listener, events: Int16(POLLIN), deadlineNanoseconds: MonotonicClock.nanoseconds() + 5_000_000_000) != 0)
        let accepted = try #require(try SeqPacket.accept(listener))
        FileIO.close(accepted)
    }
}
