import Foundation
import Glibc
import HistoryStore
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// Real lockdiagd processes with simulated locks syncing their SQLite history to a real PostgreSQL.
@Suite(.serialized) struct FleetSyncTests {
    /// One station's rows in the fleet database: "seq|code|event|at_ms" for faults, "seq|method|outcome|at_ms" for audit.
    static func fleetRows(_ pg: PostgresServer, _ stream: String, station: String) throws -> [String] {
        let columns = stream == "fault_event" ? "code, event, at" : "method, outcome, at"
        let sql = """
            SELECT seq || '|' || concat_ws('|', \(columns.replacingOccurrences(of: ", at", with: ""))) || '|' ||
                   round(extract(epoch FROM at) * 1000)::bigint
            FROM fleet.\(stream) WHERE station = '\(station)' ORDER BY seq
            """
        let text = try pg.psql(sql)
        return text.isEmpty ? [] : text.split(separator: "\n").map(String.init)
    }

    static func localRows(_ path: String, _ stream: String) throws -> [String] {
        let db = try HistoryDatabase(path: path)
        if stream == "fault_event" {
            return try db.faultRows(after: 0, limit: 1_000_000).map { "\($0.seq)|\($0.code)|\($0.event)|\($0.atMilliseconds)" }
        }
        return try db.auditRows(after: 0, limit: 1_000_000).map { "\($0.seq)|\($0.method)|\($0.outcome)|\($0.atMilliseconds)" }
    }

    /// The fleet has exactly the local rows up to its newest one, each once and unchanged, and at least up to `atLeast`.
    static func expectSameRows(_ pg: PostgresServer, _ daemon: DaemonProcess, station: String, atLeast: [String: Int64]) throws {
        for stream in ["fault_event", "audit_event"] {
            let remote = try fleetRows(pg, stream, station: station)
            let newest = remote.last.flatMap { Int64($0.split(separator: "|")[0]) } ?? 0
            let local = try localRows(daemon.databasePath, stream).filter { (Int64($0.split(separator: "|")[0]) ?? 0) <= newest }
            #expect(remote == local, "\(station) \(stream): the fleet's rows differ from the local history's")
            #expect(Set(remote).count == remote.count)
            #expect(newest >= atLeast[stream] ?? 0, "\(station) \(stream): the fleet has rows up to \(newest), the station had \(atLeast[stream] ?? 0)")
        }
    }

    static func newestLocal(_ daemon: DaemonProcess) throws -> [String: Int64] {
        let n = try HistoryDatabase(path: daemon.databasePath).newestSequenceNumbers()
        return ["fault_event": n.faults, "audit_event": n.audit]
    }

