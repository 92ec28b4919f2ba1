import Foundation
import HistoryStore
import LinuxIO
import LockDiagAPI
import Logging
import Synchronization

/// The daemon's writer of the history database (docs/reports.md#durability).
///
/// - `commit(_:)` takes evidence (fault events, self-test runs, device sightings, audit entries
///   of calls that change a lock). While the database takes writes and nothing is waiting, it
///   writes them at once in one synced transaction (`synchronous=FULL`) and returns true: the
///   hub calls it at the end of the critical section that changed the faults, so no client can
///   see a fault whose event is not on disk. Otherwise — writes failing, older records waiting,
///   or the writer thread busy — it queues them and returns false at once, without touching
///   the disk: the hub is never held up by a failing disk, and `annotate(_:)` marks those
///   faults `saved: false` for as long as their events are only in memory.
/// - `enqueue(_:)` queues telemetry (status samples, actuations, audit outcomes) for the next
///   flush (`synchronous=NORMAL`: safe from a crash of the daemon).
/// - A thread of its own (`lockdiag-history`) writes both queues, oldest first: every 2 s,
///   when woken, and after a failure with a delay doubling from 0.1 s to 5 s. A write that may
///   work later (full disk, I/O error, locked) is retried; a record the database refuses for
///   good (a constraint, a value it cannot store) is set aside in a quarantine that daemon.info
///   lists, and the rest go on. The queues are bounded: past the limit the *newest* records are
///   dropped — the oldest are the evidence — and counted, logged, and marked by a `lost` event
///   in each device's history once writes work again.
///
/// Never called from the poll-loop thread.
public final class HistoryRecorder: Sendable {
    /// How much is held in memory while the database refuses writes, and how often it is retried.
    public struct Limits: Sendable, Equatable {
        /// Evidence records held; a fault event with its freeze frame is about 2 KB.
        public var unsavedRecords = 10_000
        public var pendingTelemetry = 20_000
        /// Refused records kept (and listed by daemon.info).
        public var quarantineKept = 20
        public var firstRetrySeconds = 0.1
        public var maximumRetrySeconds = 5.0

        public init(unsavedRecords: Int = 10_000, pendingTelemetry: Int = 20_000) {
            self.unsavedRecords = unsavedRecords
            self.pendingTelemetry = pendingTelemetry
        }
    }

    public let database: HistoryDatabase
    public let retention: RetentionPolicy
    public let limits: Limits
    let logger: Logger
    /// What is in memory and what is known of the disk; never held during I/O.
    private let records = Mutex<UnsavedRecords>(UnsavedRecords())
    /// Held while writing to the database (one writer at a time), with the commit figures.
    private let io = Mutex<CommitFigures>(CommitFigures())
    private let running = Atomic<Bool>(false)
    /// A prune (seconds on a big database) holds the writer lock: `commit` then queues instead of waiting.
    private let pruning = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    static let flushIntervalSeconds = 2.0
    static let pruneIntervalSeconds = 600.0
    /// Records per transaction when the writer thread catches up.
    static let batchSize = 512

    struct CommitFigures {
        var durableCommits: UInt64 = 0
        /// Durations of the latest durable commits, µs (a ring).
        var commitMicroseconds: [Int] = []
        var commitNext = 0

        mutating func note(_ micros: Int) {
            durableCommits += 1
            if commitMicroseconds.count < 1024 {
                commitMicroseconds.append(micros)
            } else {
                commitMicroseconds[commitNext] = micros
                commitNext = (commitNext + 1) % 1024
            }
        }
    }

    public init(database: HistoryDatabase, retention: RetentionPolicy = RetentionPolicy(), limits: Limits = Limits(), logger: Logger) {
        self.database = database
        self.retention = retention
        self.limits = limits
        self.logger = logger
    }

