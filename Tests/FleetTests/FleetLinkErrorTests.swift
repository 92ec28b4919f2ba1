import FleetSync
import Foundation
import LockDiagTestSupport
import Testing

/// A fleet link that cannot work says why in daemon.info and harms nothing else.
@Suite(.serialized) struct FleetLinkErrorTests {
    @Test(.timeLimit(.minutes(2)))
    func aRefusedLoginShowsOfflineWithAdviceAndTheDaemonServesOn() async throws {
        try await offPool {
            let pg = try startFleetDatabase()
            defer { pg.remove() }
            _ = try enrollStation("site_4", in: pg)
            let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0",
                                            "--fleet", pg.url(user: "site_4", password: "not-its-password")])
            defer { daemon.stop() }
            var last = ""
            #expect(try TestSupport.wait(upTo: 20, pollEvery: 0.1) {
                guard let info = try fleetInfo(daemon.socketPath) else { return false }
                last = info.lastError ?? ""
                return info.state == .offline && last.contains("28P01") && last.contains("check the user name and password")
            }, "\(last)")
            #expect(!last.contains("not-its-password"), "the password leaked into daemon.info")
            // `lockdiag info` (not only --json) shows the link down, why, and the backlog.
            let info = try ChildProcess.run("lockdiag", ["info", "--socket", daemon.socketPath])
            #expect(info.status == 0 && info.stdout.contains("Fleet") && info.stdout.contains("as station site_4")
                    && info.stdout.contains("OFFLINE") && info.stdout.contains("28P01") && info.stdout.contains("backlog"), "\(info.stdout)")
            #expect(!info.stdout.contains("not-its-password"), "the password leaked into lockdiag info")
            let status = try ChildProcess.run("lockdiag", ["list", "--socket", daemon.socketPath])
            #expect(status.status == 0, "\(status.stderr)")
        }
    }

    /// fleet.md: a database set up before signed reports (fleet-v1 only) keeps a station of this version offline,
    /// saying an administrator runs `fleet init`; once one has, the link picks up without a restart.
    @Test(.timeLimit(.minutes(3)))
    func aStationOnAnOlderFleetSchemaStaysOfflineUntilFleetInit() async throws {
        try await offPool {
            let pg = try PostgresServer()
            defer { pg.remove() }
            // What `fleet init` of the version before signed reports left: the first migration alone.
            let first = FleetSchema.migrations[0]
            try #require(first.id == "fleet-v1")
            _ = try pg.psql("""
                CREATE SCHEMA fleet;
                CREATE TABLE fleet.schema_migration (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(),
                                                     applied_by text NOT NULL DEFAULT session_user);
                \(first.sql);
                INSERT INTO fleet.schema_migration (id) VALUES ('fleet-v1');
                """)
            let url = try enrollStation("site_old", in: pg)
            let daemon = try DaemonProcess(["--simulate", "motor-stall", "--simulate-activity", "0.5", "--fleet", url])
            defer { daemon.stop() }
            var last = ""
            #expect(try TestSupport.wait(upTo: 20, pollEvery: 0.1) {
                guard let info = try fleetInfo(daemon.socketPath) else { return false }
                last = info.lastError ?? ""
                return info.state == .offline && last.contains("or an older one") && last.contains("lockdiag fleet init")
            }, "\(last)")
            #expect(try pg.psql("SELECT count(*) FROM fleet.fault_event") == "0")

            let upgraded = try ChildProcess.run("lockdiag", ["fleet", "init", pg.adminURL], timeoutSeconds: 60)
            #expect(upgraded.status == 0 && upgraded.stdout.contains("fleet-v2-signed-reports") && !upgraded.stdout.contains("fleet-v1 "),
                    "\(upgraded.stdout) \(upgraded.stderr)")
            // The link's back-off is at most 30 s; then it syncs what waited.
            #expect(try TestSupport.wait(upTo: 60, pollEvery: 0.2) {
                try pg.psql("SELECT count(*) FROM fleet.fault_event WHERE station = 'site_old'") != "0"
            }, "\(String(describing: try? fleetInfo(daemon.socketPath)))")
        }
    }

    @Test func aConnectionStringLockdiagdCannotReadIsAUsageError() throws {
        let dir = try TemporaryDirectory(prefix: "furl")
        defer { dir.remove() }
        let r = try ChildProcess.run("lockdiagd", ["--simulate", "healthy", "--socket", dir.path + "/s.sock", "--db", dir.path + "/h.sqlite",
                                                   "--fleet", "mysql://station:secret@db/fleet"], timeoutSeconds: 20)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--fleet") && r.stderr.contains("postgresql://USER"), "\(r.stderr)")
        #expect(!r.stderr.contains("secret"), "the password leaked into the message")
    }
}
