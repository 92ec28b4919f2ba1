import LinuxIO
import LockProtocol

/// The loop half of a lock family's driver: everything the poll loop does for one device that
/// depends on what the lock speaks (its requests and schedule, decoding its bytes, what goes
/// into the ring). The poll loop itself knows only timing, descriptors, slots, its inbox and the
/// ring (after Network UPS Tools' `upsdrv_*` contract: one narrow set of calls, a driver per
/// family). See docs/architecture.md, "Drivers: how to add a lock family".
///
/// The loop calls these on its own thread only, and a driver allocates nothing in them once the
/// link is open: buffers are allocated in `init`, no closures or existentials are made per call.
/// A driver that sees its link fail sets `slot.failed`; the loop closes the link after the call.
protocol LinkDriver: AnyObject {
    /// The link just opened (its `.linkUp` is in the ring): start afresh and send what comes first.
    func linkOpened(now: UInt64)
    /// The link is closing: commands in flight or queued are failed (`.commandFailed` records),
    /// half-received input is given up, the decoder counts go into `slot.counters`.
    func linkClosed(now: UInt64)
    /// Once per loop period while the link is open: deadlines, retries, the poll schedule.
    func tick(now: UInt64)
    /// The link's descriptor is readable or hung up (`events`, empty when the driver is called
    /// outside an epoll event): read what is there and publish what it means.
    func service(events: Epoll.Events, now: UInt64)
    /// A host command for this device. False when the driver cannot take it (its queue is full,
    /// or the family has no such requests): the loop then reports `.commandFailed`.
    func queue(_ command: PendingCommand, now: UInt64) -> Bool
    /// Called before the loop publishes the slot's counters: bring `slot.counters` up to date.
    func updateCounters()
}

/// How the poll loop speaks to a link: which family's driver serves it.
public enum LinkDialect: Sendable, Equatable {
    /// LDP/1 (firmware-specs/ldp-v1.md): the loop's requests and polls.
    case ldp
    /// The Tuya MCU dialect (firmware-specs/tuya-mcu.md), played as the module (active) or only
    /// listened to (passive).
    case tuya(TuyaLinkConfiguration)
    /// A Bluetooth LE lock with only the standard GATT services (Battery, Device Information;
    /// firmware-specs/ble-gatt.md §5): what they report, nothing requested.
    case gatt
}

extension LinkDialect {
    /// The driver registry: one line per family.
    func makeDriver(slot: DeviceSlot, context: DriverContext) -> any LinkDriver {
        switch self {
        case .ldp: LDPDriver(slot: slot, context: context)
        case .tuya(let configuration): TuyaLinkDriver(configuration: configuration, slot: slot, context: context)
        case .gatt: GATTDriver(slot: slot, context: context)
        }
    }
}

/// What every driver gets from the loop: its configuration and the loop thread's read buffer.
struct DriverContext {
    let configuration: PollLoopConfiguration
    /// Shared by all drivers; valid only during one call from the loop.
    let readBuffer: UnsafeMutableRawBufferPointer
}

/// Where the loop and its drivers put records: the ring plus a flag that tells the loop to ring
/// the consumer's doorbell at the end of the wake-up. Loop-thread only.
final class RecordOutbox {
    let ring: RecordRing
    /// Where the drivers copy every byte each way when `--record` runs (Recording/); nil: not recording.
    let traffic: TrafficRing?
    /// Where they go while a socket client records a lock (`record.start`, Recording/TrafficTaps).
    let taps: TrafficRing?
    var pushed = false

    init(ring: RecordRing, traffic: TrafficRing? = nil, taps: TrafficRing? = nil) {
        self.ring = ring
        self.traffic = traffic
        self.taps = taps
    }

    func publish(_ header: RecordHeader, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        ring.push(header, payload: payload)
        pushed = true
    }
}

/// One device as the loop and its driver see it. Loop-thread only.
final class DeviceSlot {
    let index: Int
    let link: any DeviceLink
    let outbox: RecordOutbox
    /// The dialect its driver speaks; a link may learn another at open (`DeviceLink.dialectOnceOpen`).
    var dialect: LinkDialect
    /// Set right after init (the driver holds this slot).
    var driver: (any LinkDriver)?
    var online = false
    var everOnline = false
    var reportedOpenFailure = false
    /// Set by the driver when the link failed under it; the loop closes the link.
    var failed = false
    var nextReconnect: UInt64
    var nextCounters: UInt64
    var counters = LinkCounters()

    init(index: Int, link: any DeviceLink, dialect: LinkDialect, outbox: RecordOutbox, now: UInt64) {
        self.index = index
        self.link = link
        self.dialect = dialect
        self.outbox = outbox
        nextReconnect = now
        nextCounters = now
    }

    func publish(_ header: RecordHeader, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        outbox.publish(header, payload: payload)
    }

    /// Writes the unsent bytes `tx[start..<end]` to the link and counts them; both go back to 0
    /// once all went. False when the link reported itself closed or failed.
    func write(_ tx: UnsafeMutableRawBufferPointer, start: inout Int, end: inout Int) -> Bool {
        do {
            switch try link.write(UnsafeRawBufferPointer(rebasing: tx[start..<end])) {
            case .bytes(let n):
                recordTraffic(UnsafeRawBufferPointer(rebasing: tx[start..<(start + n)]), .toLock)
                start += n
                counters.bytesOut &+= UInt64(n)
                if start == end {
                    start = 0
                    end = 0
                }
                return true
            case .wouldBlock: return true
            case .closed: return false
            }
        } catch {
            return false
        }
    }

    /// Reports a command that cannot be answered any more (or could not be sent).
    func failCommand(token: UInt32, type: UInt8, now: UInt64) {
        publish(RecordHeader(.commandFailed, device: index, at: now, type: type, token: token))
    }
}

/// A command waiting for its device: the request type and up to 40 payload bytes, inline so
/// queueing it allocates nothing.
struct PendingCommand: Sendable {
    var token: UInt32
    var type: UInt8
    var payload: CommandPayload
    var length: UInt8
}

/// A command's payload bytes, inline. 40 bytes hold the longest request the daemon sends:
/// PROVE_PART, 2 bytes and a 32-byte challenge (ldp-v1.md §6.11).
struct CommandPayload: Sendable {
    static let capacity = 40
    // Five words, not an array: a homogeneous tuple is stored contiguously and never on the heap.
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)

    init() {}

    init(_ bytes: [UInt8]) {
        precondition(bytes.count <= Self.capacity, "commands carry at most \(Self.capacity) payload bytes")
        withUnsafeMutableBytes(of: &words) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
    }

    /// The first `count` bytes.
    func withBytes<R>(count: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: words) { body(UnsafeRawBufferPointer(rebasing: $0[0..<min(count, Self.capacity)])) }
    }
}
