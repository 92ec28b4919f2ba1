import Foundation
import GRDB
import LockDiagAPI
import LockJSON

/// Why the history database could not be used, with what to do about it.
public enum HistoryError: Error, Sendable, CustomStringConvertible, Equatable {
    case cannotCreateDirectory(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    case notADatabase(path: String)
    case corrupt(path: String, details: String)
    case tooNew(path: String, unknown: [String])
    case query(String)
    /// A write the database could not take now (full disk, I/O error, locked): worth retrying.
    case writeFailed(String)
    /// A record the database refuses whatever the disk does (a constraint, a value it cannot
    /// store): retrying it cannot help, so it is set aside and the rest go on.
    case recordRefused(String)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            "cannot create the history folder \(path): \(reason) — create it (owned by the user lockdiagd runs as) or give --db PATH elsewhere"
        case .cannotOpen(let path, let reason):
            "cannot open the history database \(path): \(reason) — check its permissions and free space, or give --db PATH elsewhere"
        case .notADatabase(let path):
            "\(path) is not a lockdiag history database (not SQLite) — move it aside or give --db PATH elsewhere"
        case .corrupt(let path, let details):
            "the history database \(path) failed its integrity check (\(details)) — move it aside (mv \(path) \(path).corrupt) and restart; lockdiagd starts a new one"
        case .tooNew(let path, let unknown):
            "the history database \(path) was written by a newer lockdiagd (schema \(unknown.joined(separator: ", "))) — upgrade lockdiagd or give --db PATH elsewhere"
        case .query(let reason): "history query failed: \(reason)"
        case .writeFailed(let reason): "history write failed: \(reason); lockdiagd keeps what is unsaved in memory and retries"
        case .recordRefused(let reason):
            "the history database refused a record: \(reason) — it is set aside (daemon.info lists it) and the other records are written"
        }
    }

    /// A failed write's reason and advice, without the sentence around it.
    public var detail: String {
        switch self {
        case .writeFailed(let reason), .recordRefused(let reason), .query(let reason): reason
        default: description
        }
    }

    /// Whether retrying the same write can never work.
    public var isPermanent: Bool {
        if case .recordRefused = self { return true }
        return false
    }
}

