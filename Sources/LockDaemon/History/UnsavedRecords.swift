import HistoryStore
import LockDiagAPI

/// A fault as the history's bookkeeping knows it.
struct FaultKey: Hashable, Sendable {
    var device: String
    var code: String
}

/// What the recorder holds in memory and what it knows about the disk (HistoryRecorder.swift):
/// the records not yet written, which faults they belong to, what was lost, and why.
struct UnsavedRecords: Sendable {
    /// The two queues: evidence (fault events, self-test runs, device sightings, audit entries
    /// of calls that change a lock) and telemetry (status samples, actuations, audit outcomes).
    enum Queue: Sendable { case evidence, telemetry }

    var evidence: [HistoryRecord] = []
    var telemetry: [HistoryRecord] = []
    /// Ids a lock had before it identified itself, while events under them may still be
    /// queued: former id → its id now, for events from `since` to `until` (ms).
    var renamed: [String: (id: String, since: Int64, until: Int64)] = [:]
    /// Fault events waiting in `evidence`, per fault.
    var unsaved: [FaultKey: Int] = [:]
    /// Fault events that will never be written (dropped or refused), per fault, until it is cleared.
    var lost: [FaultKey: Int] = [:]
    /// Evidence lost per device (and for audit entries, under `auditGapKey`) that the history
    /// does not yet have a `lost` marker for.
    var gaps: [String: Gap] = [:]
    static let auditGapKey = "\u{0}audit"

    /// The latest transient failure, while it lasts.
    var failure: String?
    var failingSinceMilliseconds: Int64?
    var retryAtNanoseconds: UInt64?
    var retryDelaySeconds = 0.0
    var writeErrors: UInt64 = 0
    var droppedRecords: UInt64 = 0
    var droppedTelemetry: UInt64 = 0
    /// Whether this failure episode's first drop of each kind was logged.
    var loggedEvidenceDrop = false
    var loggedTelemetryDrop = false
    var quarantined: UInt64 = 0
    /// The latest refused records, newest last, with what daemon.info shows of each.
    var quarantine: [(record: HistoryRecord, shown: QuarantinedRecord)] = []

    /// Evidence that was never written, for one device's `lost` marker.
    struct Gap: Sendable {
        var faultEvents = 0, testRuns = 0, sightings = 0, auditEntries = 0
        var dropped = 0, refused = 0
        var firstMilliseconds = Int64.max, lastMilliseconds = Int64.min
        var codes: [String: Int] = [:]
        var reasons: [String] = []

        var records: Int { faultEvents + testRuns + sightings + auditEntries }
    }

    // MARK: Queues

    /// Queues evidence, oldest first; beyond `limit` the new records are dropped (and counted,
    /// and remembered for the marker), so what is kept is the oldest: the evidence of what
    /// happened first. Returns a line to log on this episode's first drop.
    mutating func append(evidence records: [HistoryRecord], limit: Int) -> String? {
        var line: String?
        for record in records {
            accepted(record)
            guard evidence.count < limit else {
                lose(record, refusedBecause: nil)
                droppedRecords += 1
                if !loggedEvidenceDrop {
                    loggedEvidenceDrop = true
                    line = "history: \(limit) unsaved records are waiting, the limit — newer fault events are dropped (the oldest are "
                        + "kept: they are the evidence); a `lost` event will mark the gap in each lock's history"
                }
                continue
            }
            evidence.append(record)
            if case .fault(let e, let at) = record { unsaved[key(e, at: at), default: 0] += 1 }
        }
        return line
    }

    /// Queues telemetry; beyond `limit` the new records are dropped. Returns a line to log on
    /// this episode's first drop.
    mutating func append(telemetry records: [HistoryRecord], limit: Int) -> String? {
        var line: String?
        for record in records {
            guard telemetry.count < limit else {
                droppedTelemetry += 1
                if case .audit = record { lose(record, refusedBecause: nil) }
                if !loggedTelemetryDrop {
                    loggedTelemetryDrop = true
                    line = "history: \(limit) telemetry records are waiting, the limit — newer status samples and actuations are dropped"
                }
                continue
            }
            telemetry.append(record)
        }
        return line
    }

    func peek(_ queue: Queue, count: Int) -> [HistoryRecord] {
        Array((queue == .evidence ? evidence : telemetry).prefix(count))
    }

