import GRDB

/// Reads for a copier of the history (the fleet sync, docs/fleet.md): the rows of a table after a row id, in id
/// order. Row ids are AUTOINCREMENT — never reused, and given in commit order — so "after the last id copied" is
/// exactly what was not copied yet. JSON column names are the fleet database's.
extension HistoryDatabase {
    /// A fault event with the lock's serial, model and the firmware it ran when the event happened.
    public struct FaultRow: Encodable, Sendable, Equatable {
        public var seq: Int64
        public var device: String
        public var serial: String?, model: String?, firmware: String?
        public var code: String, name: String, title: String, severity: String, event: String, status: String?
        public var atMilliseconds: Int64
        public var count: Int
        public var source: String, evidence: String
        /// JSON text.
        public var freezeFrame: String?
        public var advice: String
        public var clearedBy: String?

        enum CodingKeys: String, CodingKey {
            case seq, device, serial, model, firmware, code, name, title, severity, event, status, count, source, evidence, advice
            case atMilliseconds = "at_ms", freezeFrame = "freeze_frame", clearedBy = "cleared_by"
        }
    }

    /// A self-test run; `run` is the whole TestRun (with its measurements) as JSON text.
    public struct TestRunRow: Encodable, Sendable, Equatable {
        public var seq: Int64
        public var device: String
        public var serial: String?, model: String?, firmware: String?
        public var test: String, verdict: String
        public var startedAtMilliseconds: Int64
        public var durationMilliseconds: Int64
        public var requestedBy: String?
        public var run: String

        enum CodingKeys: String, CodingKey {
            case seq, device, serial, model, firmware, test, verdict, run
            case startedAtMilliseconds = "started_at_ms", durationMilliseconds = "duration_ms", requestedBy = "requested_by"
        }
    }

    public struct AuditRow: Encodable, Sendable, Equatable {
        public var seq: Int64
        public var atMilliseconds: Int64
        public var uid: Int64?, gid: Int64?, pid: Int64?
        public var client: String?
        public var connection: Int64
        public var role: String?
        public var method: String, params: String, outcome: String
        public var errorCode: Int64?
        public var errorMessage: String?

        enum CodingKeys: String, CodingKey {
            case seq, uid, gid, pid, client, connection, role, method, params, outcome
            case atMilliseconds = "at_ms", errorCode = "error_code", errorMessage = "error_message"
        }
    }

