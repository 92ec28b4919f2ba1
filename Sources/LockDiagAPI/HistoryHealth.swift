/// `daemon.info`'s `health`: what works and what does not.
public struct DaemonHealth: Codable, Sendable, Equatable {
    /// The history database's writer; absent when the daemon keeps no history.
    public var history: HistoryHealth?

    public init(history: HistoryHealth?) { self.history = history }
}

/// Whether what clients are told is on disk (docs/reports.md#durability).
public struct HistoryHealth: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Writes work and nothing waits in memory.
        case ok
        /// Writes fail (`reason` says why and what to do): events wait in memory, and faults
        /// whose events are not on disk carry `saved: false`.
        case degraded
    }

    public var status: Status
    /// The database's error and what to do, e.g. `database or disk is full — free space on the
    /// filesystem holding /var/lib/lockdiag (df -h /var/lib/lockdiag)`; absent when `ok`.
    public var reason: String?
    /// When writes started failing (ISO 8601, UTC); absent when `ok`.
    public var since: String?
    /// Milliseconds until the next attempt; absent when none is due.
    public var retryInMilliseconds: Int?
    /// Fault events, self-test runs, audit entries and device sightings waiting in memory,
    /// oldest first; the fault events among them.
    public var unsavedRecords: Int
    public var unsavedFaultEvents: Int
    /// How many such records are kept at most; beyond it the newest are dropped (the oldest are
    /// the evidence).
    public var unsavedLimit: Int
    /// Telemetry (status samples, actuations, audit outcomes) waiting for the next flush.
    public var pendingTelemetry: Int
    /// Records dropped because the queue was full, since the daemon started; the history gets
    /// a `lost` event per device in their place once writes work again.
    public var droppedRecords: UInt64
    public var droppedTelemetry: UInt64
    /// Records the database refused (a constraint, a value it cannot store) and that were set
    /// aside so the rest could be written, since the daemon started; the latest are listed.
    public var quarantined: UInt64
    public var quarantine: [QuarantinedRecord]
    /// Failed write attempts since the daemon started.
    public var writeErrors: UInt64

    enum CodingKeys: String, CodingKey {
        case status, reason, since, quarantined, quarantine
        case retryInMilliseconds = "retry_in_ms"
        case unsavedRecords = "unsaved_records"
        case unsavedFaultEvents = "unsaved_fault_events"
        case unsavedLimit = "unsaved_limit"
        case pendingTelemetry = "pending_telemetry"
        case droppedRecords = "dropped_records"
        case droppedTelemetry = "dropped_telemetry"
        case writeErrors = "write_errors"
    }

    public init(status: Status, reason: String?, since: String?, retryInMilliseconds: Int?, unsavedRecords: Int, unsavedFaultEvents: Int,
                unsavedLimit: Int, pendingTelemetry: Int, droppedRecords: UInt64, droppedTelemetry: UInt64, quarantined: UInt64,
                quarantine: [QuarantinedRecord], writeErrors: UInt64) {
        self.status = status
        self.reason = reason
        self.since = since
        self.retryInMilliseconds = retryInMilliseconds
        self.unsavedRecords = unsavedRecords
        self.unsavedFaultEvents = unsavedFaultEvents
        self.unsavedLimit = unsavedLimit
        self.pendingTelemetry = pendingTelemetry
        self.droppedRecords = droppedRecords
        self.droppedTelemetry = droppedTelemetry
        self.quarantined = quarantined
        self.quarantine = quarantine
        self.writeErrors = writeErrors
    }
}

/// A record the history database refused, set aside.
public struct QuarantinedRecord: Codable, Sendable, Equatable {
    /// `fault_event`, `test_run`, `device`, `audit`, `actuation`, `status_sample`, `lost`.
    public var kind: String
    public var device: String?
    /// A fault event's code and event (`0x0101 confirmed`).
    public var what: String?
    /// When the record's event happened (ISO 8601, UTC).
    public var at: String
    /// The database's refusal.
    public var reason: String

    public init(kind: String, device: String?, what: String?, at: String, reason: String) {
        self.kind = kind
        self.device = device
        self.what = what
        self.at = at
        self.reason = reason
    }
}