    /// The first `count` records of `queue` are on disk.
    mutating func removeWritten(_ queue: Queue, count: Int) {
        if queue == .telemetry {
            telemetry.removeFirst(count)
            return
        }
        for record in evidence.prefix(count) { countDown(record) }
        evidence.removeFirst(count)
        // Only queued events need the old ids; on disk the sighting moved them.
        if evidence.isEmpty { renamed.removeAll() }
    }

    /// The first record of `queue` was refused for good: it goes to the quarantine. Returns the
    /// line to log.
    mutating func quarantineFirst(_ queue: Queue, reason: String, keep: Int) -> String {
        let record = queue == .evidence ? evidence.removeFirst() : telemetry.removeFirst()
        if queue == .evidence { countDown(record) }
        return quarantine(record, reason: reason, keep: keep)
    }

    mutating func quarantine(_ record: HistoryRecord, reason: String, keep: Int) -> String {
        if record.kindName != "lost" { lose(record, refusedBecause: reason) }
        quarantined += 1
        let shown = QuarantinedRecord(kind: record.kindName, device: record.deviceID, what: Self.what(record),
                                      at: APITime.format(milliseconds: record.atMilliseconds), reason: reason)
        quarantine.append((record, shown))
        if quarantine.count > keep { quarantine.removeFirst(quarantine.count - keep) }
        return "history: the database refused a \(shown.kind) record" + (shown.device.map { " of \($0)" } ?? "")
            + (shown.what.map { " (\($0))" } ?? "") + " at \(shown.at): \(reason) — it is set aside (daemon.info lists it); "
            + "the other records are written"
    }

    static func what(_ record: HistoryRecord) -> String? {
        switch record {
        case .fault(let e, _): "\(e.code) \(e.event.rawValue)"
        case .testRun(let run, _, _): "\(run.test.rawValue) \(run.verdict.rawValue)"
        case .audit(let a): "\(a.method) \(a.outcome)"
        default: nil
        }
    }

    /// The fault an event belongs to, by the id its lock is shown with now.
    func key(_ e: FaultEvent, at: Int64) -> FaultKey {
        if let r = renamed[e.device], (r.since...r.until).contains(at) { return FaultKey(device: r.id, code: e.code) }
        return FaultKey(device: e.device, code: e.code)
    }

    private mutating func countDown(_ record: HistoryRecord) {
        guard case .fault(let e, let at) = record else { return }
        let key = key(e, at: at)
        if let n = unsaved[key], n > 1 { unsaved[key] = n - 1 } else { unsaved[key] = nil }
    }

    /// Keeps the books by what is shown: a cleared fault leaves the list (what was lost of it
    /// stays in the history's marker), and a lock that identified itself is shown by its new id
    /// (its events recorded under the old one are moved to it on disk too).
    mutating func accepted(_ record: HistoryRecord) {
        switch record {
        case .fault(let e, _) where e.event == .cleared:
            lost[FaultKey(device: e.device, code: e.code)] = nil
        case .device(let s):
            guard let former = s.formerID, let since = s.formerIDSinceMilliseconds, former != s.id else { return }
            renamed[former] = (s.id, since, s.atMilliseconds)
            for (key, n) in unsaved where key.device == former {
                unsaved[key] = nil
                unsaved[FaultKey(device: s.id, code: key.code), default: 0] += n
            }
            for (key, n) in lost where key.device == former {
                lost[key] = nil
                lost[FaultKey(device: s.id, code: key.code), default: 0] += n
            }
        default:
            break
        }
    }

    /// Books an evidence record that will never be written (telemetry other than audit
    /// entries is only counted).
    private mutating func lose(_ record: HistoryRecord, refusedBecause reason: String?) {
        let key: String
        switch record {
        case .status, .actuation: return
        case .audit: key = Self.auditGapKey
        case .fault(let e, let at): key = self.key(e, at: at).device
        default: key = record.deviceID ?? Self.auditGapKey
        }
        var gap = gaps[key] ?? Gap()
        switch record {
        case .fault(let e, let at):
            gap.faultEvents += 1
            gap.codes[e.code, default: 0] += 1
            lost[self.key(e, at: at), default: 0] += 1
        case .testRun: gap.testRuns += 1
        case .device: gap.sightings += 1
        case .audit: gap.auditEntries += 1
        case .status, .actuation: break
        }
        if reason == nil { gap.dropped += 1 } else { gap.refused += 1 }
        gap.firstMilliseconds = min(gap.firstMilliseconds, record.atMilliseconds)
        gap.lastMilliseconds = max(gap.lastMilliseconds, record.atMilliseconds)
        let why = reason.map { "refused by the database: \($0)" } ?? failure.map { "dropped while writes failed: \($0)" } ?? "dropped"
        if gap.reasons.count < 3 && !gap.reasons.contains(why) { gap.reasons.append(why) }
        gaps[key] = gap
    }

