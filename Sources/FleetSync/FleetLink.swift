import Dispatch
import Foundation
import HistoryStore
import LockDiagAPI
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// `lockdiagd --fleet URL`: copies the station's history to the fleet database, offline-first (docs/fleet.md).
///
/// The local SQLite history stays the source of truth. One task copies, in row-id order and in batches of
/// `batchRows`, each stream (`fault_event`, `test_run`, `audit_event`) from the high-water mark the database holds
/// for this station; a batch and its new mark are one statement, so the database has a batch and its mark or
/// neither, and a resend after a crash or a lost reply is `ON CONFLICT DO NOTHING`. Devices and firmware sightings
/// (updated in place) are compared with what was sent on this connection and upserted. When the database is down
/// the rows wait in the local history and the link retries, the delay doubling from 1 s to 30 s.
///
/// Nothing here runs on the poll loop, the hub or a client's path: SQLite reads run on a queue of the link's own,
/// PostgreSQL I/O on an event loop of its own, and the daemon only reads `info()`.
public final class FleetLink: Sendable {
    public struct Configuration: Sendable {
        public var url: FleetURL
        public var batchRows = 500
        /// How often a caught-up link looks for new rows.
        public var idleSeconds = 1.0
        public var firstRetrySeconds = 1.0
        public var maximumRetrySeconds = 30.0
        /// A statement unanswered this long means the server or the network is gone: reconnect.
        public var queryTimeoutSeconds = 15.0

        public init(url: FleetURL) { self.url = url }
    }

    public let configuration: Configuration
    private let history = Mutex<HistoryDatabase?>(nil)
    let logger: Logger
    private let status: Mutex<Status>
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// SQLite reads block: never on Swift's cooperative pool, and not in the API's read queue's line either.
    private let readQueue = DispatchQueue(label: "lockdiag-fleet-read", qos: .utility)

    /// `device_rename` after `fault_event`: a rename applies to fault events already in the database.
    static let streams = ["fault_event", "test_run", "audit_event", "signed_report", "device_rename"]

    struct Status {
        var state: FleetLinkInfo.State = .connecting
        var highWater: [String: Int64] = [:]
        var newest: [String: Int64] = [:]
        var marksKnown = false
        var sentRows: UInt64 = 0
        var lastSyncMilliseconds: Int64?
        var lastError: String?
        /// When the database last had everything (monotonic seconds); nil: not since start.
        var caughtUpAt: Double?
        let startedAt = Self.now()

        static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        status = Mutex(Status())
    }

    /// Starts copying `history` (once; a second call does nothing).
    public func start(history database: HistoryDatabase) {
        history.withLock { $0 = database }
        task.withLock { task in
            guard task == nil else { return }
            task = Task.detached(name: "lockdiag-fleet") { [self] in await run() }
        }
    }

    /// Stops copying; a batch in flight is rolled back by the server and sent again next time.
    public func stop() {
        task.withLock { $0?.cancel() }
    }

    /// Waits for the link to have stopped (after `stop()`).
    public func stopped() async {
        await task.withLock { $0 }?.value
    }

    public func info() -> FleetLinkInfo {
        status.withLock { s in
            let backlog: Int64? = s.marksKnown ? Self.streams.reduce(0) { $0 + max(0, (s.newest[$1] ?? 0) - (s.highWater[$1] ?? 0)) } : nil
            let lag: Double = backlog == 0 ? 0 : Status.now() - (s.caughtUpAt ?? s.startedAt)
            return FleetLinkInfo(database: configuration.url.description, station: configuration.url.user, state: s.state,
                                 backlogRows: backlog, lagSeconds: (lag * 10).rounded() / 10, sentRows: s.sentRows,
                                 lastSyncAt: s.lastSyncMilliseconds.map(APITime.format(milliseconds:)), lastError: s.lastError,
                                 highWater: s.highWater)
        }
    }

    // MARK: The copying task

