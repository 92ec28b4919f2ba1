import FleetSync
import Foundation
import PostgresNIO
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// Row-level security, roles and the key register, against a real PostgreSQL.
@Suite(.serialized) struct FleetSecurityTests {
    static func sqlState(_ error: any Error) -> String? {
        if case .server(let state, _, _) = error as? FleetError { return state }
        return nil
    }

    @Test(.timeLimit(.minutes(3)))
    func aStationWritesOnlyItsOwnRowsAndReadsNothingOfOthers() async throws {
        let pg = try await offPool { try PostgresServer() }
        defer { pg.remove() }
        let admin = try await FleetDatabase.connect(try FleetURL(pg.adminURL))
        #expect(try await admin.migrate() == ["fleet-v1", "fleet-v2-signed-reports"])
        #expect(try await admin.migrate() == [], "a second init applies nothing")
        _ = try await admin.enroll(station: "bench_a", publicKey: randomPublicKey(), password: "pa")
        _ = try await admin.enroll(station: "bench_b", publicKey: randomPublicKey(), password: "pb")
        try await admin.rows("INSERT INTO fleet.device (station, device, serial, first_seen, last_seen) VALUES ('bench_b', 'LX-1', 'LX-1', now(), now())")

        let a = try await FleetDatabase.connect(try FleetURL(pg.url(user: "bench_a", password: "pa")))
        defer { Task { await a.close() } }
        let insert = { (station: String, seq: Int) -> PostgresQuery in
            """
            INSERT INTO fleet.fault_event (station, seq, device, code, name, title, severity, event, at, count, source, evidence, advice)
            VALUES (\(station), \(seq), 'LX-1', 'E101', 'motor_stall', 'Motor stall', 'error', 'raised', now(), 1, 'check', 'e', 'a')
            """
        }
        try await admin.rows(insert("bench_b", 1))
        await admin.close()
        try await a.rows(insert("bench_a", 1))
        do {
            try await a.rows(insert("bench_b", 2))
            Issue.record("a station inserted a row as another station")
        } catch {
            #expect(Self.sqlState(error) == "42501", "\(error)")
        }
        // It sees none of the other station's devices or events (only its own events' keys, for ON CONFLICT),
        // reads no event's content, no keys, and approves nothing.
        let devices = try await a.rows("SELECT count(*) AS n FROM fleet.device")
        #expect(try devices[0].decode(Int64.self) == 0)
        let events = try await a.rows("SELECT count(*) AS n FROM fleet.fault_event")
        #expect(try events[0].decode(Int64.self) == 1)
        for statement: PostgresQuery in ["SELECT code FROM fleet.fault_event", "SELECT * FROM fleet.station_key",
                                         "SELECT fleet.approve_key('SHA256:x')", "SELECT signed_json FROM fleet.signed_report", "UPDATE fleet.sync_mark SET high_water = 0 WHERE station = 'bench_b'"] {
            do {
                let rows = try await a.rows(statement)
                // An UPDATE of rows RLS hides changes nothing rather than failing.
                #expect(statement.sql.hasPrefix("UPDATE") && rows.isEmpty, "\(statement.sql) was allowed")
            } catch {
                #expect(Self.sqlState(error) == "42501", "\(statement.sql): \(error)")
            }
        }
        let count = try await offPool { try pg.psql("SELECT count(*) FROM fleet.fault_event") }
        #expect(count == "2")
    }

    @Test(.timeLimit(.minutes(3)))
    func aReportVerifiesWithTheFleetOnlyWhileItsKeyIsApprovedAndNotRevoked() async throws {
        try await offPool {
            let pg = try startFleetDatabase()
            defer { pg.remove() }
            let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"])
            defer { daemon.stop() }
            let keyFile = daemon.directory.path + "/station.key"
            let enrolled = try ChildProcess.run("lockdiag", ["fleet", "enroll", pg.adminURL, "--station", "site_9", "--key", keyFile])
            try #require(enrolled.status == 0, "\(enrolled.stderr)")
            let fingerprint = try #require(enrolled.stdout.split(separator: " ").first { $0.hasPrefix("SHA256:") }.map(String.init))

            let device = try #require(try firstIdentifiedLock(daemon.socketPath), "the simulated lock never answered IDENTIFY")
            let report = daemon.directory.path + "/report.json"
            let made = try ChildProcess.run("lockdiag", ["report", device, "-o", report, "--socket", daemon.socketPath])
            try #require(made.status == 0, "\(made.stderr)")

            func verify() throws -> (status: Int32, out: String) {
                let r = try ChildProcess.run("lockdiag", ["verify", report, "--fleet", pg.adminURL])
                return (r.status, r.stdout + r.stderr)
            }
            let pending = try verify()
            #expect(pending.status == 5 && pending.out.contains("not approved"), "\(pending)")

            let approved = try ChildProcess.run("lockdiag", ["fleet", "approve", pg.adminURL, fingerprint])
            try #require(approved.status == 0, "\(approved.stderr)")
            let trusted = try verify()
            #expect(trusted.status == 0 && trusted.out.contains("site_9"), "\(trusted)")

            // Revoked from a time after the report: the report stays good.
            let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            #expect(try ChildProcess.run("lockdiag", ["fleet", "revoke", pg.adminURL, fingerprint, "--at", later]).status == 0)
            let stillTrusted = try verify()
            #expect(stillTrusted.status == 0 && stillTrusted.out.contains("revoked later"), "\(stillTrusted)")

            // Revoked from before the report was made (the key was stolen an hour ago): flagged.
            let earlier = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
            let revoked = try ChildProcess.run("lockdiag", ["fleet", "revoke", pg.adminURL, fingerprint, "--at", earlier, "--reason", "laptop stolen"])
            #expect(revoked.status == 0, "\(revoked.stderr)")
            let flagged = try verify()
            #expect(flagged.status == 5 && flagged.out.contains("revoked") && flagged.out.contains("laptop stolen"), "\(flagged)")

            // A key the fleet never saw.
            let other = try ChildProcess.run("lockdiag", ["fleet", "keys", pg.adminURL])
            #expect(other.stdout.contains("site_9") && other.stdout.contains("revoked"), "\(other.stdout)")
        }
    }
}