    public struct DeviceRow: Encodable, Sendable, Equatable {
        public var device: String
        public var serial: String?, model: String?, hardwareRevision: String?, transport: String?
        public var firstSeenMilliseconds: Int64, lastSeenMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case device, serial, model, transport
            case hardwareRevision = "hardware_revision", firstSeenMilliseconds = "first_seen_ms", lastSeenMilliseconds = "last_seen_ms"
        }
    }

    public struct FirmwareRow: Encodable, Sendable, Equatable {
        public var device: String, version: String
        public var firstSeenMilliseconds: Int64, lastSeenMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case device, version
            case firstSeenMilliseconds = "first_seen_ms", lastSeenMilliseconds = "last_seen_ms"
        }
    }

    /// The rows of `table` after `seq` with the lock's serial and model and the firmware it ran at `time`: the newest
    /// version first seen at or before it.
    private static func withLock(_ table: String, time: String) -> String {
        """
        SELECT t.*, d.serial, d.model,
               (SELECT version FROM firmware_seen s WHERE s.device = t.device AND s.first_seen_ms <= t.\(time)
                ORDER BY s.first_seen_ms DESC LIMIT 1) AS firmware
        FROM \(table) t LEFT JOIN device d ON d.id = t.device WHERE t.id > ? ORDER BY t.id LIMIT ?
        """
    }

    public func faultRows(after seq: Int64, limit: Int) throws(HistoryError) -> [FaultRow] {
        try readRows { db in
            try Row.fetchAll(db, sql: Self.withLock("fault_event", time: "at_ms"), arguments: [seq, limit]).map { r in
                FaultRow(seq: r["id"], device: r["device"], serial: r["serial"], model: r["model"], firmware: r["firmware"],
                         code: r["code"], name: r["name"], title: r["title"], severity: r["severity"], event: r["event"], status: r["status"],
                         atMilliseconds: r["at_ms"], count: r["count"], source: r["source"], evidence: r["evidence"],
                         freezeFrame: r["freeze_frame"], advice: r["advice"], clearedBy: r["cleared_by"])
            }
        }
    }

    public func testRunRows(after seq: Int64, limit: Int) throws(HistoryError) -> [TestRunRow] {
        try readRows { db in
            try Row.fetchAll(db, sql: Self.withLock("test_run", time: "started_at_ms"), arguments: [seq, limit]).map { r in
                TestRunRow(seq: r["id"], device: r["device"], serial: r["serial"], model: r["model"], firmware: r["firmware"],
                           test: r["test"], verdict: r["verdict"], startedAtMilliseconds: r["started_at_ms"],
                           durationMilliseconds: r["duration_ms"], requestedBy: r["requested_by"], run: r["run"])
            }
        }
    }

    public func auditRows(after seq: Int64, limit: Int) throws(HistoryError) -> [AuditRow] {
        try readRows { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_event WHERE id > ? ORDER BY id LIMIT ?", arguments: [seq, limit]).map { r in
                AuditRow(seq: r["id"], atMilliseconds: r["at_ms"], uid: r["uid"], gid: r["gid"], pid: r["pid"], client: r["client"],
                         connection: r["connection"], role: r["role"], method: r["method"], params: r["params"], outcome: r["outcome"],
                         errorCode: r["error_code"], errorMessage: r["error_message"])
            }
        }
    }

    /// A signed report as the station made it: `signedJSON` is its canonical signed JSON (RFC 8785), the report file's
    /// bytes without the final newline.
    public struct ReportRow: Encodable, Sendable, Equatable {
        public var seq: Int64
        public var reportID: String
        public var device: String
        public var serial: String?, model: String?
        public var createdAtMilliseconds: Int64
        public var keyFingerprint: String
        public var signedJSON: String

        enum CodingKeys: String, CodingKey {
            case seq, device, serial, model
            case reportID = "report_id", createdAtMilliseconds = "created_at_ms", keyFingerprint = "key_fingerprint", signedJSON = "signed_json"
        }
    }

    /// Keeps a copy of a report the station signed (durably: it is written before the call that made it answers).
    /// A second copy of the same `reportID` is refused (`.recordRefused`): report ids are unique.
    public func keepReport(reportID: String, device: String, createdAtMilliseconds: Int64, keyFingerprint: String,
                           signedJSON: String) throws(HistoryError) {
        do {
            try pool.writeWithoutTransaction { db in
                // The writer may have been left at NORMAL by a non-durable write; a report's copy is durable.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: """
                    INSERT INTO signed_report (report_id, device, created_at_ms, key_fingerprint, signed_json) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [reportID, device, createdAtMilliseconds, keyFingerprint, signedJSON])
            }
        } catch {
            throw classify(error)
        }
    }

    public func reportRows(after seq: Int64, limit: Int) throws(HistoryError) -> [ReportRow] {
        try readRows { db in
            try Row.fetchAll(db, sql: """
                SELECT t.*, d.serial, d.model FROM signed_report t LEFT JOIN device d ON d.id = t.device
                WHERE t.id > ? ORDER BY t.id LIMIT ?
                """, arguments: [seq, limit]).map { r in
                ReportRow(seq: r["id"], reportID: r["report_id"], device: r["device"], serial: r["serial"], model: r["model"],
                          createdAtMilliseconds: r["created_at_ms"], keyFingerprint: r["key_fingerprint"], signedJSON: r["signed_json"])
            }
        }
    }

    /// Fault events of `former` from `since` to `until` were moved to `device` (a lock known by its path until it
    /// answered IDENTIFY): a copier that sent some of them under `former` applies it.
    public struct RenameRow: Encodable, Sendable, Equatable {
        public var seq: Int64
        public var former: String, device: String
        public var sinceMilliseconds: Int64, untilMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case seq, former, device
            case sinceMilliseconds = "since_ms", untilMilliseconds = "until_ms"
        }
    }

    public func renameRows(after seq: Int64, limit: Int) throws(HistoryError) -> [RenameRow] {
        try readRows { db in
            try Row.fetchAll(db, sql: "SELECT * FROM device_rename WHERE id > ? ORDER BY id LIMIT ?", arguments: [seq, limit]).map { r in
                RenameRow(seq: r["id"], former: r["former"], device: r["device"], sinceMilliseconds: r["since_ms"], untilMilliseconds: r["until_ms"])
            }
        }
    }

    /// Every device and every firmware sighting: rows are updated in place (last seen), so a copier compares.
    public func deviceRows() throws(HistoryError) -> (devices: [DeviceRow], firmware: [FirmwareRow]) {
        try readRows { db in
            let devices = try Row.fetchAll(db, sql: "SELECT * FROM device ORDER BY id").map { r in
                DeviceRow(device: r["id"], serial: r["serial"], model: r["model"], hardwareRevision: r["hardware_revision"],
                          transport: r["transport"], firstSeenMilliseconds: r["first_seen_ms"], lastSeenMilliseconds: r["last_seen_ms"])
            }
            let firmware = try Row.fetchAll(db, sql: "SELECT * FROM firmware_seen ORDER BY device, version").map { r in
                FirmwareRow(device: r["device"], version: r["version"], firstSeenMilliseconds: r["first_seen_ms"],
                            lastSeenMilliseconds: r["last_seen_ms"])
            }
            return (devices, firmware)
        }
    }

    /// The newest row id of each copied table (0 for an empty one): how far a copier has to go.
    public func newestSequenceNumbers() throws(HistoryError) -> (faults: Int64, testRuns: Int64, audit: Int64, reports: Int64, renames: Int64) {
        try readRows { db in
            // sqlite_sequence keeps the highest id ever given, even when rows were pruned since.
            let rows = try Row.fetchAll(db, sql: """
                SELECT name, seq FROM sqlite_sequence WHERE name IN ('fault_event', 'test_run', 'audit_event', 'signed_report', 'device_rename')
                """)
            var seq: [String: Int64] = [:]
            for row in rows { seq[row["name"]] = row["seq"] }
            return (seq["fault_event"] ?? 0, seq["test_run"] ?? 0, seq["audit_event"] ?? 0, seq["signed_report"] ?? 0, seq["device_rename"] ?? 0)
        }
    }

    private func readRows<T>(_ body: (Database) throws -> T) throws(HistoryError) -> T {
        do { return try pool.read(body) } catch { throw .query(Self.reason(error)) }
    }
}
