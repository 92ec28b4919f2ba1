#if canImport(Glibc)
import Glibc
#endif

/// poll(2) with a deadline on the monotonic clock: a wait a signal interrupts resumes with the
/// time that is left, so callers never see EINTR and never wait past their deadline.
public enum Poll {
    /// Waits until one of the first `count` (default: all) `descriptors` is ready or
    /// `deadlineNanoseconds` (`MonotonicClock`; nil: no deadline) passes. Returns how many are
    /// ready, 0 at the deadline; `revents` are cleared first.
    public static func wait(_ descriptors: inout [pollfd], count: Int? = nil, deadlineNanoseconds: UInt64?) throws(SystemError) -> Int {
        let count = count ?? descriptors.count
        for i in 0..<count { descriptors[i].revents = 0 }
        while true {
            let timeout = deadlineNanoseconds.map(milliseconds(until:)) ?? -1
            let ready = descriptors.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t(count), timeout) }
            if ready >= 0 { return Int(ready) }
            guard Glibc.errno == EINTR else { throw .last("poll") }
        }
    }

    /// `wait` for one descriptor; returns its `revents`, 0 at the deadline.
    public static func wait(_ fd: Int32, events: Int16, deadlineNanoseconds: UInt64?) throws(SystemError) -> Int16 {
        var descriptors = [pollfd(fd: fd, events: events, revents: 0)]
        return try wait(&descriptors, deadlineNanoseconds: deadlineNanoseconds) > 0 ? descriptors[0].revents : 0
    }

    /// `wait` for at most `timeoutMilliseconds` (negative: no deadline).
    public static func wait(_ descriptors: inout [pollfd], count: Int? = nil, timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        try wait(&descriptors, count: count, deadlineNanoseconds: deadline(afterMilliseconds: timeoutMilliseconds))
    }

    /// The monotonic deadline `milliseconds` from now; nil for a negative (no deadline).
    public static func deadline(afterMilliseconds milliseconds: Int32) -> UInt64? {
        milliseconds < 0 ? nil : MonotonicClock.nanoseconds() + UInt64(milliseconds) * 1_000_000
    }

    /// poll(2)'s timeout for a deadline: milliseconds left, rounded up, 0 once it has passed.
    public static func milliseconds(until deadlineNanoseconds: UInt64) -> Int32 {
        let now = MonotonicClock.nanoseconds()
        guard deadlineNanoseconds > now else { return 0 }
        return Int32(clamping: (deadlineNanoseconds - now + 999_999) / 1_000_000)
    }
}
