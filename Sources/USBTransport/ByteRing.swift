import Synchronization

/// A single-producer, single-consumer byte FIFO of fixed capacity: the USB event thread
/// writes what IN transfers bring, the poll loop reads it. No locks and no allocation after
/// init; the producer never waits (what does not fit is dropped and counted by the caller).
///
/// `@unchecked Sendable`: the storage is written only by the producer in [tail, head + capacity)
/// and read only by the consumer in [head, tail); `head` and `tail` are atomics whose
/// release/acquire pairs order those accesses.
final class ByteRing: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer
    let capacity: Int
    /// Total bytes ever read (consumer) and written (producer); their difference is the fill.
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Producer: appends as much of `bytes` as fits; returns how many bytes were taken.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        let t = tail.load(ordering: .relaxed)
        let h = head.load(ordering: .acquiring)
        let n = min(bytes.count, capacity - (t - h))
        guard n > 0, let source = bytes.baseAddress else { return 0 }
        let start = t % capacity
        let first = min(n, capacity - start)
        storage.baseAddress!.advanced(by: start).copyMemory(from: source, byteCount: first)
        if n > first { storage.baseAddress!.copyMemory(from: source.advanced(by: first), byteCount: n - first) }
        tail.store(t + n, ordering: .releasing)
        return n
    }

    /// Consumer: moves up to `buffer.count` bytes out; returns how many.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .acquiring)
        let n = min(buffer.count, t - h)
        guard n > 0, let target = buffer.baseAddress else { return 0 }
        let start = h % capacity
        let first = min(n, capacity - start)
        target.copyMemory(from: storage.baseAddress!.advanced(by: start), byteCount: first)
        if n > first { target.advanced(by: first).copyMemory(from: storage.baseAddress!, byteCount: n - first) }
        head.store(h + n, ordering: .releasing)
        return n
    }

    /// Bytes waiting (exact for the consumer, a lower bound for the producer).
    var count: Int { tail.load(ordering: .acquiring) - head.load(ordering: .acquiring) }
}