    func run() async {
        var delay = configuration.firstRetrySeconds
        // Logged once per distinct failure, and once when it ends: not once per retry.
        var loggedError: String?
        var loggedConnected = false
        while !Task.isCancelled {
            status.withLock { $0.state = .connecting }
            var database: FleetDatabase?
            do {
                let db = try await FleetDatabase.connect(configuration.url, queryTimeoutSeconds: configuration.queryTimeoutSeconds,
                                                         logger: logger)
                database = db
                try await db.requireSchema()
                try await loadMarks(db)
                var sent = Sent()
                while !Task.isCancelled {
                    let copied = try await copyRound(db, sent: &sent)
                    // Only a round that worked ends an outage: a login that works but may not insert is still one.
                    if loggedError != nil || !loggedConnected {
                        logger.notice("fleet: connected to \(configuration.url) as station \(configuration.url.user)")
                        loggedError = nil
                        loggedConnected = true
                    }
                    delay = configuration.firstRetrySeconds
                    if copied == 0 {
                        status.withLock { $0.state = .idle }
                        try await Task.sleep(for: .seconds(configuration.idleSeconds))
                    }
                }
            } catch is CancellationError {
                break
            } catch {
                let fleetError = FleetError.from(error, url: configuration.url)
                status.withLock {
                    $0.state = .offline
                    $0.lastError = fleetError.description
                }
                if loggedError != fleetError.description {
                    logger.warning("fleet: \(fleetError) — the rows wait in the local history; retrying")
                    loggedError = fleetError.description
                }
            }
            await database?.close()
            await refreshNewest()
            do { try await Task.sleep(for: .seconds(delay)) } catch { break }
            delay = min(delay * 2, configuration.maximumRetrySeconds)
        }
        status.withLock { $0.state = .offline; $0.lastError = "stopped" }
    }

    /// What was sent of the rows updated in place, on this connection.
    struct Sent {
        var devices: [String: HistoryDatabase.DeviceRow] = [:]
        var firmware: [String: HistoryDatabase.FirmwareRow] = [:]
    }

    func loadMarks(_ db: FleetDatabase) async throws(FleetError) {
        var marks: [String: Int64] = [:]
        for row in try await db.rows("SELECT stream, high_water FROM fleet.sync_mark WHERE station = current_user") {
            marks[try FleetDatabase.decode(row, "stream")] = try FleetDatabase.decode(row, "high_water", as: Int64.self)
        }
        status.withLock {
            $0.highWater = marks
            $0.marksKnown = true
        }
        await refreshNewest()
        let (newest, high) = status.withLock { ($0.newest, $0.highWater) }
        for stream in Self.streams where (high[stream] ?? 0) > (newest[stream] ?? 0) {
            logger.warning("fleet: the database has \(stream) rows up to \(high[stream] ?? 0) from station \(configuration.url.user), the local history only up to \(newest[stream] ?? 0): is this a new history database on an old station name? Its rows up to there are not sent — enroll it as a new station (docs/fleet.md)")
        }
    }

    func refreshNewest() async {
        guard let newest = try? await read({ db throws(HistoryError) in try db.newestSequenceNumbers() }) else { return }
        status.withLock {
            $0.newest = ["fault_event": newest.faults, "test_run": newest.testRuns, "audit_event": newest.audit, "signed_report": newest.reports,
                         "device_rename": newest.renames]
        }
    }