    // MARK: Failures

    /// A write failed and may work later: retry after a delay that doubles up to `maximum`.
    /// Returns a line to log when the reason is new.
    mutating func failed(_ reason: String, nowNanoseconds: UInt64, nowMilliseconds: Int64, first: Double, maximum: Double) -> String? {
        writeErrors += 1
        let line = failure == reason ? nil : "history write failed: \(reason); lockdiagd keeps what is unsaved in memory, retries, and "
            + "shows faults whose events are not on disk with saved: false until they are"
        if failure == nil {
            failingSinceMilliseconds = nowMilliseconds
            retryDelaySeconds = first
        } else {
            retryDelaySeconds = min(maximum, max(first, retryDelaySeconds * 2))
        }
        failure = reason
        retryAtNanoseconds = nowNanoseconds + UInt64(retryDelaySeconds * 1e9)
        return line
    }

    /// Everything queued is written and every gap marked: back to normal. Returns a line to log
    /// if it was failing.
    mutating func recoverIfDrained(nowMilliseconds: Int64) -> String? {
        guard evidence.isEmpty, gaps.isEmpty, failure != nil else { return nil }
        let seconds = Double(nowMilliseconds - (failingSinceMilliseconds ?? nowMilliseconds)) / 1000
        failure = nil
        failingSinceMilliseconds = nil
        retryAtNanoseconds = nil
        loggedEvidenceDrop = false
        loggedTelemetryDrop = false
        return "history: writes work again after \(Int(seconds.rounded())) s; every unsaved record is written"
    }

    // MARK: Markers

    /// The `lost` events that mark each gap: one per device (a fault event of kind `lost`), one
    /// audit entry for lost audit entries.
    func markers(limit: Int) -> [(key: String, record: HistoryRecord, log: String)] {
        gaps.sorted { $0.key < $1.key }.map { key, gap in
            let first = APITime.format(milliseconds: gap.firstMilliseconds), last = APITime.format(milliseconds: gap.lastMilliseconds)
            var what: [String] = []
            if gap.faultEvents > 0 {
                let codes = gap.codes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
                what.append(Self.count(gap.faultEvents, "fault event") + " (\(codes))")
            }
            if gap.testRuns > 0 { what.append(Self.count(gap.testRuns, "self-test run")) }
            if gap.sightings > 0 { what.append(Self.count(gap.sightings, "identification")) }
            if gap.auditEntries > 0 { what.append(Self.count(gap.auditEntries, "audit entry", plural: "audit entries")) }
            var how: [String] = []
            if gap.dropped > 0 { how.append("\(gap.dropped) dropped because \(limit) unsaved records were already waiting") }
            if gap.refused > 0 { how.append("\(gap.refused) refused by the database") }
            let summary = "\(what.joined(separator: ", ")) lost between \(first) and \(last): \(how.joined(separator: ", "))"
            let evidence = summary + " — " + gap.reasons.joined(separator: "; ")
            if key == Self.auditGapKey {
                let record = HistoryRecord.audit(AuditEntry(
                    atMilliseconds: gap.lastMilliseconds, uid: nil, gid: nil, pid: nil, client: "lockdiagd", connection: 0, role: nil,
                    method: "history.lost", params: "{\"from\":\"\(first)\",\"lost\":\(gap.records),\"to\":\"\(last)\"}", outcome: "lost",
                    errorMessage: evidence))
                return (key, record, "history: " + summary)
            }
            let record = HistoryRecord.fault(FaultEvent(
                device: key, code: "history", name: "history_gap", title: "Events not saved", severity: "warning", event: .lost,
                status: nil, at: last, count: gap.records, firstSeen: first, source: "host", evidence: evidence, freezeFrame: nil,
                advice: "Clients were shown these events as unsaved when they happened; the lock's faults now are in `lockdiag faults`. "
                    + "Keep free space for the history (docs/reports.md#durability)."), atMilliseconds: gap.lastMilliseconds)
            return (key, record, "history: \(key): " + summary)
        }
    }

    static func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? noun : plural ?? noun + "s")
    }
}