/// The history store: one SQLite file in WAL mode (readers never wait for the writer), every
/// transaction synced to disk (`synchronous=FULL`) so a committed fault event survives a crash
/// or a power cut, and the schema kept by numbered migrations (docs/reports.md#history).
public final class HistoryDatabase: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating the file and its folder if needed), migrates and checks the database.
    public init(path: String) throws(HistoryError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
            } catch {
                throw .cannotCreateDirectory(path: directory, reason: Self.reason(error))
            }
        }
        if let handle = FileHandle(forReadingAtPath: path) {
            let header = (try? handle.read(upToCount: 16)) ?? Data()
            try? handle.close()
            if !header.isEmpty && header != Data("SQLite format 3\0".utf8) { throw .notADatabase(path: path) }
        }
        var configuration = Configuration()
        configuration.label = "lockdiag.history"
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // FULL: in WAL mode NORMAL may lose the last transactions on power loss; fault events must not.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw .notADatabase(path: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT {
            throw .corrupt(path: path, details: error.message ?? "\(error)")
        } catch {
            throw .cannotOpen(path: path, reason: Self.reason(error))
        }
        do {
            let unknown = try pool.read { db in try Self.migrator.appliedIdentifiers(db).subtracting(Self.migrations) }
            if !unknown.isEmpty { throw HistoryError.tooNew(path: path, unknown: unknown.sorted()) }
            let check = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            if check != ["ok"] { throw HistoryError.corrupt(path: path, details: check.prefix(3).joined(separator: "; ")) }
            try Self.migrator.migrate(pool)
        } catch let error as HistoryError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw .notADatabase(path: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT {
            throw .corrupt(path: path, details: error.message ?? "\(error)")
        } catch {
            throw .cannotOpen(path: path, reason: Self.reason(error))
        }
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return "\(error)"
    }

    // MARK: Schema

    /// Migration identifiers, oldest first. Never edit a shipped one: add the next.
    static let migrations: Set<String> = ["v1-history", "v2-audit", "v3-unknown-readings", "v4-signed-reports"]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-history") { db in
            try db.execute(sql: """
                CREATE TABLE device (
                    id TEXT PRIMARY KEY NOT NULL,
                    serial TEXT, model TEXT, hardware_revision TEXT, transport TEXT, path TEXT,
                    first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);
                CREATE TABLE firmware_seen (
                    device TEXT NOT NULL REFERENCES device(id) ON DELETE CASCADE,
                    version TEXT NOT NULL,
                    first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,
                    PRIMARY KEY (device, version));
                CREATE TABLE fault_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL,
                    event TEXT NOT NULL, status TEXT, at_ms INTEGER NOT NULL, count INTEGER NOT NULL, first_seen TEXT NOT NULL,
                    source TEXT NOT NULL, evidence TEXT NOT NULL, freeze_frame TEXT, advice TEXT NOT NULL, cleared_by TEXT);
                CREATE INDEX fault_event_by_device ON fault_event(device, at_ms);
                CREATE TABLE test_run (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device TEXT NOT NULL, test TEXT NOT NULL, verdict TEXT NOT NULL,
                    started_at_ms INTEGER NOT NULL, duration_ms INTEGER NOT NULL, requested_by TEXT,
                    run TEXT NOT NULL);
                CREATE INDEX test_run_by_device ON test_run(device, started_at_ms);
                CREATE TABLE actuation (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device TEXT NOT NULL, actuation INTEGER NOT NULL, at_ms INTEGER NOT NULL, analysis TEXT NOT NULL,
                    summary TEXT NOT NULL);
                CREATE INDEX actuation_by_device ON actuation(device, at_ms);
                CREATE TABLE trace (
                    actuation_id INTEGER PRIMARY KEY NOT NULL REFERENCES actuation(id) ON DELETE CASCADE,
                    sample_rate_hz INTEGER NOT NULL,
                    samples_ma BLOB NOT NULL);
                CREATE TABLE status_sample (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device TEXT NOT NULL, at_ms INTEGER NOT NULL,
                    battery_mv INTEGER NOT NULL, battery_percent INTEGER, motor_state TEXT NOT NULL,
                    motor_current_ma INTEGER NOT NULL, bolt TEXT NOT NULL, temperature_c REAL);
                CREATE INDEX status_sample_by_device ON status_sample(device, at_ms);
                """)
        }
        migrator.registerMigration("v2-audit") { db in
            try db.execute(sql: """
                CREATE TABLE audit_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL, uid INTEGER, gid INTEGER, pid INTEGER, client TEXT, connection INTEGER NOT NULL,
                    role TEXT, method TEXT NOT NULL, params TEXT NOT NULL, outcome TEXT NOT NULL,
                    error_code INTEGER, error_message TEXT);
                CREATE INDEX audit_event_by_time ON audit_event(at_ms);
                """)
        }
        // Readings (docs/architecture.md): a quantity the lock did not report is NULL, never 0 —
        // a Tuya lock has no voltage, motor or bolt; SQLite cannot drop NOT NULL in place.
        migrator.registerMigration("v3-unknown-readings") { db in
            try db.execute(sql: """
                CREATE TABLE status_sample_v3 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device TEXT NOT NULL, at_ms INTEGER NOT NULL,
                    battery_mv INTEGER, battery_percent INTEGER, motor_state TEXT,
                    motor_current_ma INTEGER, bolt TEXT, temperature_c REAL, battery_band TEXT);
                INSERT INTO status_sample_v3 (id, device, at_ms, battery_mv, battery_percent, motor_state, motor_current_ma, bolt, temperature_c)
                    SELECT id, device, at_ms, battery_mv, battery_percent, motor_state, motor_current_ma, bolt, temperature_c FROM status_sample;
                DROP TABLE status_sample;
                ALTER TABLE status_sample_v3 RENAME TO status_sample;
                CREATE INDEX status_sample_by_device ON status_sample(device, at_ms);
                """)
        }
        // Each signed report the station makes (docs/fleet.md): its canonical signed JSON, byte for byte as
        // `lockdiag report` writes it (without the final newline), for the fleet and for later questions. And each
        // rename of fault events' device (path → id), so that a copier can apply it to events it already sent.
        migrator.registerMigration("v4-signed-reports") { db in
            try db.execute(sql: """
                CREATE TABLE signed_report (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    report_id TEXT NOT NULL UNIQUE, device TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                    key_fingerprint TEXT NOT NULL, signed_json TEXT NOT NULL);
                CREATE INDEX signed_report_by_device ON signed_report(device, created_at_ms);
                CREATE TABLE device_rename (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    former TEXT NOT NULL, device TEXT NOT NULL, since_ms INTEGER NOT NULL, until_ms INTEGER NOT NULL);
                """)
        }
        return migrator
    }

    /// The migrations applied, newest last.
    public func schemaVersion() throws(HistoryError) -> String {
        try read { db in try Self.migrator.appliedMigrations(db).last ?? "empty" }
    }

    // MARK: Writing

    /// Writes `records` in one transaction: all or none. `durable`: synced to disk before it
    /// returns (`synchronous=FULL`); otherwise (`NORMAL`) it survives a crash of the process but
    /// may be lost in a power cut, until the next durable write or checkpoint syncs the WAL.
    ///
    /// Throws `.writeFailed` for what may work later (full disk, I/O error, another process
    /// holding the write lock past `busyTimeoutMilliseconds`) and `.recordRefused` for what never
    /// will (a constraint, a value SQLite or the JSON encoder refuses), each with what to do.
    public func write(_ records: [HistoryRecord], durable: Bool = true, busyTimeoutMilliseconds: Int = 250) throws(HistoryError) {
        guard !records.isEmpty else { return }
        do {
            try pool.writeWithoutTransaction { db in
                // Not allowed inside a transaction; the connection is the pool's only writer.
                try db.execute(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                // The writer never waits long for another process's lock: the recorder retries later instead.
                try db.execute(sql: "PRAGMA busy_timeout = \(max(0, busyTimeoutMilliseconds))")
                try db.inTransaction(.immediate) {
                    for record in records { try Self.insert(record, into: db) }
                    return .commit
                }
            }
        } catch {
            throw classify(error)
        }
    }

    /// Sorts a failed write into "retry later" and "never", with advice for the first kind.
    /// Result codes: https://www.sqlite.org/rescode.html
    func classify(_ error: any Error) -> HistoryError {
        guard let error = error as? DatabaseError else {
            // Not SQLite: the record could not be encoded (e.g. a NaN the JSON encoder refuses).
            return .recordRefused("cannot encode it: \(error)")
        }
        let message = error.message ?? error.description
        let folder = (path as NSString).deletingLastPathComponent
        switch error.resultCode {
        case .SQLITE_FULL:
            return .writeFailed("\(message) — free space on the filesystem holding \(folder) (df -h \(folder))")
        case .SQLITE_IOERR:
            return .writeFailed("\(message) (disk I/O error) — check the disk holding \(folder) (dmesg, df -h \(folder))")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .writeFailed("\(message) — another process holds the write lock on \(path) (fuser \(path))")
        case .SQLITE_READONLY:
            return .writeFailed("\(message) — make \(path) writable again (is the filesystem mounted read-only? its owner?)")
        case .SQLITE_CANTOPEN:
            return .writeFailed("\(message) — \(path) or its folder went away; restore it or restart lockdiagd")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return .writeFailed("\(message) — the database is damaged: stop lockdiagd, move \(path) aside and restart")
        case .SQLITE_NOMEM, .SQLITE_PROTOCOL, .SQLITE_INTERRUPT, .SQLITE_ABORT:
            return .writeFailed(message)
        default:
            // SQLITE_CONSTRAINT, SQLITE_TOOBIG, SQLITE_MISMATCH, SQLITE_RANGE, SQLITE_ERROR…:
            // the statement is wrong for this record, whatever the disk does.
            return .recordRefused("\(message) (SQLite result code \(error.extendedResultCode.rawValue))")
        }
    }

    /// A column's JSON text: keys sorted, so equal values are stored as equal text.
    private static func json(_ value: some Encodable) throws -> String {
        try JSONValue(encoding: value).jsonText
    }

    private static func insert(_ record: HistoryRecord, into db: Database) throws {
        switch record {
        case .device(let s):
            try db.execute(sql: """
                INSERT INTO device (id, serial, model, hardware_revision, transport, path, first_seen_ms, last_seen_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET serial = excluded.serial, model = excluded.model,
                    hardware_revision = excluded.hardware_revision, transport = excluded.transport, path = excluded.path,
                    last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)
                """, arguments: [s.id, s.serial, s.model, s.hardwareRevision, s.transport, s.path, s.atMilliseconds, s.atMilliseconds])
            if let firmware = s.firmware {
                try db.execute(sql: """
                    INSERT INTO firmware_seen (device, version, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?)
                    ON CONFLICT(device, version) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)
                    """, arguments: [s.id, firmware, s.atMilliseconds, s.atMilliseconds])
            }
            if let former = s.formerID, let since = s.formerIDSinceMilliseconds, former != s.id {
                try db.execute(sql: "UPDATE fault_event SET device = ? WHERE device = ? AND at_ms BETWEEN ? AND ?",
                               arguments: [s.id, former, since, s.atMilliseconds])
                if db.changesCount > 0 {
                    try db.execute(sql: "INSERT INTO device_rename (former, device, since_ms, until_ms) VALUES (?, ?, ?, ?)",
                                   arguments: [former, s.id, since, s.atMilliseconds])
                }
            }
        case .fault(let e, let at):
            try db.execute(sql: """
                INSERT INTO fault_event (device, code, name, title, severity, event, status, at_ms, count, first_seen, source,
                                         evidence, freeze_frame, advice, cleared_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [e.device, e.code, e.name, e.title, e.severity, e.event.rawValue, e.status?.rawValue, at, e.count,
                                 e.firstSeen, e.source, e.evidence, try e.freezeFrame.map(json), e.advice, e.clearedBy])
        case .testRun(let run, let at, let by):
            try db.execute(sql: """
                INSERT INTO test_run (device, test, verdict, started_at_ms, duration_ms, requested_by, run)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [run.device, run.test.rawValue, run.verdict.rawValue, at, run.durationMilliseconds, by, try json(run)])
        case .actuation(let device, let summary, let trace, let at):
            try db.execute(sql: "INSERT INTO actuation (device, actuation, at_ms, analysis, summary) VALUES (?, ?, ?, ?, ?)",
                           arguments: [device, summary.actuation, at, summary.analysis, try json(summary)])
            if let trace {
                try db.execute(sql: "INSERT INTO trace (actuation_id, sample_rate_hz, samples_ma) VALUES (?, ?, ?)",
                               arguments: [db.lastInsertedRowID, trace.sampleRateHz, Self.pack(trace.samplesMilliamps)])
            }
        case .audit(let a):
            try db.execute(sql: """
                INSERT INTO audit_event (at_ms, uid, gid, pid, client, connection, role, method, params, outcome, error_code, error_message)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [a.atMilliseconds, a.uid.map { Int64($0) }, a.gid.map { Int64($0) }, a.pid, a.client, Int64(truncatingIfNeeded: a.connection),
                                 a.role, a.method, a.params, a.outcome, a.errorCode, a.errorMessage])
        case .status(let s):
            try db.execute(sql: """
                INSERT INTO status_sample (device, at_ms, battery_mv, battery_percent, battery_band, motor_state, motor_current_ma, bolt,
                                           temperature_c)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [s.device, s.atMilliseconds, s.batteryMillivolts, s.batteryPercent, s.batteryBand, s.motorState,
                                 s.motorCurrentMilliamps, s.bolt, s.temperatureCelsius])
        }
    }

    /// Samples as little-endian 16-bit milliamps: a 1 kHz trace of two seconds is 4 KB.
    static func pack(_ samples: [Int]) -> Data {
        var data = Data(capacity: samples.count * 2)
        for sample in samples {
            let value = UInt16(clamping: sample)
            data.append(UInt8(value & 0xFF))
            data.append(UInt8(value >> 8))
        }
        return data
    }

    static func unpack(_ data: Data) -> [Int] {
        let bytes = [UInt8](data)
        return stride(from: 0, to: bytes.count - 1, by: 2).map { Int(bytes[$0]) | Int(bytes[$0 + 1]) << 8 }
    }

    // MARK: Reading

    private func read<T>(_ body: (Database) throws -> T) throws(HistoryError) -> T {
        do { return try pool.read(body) } catch { throw .query(Self.reason(error)) }
    }

    /// A value from a column written by `json(_:)` (or by JSONEncoder, before: the same JSON).
    private static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONValue(parsing: text).decode(as: T.self)
    }

    /// A device's fault events, oldest first: the newest `limit` at or after `since` and, given
    /// `beforeID`, older than that event (the next page back; new events never shift it, as
    /// they only get higher ids). `truncated`: older ones matched too.
    public func faultEvents(device: String, sinceMilliseconds: Int64? = nil, beforeID: Int64? = nil, limit: Int = 10_000)
        throws(HistoryError) -> (events: [FaultEvent], truncated: Bool) {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM fault_event WHERE device = ? AND at_ms >= ? AND id < ? ORDER BY id DESC LIMIT ?
                """, arguments: [device, sinceMilliseconds ?? Int64.min, beforeID ?? Int64.max, limit + 1])
            let events = try rows.prefix(limit).reversed().map(Self.faultEvent)
            return (events, rows.count > limit)
        }
    }

    static func faultEvent(_ row: Row) throws -> FaultEvent {
        let freeze: String? = row["freeze_frame"]
        return FaultEvent(
            id: row["id"], device: row["device"], code: row["code"], name: row["name"], title: row["title"], severity: row["severity"],
            event: FaultEventKind(rawValue: row["event"]) ?? .raised, status: (row["status"] as String?).flatMap(FaultStatus.init),
            at: APITime.format(milliseconds: row["at_ms"]), count: row["count"], firstSeen: row["first_seen"], source: row["source"],
            evidence: row["evidence"], freezeFrame: try freeze.map { try decode(FreezeFrame.self, from: $0) },
            advice: row["advice"], clearedBy: row["cleared_by"])
    }

    /// What the history knows of a device, or nil if it never identified itself.
    public func deviceRecord(_ id: String) throws(HistoryError) -> DeviceRecord? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ?", arguments: [id]) else { return nil }
            let firmware = try Row.fetchAll(db, sql: "SELECT * FROM firmware_seen WHERE device = ? ORDER BY first_seen_ms", arguments: [id])
                .map { FirmwareSeen(version: $0["version"], firstSeen: APITime.format(milliseconds: $0["first_seen_ms"]),
                                    lastSeen: APITime.format(milliseconds: $0["last_seen_ms"])) }
            return DeviceRecord(id: row["id"], serial: row["serial"], model: row["model"], hardwareRevision: row["hardware_revision"],
                                transport: row["transport"], path: row["path"],
                                firstSeen: APITime.format(milliseconds: row["first_seen_ms"]),
                                lastSeen: APITime.format(milliseconds: row["last_seen_ms"]), firmware: firmware)
        }
    }

    /// A device's most recent self-test runs, newest first.
    public func testRuns(device: String, limit: Int = 20) throws(HistoryError) -> [TestRun] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT run FROM test_run WHERE device = ? ORDER BY id DESC LIMIT ?", arguments: [device, limit])
                .map { try Self.decode(TestRun.self, from: $0) }
        }
    }

    /// A device's most recent actuations with their traces, newest first.
    public func actuations(device: String, limit: Int = 8) throws(HistoryError) -> [StoredActuation] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.device, a.at_ms, a.summary, t.sample_rate_hz, t.samples_ma
                FROM actuation a LEFT JOIN trace t ON t.actuation_id = a.id
                WHERE a.device = ? ORDER BY a.id DESC LIMIT ?
                """, arguments: [device, limit]).map { row in
                let summary = try Self.decode(ActuationSummary.self, from: row["summary"] as String)
                let samples: Data? = row["samples_ma"]
                let trace = samples.map { MotorTrace(actuation: summary.actuation, sampleRateHz: row["sample_rate_hz"], samplesMilliamps: Self.unpack($0)) }
                return StoredActuation(device: row["device"], atMilliseconds: row["at_ms"], summary: summary, trace: trace)
            }
        }
    }

    /// Status samples of a device between two times, oldest first.
    public func statusSamples(device: String, fromMilliseconds: Int64, toMilliseconds: Int64, limit: Int = 5000) throws(HistoryError)
        -> [StatusSample] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM status_sample WHERE device = ? AND at_ms BETWEEN ? AND ? ORDER BY at_ms, id LIMIT ?
                """, arguments: [device, fromMilliseconds, toMilliseconds, limit]).map { row in
                StatusSample(device: row["device"], atMilliseconds: row["at_ms"], batteryMillivolts: row["battery_mv"],
                             batteryPercent: row["battery_percent"], batteryBand: row["battery_band"], motorState: row["motor_state"],
                             motorCurrentMilliamps: row["motor_current_ma"], bolt: row["bolt"], temperatureCelsius: row["temperature_c"])
            }
        }
    }

    /// Rows per table.
    public struct Counts: Sendable, Equatable {
        public var devices = 0, faultEvents = 0, testRuns = 0, actuations = 0, statusSamples = 0
        public init(devices: Int = 0, faultEvents: Int = 0, testRuns: Int = 0, actuations: Int = 0, statusSamples: Int = 0) {
            self.devices = devices
            self.faultEvents = faultEvents
            self.testRuns = testRuns
            self.actuations = actuations
            self.statusSamples = statusSamples
        }
    }

    /// The newest audit entries, newest first.
    public func auditEntries(limit: Int = 1000) throws(HistoryError) -> [AuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_event ORDER BY id DESC LIMIT ?", arguments: [limit]).map { row in
                AuditEntry(atMilliseconds: row["at_ms"], uid: (row["uid"] as Int64?).map(UInt32.init(truncatingIfNeeded:)),
                           gid: (row["gid"] as Int64?).map(UInt32.init(truncatingIfNeeded:)), pid: row["pid"], client: row["client"],
                           connection: UInt64(truncatingIfNeeded: row["connection"] as Int64), role: row["role"], method: row["method"],
                           params: row["params"], outcome: row["outcome"], errorCode: row["error_code"], errorMessage: row["error_message"])
            }
        }
    }

    public func counts() throws(HistoryError) -> Counts {
        try read { db in
            func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
            return Counts(devices: try count("device"), faultEvents: try count("fault_event"), testRuns: try count("test_run"),
                          actuations: try count("actuation"), statusSamples: try count("status_sample"))
        }
    }

    /// The database file and its WAL, in bytes.
    public func sizeBytes() -> Int64 {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64) ?? 0)
        }
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound database.
    public func integrityCheck() throws(HistoryError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Deletes telemetry older or beyond what `policy` keeps; returns the rows removed.
    @discardableResult
    public func prune(_ policy: RetentionPolicy, nowMilliseconds: Int64) throws(HistoryError) -> Int {
        do {
            return try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA busy_timeout = 250")
                var removed = 0
                try db.inTransaction(.immediate) {
                    removed = try Self.prune(policy, nowMilliseconds: nowMilliseconds, in: db)
                    return .commit
                }
                return removed
            }
        } catch {
            throw classify(error)
        }
    }

    private static func prune(_ policy: RetentionPolicy, nowMilliseconds: Int64, in db: Database) throws -> Int {
        let day: Int64 = 86_400_000
        var removed = 0
        try db.execute(sql: "DELETE FROM status_sample WHERE at_ms < ?",
                       arguments: [nowMilliseconds - Int64(policy.statusSampleMaxAgeDays) * day])
        removed += db.changesCount
        try db.execute(sql: "DELETE FROM actuation WHERE at_ms < ?",
                       arguments: [nowMilliseconds - Int64(policy.actuationMaxAgeDays) * day])
        removed += db.changesCount
        for (table, keep) in [("status_sample", policy.statusSamplesPerDevice), ("actuation", policy.actuationsPerDevice)] {
            for device in try String.fetchAll(db, sql: "SELECT DISTINCT device FROM \(table)") {
                try db.execute(sql: """
                    DELETE FROM \(table) WHERE device = ? AND id <= (
                        SELECT id FROM \(table) WHERE device = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """, arguments: [device, device, keep])
                removed += db.changesCount
            }
        }
        try db.execute(sql: """
            DELETE FROM audit_event WHERE id <= (SELECT id FROM audit_event ORDER BY id DESC LIMIT 1 OFFSET ?)
            """, arguments: [policy.auditEntries])
        removed += db.changesCount
        return removed
    }
}
