import LockDaemon
import LockDiagAPI
import Synchronization
import Testing

/// socket-api.md devices.subscribe: `lost` counts the `devices.changed` notifications a
/// connection missed because it read too slowly. The hub's side, with a subscriber that cannot
/// take more for a while (as a connection's `offer` answers when its buffer is full; the
/// connection's own refusal is `SocketAPITests.aSlowSubscriberLosesNotificationsAndIsToldWhileOthersAndThePollLoopCarryOn`).
@Suite(.serialized) struct DeviceChangeLossTests {
    /// Declines every change while `full`; keeps those it takes.
    final class SlowSubscriber: DeviceChangeSink {
        let sinkID: UInt64 = 7
        let full = Atomic<Bool>(true)
        let taken = Mutex<[DeviceChange]>([])
        func offer(_ change: DeviceChange) -> Bool {
            guard !full.load(ordering: .relaxed) else { return false }
            taken.withLock { $0.append(change) }
            return true
        }
    }

    @Test func lostCountsTheChangesASlowSubscriberMissed() throws {
        let rig = try HotplugRegistryTests.Rig()
        defer { rig.stop() }
        let slow = SlowSubscriber()
        _ = rig.hub.watchDevices(slow)
        // Missed: plugged, unplugged, plugged, unplugged.
        for _ in 0..<2 {
            _ = try #require(rig.hub.deviceAppeared(rig.tty(0), links: rig.links))
            rig.hub.deviceDisappeared(rig.tty(0))
        }
        slow.full.store(false, ordering: .relaxed)
        _ = rig.hub.deviceAppeared(rig.tty(0), links: rig.links)
        rig.hub.deviceDisappeared(rig.tty(0))
        let taken = slow.taken.withLock { $0 }
        #expect(taken.map(\.change) == [.added, .removed])
        #expect(taken.map(\.lost) == [4, 0], "the first change taken counts the four missed, the next none")
        // A subscriber that kept up lost nothing.
        #expect(rig.changes.seen.withLock { $0.map(\.lost) } == Array(repeating: 0, count: 6))
    }
}
