@testable import LockDaemon
import Testing

/// Wall-clock stamps (`updated_at`, fault times) from the poll loop's monotonic timestamps.
@Suite struct ClockBridgeTests {
    /// Cut to whole milliseconds once: a bridge made at 1000.9 ms puts a moment 0.2 ms later at
    /// 1001.1 ms, which is 1001 — not 1000, as cutting the start and the interval apart gave.
    @Test func aStampIsCutToTheMillisecondOnce() {
        let bridge = ClockBridge(monotonic: 5_000_000_000, wallNanoseconds: 1_000_900_000)
        #expect(bridge.wallMilliseconds(monotonic: 5_000_200_000) == 1001)
        #expect(bridge.wallMilliseconds(monotonic: 5_000_000_000) == 1000)
        #expect(bridge.wallMilliseconds(monotonic: 5_000_099_999) == 1000)
        #expect(bridge.wallMilliseconds(monotonic: 4_000_000_000) == 0)
        // Before the bridge's moment too, and before 1970: floored, never rounded up.
        #expect(bridge.wallMilliseconds(monotonic: 3_998_000_000) == -2)
    }
}
