import Foundation
import HistoryStore
import LinuxIO
import LockDiagAPI
import Logging
import Synchronization

/// The daemon's writer of the history database.
///
/// Two paths, one file:
/// - `commit(_:)` writes fault events in one transaction and returns once it is on disk
///   (`synchronous=FULL`); it does not wait for queued telemetry, which would make it longer. The hub calls it inside the critical section that changed the
///   faults, so no reader of the hub state and no subscriber can see a fault status whose event
///   is not committed (docs/reports.md#durability).
/// - `enqueue(_:)` queues telemetry (status samples, actuations); a thread of its own flushes the
///   queue every 2 s (`synchronous=NORMAL`: safe from a crash of the daemon; a power cut may lose
///   the last seconds, until the next fault event syncs the log) and prunes it by the retention
///   policy every 10 minutes.
///
/// Never called from the poll-loop thread. A failed write (full disk, I/O error) is counted,
/// logged with advice, and its records are kept in memory and retried with the next write.
public final class HistoryRecorder: Sendable {
    public let database: HistoryDatabase
    public let retention: RetentionPolicy
    let logger: Logger
    private let queue = Mutex<[HistoryRecord]>([])
    private let writer = Mutex<WriterState>(WriterState())
    private let running = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Records waiting beyond this are dropped, telemetry first, so a dead disk cannot eat memory.
    static let maxPending = 100_000
    static let flushIntervalSeconds = 2.0
    static let pruneIntervalSeconds = 600.0

    struct WriterState {
        /// Records whose write failed, oldest first.
        var retry: [HistoryRecord] = []
        var durableCommits: UInt64 = 0
        var writeErrors: UInt64 = 0
        var lastError: String?
        var dropped: UInt64 = 0
        /// Durations of the latest durable commits, µs (a ring).
        var commitMicroseconds: [Int] = []
        var commitNext = 0
    }

    public init(database: HistoryDatabase, retention: RetentionPolicy = RetentionPolicy(), logger: Logger) {
        self.database = database
        self.retention = retention
        self.logger = logger
    }

    /// Starts the flush-and-prune thread.
    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            var nextPrune = MonotonicClock.nanoseconds()
            while running.load(ordering: .acquiring) {
                _ = wake.wait(timeout: .now() + Self.flushIntervalSeconds)
                flush()
                let now = MonotonicClock.nanoseconds()
                if now >= nextPrune {
                    nextPrune = now + UInt64(Self.pruneIntervalSeconds * 1e9)
                    prune()
                }
            }
            finished.signal()
        }
        thread.name = "lockdiag-history"
        thread.start()
    }

    /// Stops the thread after a last flush.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        finished.wait()
        flush()
    }

    /// Queues telemetry for the next flush.
    public func enqueue(_ records: [HistoryRecord]) {
        guard !records.isEmpty else { return }
        let pending = queue.withLock { q in
            q += records
            return q.count
        }
        if pending > 4096 { wake.signal() }
    }

    /// Writes `records` in one synced transaction; returns whether it is on disk.
    @discardableResult
    public func commit(_ records: [HistoryRecord]) -> Bool {
        write(records, durable: true)
    }

    /// Writes what is queued now (a report wants the latest actuation in it).
    @discardableResult
    public func flush() -> Bool { write([], durable: false) }

    private func write(_ records: [HistoryRecord], durable: Bool) -> Bool {
        writer.withLock { w in
            let queued: [HistoryRecord] = durable ? [] : queue.withLock { q in
                defer { q.removeAll(keepingCapacity: true) }
                return q
            }
            let batch: [HistoryRecord] = w.retry + queued + records
            guard !batch.isEmpty else { return true }
            let started = MonotonicClock.nanoseconds()
            do {
                try database.write(batch, durable: durable || batch.contains(where: \.isFaultEvent))
            } catch {
                w.writeErrors += 1
                let message = "\(error)"
                if w.lastError != message { logger.error("\(message)") }
                w.lastError = message
                w.retry = batch
                if w.retry.count > Self.maxPending {
                    let excess = w.retry.count - Self.maxPending
                    var dropped = 0
                    w.retry.removeAll { record in
                        guard dropped < excess, !record.isFaultEvent else { return false }
                        dropped += 1
                        return true
                    }
                    w.dropped += UInt64(dropped)
                }
                return false
            }
            if !w.retry.isEmpty { logger.notice("history writes work again; \(w.retry.count) held record(s) written") }
            w.retry.removeAll()
            w.lastError = nil
            if durable || batch.contains(where: \.isFaultEvent) {
                let micros = Int((MonotonicClock.nanoseconds() - started) / 1000)
                w.durableCommits += 1
                if w.commitMicroseconds.count < 1024 {
                    w.commitMicroseconds.append(micros)
                } else {
                    w.commitMicroseconds[w.commitNext] = micros
                    w.commitNext = (w.commitNext + 1) % 1024
                }
            }
            return true
        }
    }

    private func prune() {
        do {
            let removed = try database.prune(retention, nowMilliseconds: WallClock.milliseconds())
            if removed > 0 { logger.info("history: pruned \(removed) telemetry row(s) (\(retention.description))") }
        } catch {
            logger.error("\(error)")
        }
    }

    /// The figures `station.info` reports.
    public func info() -> HistoryInfo {
        let counts = (try? database.counts()) ?? HistoryDatabase.Counts()
        let pendingQueue = queue.withLock { $0.count }
        return writer.withLock { w in
            let sorted = w.commitMicroseconds.sorted()
            func percentile(_ p: Double) -> Int { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            return HistoryInfo(path: database.path, schemaVersion: (try? database.schemaVersion()) ?? "unknown", sizeBytes: database.sizeBytes(),
                               devices: counts.devices, faultEvents: counts.faultEvents, testRuns: counts.testRuns, actuations: counts.actuations,
                               statusSamples: counts.statusSamples, durableCommits: w.durableCommits,
                               commitP50Microseconds: percentile(0.5), commitP99Microseconds: percentile(0.99),
                               commitMaxMicroseconds: sorted.last ?? 0, writeErrors: w.writeErrors,
                               pendingRecords: w.retry.count + pendingQueue, lastError: w.lastError, retention: retention.description)
        }
    }
}
