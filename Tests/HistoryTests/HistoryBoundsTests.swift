import Dispatch
import Foundation
import HistoryStore
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// What one client can make the history cost: the audit table's cap holds on every insert, and
/// API reads run on the history's own queue, off Swift's cooperative pool.
@Suite struct HistoryBoundsTests {
    static func entry(_ i: Int) -> AuditEntry {
        AuditEntry(atMilliseconds: Int64(1_000 + i), uid: 1000, gid: 1000, pid: 4000, client: "lockdiag", connection: 1,
                   role: "reader", method: "faults.clear", params: "{\"device\":\"L\(i)\"}", outcome: "denied")
    }

    @Test func theAuditCapHoldsOnEveryInsertNotOnlyWhenPruned() throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/audit.sqlite")
        try db.write((0..<30).map { .audit(Self.entry($0)) })
        // Setting the cap trims what is there to it.
        try db.capAudit(keeping: 10)
        #expect(try db.auditEntries().map(\.params) == (20..<30).reversed().map { "{\"device\":\"L\($0)\"}" })
        // Inserts one by one and in one transaction never leave more than the cap.
        for i in 30..<45 {
            try db.write([.audit(Self.entry(i))])
            #expect(try db.auditEntries(limit: 1_000_000).count <= 10)
        }
        try db.write((45..<100).map { .audit(Self.entry($0)) })
        let kept = try db.auditEntries()
        #expect(kept.count == 10)
        #expect(kept.first?.params == "{\"device\":\"L99\"}", "the newest are kept")
        // A new cap replaces the old one.
        try db.capAudit(keeping: 3)
        try db.write([.audit(Self.entry(100))])
        #expect(try db.auditEntries().count == 3)
    }

    @Test func readsRunOnTheHistorysOwnQueue() async throws {
        let dir = try TemporaryDirectory(prefix: "hist")
        defer { dir.remove() }
        let db = try HistoryDatabase(path: dir.path + "/reads.sqlite")
        #expect(!HistoryDatabase.isOnReadQueue)
        let onQueue = try await db.offPool { (db) throws(HistoryError) -> Bool in
            _ = try db.faultEvents(device: "L1")
            return HistoryDatabase.isOnReadQueue
        }
        #expect(onQueue)
    }
}
