import Synchronization

/// What a traffic record carries.
public enum TrafficKind: UInt8, Sendable {
    /// Bytes the lock sent (read from the link).
    case fromLock = 1
    /// Bytes lockdiag (or, on a passive Tuya tap, the module) sent to the lock.
    case toLock = 2
    /// The link opened; the payload is `LinkIdentity.encoded` (transport, path, dialect).
    case linkOpened = 3
}

/// The fixed header of a traffic record.
public struct TrafficHeader: Sendable {
    /// CLOCK_MONOTONIC when the bytes were read or written.
    public var timestampNanoseconds: UInt64 = 0
    public var device: UInt16 = 0
    public var kind: TrafficKind = .fromLock
    public var length: UInt16 = 0
}

/// The poll loop's bytes on their way to the recorder thread: a single-producer,
/// single-consumer ring of fixed-size slots allocated once (like `RecordRing`). The loop copies
/// each read and write in without allocating, locking or waiting; when the recorder falls
/// behind, the chunk is dropped and counted (`dropped`), never waited for.
///
/// `@unchecked Sendable`: exactly one producer (the poll loop) calls `push` and one consumer
/// (the recorder thread) calls `pop`; `head` and `tail` are atomics with release/acquire
/// ordering, so a slot is read only after it was published and rewritten only after it was read.
public final class TrafficRing: @unchecked Sendable {
    /// Bytes a slot holds: the loop reads at most 4 KiB at a time; longer writes are split.
    public static let slotPayload = 4096
    private static let slotSize = MemoryLayout<TrafficHeader>.stride + slotPayload

    public let capacity: Int
    private let storage: UnsafeMutableRawPointer
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)
    private let droppedChunks = Atomic<UInt64>(0)
    private let droppedByteCount = Atomic<UInt64>(0)
    /// Consumers that want the bytes now; `--record`'s ring always has one (`alwaysWanted`).
    private let listeners: Atomic<Int>

    /// `capacity` slots, rounded up to a power of two. A ring not `alwaysWanted` (the socket
    /// recordings' taps) is filled only while `addListener()` outnumbers `removeListener()`.
    public init(capacity: Int, alwaysWanted: Bool = true) {
        listeners = Atomic(alwaysWanted ? 1 : 0)
        var size = 1
        while size < max(capacity, 2) { size <<= 1 }
        self.capacity = size
        storage = .allocate(byteCount: size * Self.slotSize, alignment: MemoryLayout<TrafficHeader>.alignment)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: size * Self.slotSize)
    }

    deinit { storage.deallocate() }

    /// How each device slot's link is wrapped (`LinkEncapsulation.word`), stored by the loop when
    /// the link opens: `record.start` reads it to declare a USB or BLE lock's interface as usbmon
    /// or HCI ACL/ATT and to wrap its packets so.
    public let linkEncapsulations = LinkWords(count: 4096)

    /// Whether the loop should copy bytes in: one relaxed load, so the loop pays nothing more
    /// while no one records.
    @inline(__always)
    public var isWanted: Bool { listeners.load(ordering: .relaxed) > 0 }

    public func addListener() { listeners.add(1, ordering: .relaxed) }
    public func removeListener() { listeners.subtract(1, ordering: .relaxed) }

    /// Chunks dropped because the ring was full, and the bytes they held.
    public var dropped: (chunks: UInt64, bytes: UInt64) {
        (droppedChunks.load(ordering: .relaxed), droppedByteCount.load(ordering: .relaxed))
    }

    /// Producer side: copies `bytes` in, split into slots; what does not fit is dropped and counted.
    public func push(device: Int, kind: TrafficKind, at timestamp: UInt64, bytes: UnsafeRawBufferPointer) {
        var offset = 0
        repeat {
            let length = min(bytes.count - offset, Self.slotPayload)
            let pushed = push(device: device, kind: kind, at: timestamp) { slot in
                if length > 0 { slot.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: length) }
                return length
            }
            if !pushed {
                droppedByteCount.add(UInt64(bytes.count - offset), ordering: .relaxed)
                return
            }
            offset += length
        } while offset < bytes.count
    }

    /// Producer side: `fill` writes up to `slotPayload` bytes into the slot and returns how many.
    /// False (and counted) when the ring is full.
    @discardableResult
    public func push(device: Int, kind: TrafficKind, at timestamp: UInt64, fill: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
        let h = head.load(ordering: .relaxed)
        guard h - tail.load(ordering: .acquiring) < capacity else {
            droppedChunks.add(1, ordering: .relaxed)
            return false
        }
        let slot = storage + (h & (capacity - 1)) * Self.slotSize
        let payload = UnsafeMutableRawBufferPointer(start: slot + MemoryLayout<TrafficHeader>.stride, count: Self.slotPayload)
        let length = min(max(fill(payload), 0), Self.slotPayload)
        slot.storeBytes(of: TrafficHeader(timestampNanoseconds: timestamp, device: UInt16(truncatingIfNeeded: device),
                                          kind: kind, length: UInt16(length)), as: TrafficHeader.self)
        head.store(h + 1, ordering: .releasing)
        return true
    }

    /// Consumer side: copies the oldest record's payload into `payload` (at least `slotPayload`
    /// bytes) and returns its header, or nil when the ring is empty.
    public func pop(into payload: UnsafeMutableRawBufferPointer) -> TrafficHeader? {
        let t = tail.load(ordering: .relaxed)
        guard t < head.load(ordering: .acquiring) else { return nil }
        let slot = storage + (t & (capacity - 1)) * Self.slotSize
        let header = slot.loadUnaligned(as: TrafficHeader.self)
        let length = min(Int(header.length), payload.count)
        if length > 0 { payload.baseAddress!.copyMemory(from: slot + MemoryLayout<TrafficHeader>.stride, byteCount: length) }
        tail.store(t + 1, ordering: .releasing)
        return header
    }
}

/// One atomic 64-bit word per device slot, written by the poll loop and read by other threads
/// without a lock. Slots past `count` are not kept (they read 0).
///
/// `@unchecked Sendable`: `words` is allocated and initialised once, never reallocated, freed
/// only in `deinit`; every access is an atomic load or store.
public final class LinkWords: @unchecked Sendable {
    public let count: Int
    private let words: UnsafeMutablePointer<Atomic<UInt64>>

    public init(count: Int) {
        self.count = count
        words = .allocate(capacity: count)
        for i in 0..<count { (words + i).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: count)
        words.deallocate()
    }

    public func store(_ value: UInt64, at index: Int) {
        guard index >= 0, index < count else { return }
        words[index].store(value, ordering: .releasing)
    }

    public func load(at index: Int) -> UInt64 {
        guard index >= 0, index < count else { return 0 }
        return words[index].load(ordering: .acquiring)
    }
}
