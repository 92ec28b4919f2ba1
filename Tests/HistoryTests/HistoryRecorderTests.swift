import Foundation
import GRDB
import HistoryStore
import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Logging
import Testing

/// The daemon's history writer against the real SQLite: what it does when the database refuses
/// a record for good, and when it refuses every write for a while.
@Suite(.serialized) struct HistoryRecorderTests {
    let logger = Logger(label: "lockdiag.test.history")

    func fault(_ device: String, _ code: String) -> Fault {
        Fault(device: device, code: code, name: "motor_stall", title: "Motor stall / jammed bolt", category: "motor", severity: "error",
              status: .confirmed, source: "host", count: 1, firstSeen: "2026-11-28T09:00:00.000Z", lastSeen: "2026-11-28T09:00:00.000Z",
              freezeFrame: nil, meaning: "", advice: "")
    }

    func annotated(_ recorder: HistoryRecorder, _ device: String, _ code: String) -> Fault {
        var faults = [fault(device, code)]
        recorder.annotate(&faults)
        return faults[0]
    }

    /// A record the database always rejects (here a trigger that refuses it, as a constraint
    /// would) is set aside, and every record before and after it is written, in order.
    @Test func aRecordTheDatabaseAlwaysRefusesIsSetAsideAndTheRestAreWritten() throws {
        let dir = try TemporaryDirectory(prefix: "poison")
        defer { dir.remove() }
        let path = dir.path + "/history.sqlite"
        let db = try HistoryDatabase(path: path)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_poison BEFORE INSERT ON fault_event WHEN NEW.code = 'POISON'
                BEGIN SELECT RAISE(ABORT, 'poison record refused'); END
                """)
        }
        let recorder = HistoryRecorder(database: db, logger: logger)
        recorder.start()
        defer { recorder.stop() }

        let before = makeEvent("L1", "0x0101", .raised, status: .pending, at: 1_000)
        let poison = makeEvent("L1", "POISON", .raised, status: .pending, at: 1_001)
        let sameBatch = makeEvent("L1", "0x0301", .raised, status: .pending, at: 1_002)
        let after = makeEvent("L1", "0x0102", .raised, status: .pending, at: 1_003)
        // The batch with the poison cannot be written as it is: it is queued, not lost.
        #expect(!recorder.commit([before, poison, sameBatch]))
        recorder.commit([after])
        #expect(TestSupport.wait(upTo: 20) {
            recorder.health().unsavedRecords == 0 && (try? db.faultEvents(device: "L1").events.last?.event) == .lost
        })

        let events = try db.faultEvents(device: "L1").events
        #expect(events.map(\.code) == ["0x0101", "0x0301", "0x0102", "history"], "\(events.map(\.code))")
        let marker = try #require(events.last)
        #expect(marker.event == .lost)
        #expect(marker.count == 1)
        #expect(marker.evidence.contains("1 fault event (POISON ×1)"), "\(marker.evidence)")
        #expect(marker.evidence.contains("refused by the database: "))
        #expect(marker.evidence.contains("poison record refused"))

        let health = recorder.health()
        #expect(health.status == .ok)
        #expect(health.quarantined == 1)
        let set = try #require(health.quarantine.first)
        #expect(set.kind == "fault_event" && set.device == "L1" && set.what == "POISON raised")
        #expect(set.reason == "poison record refused (SQLite result code 1811)", "\(set.reason)")
        #expect(annotated(recorder, "L1", "POISON").saved == false)
        #expect(annotated(recorder, "L1", "POISON").lostEvents == 1)
        #expect(annotated(recorder, "L1", "0x0101").saved == true)
        // …and the next event goes straight to disk again.
        #expect(recorder.commit([makeEvent("L1", "0x0101", .confirmed, status: .confirmed, at: 1_004)]))
    }

    /// A value the encoder refuses (a NaN) is a record that can never be written either.
    @Test func aRecordThatCannotBeEncodedIsRefusedForGood() throws {
        let dir = try TemporaryDirectory(prefix: "poison")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/history.sqlite")
        let nan = makeEvent("L1", "0x0101", .confirmed, status: .confirmed, at: 1_000,
                            freeze: FreezeFrame(capturedAt: "2026-11-28T09:00:00.000Z", evidence: "x", temperatureCelsius: .nan))
        do {
            try db.write([nan])
            Issue.record("a NaN was written")
        } catch {
            #expect(error.isPermanent, "\(error)")
        }
    }

    /// While another process holds the database's write lock every write fails: the recorder
    /// keeps the *oldest* events up to its limit, drops and counts the newer ones, says so in
    /// its health and on each fault, and once writes work again writes what it kept, in order,
    /// and a `lost` event that says what was dropped between when and when.
    @Test func whileWritesFailTheOldestEventsAreKeptAndTheDropIsCountedAndMarked() throws {
        let dir = try TemporaryDirectory(prefix: "dropped")
        defer { dir.remove() }
        let path = dir.path + "/history.sqlite"
        let db = try HistoryDatabase(path: path)
        let holder = try WriteLockHolder(path: path)
        defer { holder.release() }

        let recorder = HistoryRecorder(database: db, limits: HistoryRecorder.Limits(unsavedRecords: 5), logger: logger)
        recorder.start()
        defer { recorder.stop() }
        let events = (0..<8).map { i in
            makeEvent("L1", "0x0101", i == 0 ? .raised : .confirmed, status: i == 0 ? .pending : .confirmed,
                      at: 1_764_000_000_000 + Int64(i) * 1000, count: i + 1)
        }
        for event in events { #expect(!recorder.commit([event])) }
        #expect(TestSupport.wait(upTo: 10) { recorder.health().status == .degraded })
        let health = recorder.health()
        #expect(health.reason?.contains("another process holds the write lock") == true, "\(health.reason ?? "nil")")
        #expect(health.unsavedRecords == 5)
        #expect(health.unsavedFaultEvents == 5)
        #expect(health.droppedRecords == 3)
        #expect(health.since != nil)
        let shown = annotated(recorder, "L1", "0x0101")
        #expect(shown.saved == false && shown.unsavedEvents == 5 && shown.lostEvents == 3)

        holder.release()
        #expect(TestSupport.wait(upTo: 20) { recorder.health().status == .ok })

        let stored = try db.faultEvents(device: "L1").events
        #expect(stored.count == 6, "\(stored.map(\.event))")
        #expect(stored.prefix(5).map(\.count) == [1, 2, 3, 4, 5], "the oldest five are kept, in order")
        let marker = try #require(stored.last)
        #expect(marker.event == .lost && marker.code == "history" && marker.count == 3)
        #expect(marker.firstSeen == APITime.format(milliseconds: 1_764_000_005_000))
        #expect(marker.at == APITime.format(milliseconds: 1_764_000_007_000))
        #expect(marker.evidence.contains("3 fault events (0x0101 ×3) lost between"), "\(marker.evidence)")
        #expect(marker.evidence.contains("3 dropped because 5 unsaved records were already waiting"))
        #expect(marker.evidence.contains("another process holds the write lock"))
        #expect(recorder.health().droppedRecords == 3, "the count stays, for daemon.info")

        // The fault still says three of its events are lost, until it is cleared.
        #expect(annotated(recorder, "L1", "0x0101").lostEvents == 3)
        #expect(recorder.commit([makeEvent("L1", "0x0101", .cleared, status: nil, at: 1_764_000_009_000, by: "uid 0, pid 1")]))
        let cleared = annotated(recorder, "L1", "0x0101")
        #expect(cleared.saved == true && cleared.lostEvents == nil, "lost_events is reset when the fault is cleared")
    }

    /// A lock shown by its path until it answers IDENTIFY: a fault raised before that (a link
    /// timing out) is recorded under the path; once it has identified itself the fault is shown
    /// under its serial, and its events — queued or on disk — belong to that id (an older
    /// session's events under the same path stay where they are).
    @Test func eventsRecordedBeforeALockIdentifiedItselfFollowItToItsId() throws {
        let dir = try TemporaryDirectory(prefix: "renamed")
        defer { dir.remove() }
        let path = dir.path + "/history.sqlite"
        let db = try HistoryDatabase(path: path)
        let port = "/dev/ttyACM0"
        try db.write([makeEvent(port, "0x0402", .raised, status: .pending, at: 500)])  // another lock, earlier
        let holder = try WriteLockHolder(path: path)
        defer { holder.release() }
        let recorder = HistoryRecorder(database: db, logger: logger)
        recorder.start()
        defer { recorder.stop() }

        #expect(!recorder.commit([makeEvent(port, "0x0402", .confirmed, status: .confirmed, at: 1_000)]))
        recorder.commit([.device(DeviceSighting(id: "LX3-000123", serial: "LX3-000123", model: "LX-300", hardwareRevision: "C",
                                                firmware: "2.4.1", transport: "serial", path: port, atMilliseconds: 2_000,
                                                formerID: port, formerIDSinceMilliseconds: 1_000))])
        let waiting = annotated(recorder, "LX3-000123", "0x0402")
        #expect(waiting.saved == false && waiting.unsavedEvents == 1)

        holder.release()
        #expect(TestSupport.wait(upTo: 20) { recorder.health().status == .ok && recorder.health().unsavedRecords == 0 })
        #expect(annotated(recorder, "LX3-000123", "0x0402").saved == true)
        #expect(try db.faultEvents(device: "LX3-000123").events.map(\.at) == [APITime.format(milliseconds: 1_000)])
        #expect(try db.faultEvents(device: port).events.map(\.at) == [APITime.format(milliseconds: 500)])
    }
}

/// Another process's connection holding the database's write lock (`BEGIN IMMEDIATE`), as a
/// backup tool or an `sqlite3` shell might: every write of the recorder fails with "database is
/// locked" until it lets go.
final class WriteLockHolder {
    let queue: DatabaseQueue
    private var holding = true

    init(path: String) throws {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.inDatabase { try $0.execute(sql: "BEGIN IMMEDIATE") }
    }

    func release() {
        guard holding else { return }
        holding = false
        try? queue.inDatabase { try $0.execute(sql: "ROLLBACK") }
    }
}
