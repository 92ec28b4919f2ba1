import CLockDiagSys
#if canImport(Glibc)
import Glibc
#endif

/// An epoll instance with a preallocated event array, so `wait` allocates nothing.
/// Owned by one thread; `close()` when done.
public final class Epoll {
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: EPOLLIN.rawValue)
        public static let writable = Events(rawValue: EPOLLOUT.rawValue)
        public static let hangUp = Events(rawValue: EPOLLHUP.rawValue)
        public static let error = Events(rawValue: EPOLLERR.rawValue)
        public static let readHangUp = Events(rawValue: EPOLLRDHUP.rawValue)
    }

    public let fd: Int32
    private let events: UnsafeMutablePointer<epoll_event>
    public let capacity: Int

    public init(capacity: Int = 256) throws(SystemError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw .last("epoll_create1") }
        self.fd = fd
        self.capacity = capacity
        self.events = .allocate(capacity: capacity)
    }

    deinit { events.deallocate() }

    public func close() { FileIO.close(fd) }

    /// Watches `descriptor`; `token` comes back with its events.
    public func add(_ descriptor: Int32, events: Events, token: UInt64) throws(SystemError) {
        var ev = epoll_event()
        ev.events = events.rawValue
        ev.data.u64 = token
        guard epoll_ctl(fd, EPOLL_CTL_ADD, descriptor, &ev) == 0 else { throw .last("epoll_ctl(ADD)") }
    }

    public func modify(_ descriptor: Int32, events: Events, token: UInt64) throws(SystemError) {
        var ev = epoll_event()
        ev.events = events.rawValue
        ev.data.u64 = token
        guard epoll_ctl(fd, EPOLL_CTL_MOD, descriptor, &ev) == 0 else { throw .last("epoll_ctl(MOD)") }
    }

    /// Stops watching; a descriptor already closed is fine (the kernel dropped it).
    public func remove(_ descriptor: Int32) {
        var ev = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, descriptor, &ev)
    }

    /// Waits up to `timeoutMilliseconds` (-1 forever) and calls `handle(token, events)` for each
    /// ready descriptor. Returns how many there were.
    @discardableResult
    public func wait(timeoutMilliseconds: Int32, _ handle: (UInt64, Events) -> Void) throws(SystemError) -> Int {
        let n = epoll_wait(fd, events, Int32(capacity), timeoutMilliseconds)
        if n < 0 {
            if Glibc.errno == EINTR { return 0 }
            throw .last("epoll_wait")
        }
        for i in 0..<Int(n) { handle(events[i].data.u64, Events(rawValue: events[i].events)) }
        return Int(n)
    }
}

/// A timerfd on CLOCK_MONOTONIC firing at absolute deadlines, so its period never drifts.
public final class PeriodicTimer {
    public let fd: Int32
    public private(set) var intervalNanoseconds: UInt64
    /// The monotonic time of the first expiry.
    public private(set) var startNanoseconds: UInt64

    public init(intervalNanoseconds: UInt64, start: UInt64? = nil) throws(SystemError) {
        let fd = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard fd >= 0 else { throw .last("timerfd_create") }
        self.fd = fd
        self.intervalNanoseconds = intervalNanoseconds
        self.startNanoseconds = start ?? MonotonicClock.nanoseconds() + intervalNanoseconds
        try arm()
    }

    private func arm() throws(SystemError) {
        var spec = itimerspec(
            it_interval: timespec(tv_sec: Int(intervalNanoseconds / 1_000_000_000), tv_nsec: Int(intervalNanoseconds % 1_000_000_000)),
            it_value: timespec(tv_sec: Int(startNanoseconds / 1_000_000_000), tv_nsec: Int(startNanoseconds % 1_000_000_000)))
        guard timerfd_settime(fd, Int32(TFD_TIMER_ABSTIME), &spec, nil) == 0 else { throw .last("timerfd_settime") }
    }

    /// Expirations since the last call (0 when none): more than 1 means the reader overran.
    public func expirations() -> UInt64 {
        var count: UInt64 = 0
        let n = retryingOnInterrupt { Glibc.read(fd, &count, 8) }
        return n == 8 ? count : 0
    }

    public func close() { FileIO.close(fd) }
}

/// An eventfd used as a wake-up doorbell between threads (a write never blocks the writer).
public final class EventDoorbell: Sendable {
    public let fd: Int32

    public init() throws(SystemError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw .last("eventfd") }
        self.fd = fd
    }

    /// Rings; safe from any thread, allocation-free.
    public func ring() {
        var one: UInt64 = 1
        _ = retryingOnInterrupt { Glibc.write(fd, &one, 8) }
    }

    /// Clears pending rings; returns how many there were.
    @discardableResult
    public func drain() -> UInt64 {
        var count: UInt64 = 0
        let n = retryingOnInterrupt { Glibc.read(fd, &count, 8) }
        return n == 8 ? count : 0
    }

    /// Blocks until rung or `timeoutMilliseconds` pass; returns whether it was rung.
    public func wait(timeoutMilliseconds: Int32) -> Bool {
        let ready = (try? Poll.wait(fd, events: Int16(POLLIN), deadlineNanoseconds: Poll.deadline(afterMilliseconds: timeoutMilliseconds))) ?? 0
        if ready != 0 { drain(); return true }
        return false
    }

    public func close() { FileIO.close(fd) }
}