    /// Sends what the database does not have yet; returns the rows sent (0: caught up).
    func copyRound(_ db: FleetDatabase, sent: inout Sent) async throws -> Int {
        status.withLock { $0.state = .syncing }
        var total = 0
        total += try await copyDevices(db, sent: &sent)
        let limit = configuration.batchRows
        for stream in Self.streams {
            while true {
                try Task.checkCancellation()
                let mark = status.withLock { $0.highWater[stream] ?? 0 }
                let (json, last, count): (String, Int64, Int) = try await read { (db) throws(HistoryError) in
                    switch stream {
                    case "fault_event": let rows = try db.faultRows(after: mark, limit: limit); return (Self.json(rows), rows.last?.seq ?? mark, rows.count)
                    case "test_run": let rows = try db.testRunRows(after: mark, limit: limit); return (Self.json(rows), rows.last?.seq ?? mark, rows.count)
                    case "audit_event": let rows = try db.auditRows(after: mark, limit: limit); return (Self.json(rows), rows.last?.seq ?? mark, rows.count)
                    case "signed_report": let rows = try db.reportRows(after: mark, limit: limit); return (Self.json(rows), rows.last?.seq ?? mark, rows.count)
                    default: let rows = try db.renameRows(after: mark, limit: limit); return (Self.json(rows), rows.last?.seq ?? mark, rows.count)
                    }
                }
                if count == 0 { break }
                try await db.rows(Self.insert(stream, json: json, highWater: last))
                total += count
                status.withLock {
                    $0.highWater[stream] = last
                    $0.newest[stream] = max($0.newest[stream] ?? 0, last)
                    $0.sentRows += UInt64(count)
                    $0.lastSyncMilliseconds = Int64(Date().timeIntervalSince1970 * 1000)
                    $0.lastError = nil
                }
                if count < limit { break }
            }
        }
        await refreshNewest()
        status.withLock { s in
            if Self.streams.allSatisfy({ (s.newest[$0] ?? 0) <= (s.highWater[$0] ?? 0) }) { s.caughtUpAt = Status.now() }
        }
        return total
    }

    func copyDevices(_ db: FleetDatabase, sent: inout Sent) async throws -> Int {
        let (devices, firmware) = try await read { (db) throws(HistoryError) in try db.deviceRows() }
        let newDevices = devices.filter { sent.devices[$0.device] != $0 }
        let newFirmware = firmware.filter { sent.firmware[$0.device + "\u{0}" + $0.version] != $0 }
        var count = 0
        for chunk in stride(from: 0, to: newDevices.count, by: configuration.batchRows) {
            let rows = Array(newDevices[chunk..<min(chunk + configuration.batchRows, newDevices.count)])
            try await db.rows(Self.upsertDevices(Self.json(rows)))
            for row in rows { sent.devices[row.device] = row }
            count += rows.count
        }
        for chunk in stride(from: 0, to: newFirmware.count, by: configuration.batchRows) {
            let rows = Array(newFirmware[chunk..<min(chunk + configuration.batchRows, newFirmware.count)])
            try await db.rows(Self.upsertFirmware(Self.json(rows)))
            for row in rows { sent.firmware[row.device + "\u{0}" + row.version] = row }
            count += rows.count
        }
        return count
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (HistoryDatabase) throws(HistoryError) -> T) async throws(FleetError) -> T {
        guard let history = history.withLock({ $0 }) else { throw .history("the link was not started with a history") }
        let result: Result<T, HistoryError> = await withCheckedContinuation { continuation in
            readQueue.async { continuation.resume(returning: Result { () throws(HistoryError) -> T in try body(history) }) }
        }
        do { return try result.get() } catch { throw .history(error.description) }
    }

    // MARK: SQL

    private static let encoder = JSONEncoder()

