import LockProtocol
import Synchronization

/// What a ring record reports.
public enum RecordKind: UInt8, Sendable {
    /// A response, NAK or event frame from a device; the payload is the frame's.
    case frame = 1
    /// The device's link opened.
    case linkUp = 2
    /// The device's link went away (unplug, hang-up, I/O error); the payload is the
    /// transport's reason, UTF-8, when it gave one.
    case linkDown = 3
    /// A request got no answer by its deadline (after the retry commands get).
    case timeout = 4
    /// The device's counters, published periodically; the payload is a `LinkCounters`.
    case counters = 5
    /// A command could not be sent (device offline or queue full).
    case commandFailed = 6
    /// A link could not be opened; the payload is the reason, UTF-8.
    case openFailed = 7
    /// A Tuya frame (firmware-specs/tuya-mcu.md): type = command, seq = version, frameKind
    /// `.request` when the module (or lockdiag playing it) sent it, `.event` when the MCU did;
    /// the payload is the frame's data.
    case tuyaFrame = 8
    /// What a lock with only the standard GATT services reported (Drivers/GATT/GATTReading.swift):
    /// type = which reading (`GATTReadingField`), the payload its value.
    case gattReading = 9
}

/// The fixed-size header of a ring record.
public struct RecordHeader: Sendable {
    public var kind: RecordKind = .frame
    public var device: UInt16 = 0
    public var frameKind: FrameKind = .event
    public var type: UInt8 = 0
    public var seq: UInt8 = 0
    /// The command's token for answers to commands, 0 for the loop's own polls.
    public var token: UInt32 = 0
    /// CLOCK_MONOTONIC when the loop saw it.
    public var timestampNanoseconds: UInt64 = 0
    public var length: UInt16 = 0

    public init() {}

    init(_ kind: RecordKind, device: Int, at now: UInt64, type: UInt8 = 0, token: UInt32 = 0) {
        self.kind = kind
        self.device = UInt16(truncatingIfNeeded: device)
        self.timestampNanoseconds = now
        self.type = type
        self.token = token
    }
}

/// Single-producer, single-consumer ring of fixed-size records, allocated once: the poll loop
/// publishes readings without allocating, locking or waiting; when the consumer falls behind,
/// new records are dropped and counted instead.
///
/// `@unchecked Sendable`: the storage is shared between exactly one producer thread (`push`)
/// and one consumer thread (`pop`); `head` and `tail` are atomics with release/acquire ordering,
/// so a slot is only read after its writer published it and only rewritten after its reader
/// released it.
public final class RecordRing: @unchecked Sendable {
    public let capacity: Int
    public static let slotPayload = LDP.maxPayload
    private static let slotSize = MemoryLayout<RecordHeader>.stride + slotPayload

    private let storage: UnsafeMutableRawPointer
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)
    private let droppedCount = Atomic<UInt64>(0)

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int) {
        var size = 1
        while size < max(capacity, 2) { size <<= 1 }
        self.capacity = size
        storage = .allocate(byteCount: size * Self.slotSize, alignment: MemoryLayout<RecordHeader>.alignment)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: size * Self.slotSize)
    }

    deinit { storage.deallocate() }

    /// Records dropped because the ring was full.
    public var dropped: UInt64 { droppedCount.load(ordering: .relaxed) }

    /// Records waiting to be read.
    public var count: Int { head.load(ordering: .acquiring) - tail.load(ordering: .acquiring) }

    /// Producer side. Payloads longer than `slotPayload` are cut (frames never are: LDP caps them).
    @discardableResult
    public func push(_ header: RecordHeader, payload: UnsafeRawBufferPointer) -> Bool {
        let h = head.load(ordering: .relaxed)
        guard h - tail.load(ordering: .acquiring) < capacity else {
            droppedCount.add(1, ordering: .relaxed)
            return false
        }
        let slot = storage + (h & (capacity - 1)) * Self.slotSize
        var header = header
        let length = min(payload.count, Self.slotPayload)
        header.length = UInt16(length)
        slot.storeBytes(of: header, as: RecordHeader.self)
        if length > 0 {
            (slot + MemoryLayout<RecordHeader>.stride).copyMemory(from: payload.baseAddress!, byteCount: length)
        }
        head.store(h + 1, ordering: .releasing)
        return true
    }

    /// Consumer side: copies the oldest record's payload into `payload` (at least
    /// `slotPayload` bytes) and returns its header, or nil when the ring is empty.
    public func pop(into payload: UnsafeMutableRawBufferPointer) -> RecordHeader? {
        let t = tail.load(ordering: .relaxed)
        guard t < head.load(ordering: .acquiring) else { return nil }
        let slot = storage + (t & (capacity - 1)) * Self.slotSize
        let header = slot.loadUnaligned(as: RecordHeader.self)
        let length = min(Int(header.length), payload.count)
        if length > 0 {
            payload.baseAddress!.copyMemory(from: slot + MemoryLayout<RecordHeader>.stride, byteCount: length)
        }
        tail.store(t + 1, ordering: .releasing)
        return header
    }
}
