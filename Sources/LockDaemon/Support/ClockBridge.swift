import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// Converts the poll loop's monotonic timestamps to wall-clock milliseconds. Kept in nanoseconds
/// and cut to whole milliseconds once, so a stamp is at most 1 ms before the moment (cutting the
/// start and the interval apart made stamps up to 2 ms early: `make bench-api` saw it).
public struct ClockBridge: Sendable {
    private let wallAtStartNanoseconds: Int64
    private let monotonicAtStart: UInt64

    public init() {
        self.init(monotonic: MonotonicClock.nanoseconds(), wallNanoseconds: WallClock.nanoseconds())
    }

    /// A bridge from one moment read on both clocks.
    init(monotonic: UInt64, wallNanoseconds: Int64) {
        monotonicAtStart = monotonic
        wallAtStartNanoseconds = wallNanoseconds
    }

    public func wallMilliseconds(monotonic nanoseconds: UInt64) -> Int64 {
        let wall = wallAtStartNanoseconds + (Int64(bitPattern: nanoseconds) - Int64(bitPattern: monotonicAtStart))
        // Floor, also for a moment before 1970 (never seen, but division truncates towards 0).
        return wall >= 0 ? wall / 1_000_000 : (wall - 999_999) / 1_000_000
    }
}
