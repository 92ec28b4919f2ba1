import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// Converts the poll loop's monotonic timestamps to wall-clock milliseconds.
public struct ClockBridge: Sendable {
    private let wallAtStart: Int64
    private let monotonicAtStart: UInt64

    public init() {
        monotonicAtStart = MonotonicClock.nanoseconds()
        wallAtStart = WallClock.milliseconds()
    }

    public func wallMilliseconds(monotonic nanoseconds: UInt64) -> Int64 {
        wallAtStart + (Int64(bitPattern: nanoseconds) - Int64(bitPattern: monotonicAtStart)) / 1_000_000
    }
}
