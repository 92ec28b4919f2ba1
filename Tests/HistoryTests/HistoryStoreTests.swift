import Foundation
import GRDB
import HistoryStore
import LockDiagAPI
import LockDiagTestSupport
import Testing

func makeEvent(_ device: String, _ code: String, _ kind: FaultEventKind, status: FaultStatus?, at: Int64, count: Int = 1,
               by: String? = nil, freeze: FreezeFrame? = nil) -> HistoryRecord {
    .fault(FaultEvent(device: device, code: code, name: "motor_stall", title: "Motor stall / jammed bolt", severity: "error", event: kind,
                      status: status, at: APITime.format(milliseconds: at), count: count, firstSeen: APITime.format(milliseconds: at),
                      source: "host", evidence: "current 1480 mA for 35 ms", freezeFrame: freeze, advice: "check the bolt",
                      clearedBy: by),
           atMilliseconds: at)
}

@Suite struct HistoryStoreTests {
    @Test func migratesAnEmptyFileAndANewPathToTheCurrentSchemaInWALMode() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        // An empty file (what `touch` leaves) and a path in a folder that does not exist yet.
        _ = FileManager.default.createFile(atPath: dir.path + "/empty.sqlite", contents: Data())
        for path in [dir.path + "/empty.sqlite", dir.path + "/new/deeper/history.sqlite"] {
            let db = try HistoryDatabase(path: path)
            #expect(try db.schemaVersion() == "v4-signed-reports")
            #expect(try db.integrityCheck() == ["ok"])
            #expect(try db.counts() == HistoryDatabase.Counts())
            let queue = try DatabaseQueue(path: path)
            let tables = try queue.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
            for table in ["actuation", "audit_event", "device", "fault_event", "firmware_seen", "status_sample", "test_run", "trace"] {
                #expect(tables.contains(table), "missing table \(table)")
            }
            #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        }
        // Opening again applies nothing twice and keeps the data.
        let path = dir.path + "/empty.sqlite"
        try HistoryDatabase(path: path).write([makeEvent("L1", "0x0101", .raised, status: .pending, at: 1_000)])
        let again = try HistoryDatabase(path: path)
        #expect(try again.faultEvents(device: "L1").events.count == 1)
    }

