import Foundation
import LockDiagTestSupport
import Testing

/// Signed reports: kept in the station's history, sent to a real PostgreSQL byte for byte, once, and compared by
/// `lockdiag verify --fleet`.
@Suite(.serialized) struct FleetReportTests {
    /// The fleet's copies of `reportID`: "station|octet length" each, and the first copy's signed JSON as psql prints it
    /// (unaligned: the text itself; canonical JSON has no newline or edge whitespace for psql to trim).
    static func copies(_ pg: PostgresServer, _ reportID: String) throws -> (keys: [String], json: String) {
        let keys = try pg.psql("SELECT station || '|' || octet_length(signed_json) FROM fleet.signed_report WHERE report_id = '\(reportID)' ORDER BY seq")
        let json = try pg.psql("SELECT signed_json FROM fleet.signed_report WHERE report_id = '\(reportID)' ORDER BY seq LIMIT 1")
        return (keys.split(separator: "\n").map(String.init), json)
    }

    static func reportID(_ file: String) throws -> String {
        struct File: Decodable { struct Report: Decodable { var report_id: String }; var report: Report }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: file))).report.report_id
    }

    @Test(.timeLimit(.minutes(4)))
    func aSignedReportReachesTheFleetByteForByteOnceEvenAfterAResend() async throws {
        try await offPool {
            let pg = try startFleetDatabase()
            defer { pg.remove() }
            let folder = try TemporaryDirectory(prefix: "rep")
            defer { folder.remove() }
            let url = try enrollStation("bench_r", in: pg)
            let arguments = ["--simulate", "healthy", "--simulate-activity", "0", "--fleet", url]
            var daemon = try DaemonProcess(arguments, directory: folder)
            defer { daemon.stop() }
            let device = try #require(try firstIdentifiedLock(daemon.socketPath), "the simulated lock never answered IDENTIFY")
            // The station's own key (made on its first start), enrolled and approved before it signs anything.
            let enrolled = try ChildProcess.run("lockdiag", ["fleet", "enroll", pg.adminURL, "--station", "bench_r", "--key", folder.path + "/station.key"])
            try #require(enrolled.status == 0, "\(enrolled.stderr)")
            let fingerprint = try #require(enrolled.stdout.split(separator: " ").first { $0.hasPrefix("SHA256:") }.map(String.init))
            #expect(try ChildProcess.run("lockdiag", ["fleet", "approve", pg.adminURL, fingerprint]).status == 0)
            var files: [String] = []
            for i in 0..<2 {
                let file = folder.path + "/report-\(i).json"
                let made = try ChildProcess.run("lockdiag", ["report", device, "-o", file, "--socket", daemon.socketPath])
                try #require(made.status == 0, "\(made.stderr)")
                files.append(file)
            }
            let ids = try files.map(Self.reportID)
            #expect(try TestSupport.wait(upTo: 30, pollEvery: 0.2) { (Int(try pg.psql("SELECT count(*) FROM fleet.signed_report")) ?? 0) >= 2 },
                    "the reports did not reach the fleet")
            for (file, id) in zip(files, ids) {
                var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(bytes.last == 0x0A)
                bytes.removeLast()
                let copies = try Self.copies(pg, id)
                #expect(copies.keys == ["bench_r|\(bytes.count)"], "\(copies.keys)")
                #expect(Data(copies.json.utf8) == bytes, "the fleet's copy of \(id) is not the report file's bytes")
            }

            // A resend (the mark lost, as after a reply lost in a crash) changes nothing: each report once.
            daemon.stop()
            _ = try pg.psql("UPDATE fleet.sync_mark SET high_water = 0 WHERE station = 'bench_r' AND stream = 'signed_report'")
            daemon = try DaemonProcess(arguments, directory: folder)
            #expect(try TestSupport.wait(upTo: 30, pollEvery: 0.2) {
                try pg.psql("SELECT high_water FROM fleet.sync_mark WHERE station = 'bench_r' AND stream = 'signed_report'") == "2"
            }, "the link did not send the reports again")
            #expect(try pg.psql("SELECT count(*) || ' ' || count(DISTINCT report_id) FROM fleet.signed_report") == "2 2")
            // An analyst reads the reports and the lock's timeline; the station itself reads back only its rows' keys.
            _ = try pg.psql("CREATE ROLE grafana LOGIN PASSWORD 'pg' IN ROLE fleet_analyst")
            #expect(try pg.psql("SELECT count(*) FROM fleet.signed_report WHERE signed_json LIKE '{%'", user: "grafana", password: "pg") == "2")
            #expect(try pg.psql("SELECT count(*) FROM fleet.lock_timeline WHERE kind = 'report'", user: "grafana", password: "pg") == "2")
            #expect(try pg.psql("SELECT count(*) FROM fleet.signed_report", user: "bench_r", password: "pw-bench_r") == "2")
            do {
                _ = try pg.psql("SELECT signed_json FROM fleet.signed_report", user: "bench_r", password: "pw-bench_r")
                Issue.record("a station read the contents of reports")
            } catch {
                #expect("\(error)".contains("permission denied"), "\(error)")
            }
        // Caught up: `lockdiag info` says so, with no backlog and no lag.
        #expect(try TestSupport.wait(upTo: 20, pollEvery: 0.2) {
            let info = try ChildProcess.run("lockdiag", ["info", "--socket", daemon.socketPath])
            return info.stdout.contains("idle (the database has everything)") && info.stdout.contains("backlog       0 rows to send · lag none")
        }, "lockdiag info did not show the caught-up link")

            // The lock's life shows its reports.
            let serial = try pg.psql("SELECT serial FROM fleet.signed_report LIMIT 1")
            let life = try ChildProcess.run("lockdiag", ["fleet", "lock", "--fleet", pg.adminURL, serial, "--json"])
            try #require(life.status == 0, "\(life.stderr)")
            #expect(ids.allSatisfy { life.stdout.contains($0) } && life.stdout.contains("\"report\""), "\(life.stdout)")

            // verify --fleet: the station's key was approved before it made the reports; the fleet holds the very report.
            let held = try ChildProcess.run("lockdiag", ["verify", files[0], "--fleet", pg.adminURL])
            #expect(held.status == 0 && held.stdout.contains("the fleet holds this report, byte for byte"), "\(held)")

            // Another report under the same id in the fleet: UNTRUSTED.
            _ = try pg.psql("UPDATE fleet.signed_report SET signed_json = signed_json || ' ' WHERE report_id = '\(ids[0])'")
            let differs = try ChildProcess.run("lockdiag", ["verify", files[0], "--fleet", pg.adminURL])
            #expect(differs.status == 5 && differs.stdout.contains("DIFFERS"), "\(differs)")

            // No copy: said, and the key's verdict stands.
            _ = try pg.psql("DELETE FROM fleet.signed_report WHERE report_id = '\(ids[0])'")
            let none = try ChildProcess.run("lockdiag", ["verify", files[0], "--fleet", pg.adminURL])
            #expect(none.status == 0 && none.stdout.contains("holds no copy"), "\(none)")
        }
    }
}
