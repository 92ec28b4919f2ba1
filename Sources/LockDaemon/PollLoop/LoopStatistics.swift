import LockProtocol

/// Per-link counters kept by the poll loop; plain integers copied into ring records.
public struct LinkCounters: Sendable, Equatable {
    /// The link's frame decoder: frames, noise and rejected candidates by reason.
    public var decoder = DecoderCounters()
    public var bytesIn: UInt64 = 0
    public var bytesOut: UInt64 = 0
    public var requests: UInt64 = 0
    public var timeouts: UInt64 = 0
    public var naks: UInt64 = 0
    /// Responses whose seq or type matched no request in flight.
    public var unexpected: UInt64 = 0
    public var reconnects: UInt64 = 0
    /// Event frames dropped because the device sent more than its share per second.
    public var eventsDropped: UInt64 = 0

    public init() {}

    /// Frames rejected for a bad check value (CRC-8 header or CRC-16 body).
    public var checkErrors: UInt64 { decoder.headerErrors &+ decoder.crcErrors }

    /// Whether these counters can follow `earlier` on the same link: none of the ones the
    /// diagnosis differences went backwards.
    public func continues(_ earlier: LinkCounters) -> Bool {
        decoder.frames >= earlier.decoder.frames && decoder.headerErrors >= earlier.decoder.headerErrors
            && decoder.crcErrors >= earlier.decoder.crcErrors && requests >= earlier.requests && timeouts >= earlier.timeouts
    }
}

/// Wake-up lateness histogram, log-linear so the resolution is within 1 %: 1 µs buckets below
/// 1 ms, 10 µs below 10 ms, 100 µs below 100 ms, 1 ms below 1 s, then one overflow bucket.
/// Fixed storage, so recording never allocates.
public struct LatenessHistogram: Sendable, Equatable {
    static let tiers: [(limit: UInt64, step: UInt64)] = [(1_000, 1), (10_000, 10), (100_000, 100), (1_000_000, 1_000)]
    static let bucketCount = 1_000 + 900 + 900 + 900 + 1
    public private(set) var buckets: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var sumMicroseconds: UInt64 = 0
    public private(set) var maxMicroseconds: UInt64 = 0

    public init() { buckets = [UInt64](repeating: 0, count: Self.bucketCount) }

    public mutating func record(microseconds: UInt64) {
        count &+= 1
        sumMicroseconds &+= microseconds
        if microseconds > maxMicroseconds { maxMicroseconds = microseconds }
        buckets[Self.bucket(for: microseconds)] &+= 1
    }

    static func bucket(for microseconds: UInt64) -> Int {
        var base = 0
        var lower: UInt64 = 0
        for tier in tiers {
            if microseconds < tier.limit { return base + Int((microseconds - lower) / tier.step) }
            base += Int((tier.limit - lower) / tier.step)
            lower = tier.limit
        }
        return bucketCount - 1
    }

    /// The upper edge (µs) of a bucket: percentiles are reported conservatively.
    static func upperEdge(of bucket: Int) -> UInt64 {
        var base = 0
        var lower: UInt64 = 0
        for tier in tiers {
            let size = Int((tier.limit - lower) / tier.step)
            if bucket < base + size { return lower + UInt64(bucket - base) * tier.step + tier.step - 1 }
            base += size
            lower = tier.limit
        }
        return .max
    }

    /// The value below which `fraction` of the samples fall (0 when empty).
    public func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen >= max(rank, 1) { return min(Self.upperEdge(of: index), maxMicroseconds) }
        }
        return maxMicroseconds
    }

    public var meanMicroseconds: Double { count == 0 ? 0 : Double(sumMicroseconds) / Double(count) }

    /// Copies `other` into this histogram's storage without allocating.
    mutating func assign(from other: LatenessHistogram) {
        buckets.withUnsafeMutableBufferPointer { dst in
            other.buckets.withUnsafeBufferPointer { src in _ = dst.update(fromContentsOf: src) }
        }
        count = other.count
        sumMicroseconds = other.sumMicroseconds
        maxMicroseconds = other.maxMicroseconds
    }

    public mutating func reset() {
        for i in buckets.indices { buckets[i] = 0 }
        count = 0
        sumMicroseconds = 0
        maxMicroseconds = 0
    }
}

/// The loop's own figures as last published (at most every 100 ms).
public struct LoopStatistics: Sendable, Equatable {
    public var pollHz: Int = 0
    public var cycles: UInt64 = 0
    /// Ticks the loop missed because a cycle (or the scheduler) took longer than a period.
    public var overruns: UInt64 = 0
    public var lateness = LatenessHistogram()
    public var ringDropped: UInt64 = 0
    public var startedAtNanoseconds: UInt64 = 0

    public init() {}
}
