import Foundation
import HistoryStore
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// A lock known by its path until it answers IDENTIFY: fault events the fleet already had under the path move to its
/// id when the station's history moves them.
@Suite(.serialized) struct FleetRenameTests {
    @Test(.timeLimit(.minutes(3)))
    func aFaultEventSentUnderAPathMovesToTheLocksSerialInTheFleet() async throws {
        try await offPool {
            let pg = try startFleetDatabase()
            defer { pg.remove() }
            let url = try enrollStation("rename_1", in: pg)
            let folder = try TemporaryDirectory(prefix: "ren")
            defer { folder.remove() }
            let path = "/dev/ttyFAKE9", serial = "LX300-009999"
            let t0 = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
            // A stall raised under the path, before the lock answered IDENTIFY.
            try HistoryDatabase(path: folder.path + "/history.sqlite").write([
                .fault(FaultEvent(device: path, code: "0x0101", name: "motor_stall", title: "Motor stall / jammed bolt", severity: "error",
                                  event: .raised, status: .pending, at: APITime.format(milliseconds: t0), count: 1,
                                  firstSeen: APITime.format(milliseconds: t0), source: "host", evidence: "current 1480 mA for 35 ms",
                                  freezeFrame: nil, advice: "check the bolt", clearedBy: nil), atMilliseconds: t0),
            ])
            let arguments = ["--simulate", "healthy", "--simulate-activity", "0", "--fleet", url]
            var daemon = try DaemonProcess(arguments, directory: folder)
            defer { daemon.stop() }
            let event = "SELECT device || '|' || coalesce(serial, '-') || '|' || coalesce(model, '-') FROM fleet.fault_event WHERE code = '0x0101'"
            #expect(try TestSupport.wait(upTo: 30, pollEvery: 0.2) { try pg.psql(event) == "\(path)|-|-" }, "the event never reached the fleet")
            daemon.stop()

            // The lock answers IDENTIFY: the history moves the event to its serial.
            try HistoryDatabase(path: folder.path + "/history.sqlite").write([
                .device(DeviceSighting(id: serial, serial: serial, model: "LX-300", hardwareRevision: "C", firmware: "2.4.1", transport: "serial",
                                       path: path, atMilliseconds: t0 + 1000, formerID: path, formerIDSinceMilliseconds: t0)),
            ])
            daemon = try DaemonProcess(arguments, directory: folder)
            var last = ""
            #expect(try TestSupport.wait(upTo: 30, pollEvery: 0.2) {
                last = try pg.psql(event)
                return last == "\(serial)|\(serial)|LX-300"
            }, "the fleet's event stayed \(last)")
            #expect(try pg.psql("SELECT count(*) FROM fleet.fault_event WHERE code = '0x0101'") == "1")
            let life = try ChildProcess.run("lockdiag", ["fleet", "lock", "--fleet", pg.adminURL, serial, "--json"])
            #expect(life.status == 0 && life.stdout.contains("fault raised"), "\(life)")
        }
    }
}
