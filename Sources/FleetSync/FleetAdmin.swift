import Foundation
import PostgresNIO

/// The administrator's and the analyst's side of the fleet database: schema, enrolment, keys and questions.
extension FleetDatabase {
    /// Applies the migrations not yet applied, each in its own transaction, under an advisory lock so two
    /// `fleet init` at once apply each migration once. Returns the identifiers it applied.
    @discardableResult
    public func migrate() async throws(FleetError) -> [String] {
        try await rows("SELECT pg_advisory_lock(\(Self.migrationLock))")
        do {
            try await script("""
                CREATE SCHEMA IF NOT EXISTS fleet;
                CREATE TABLE IF NOT EXISTS fleet.schema_migration (
                    id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT session_user)
                """)
            var applied: [String] = []
            let done = Set(try await rows("SELECT id FROM fleet.schema_migration").map { (row) throws(FleetError) in
                try Self.decode(row, "id", as: String.self)
            })
            for migration in FleetSchema.migrations where !done.contains(migration.id) {
                let id = migration.id
                try await transaction { (db) throws(FleetError) in
                    try await db.script(migration.sql)
                    try await db.rows("INSERT INTO fleet.schema_migration (id) VALUES (\(id))")
                }
                applied.append(migration.id)
            }
            try await rows("SELECT pg_advisory_unlock(\(Self.migrationLock))")
            return applied
        } catch {
            try? await rows("SELECT pg_advisory_unlock(\(Self.migrationLock))")
            throw error
        }
    }

    /// An arbitrary constant naming the advisory lock `fleet init` holds.
    static let migrationLock: Int64 = 0x6C6F_636B_6469_6167

    /// Fails with `.notInitialised` unless the fleet schema is there.
    public func requireSchema() async throws(FleetError) {
        // The newest migration's table: a database whose schema predates it is brought up to date by `fleet init`.
        let rows = try await rows("SELECT to_regclass('fleet.signed_report') IS NOT NULL AS present")
        guard let row = rows.first, try Self.decode(row, "present", as: Bool.self) else { throw .notInitialised(url: url.description) }
    }

    /// Registers `station` with `publicKey` (base64), pending until approved; creates its login role the first time.
    /// Returns the key's fingerprint.
    public func enroll(station: String, publicKey: String, password: String?) async throws(FleetError) -> String {
        let rows = try await rows("SELECT fleet.enroll_station(\(station), \(publicKey), \(password)) AS fingerprint")
        return try Self.decode(rows[0], "fingerprint", as: String.self)
    }

    public func approve(fingerprint: String) async throws(FleetError) {
        try await rows("SELECT fleet.approve_key(\(fingerprint))")
    }

    /// Revokes a key from `at` on (now if nil).
    public func revoke(fingerprint: String, at: Date?, reason: String?) async throws(FleetError) {
        try await rows("SELECT fleet.revoke_key(\(fingerprint), coalesce(\(at), now()), \(reason))")
    }

    /// What the fleet says of a report signed with `fingerprint` at `madeAt`; nil: the key was never enrolled.
    public func keyVerdict(fingerprint: String, madeAt: Date) async throws(FleetError) -> KeyVerdict? {
        guard let row = try await rows("SELECT * FROM fleet.key_verdict(\(fingerprint), \(madeAt))").first else { return nil }
        return KeyVerdict(station: try Self.decode(row, "station"), status: try Self.decode(row, "status"),
                          trusted: try Self.decode(row, "trusted"), detail: try Self.decode(row, "detail"))
    }

    /// The stations that sent a report with this id, and whether their copy is `signedJSON` byte for byte (compared by
    /// SHA-256 on the server; the report itself is not returned to a caller that may not read it).
    public func reportCopies(reportID: String, signedJSON: String) async throws(FleetError) -> [ReportCopy] {
        try await rows("SELECT * FROM fleet.report_match(\(reportID), \(signedJSON))").map { (row) throws(FleetError) in
            ReportCopy(station: try Self.decode(row, "station"), receivedAt: try Self.decode(row, "received_at"),
                       same: try Self.decode(row, "same"))
        }
    }

