/// `daemon.info`'s `fleet`: the link that copies this station's history to the fleet database (docs/fleet.md);
/// absent when lockdiagd runs without `--fleet`.
public struct FleetLinkInfo: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Logging in to the database.
        case connecting
        /// Sending rows.
        case syncing
        /// The database has everything this station has.
        case idle
        /// The database cannot be reached or refused (`last_error` says why); rows wait in the local history.
        case offline
    }

    /// The connection string, without its password.
    public var database: String
    /// The station's PostgreSQL role: the `station` of its rows.
    public var station: String
    public var state: State
    /// Rows of the local history not yet in the fleet database (at most; pruned audit rows are never sent).
    /// Absent until the first connection tells where the database stands.
    public var backlogRows: Int64?
    /// Seconds since the fleet database last had everything this station had; 0 when it has.
    public var lagSeconds: Double
    /// Rows sent since lockdiagd started (resends included).
    public var sentRows: UInt64
    /// The last time a batch was committed (ISO 8601, UTC).
    public var lastSyncAt: String?
    /// Why the link is offline, and what to do; absent when it is not.
    public var lastError: String?
    /// The highest sequence number the database has of each stream (`fault_event`, `test_run`, `audit_event`,
    /// `signed_report`, `device_rename`).
    public var highWater: [String: Int64]

    enum CodingKeys: String, CodingKey {
        case database, station, state
        case backlogRows = "backlog_rows", lagSeconds = "lag_s", sentRows = "sent_rows", lastSyncAt = "last_sync_at"
        case lastError = "last_error", highWater = "high_water"
    }

    public init(database: String, station: String, state: State, backlogRows: Int64?, lagSeconds: Double, sentRows: UInt64,
                lastSyncAt: String?, lastError: String?, highWater: [String: Int64]) {
        self.database = database
        self.station = station
        self.state = state
        self.backlogRows = backlogRows
        self.lagSeconds = lagSeconds
        self.sentRows = sentRows
        self.lastSyncAt = lastSyncAt
        self.lastError = lastError
        self.highWater = highWater
    }
}