    /// faults.clear on every lock of the daemon: audited calls, so audit rows (and cleared events) to sync.
    static func clearFaults(_ daemon: DaemonProcess) throws {
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let devices = try client.call(APIMethod.devicesList, params: .object([:])).decode(as: DevicesList.self).devices
        for device in devices {
            _ = try? client.call(APIMethod.faultsClear, params: .object(["device": .string(device.id)]))
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func threeStationsSyncToOneDatabaseAndAThirtySecondOutageLosesAndDuplicatesNothing() async throws {
        try await offPool {
            let pg = try startFleetDatabase()
            defer { pg.remove() }
            let names = ["bench_1", "bench_2", "bench_3"]
            var daemons: [DaemonProcess] = []
            let folders = try names.map { _ in try TemporaryDirectory(prefix: "st") }
            defer {
                for d in daemons { d.stop() }
                for f in folders { f.remove() }
            }
            // The same simulated locks (same seed, same serial numbers) at every station: one lock's life crosses them.
            for (i, name) in names.enumerated() {
                let url = try enrollStation(name, in: pg)
                daemons.append(try DaemonProcess(["--simulate", "motor-stall,healthy", "--simulate-activity", "0.5",
                                                  "--fleet", url], directory: folders[i]))
            }
            // Every station's fault events and audited calls reach the database.
            for d in daemons { try Self.clearFaults(d) }
            #expect(try TestSupport.wait(upTo: 60, pollEvery: 0.2) {
                try names.allSatisfy { try !Self.fleetRows(pg, "fault_event", station: $0).isEmpty && !Self.fleetRows(pg, "audit_event", station: $0).isEmpty }
            })

            // The database goes away for 30 s; the stations go on recording and answering, and say the link is down.
            try pg.stop()
            let outageStarted = Date()
            var sawOffline = false, sawBacklog = false
            while Date().timeIntervalSince(outageStarted) < 30 {
                for d in daemons {
                    let before = try fleetInfo(d.socketPath)?.backlogRows ?? 0
                    try Self.clearFaults(d)
                    // Each round waits for its own rows to join the backlog (the link is down, so they wait).
                    _ = try TestSupport.wait(upTo: 5, pollEvery: 0.1) {
                        guard let info = try fleetInfo(d.socketPath) else { return false }
                        if info.state == .offline { sawOffline = true }
                        if info.state == .offline && (info.backlogRows ?? 0) > before { sawBacklog = true }
                        return (info.backlogRows ?? 0) > before
                    }
                }
            }
            #expect(sawOffline, "daemon.info never showed the fleet link offline")
            #expect(sawBacklog, "daemon.info never showed a backlog while offline")
            let outageEnd = try daemons.map(Self.newestLocal)
            try pg.start()

            // The backlog drains: each station's link catches up.
            #expect(try TestSupport.wait(upTo: 60, pollEvery: 0.2) {
                try zip(daemons, outageEnd).allSatisfy { d, end in
                    guard let info = try fleetInfo(d.socketPath) else { return false }
                    return (info.highWater["audit_event"] ?? 0) >= (end["audit_event"] ?? 0)
                        && (info.highWater["fault_event"] ?? 0) >= (end["fault_event"] ?? 0)
                }
            })
            for d in daemons { d.stop() }
            for (i, name) in names.enumerated() {
                try Self.expectSameRows(pg, daemons[i], station: name, atLeast: outageEnd[i])
            }
            // One database, three stations, nothing counted twice.
            let stations = try pg.psql("SELECT count(DISTINCT station) FROM fleet.fault_event")
            #expect(stations == "3")
            try Self.expectTheQuestionsAnswered(pg)
        }
    }

    /// `lockdiag fleet faults` and `fleet lock` on what the three stations sent, against psql's own counts.
    static func expectTheQuestionsAnswered(_ pg: PostgresServer) throws {
        let occurrences = try pg.psql("""
            SELECT count(*) FROM fleet.fault_event WHERE code = '0x0101' AND event IN ('raised', 'reoccurred') AND model = 'LX-300'
                AND firmware = '2.4.1'
            """)
        let faults = try ChildProcess.run("lockdiag", ["fleet", "faults", "--fleet", pg.adminURL, "--model", "LX-300",
                                                       "--firmware", "2.4.1", "--since", "1h", "--json"])
        try #require(faults.status == 0, "\(faults.stderr)")
        struct Count: Decodable { var code: String, model: String, firmware: String, occurrences: Int, stations: Int }
        let counts = try JSONDecoder().decode([Count].self, from: Data(faults.stdout.utf8))
        let stall = try #require(counts.first { $0.code == "0x0101" }, "\(faults.stdout)")
        #expect("\(stall.occurrences)" == occurrences && stall.stations == 3 && stall.model == "LX-300" && stall.firmware == "2.4.1")
        let none = try ChildProcess.run("lockdiag", ["fleet", "faults", "--fleet", pg.adminURL, "--model", "XX-999", "--json"])
        #expect(none.status == 0 && (try? JSONDecoder().decode([Count].self, from: Data(none.stdout.utf8)))?.isEmpty == true, "\(none)")
        let table = try ChildProcess.run("lockdiag", ["fleet", "faults", "--fleet", pg.adminURL])
        #expect(table.stdout.contains("motor_stall") && table.stdout.contains("OCCURRENCES"), "\(table.stdout)")

        // The motor-stall lock's life: seen, its firmware and its faults, at all three stations, in time order.
        let life = try ChildProcess.run("lockdiag", ["fleet", "lock", "--fleet", pg.adminURL, "SIM-0001-000", "--json"])
        try #require(life.status == 0, "\(life.stderr)")
        struct Entry: Decodable { var at: Date, station: String, kind: String }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let entries = try decoder.decode([Entry].self, from: Data(life.stdout.utf8))
        #expect(Set(entries.map(\.station)) == ["bench_1", "bench_2", "bench_3"])
        #expect(entries.map(\.at) == entries.map(\.at).sorted())
        #expect(entries.contains { $0.kind == "first seen" } && entries.contains { $0.kind == "firmware" }
                && entries.contains { $0.kind.hasPrefix("fault ") })
        let unknown = try ChildProcess.run("lockdiag", ["fleet", "lock", "--fleet", pg.adminURL, "NO-SUCH-LOCK"])
        #expect(unknown.status == 4 && unknown.stderr.contains("no lock with serial"), "\(unknown)")
    }

    @Test(.timeLimit(.minutes(3)))
    func aStationKilledWhileSyncingResumesWhereItStoppedWithNothingLostOrDoubled() async throws {
        try await offPool {
            let pg = try startFleetDatabase()
            defer { pg.remove() }
            let url = try enrollStation("repair_7", in: pg)
            let folder = try TemporaryDirectory(prefix: "kill")
            defer { folder.remove() }
            // A backlog of 30 000 audit entries written while the station had no fleet: 60 batches to send.
            let backlog = 30_000
            do {
                let db = try HistoryDatabase(path: folder.path + "/history.sqlite")
                let start = Int64(Date().timeIntervalSince1970 * 1000) - Int64(backlog)
                let records = (0..<backlog).map { i in
                    HistoryRecord.audit(AuditEntry(atMilliseconds: start + Int64(i), uid: 0, gid: 0, pid: 1, client: "bench", connection: UInt64(i),
                                                   role: "technician", method: "faults.clear", params: "{}", outcome: "succeeded"))
                }
                try db.write(records)
            }
            var daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--fleet", url], directory: folder)
            // Killed once the first batches are in, long before the last.
            #expect(try TestSupport.wait(upTo: 60, pollEvery: 0.005) {
                (Int(try pg.psql("SELECT count(*) FROM fleet.audit_event")) ?? 0) > 0
            })
            daemon.child.signal(SIGKILL)
            #expect(daemon.child.waitForExit(within: 10))
            let atKill = Int(try pg.psql("SELECT count(*) FROM fleet.audit_event")) ?? 0
            #expect(atKill < backlog, "the whole backlog was in before the kill; the test did not kill mid-sync")
            let mark = try pg.psql("SELECT high_water FROM fleet.sync_mark WHERE station = 'repair_7' AND stream = 'audit_event'")
            #expect(mark == "\(atKill)", "the mark moved apart from the rows it covers")

            daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--fleet", url], directory: folder)
            defer { daemon.stop() }
            #expect(try TestSupport.wait(upTo: 90, pollEvery: 0.2) {
                guard let info = try fleetInfo(daemon.socketPath) else { return false }
                return (info.highWater["audit_event"] ?? 0) >= Int64(backlog) && info.backlogRows == 0
            })
            daemon.stop()
            let newest = try Self.newestLocal(daemon)
            try Self.expectSameRows(pg, daemon, station: "repair_7", atLeast: newest)
        }
    }
}
