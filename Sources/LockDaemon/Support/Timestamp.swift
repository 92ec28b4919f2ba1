import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// ISO 8601 UTC timestamps with milliseconds (`2026-11-28T23:50:00.123Z`), the API's time format.
public enum Timestamp {
    public static func iso8601(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds % 1000), 3))Z"
    }
}

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