    /// The fleet's keys, newest enrolment first.
    public func keys() async throws(FleetError) -> [StationKeyRow] {
        try await rows("SELECT station, fingerprint, status, enrolled_at, revoked_at FROM fleet.station_keys ORDER BY enrolled_at DESC")
            .map { (row) throws(FleetError) in
                StationKeyRow(station: try Self.decode(row, "station"), fingerprint: try Self.decode(row, "fingerprint"),
                              status: try Self.decode(row, "status"), enrolledAt: try Self.decode(row, "enrolled_at"),
                              revokedAt: try Self.decode(row, "revoked_at"))
            }
    }

    /// Fault occurrences since `since`, by fault, model and firmware, most frequent first.
    public func faultCounts(model: String?, firmware: String?, since: Date) async throws(FleetError) -> [FaultCount] {
        try await rows("""
            SELECT code, name, coalesce(model, '') AS model, coalesce(firmware, '') AS firmware,
                   count(*) FILTER (WHERE event IN ('raised', 'reoccurred')) AS occurrences,
                   count(*) FILTER (WHERE event = 'confirmed') AS confirmed,
                   count(DISTINCT coalesce(serial, station || '/' || device)) AS locks,
                   count(DISTINCT station) AS stations
            FROM fleet.fault_event
            WHERE at >= \(since) AND (\(model)::text IS NULL OR model = \(model)) AND (\(firmware)::text IS NULL OR firmware = \(firmware))
            GROUP BY code, name, model, firmware
            HAVING count(*) FILTER (WHERE event IN ('raised', 'reoccurred', 'confirmed')) > 0
            ORDER BY occurrences DESC, confirmed DESC, code, model, firmware
            """).map { (row) throws(FleetError) in
            FaultCount(code: try Self.decode(row, "code"), name: try Self.decode(row, "name"), model: try Self.decode(row, "model"),
                       firmware: try Self.decode(row, "firmware"), occurrences: try Self.decode(row, "occurrences"),
                       confirmed: try Self.decode(row, "confirmed"), locks: try Self.decode(row, "locks"),
                       stations: try Self.decode(row, "stations"))
        }
    }

    /// One lock's life across stations, oldest first.
    public func lockTimeline(serial: String, limit: Int = 10_000) async throws(FleetError) -> [TimelineEntry] {
        try await rows("""
            SELECT at, station, device, kind, detail FROM fleet.lock_timeline WHERE serial = \(serial)
            ORDER BY at, station, ord, seq LIMIT \(limit)
            """).map { (row) throws(FleetError) in
            TimelineEntry(at: try Self.decode(row, "at"), station: try Self.decode(row, "station"), device: try Self.decode(row, "device"),
                          kind: try Self.decode(row, "kind"), detail: try Self.decode(row, "detail"))
        }
    }
}

/// What the fleet's key register says of a report's key at the time the report was made.
/// A station's copy of a signed report in the fleet (`fleet.report_match`).
public struct ReportCopy: Sendable, Equatable {
    public var station: String
    public var receivedAt: Date
    /// The same bytes as the report asked about.
    public var same: Bool
}

public struct KeyVerdict: Sendable, Equatable, Codable {
    public var station: String
    /// pending, approved or revoked (now).
    public var status: String
    /// Enrolled, approved and not revoked when the report was made.
    public var trusted: Bool
    public var detail: String
}

public struct StationKeyRow: Sendable, Equatable {
    public var station: String
    public var fingerprint: String
    public var status: String
    public var enrolledAt: Date
    public var revokedAt: Date?
}

/// One line of `lockdiag fleet faults`.
public struct FaultCount: Sendable, Equatable, Codable {
    public var code: String
    public var name: String
    public var model: String
    public var firmware: String
    public var occurrences: Int64
    public var confirmed: Int64
    public var locks: Int64
    public var stations: Int64
}

/// One line of `lockdiag fleet lock SERIAL`.
public struct TimelineEntry: Sendable, Equatable, Codable {
    public var at: Date
    public var station: String
    public var device: String
    public var kind: String
    public var detail: String
}
