@_spi(Fuzzing) import LockDaemon
import Logging
import Testing

/// A hub with one serial lock, fed ring records by hand as the poll loop would publish them,
/// one second apart, the hub's once-a-second checks run after each: link-health cases whose
/// timing a live link cannot pin down (an unplug between two counter samples).
final class HubRecordFeeder {
    let hub: Hub
    let slot: Int
    private(set) var now: UInt64 = 1_000_000_000_000

    init() throws {
        var configuration = PollLoopConfiguration()
        configuration.maxDevices = 2
        configuration.ringCapacity = 4
        hub = Hub(loop: try PollLoop(configuration: configuration), logger: Logger(label: "test"))
        slot = try #require(hub.addSerialDevice(path: "/dev/fuzz"))
    }

    func feed(_ kind: RecordKind, _ counters: LinkCounters = LinkCounters()) {
        var header = RecordHeader()
        header.kind = kind
        header.device = UInt16(slot)
        header.timestampNanoseconds = now
        if kind == .counters {
            header.length = UInt16(MemoryLayout<LinkCounters>.size)
            withUnsafeBytes(of: counters) { hub.applyForFuzzing(header, payload: $0, periodicAt: now) }
        } else {
            hub.applyForFuzzing(header, payload: UnsafeRawBufferPointer(start: nil, count: 0), periodicAt: now)
        }
        now += 1_000_000_000
    }

    var faultNames: [String] { hub.faults(of: slot).map(\.name) }
}