    /// Prunes the telemetry log (before any lock is polled, so no fault waits behind it), then
    /// starts the writer thread.
    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        prune()
        let thread = Thread { [self] in
            Realtime.nameCurrentThread("lockdiag-hist")
            var nextPrune = MonotonicClock.nanoseconds() + UInt64(Self.pruneIntervalSeconds * 1e9)
            while running.load(ordering: .acquiring) {
                let now = MonotonicClock.nanoseconds()
                let retryIn = records.withLock { $0.retryAtNanoseconds }.map { $0 > now ? Double($0 - now) / 1e9 : 0 }
                _ = wake.wait(timeout: .now() + min(Self.flushIntervalSeconds, retryIn ?? Self.flushIntervalSeconds))
                drain(ignoringBackoff: false)
                let later = MonotonicClock.nanoseconds()
                if later >= nextPrune, records.withLock({ $0.failure == nil }) {
                    nextPrune = later + UInt64(Self.pruneIntervalSeconds * 1e9)
                    prune()
                }
            }
            finished.signal()
        }
        thread.name = "lockdiag-history"
        thread.start()
    }

    /// Stops the thread after a last attempt to write everything; what still cannot be written
    /// is logged.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        finished.wait()
        drain(ignoringBackoff: true)
        let left = records.withLock { r in (r.evidence.count, r.unsaved.values.reduce(0, +), r.telemetry.count, r.failure) }
        if left.0 + left.2 > 0 {
            let why = left.3 ?? "the writer was busy"
            logger.error("history: stopping with \(left.0) record(s) (\(left.1) fault event(s)) and \(left.2) telemetry record(s) unsaved: \(why) — they are lost")
        }
    }

    /// Queues telemetry for the next flush.
    public func enqueue(_ batch: [HistoryRecord]) {
        guard !batch.isEmpty else { return }
        let (pending, line) = records.withLock { r in
            let line = r.append(telemetry: batch, limit: limits.pendingTelemetry)
            return (r.telemetry.count, line)
        }
        if let line { logger.warning("\(line)") }
        if pending > 4096 { wake.signal() }
    }

    /// Writes evidence in one synced transaction if that can be done now, and returns true once
    /// it is on disk; otherwise queues it for the writer thread and returns false at once.
    /// "Now": the last write worked and nothing older waits. It then waits for a write of the
    /// writer thread's own in progress (a telemetry flush: no fsync, milliseconds) but never for
    /// a prune, nor for a disk that is failing.
    @discardableResult
    public func commit(_ batch: [HistoryRecord]) -> Bool {
        guard !batch.isEmpty else { return true }
        var line: String?
        var written: Bool?
        if records.withLock({ $0.evidence.isEmpty && $0.failure == nil }) {
            written = pruning.load(ordering: .acquiring)
                ? io.withLockIfAvailable { figures in writeNow(batch, figures: &figures, log: &line) }
                : io.withLock { figures in writeNow(batch, figures: &figures, log: &line) }
        }
        if written == nil {
            line = records.withLock { $0.append(evidence: batch, limit: limits.unsavedRecords) }
        }
        if let line, !line.isEmpty { logger.error("\(line)") }
        if written == true { return true }
        wake.signal()
        return false
    }

    /// `commit`'s write, with the writer lock held: on disk, or queued before the lock is
    /// released (so nothing written later can overtake it).
    private func writeNow(_ batch: [HistoryRecord], figures: inout CommitFigures, log line: inout String?) -> Bool {
        guard records.withLock({ $0.evidence.isEmpty && $0.failure == nil }) else {
            line = records.withLock { $0.append(evidence: batch, limit: limits.unsavedRecords) }
            return false
        }
        guard let error = attempt(batch, durable: true, figures: &figures) else {
            records.withLock { r in for record in batch { r.accepted(record) } }
            return true
        }
        line = records.withLock { r in
            let failed = error.isPermanent ? nil : failure(error, in: &r)
            let dropped = r.append(evidence: batch, limit: limits.unsavedRecords)
            return [failed, dropped].compactMap { $0 }.joined(separator: "\n")
        }
        return false
    }

    /// Writes what is queued now, unless a failed write's retry is not due yet (a report wants
    /// the latest actuation in it). Returns whether nothing is left waiting.
    @discardableResult
    public func flush() -> Bool {
        drain(ignoringBackoff: false)
        return records.withLock { $0.evidence.isEmpty && $0.telemetry.isEmpty }
    }

    // MARK: Writing

    /// One write; nil when it is on disk.
    private func attempt(_ batch: [HistoryRecord], durable: Bool, figures: inout CommitFigures) -> HistoryError? {
        let started = MonotonicClock.nanoseconds()
        let synced = durable || batch.contains(where: \.isFaultEvent)
        do {
            try database.write(batch, durable: synced)
        } catch {
            return error
        }
        if synced { figures.note(Int((MonotonicClock.nanoseconds() - started) / 1000)) }
        return nil
    }

    private func failure(_ error: HistoryError, in r: inout UnsavedRecords) -> String? {
        r.failed(error.detail, nowNanoseconds: MonotonicClock.nanoseconds(), nowMilliseconds: WallClock.milliseconds(),
                 first: limits.firstRetrySeconds, maximum: limits.maximumRetrySeconds)
    }

    /// Writes the evidence queue, then the markers of what was lost, then the telemetry; stops
    /// at the first failure that may pass.
    private func drain(ignoringBackoff: Bool) {
        var lines: [(Logger.Level, String)] = []
        io.withLock { figures in
            let now = MonotonicClock.nanoseconds()
            if !ignoringBackoff, let at = records.withLock({ $0.retryAtNanoseconds }), at > now { return }
            guard write(.evidence, figures: &figures, log: &lines), writeMarkers(figures: &figures, log: &lines),
                  write(.telemetry, figures: &figures, log: &lines) else { return }
            if let line = records.withLock({ $0.recoverIfDrained(nowMilliseconds: WallClock.milliseconds()) }) { lines.append((.notice, line)) }
        }
        for (level, line) in lines { logger.log(level: level, "\(line)") }
    }

    /// Writes `queue` oldest first, in batches; a batch the database refuses is written one
    /// record at a time, so only the refused record is set aside. Returns false on a failure
    /// that may pass.
    private func write(_ queue: UnsavedRecords.Queue, figures: inout CommitFigures, log lines: inout [(Logger.Level, String)]) -> Bool {
        let durable = queue == .evidence
        while true {
            let batch = records.withLock { $0.peek(queue, count: Self.batchSize) }
            guard !batch.isEmpty else { return true }
            guard let error = attempt(batch, durable: durable, figures: &figures) else {
                records.withLock { $0.removeWritten(queue, count: batch.count) }
                continue
            }
            guard error.isPermanent else {
                if let line = records.withLock({ failure(error, in: &$0) }) { lines.append((.error, line)) }
                return false
            }
            for record in batch {
                if let error = attempt([record], durable: durable, figures: &figures) {
                    guard error.isPermanent else {
                        if let line = records.withLock({ failure(error, in: &$0) }) { lines.append((.error, line)) }
                        return false
                    }
                    lines.append((.error, records.withLock { $0.quarantineFirst(queue, reason: error.detail, keep: limits.quarantineKept) }))
                } else {
                    records.withLock { $0.removeWritten(queue, count: 1) }
                }
            }
        }
    }

    /// Once the evidence queue is empty: a `lost` event per device (and audit) that lost records.
    private func writeMarkers(figures: inout CommitFigures, log lines: inout [(Logger.Level, String)]) -> Bool {
        let markers = records.withLock { $0.markers(limit: limits.unsavedRecords) }
        for marker in markers {
            if let error = attempt([marker.record], durable: true, figures: &figures) {
                guard error.isPermanent else {
                    if let line = records.withLock({ failure(error, in: &$0) }) { lines.append((.error, line)) }
                    return false
                }
                lines.append((.error, records.withLock { $0.quarantine(marker.record, reason: error.detail, keep: limits.quarantineKept) }))
            }
            records.withLock { _ = $0.gaps.removeValue(forKey: marker.key) }
            lines.append((.warning, marker.log))
        }
        return true
    }

    private func prune() {
        pruning.store(true, ordering: .releasing)
        defer { pruning.store(false, ordering: .releasing) }
        io.withLock { _ in
            do {
                let removed = try database.prune(retention, nowMilliseconds: WallClock.milliseconds())
                if removed > 0 { logger.info("history: pruned \(removed) telemetry row(s) (\(retention.description))") }
            } catch {
                logger.error("\(error)")
            }
        }
    }

    // MARK: What clients see

    /// Marks each fault with whether its events are on disk (`saved`, `unsaved_events`,
    /// `lost_events`).
    public func annotate(_ faults: inout [Fault]) {
        records.withLock { r in
            for i in faults.indices {
                let key = FaultKey(device: faults[i].device, code: faults[i].code)
                let unsaved = r.unsaved[key] ?? 0, lost = r.lost[key] ?? 0
                faults[i].saved = unsaved == 0 && lost == 0
                faults[i].unsavedEvents = unsaved > 0 ? unsaved : nil
                faults[i].lostEvents = lost > 0 ? lost : nil
            }
        }
    }

    /// `daemon.info`'s `health.history`.
    public func health() -> HistoryHealth {
        let now = MonotonicClock.nanoseconds()
        return records.withLock { r in
            HistoryHealth(status: r.failure == nil ? .ok : .degraded, reason: r.failure,
                          since: r.failingSinceMilliseconds.map { APITime.format(milliseconds: $0) },
                          retryInMilliseconds: r.failure == nil ? nil : r.retryAtNanoseconds.map { $0 > now ? Int(($0 - now) / 1_000_000) : 0 },
                          unsavedRecords: r.evidence.count, unsavedFaultEvents: r.unsaved.values.reduce(0, +),
                          unsavedLimit: limits.unsavedRecords, pendingTelemetry: r.telemetry.count, droppedRecords: r.droppedRecords,
                          droppedTelemetry: r.droppedTelemetry, quarantined: r.quarantined, quarantine: r.quarantine.map(\.shown),
                          writeErrors: r.writeErrors)
        }
    }

    /// The figures `station.info` reports.
    public func info() -> HistoryInfo {
        let counts = (try? database.counts()) ?? HistoryDatabase.Counts()
        let (errors, pending, lastError) = records.withLock { ($0.writeErrors, $0.evidence.count + $0.telemetry.count, $0.failure) }
        return io.withLock { w in
            let sorted = w.commitMicroseconds.sorted()
            func percentile(_ p: Double) -> Int { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            return HistoryInfo(path: database.path, schemaVersion: (try? database.schemaVersion()) ?? "unknown", sizeBytes: database.sizeBytes(),
                               devices: counts.devices, faultEvents: counts.faultEvents, testRuns: counts.testRuns, actuations: counts.actuations,
                               statusSamples: counts.statusSamples, durableCommits: w.durableCommits,
                               commitP50Microseconds: percentile(0.5), commitP99Microseconds: percentile(0.99),
                               commitMaxMicroseconds: sorted.last ?? 0, writeErrors: errors,
                               pendingRecords: pending, lastError: lastError, retention: retention.description)
        }
    }
}
