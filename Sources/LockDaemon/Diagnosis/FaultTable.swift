import LockDiagAPI
import LockProtocol

/// Whether a check looks at a discrete event (each failure is an occurrence: a stalled
/// actuation) or a lasting condition (an occurrence is a new episode: battery low again).
public enum CheckKind: Sendable {
    case event
    case condition
}

/// A change of a fault's status, for notifications and the log.
public enum FaultTransition: String, Sendable {
    /// First failure: pending.
    case raised
    case confirmed
    case healed
    /// Failed again after it had healed: pending again.
    case reoccurred
}

/// One device's faults with their lifecycle, in the spirit of the UDS (ISO 14229-1) DTC status
/// byte: pending on the first failed check, confirmed once failures repeat (`confirmAfter`
/// failures before it heals), healed after `healAfter` consecutive clean checks; the record
/// stays until a technician clears it.
public struct FaultTable: Sendable {
    public struct Entry: Sendable {
        public let code: UInt16
        public var status: FaultStatus
        public var count: Int
        public var firstSeenMilliseconds: Int64
        public var lastSeenMilliseconds: Int64
        /// Failures since the fault was last healed (or first seen). A single clean check does
        /// not reset it, so an intermittent fault (say, a bolt that jams only when extending)
        /// still confirms.
        public var failuresInEpisode = 0
        public var consecutivePasses = 0
        /// Inside a failure episode (no clean check since the last failure).
        public var failing = true
        public var seenByDevice = false
        public var seenByHost = false
        public var evidence: String
        public var freezeFrame: FreezeFrame?

        public var source: String {
            switch (seenByDevice, seenByHost) {
            case (true, true): "both"
            case (true, false): "device"
            default: "host"
            }
        }
    }

    public private(set) var entries: [UInt16: Entry] = [:]
    public let confirmAfter: Int
    public let healAfter: Int

    public init(confirmAfter: Int, healAfter: Int) {
        self.confirmAfter = max(1, confirmAfter)
        self.healAfter = max(1, healAfter)
    }

    /// Records a failed check. `confirmed` says the source has already debounced it (a lock's
    /// own CONFIRMED bit); `occurrences` is the source's own count, when it keeps one.
    /// `freeze` is called only when the fault becomes confirmed.
    public mutating func fail(_ code: UInt16, kind: CheckKind, fromDevice: Bool, at now: Int64, evidence: String,
                              confirmed: Bool = false, occurrences: Int? = nil, freeze: () -> FreezeFrame) -> FaultTransition? {
        var transition: FaultTransition?
        var entry: Entry
        if var existing = entries[code] {
            if kind == .event || !existing.failing { existing.count += 1 }
            existing.consecutivePasses = 0
            existing.failuresInEpisode += 1
            existing.failing = true
            existing.lastSeenMilliseconds = now
            existing.evidence = evidence
            if existing.status == .healed {
                existing.status = .pending
                existing.failuresInEpisode = 1
                transition = .reoccurred
            }
            entry = existing
        } else {
            entry = Entry(code: code, status: .pending, count: 1, firstSeenMilliseconds: now, lastSeenMilliseconds: now,
                          failuresInEpisode: 1, evidence: evidence)
            transition = .raised
        }
        if fromDevice { entry.seenByDevice = true } else { entry.seenByHost = true }
        if let occurrences { entry.count = max(entry.count, occurrences) }
        if entry.status == .pending && (confirmed || entry.failuresInEpisode >= confirmAfter) {
            entry.status = .confirmed
            entry.freezeFrame = freeze()
            transition = .confirmed
        }
        entries[code] = entry
        return transition
    }

    /// Records a clean check of `code`; a fault never seen is not created.
    public mutating func pass(_ code: UInt16) -> FaultTransition? {
        guard var entry = entries[code] else { return nil }
        entry.failing = false
        entry.consecutivePasses += 1
        var transition: FaultTransition?
        if entry.status != .healed && entry.consecutivePasses >= healAfter {
            entry.status = .healed
            entry.failuresInEpisode = 0
            transition = .healed
        }
        entries[code] = entry
        return transition
    }

    /// Forgets every fault (a technician cleared them); returns how many there were.
    public mutating func clear() -> Int {
        defer { entries.removeAll() }
        return entries.count
    }

    public func entry(_ code: UInt16) -> Entry? { entries[code] }

    /// Entries ordered for people: confirmed first, then by severity, then by code.
    public var ordered: [Entry] {
        func rank(_ s: FaultStatus) -> Int { s == .confirmed ? 0 : s == .pending ? 1 : 2 }
        return entries.values.sorted { a, b in
            if rank(a.status) != rank(b.status) { return rank(a.status) < rank(b.status) }
            let sa = FaultCatalog.resolve(a.code).severity, sb = FaultCatalog.resolve(b.code).severity
            if sa != sb { return sa > sb }
            return a.code < b.code
        }
    }
}
