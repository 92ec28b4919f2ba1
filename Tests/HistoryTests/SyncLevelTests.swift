import Foundation
import GRDB
@testable import HistoryStore
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// reports.md § The history database: `synchronous=FULL` for every transaction carrying fault
/// events, self-test runs or device sightings; `NORMAL` for telemetry flushes.
@Suite(.serialized) struct SyncLevelTests {
    /// The level each kind of write leaves on the pool's one writer connection (SQLite's
    /// `PRAGMA synchronous`: 1 NORMAL, 2 FULL), read back on that connection.
    @Test func aDurableWriteIsFullAndATelemetryFlushIsNormal() throws {
        let directory = try TemporaryDirectory(prefix: "sync")
        defer { directory.remove() }
        let db = try HistoryDatabase(path: directory.path + "/h.sqlite")
        func level() throws -> Int? { try db.pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } }
        let sighting = HistoryRecord.device(DeviceSighting(id: "L1", serial: "L1", model: "LX-300", hardwareRevision: "A", firmware: "2.4.1",
                                                           transport: "serial", path: "/dev/x", atMilliseconds: 1_764_000_000_000))
        try db.write([sighting], durable: false)
        #expect(try level() == 1)
        try db.write([sighting], durable: true)
        #expect(try level() == 2)
    }

    /// Which of the daemon's writes are the synced ones: a telemetry flush adds status samples
    /// but no durable commit; a finished self-test (a test run) is a durable commit.
    @Test func theDaemonSyncsTestRunsButNotTelemetry() throws {
        // A user actuation about every second: status samples every poll while the motor runs.
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "1"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        func history() throws -> HistoryInfo { try client.call(APIMethod.stationInfo).decode(as: StationInfo.self).history }
        let id = try #require(try TestSupport.wait(upTo: 10) { try !client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.isEmpty }
            ? client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first?.id : nil)
        // Let the start-up sightings land, then watch two telemetry flushes go by.
        var before = try history()
        #expect(try TestSupport.wait(upTo: 15, pollEvery: 0.1) {
            let now = try history()
            defer { before = now }
            return now.statusSamples > before.statusSamples && now.durableCommits == before.durableCommits && now.pendingRecords == 0
        }, "no telemetry flush without a durable commit: \(before)")
        let quiet = try history()
        #expect(try TestSupport.wait(upTo: 15, pollEvery: 0.1) { try history().statusSamples > quiet.statusSamples })
        #expect(try history().durableCommits == quiet.durableCommits, "a telemetry flush was synced")

        _ = try client.call(APIMethod.testsRun, params: ["device": .string(id), "test": "battery"], timeoutSeconds: 30)
        let after = try history()
        #expect(after.testRuns == quiet.testRuns + 1)
        #expect(after.durableCommits > quiet.durableCommits, "the test run was not a synced commit")
    }
}