    /// A database a v1 lockdiagd wrote (v1-history only) gains the audit table and keeps its data.
    @Test func aVersionOneDatabaseGainsTheAuditTableAndKeepsItsFaults() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let path = dir.path + "/v1.sqlite"
        try HistoryDatabase(path: path).write([makeEvent("L1", "0x0101", .raised, status: .pending, at: 1_000)])
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "DROP TABLE audit_event; DELETE FROM grdb_migrations WHERE identifier = 'v2-audit'")
        }
        let upgraded = try HistoryDatabase(path: path)
        #expect(try upgraded.schemaVersion() == "v4-signed-reports")
        #expect(try upgraded.faultEvents(device: "L1").events.count == 1)
        #expect(try upgraded.auditEntries().isEmpty)
    }

    /// A v2 database's status samples (every quantity NOT NULL then) survive the upgrade, and
    /// afterwards a lock that reports no voltage, motor or bolt is stored with NULLs, not zeros.
    @Test func aVersionTwoDatabaseKeepsItsSamplesAndThenStoresUnknownAsNull() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let path = dir.path + "/v2.sqlite"
        _ = try HistoryDatabase(path: path)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                DROP TABLE status_sample;
                CREATE TABLE status_sample (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    device TEXT NOT NULL, at_ms INTEGER NOT NULL,
                    battery_mv INTEGER NOT NULL, battery_percent INTEGER, motor_state TEXT NOT NULL,
                    motor_current_ma INTEGER NOT NULL, bolt TEXT NOT NULL, temperature_c REAL);
                INSERT INTO status_sample (device, at_ms, battery_mv, battery_percent, motor_state, motor_current_ma, bolt, temperature_c)
                    VALUES ('L1', 1000, 5900, 80, 'idle', 0, 'locked', 21.5);
                DELETE FROM grdb_migrations WHERE identifier = 'v3-unknown-readings';
                """)
        }
        let upgraded = try HistoryDatabase(path: path)
        #expect(try upgraded.schemaVersion() == "v4-signed-reports")
        try upgraded.write([.status(StatusSample(device: "L1", atMilliseconds: 2000, batteryMillivolts: nil, batteryPercent: 40,
                                                 batteryBand: "medium", motorState: nil, motorCurrentMilliamps: nil, bolt: nil,
                                                 temperatureCelsius: nil))])
        let samples = try upgraded.statusSamples(device: "L1", fromMilliseconds: 0, toMilliseconds: 10_000)
        #expect(samples.count == 2)
        #expect(samples.first?.batteryMillivolts == 5900 && samples.first?.bolt == "locked")
        #expect(samples.last?.batteryMillivolts == nil && samples.last?.motorCurrentMilliamps == nil && samples.last?.batteryBand == "medium")
    }

    @Test func auditEntriesRoundTripNewestFirstAndArePrunedToTheNewest() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/audit.sqlite")
        func entry(_ i: Int, _ outcome: String) -> AuditEntry {
            AuditEntry(atMilliseconds: Int64(1_000 + i), uid: 1000, gid: 1000, pid: Int32(4000 + i), client: "lockdiag", connection: UInt64(i),
                       role: i % 2 == 0 ? "technician" : nil, method: "faults.clear", params: "{\"device\":\"L\(i)\"}", outcome: outcome,
                       errorCode: outcome == "failed" ? -32602 : nil, errorMessage: outcome == "failed" ? "Invalid params" : nil)
        }
        let written = (0..<10).map { entry($0, $0 == 3 ? "failed" : $0 % 2 == 0 ? "started" : "denied") }
        try db.write(written.map { .audit($0) })
        #expect(try db.auditEntries() == written.reversed())
        var policy = RetentionPolicy()
        policy.auditEntries = 4
        _ = try db.prune(policy, nowMilliseconds: 2_000)
        #expect(try db.auditEntries() == Array(written.suffix(4).reversed()))
    }

    @Test func refusesWhatItCannotUseWithAdvice() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let text = dir.path + "/notes.txt"
        _ = FileManager.default.createFile(atPath: text, contents: Data("shopping list: milk, AA batteries, WD-40\n".utf8))
        #expect(throws: HistoryError.notADatabase(path: text)) { try HistoryDatabase(path: text) }
        #expect("\(HistoryError.notADatabase(path: text))".contains("move it aside"))

        // A database written by a newer lockdiagd (a migration this one does not know).
        let newer = dir.path + "/newer.sqlite"
        _ = try HistoryDatabase(path: newer)
        try DatabaseQueue(path: newer).write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('v9-future')") }
        #expect(throws: HistoryError.tooNew(path: newer, unknown: ["v9-future"])) { try HistoryDatabase(path: newer) }

        // A folder it may not create.
        let blocked = dir.path + "/file-not-folder"
        _ = FileManager.default.createFile(atPath: blocked, contents: Data())
        do {
            _ = try HistoryDatabase(path: blocked + "/history.sqlite")
            Issue.record("opened a database under a regular file")
        } catch {
            #expect("\(error)".contains("--db"))
        }
    }

    @Test func faultEventsComeBackOldestFirstBySinceAndLimitPerDevice() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/h.sqlite")
        let freeze = FreezeFrame(capturedAt: APITime.format(milliseconds: 2_000), evidence: "stalled at 312 ms", batteryMillivolts: 5900)
        try db.write([
            makeEvent("L1", "0x0101", .raised, status: .pending, at: 1_000),
            makeEvent("L1", "0x0101", .confirmed, status: .confirmed, at: 2_000, count: 2, freeze: freeze),
            makeEvent("L2", "0x0203", .raised, status: .pending, at: 2_500),
            makeEvent("L1", "0x0101", .cleared, status: nil, at: 3_000, count: 2, by: "uid 1000, pid 42"),
            makeEvent("L1", "0x0101", .raised, status: .pending, at: 4_000),
        ])
        let all = try db.faultEvents(device: "L1")
        #expect(all.events.map(\.event) == [.raised, .confirmed, .cleared, .raised])
        #expect(all.events.map(\.at) == [1_000, 2_000, 3_000, 4_000].map { APITime.format(milliseconds: $0) })
        #expect(!all.truncated)
        #expect(all.events[1].freezeFrame == freeze)
        #expect(all.events[2].clearedBy == "uid 1000, pid 42")
        #expect(all.events[2].status == nil)
        #expect(zip(all.events, all.events.dropFirst()).allSatisfy { $0.id < $1.id })
        #expect(try db.faultEvents(device: "L1", sinceMilliseconds: 2_500).events.map(\.event) == [.cleared, .raised])
        let newest = try db.faultEvents(device: "L1", limit: 2)
        #expect(newest.events.map(\.event) == [.cleared, .raised])
        #expect(newest.truncated)
        #expect(try db.faultEvents(device: "L2").events.count == 1)
        #expect(try db.faultEvents(device: "nobody").events.isEmpty)
    }

    @Test func devicesKeepTheirFirmwareOverTime() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/h.sqlite")
        func seen(_ firmware: String, _ at: Int64) -> HistoryRecord {
            .device(DeviceSighting(id: "LX3-000123", serial: "LX3-000123", model: "LX-300", hardwareRevision: "C", firmware: firmware,
                                   transport: "serial", path: "/dev/ttyACM0", atMilliseconds: at))
        }
        try db.write([seen("2.4.1", 1_000), seen("2.4.1", 5_000)])
        try db.write([seen("2.5.0", 9_000)])
        let record = try #require(try db.deviceRecord("LX3-000123"))
        #expect(record.firstSeen == APITime.format(milliseconds: 1_000))
        #expect(record.lastSeen == APITime.format(milliseconds: 9_000))
        #expect(record.firmware.map(\.version) == ["2.4.1", "2.5.0"])
        #expect(record.firmware[0].lastSeen == APITime.format(milliseconds: 5_000))
        #expect(try db.deviceRecord("other") == nil)
    }

    @Test func testRunsActuationsAndStatusSamplesRoundTrip() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/h.sqlite")
        let samples = (0..<900).map { $0 < 40 ? 900 : $0 < 600 ? 180 + $0 % 7 : 1450 }
        let summary = ActuationSummary(actuation: 7, direction: "lock", source: "selftest", result: "stalled", durationMilliseconds: 900,
                                       peakCurrentMilliamps: 1450, runningCurrentMilliamps: 183, batteryRestMillivolts: 6000,
                                       batteryLoadedMillivolts: 5700, internalResistanceMilliohms: 900, endStopAtMilliseconds: 600,
                                       analysis: "stall", samples: 900, sampleRateHz: 1000, at: APITime.format(milliseconds: 10_000))
        let trace = MotorTrace(actuation: 7, sampleRateHz: 1000, samplesMilliamps: samples)
        let result = TestResult(test: .motor, verdict: .fail, measurements: TestMeasurements(peakCurrentMilliamps: 1450), findings: ["stall"],
                                faults: ["0x0101"], actuations: [summary], traces: [trace])
        let run = TestRun(device: "L1", test: .motor, verdict: .fail, results: [result], startedAt: APITime.format(milliseconds: 9_000),
                          durationMilliseconds: 2_000)
        var records: [HistoryRecord] = [
            .testRun(run, startedAtMilliseconds: 9_000, requestedBy: "uid 0, pid 1"),
            .actuation(device: "L1", summary: summary, trace: trace, atMilliseconds: 10_000),
        ]
        for i in 0..<30 {
            records.append(.status(StatusSample(device: "L1", atMilliseconds: 9_800 + Int64(i) * 40, batteryMillivolts: 6000 - i * 10,
                                                batteryPercent: 80, motorState: "locking", motorCurrentMilliamps: 180, bolt: "moving",
                                                temperatureCelsius: 21.5)))
        }
        try db.write(records)
        #expect(try db.testRuns(device: "L1") == [run])
        let stored = try db.actuations(device: "L1")
        #expect(stored.count == 1)
        #expect(stored[0].summary == summary)
        #expect(stored[0].trace == trace)
        let window = try db.statusSamples(device: "L1", fromMilliseconds: 10_000, toMilliseconds: 10_400)
        #expect(window.count == 11)
        #expect(window.first?.atMilliseconds == 10_000)
        #expect(window.first?.temperatureCelsius == 21.5)
    }

    @Test func pruningKeepsTheRetentionPolicyAndNeverTouchesEvidence() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/h.sqlite")
        let day: Int64 = 86_400_000
        let now: Int64 = 100 * day
        var policy = RetentionPolicy()
        policy.statusSamplesPerDevice = 50
        policy.actuationsPerDevice = 3
        var records: [HistoryRecord] = [makeEvent("L1", "0x0101", .raised, status: .pending, at: 1)]
        for i in 0..<80 {
            // 20 samples older than the age limit, 60 recent ones.
            let at = i < 20 ? now - 40 * day : now - Int64(80 - i) * 1000
            records.append(.status(StatusSample(device: "L1", atMilliseconds: at, batteryMillivolts: 6000, batteryPercent: nil,
                                                motorState: "idle", motorCurrentMilliamps: 0, bolt: "locked", temperatureCelsius: nil)))
        }
        for i in 0..<5 {
            let summary = ActuationSummary(actuation: i, direction: "lock", source: "user", result: "reached", durationMilliseconds: 600,
                                           peakCurrentMilliamps: 900, runningCurrentMilliamps: 180, batteryRestMillivolts: nil,
                                           batteryLoadedMillivolts: nil, internalResistanceMilliohms: nil, endStopAtMilliseconds: 550,
                                           analysis: "normal", samples: 3, sampleRateHz: 1000, at: "x")
            records.append(.actuation(device: "L1", summary: summary, trace: MotorTrace(actuation: i, sampleRateHz: 1000, samplesMilliamps: [1, 2, 3]),
                                      atMilliseconds: now - Int64(5 - i) * 1000))
        }
        try db.write(records)
        let removed = try db.prune(policy, nowMilliseconds: now)
        let counts = try db.counts()
        #expect(counts.statusSamples == 50)
        #expect(counts.actuations == 3)
        #expect(counts.faultEvents == 1)
        #expect(removed == 30 + 2)
        #expect(try db.actuations(device: "L1").map(\.summary.actuation) == [4, 3, 2])
        // Traces go with their actuations (foreign key, ON DELETE CASCADE).
        #expect(try DatabaseQueue(path: db.path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM trace") } == 3)
    }

    @Test func apiTimeParsesWhatItFormats() {
        for ms: Int64 in [0, 1_764_374_400_123, 1_764_374_400_000, 951_782_400_999] {
            #expect(APITime.parse(APITime.format(milliseconds: ms)) == ms)
        }
        #expect(APITime.parse("2026-11-28") == APITime.parse("2026-11-28T00:00:00Z"))
        #expect(APITime.parse("2026-11-28T10:00:00+01:00") == APITime.parse("2026-11-28T09:00:00Z"))
        #expect(APITime.parse("2026-11-28T09:00:00.5Z")! - APITime.parse("2026-11-28T09:00:00Z")! == 500)
        for bad in ["", "yesterday", "2026-13-01", "2026-11-28T25:00Z", "2026-11-28T09:00:00", "2026-11-28T09:00:00.Z", "2026-11-28x"] {
            #expect(APITime.parse(bad) == nil, "accepted \(bad)")
        }
    }
}
