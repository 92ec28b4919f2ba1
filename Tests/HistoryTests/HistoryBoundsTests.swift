import Dispatch
import Foundation
import HistoryStore
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// What one client can make the history cost: API reads run on the history's own queue, off
/// Swift's cooperative pool.
@Suite struct HistoryBoundsTests {
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