    /// A batch as one JSON array, unpacked by `jsonb_to_recordset` on the server: one parameter whatever its size.
    static func json(_ rows: some Encodable) -> String {
        // The rows are strings and integers from SQLite: always encodable.
        String(decoding: (try? encoder.encode(rows)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Inserts a batch and moves the stream's mark in one statement (atomic); returns the rows that were new.
    static func insert(_ stream: String, json: String, highWater: Int64) -> PostgresQuery {
        let (columns, select, record): (String, String, String)
        switch stream {
        case "fault_event":
            columns = "device, serial, model, firmware, code, name, title, severity, event, status, at, count, source, evidence, freeze_frame, advice, cleared_by"
            select = "r.device, r.serial, r.model, r.firmware, r.code, r.name, r.title, r.severity, r.event, r.status, to_timestamp(r.at_ms / 1000.0), r.count, r.source, r.evidence, r.freeze_frame::jsonb, r.advice, r.cleared_by"
            record = "seq bigint, device text, serial text, model text, firmware text, code text, name text, title text, severity text, event text, status text, at_ms bigint, count integer, source text, evidence text, freeze_frame text, advice text, cleared_by text"
        case "test_run":
            columns = "device, serial, model, firmware, test, verdict, started_at, duration_ms, requested_by, run"
            select = "r.device, r.serial, r.model, r.firmware, r.test, r.verdict, to_timestamp(r.started_at_ms / 1000.0), r.duration_ms, r.requested_by, r.run::jsonb"
            record = "seq bigint, device text, serial text, model text, firmware text, test text, verdict text, started_at_ms bigint, duration_ms integer, requested_by text, run text"
        case "signed_report":
            columns = "report_id, device, serial, model, created_at, key_fingerprint, signed_json"
            select = "r.report_id, r.device, r.serial, r.model, to_timestamp(r.created_at_ms / 1000.0), r.key_fingerprint, r.signed_json"
            record = "seq bigint, report_id text, device text, serial text, model text, created_at_ms bigint, key_fingerprint text, signed_json text"
        case "device_rename":
            columns = "former, device, since, until"
            select = "r.former, r.device, to_timestamp(r.since_ms / 1000.0), to_timestamp(r.until_ms / 1000.0)"
            record = "seq bigint, former text, device text, since_ms bigint, until_ms bigint"
        default:
            columns = "at, uid, gid, pid, client, connection, role, method, params, outcome, error_code, error_message"
            select = "to_timestamp(r.at_ms / 1000.0), r.uid, r.gid, r.pid, r.client, r.connection, r.role, r.method, r.params, r.outcome, r.error_code, r.error_message"
            record = "seq bigint, at_ms bigint, uid bigint, gid bigint, pid integer, client text, connection bigint, role text, method text, params text, outcome text, error_code integer, error_message text"
        }
        var bindings = PostgresBindings()
        bindings.append(json)
        bindings.append(stream)
        bindings.append(highWater)
        return PostgresQuery(unsafeSQL: """
            WITH batch AS (
                INSERT INTO fleet.\(stream) (station, seq, \(columns))
                SELECT current_user, r.seq, \(select) FROM jsonb_to_recordset($1::jsonb) AS r(\(record))
                ON CONFLICT (station, seq) DO NOTHING RETURNING 1)
            INSERT INTO fleet.sync_mark (station, stream, high_water) VALUES (current_user, $2, $3)
            ON CONFLICT (station, stream) DO UPDATE SET high_water = greatest(fleet.sync_mark.high_water, excluded.high_water), synced_at = now()
            RETURNING (SELECT count(*) FROM batch) AS inserted
            """, binds: bindings)
    }

    static func upsertDevices(_ json: String) -> PostgresQuery {
        """
        INSERT INTO fleet.device (station, device, serial, model, hardware_revision, transport, first_seen, last_seen)
        SELECT current_user, r.device, r.serial, r.model, r.hardware_revision, r.transport,
               to_timestamp(r.first_seen_ms / 1000.0), to_timestamp(r.last_seen_ms / 1000.0)
        FROM jsonb_to_recordset(\(json)::jsonb) AS r(device text, serial text, model text, hardware_revision text, transport text,
                                                    first_seen_ms bigint, last_seen_ms bigint)
        ON CONFLICT (station, device) DO UPDATE SET
            serial = coalesce(excluded.serial, fleet.device.serial), model = coalesce(excluded.model, fleet.device.model),
            hardware_revision = coalesce(excluded.hardware_revision, fleet.device.hardware_revision),
            transport = coalesce(excluded.transport, fleet.device.transport),
            first_seen = least(fleet.device.first_seen, excluded.first_seen), last_seen = greatest(fleet.device.last_seen, excluded.last_seen)
        """
    }

    static func upsertFirmware(_ json: String) -> PostgresQuery {
        """
        INSERT INTO fleet.firmware_seen (station, device, version, first_seen, last_seen)
        SELECT current_user, r.device, r.version, to_timestamp(r.first_seen_ms / 1000.0), to_timestamp(r.last_seen_ms / 1000.0)
        FROM jsonb_to_recordset(\(json)::jsonb) AS r(device text, version text, first_seen_ms bigint, last_seen_ms bigint)
        ON CONFLICT (station, device, version) DO UPDATE SET
            first_seen = least(fleet.firmware_seen.first_seen, excluded.first_seen),
            last_seen = greatest(fleet.firmware_seen.last_seen, excluded.last_seen)
        """
    }
}
