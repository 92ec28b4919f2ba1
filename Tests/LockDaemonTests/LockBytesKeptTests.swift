import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// docs/security.md, "What reaches the technician's terminal": `lockdiag` makes a lock's strings
/// inert where they enter the CLI, but the daemon's socket API and history keep the bytes the
/// lock sent. A lock whose serial number carries an escape sequence, DEL, a C1 control, a
/// bidirectional override and a line separator, served to a real lockdiagd.
@Suite(.serialized) struct LockBytesKeptTests {
    static let hostileSerial = "E\u{1B}[2J\u{7F}\u{9B}\u{202E}\u{2028}1"

    @Test func theAPIAndTheHistoryKeepTheBytesALockSent() throws {
        let rig = try LDPTestRig(LDPTestLock(serial: Self.hostileSerial))
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let device = try #require(try rig.device())
        #expect(device.id == Self.hostileSerial && device.serial == Self.hostileSerial, "\(device.id.unicodeScalars.map { $0.value })")
        let id: JSONValue = ["device": .string(Self.hostileSerial)]
        let status = try rig.client.call(APIMethod.deviceStatus, params: id).decode(as: DeviceStatus.self)
        #expect(status.device == Self.hostileSerial)
        // The history's record of the lock, as faults.history reads it back from the database.
        var record: DeviceRecord?
        #expect(try TestSupport.wait(upTo: 10, pollEvery: 0.1) {
            record = try rig.client.call(APIMethod.faultsHistory, params: id).decode(as: FaultHistory.self).record
            return record != nil
        }, "the lock never reached the history")
        #expect(record?.id == Self.hostileSerial && record?.serial == Self.hostileSerial,
                "\(String(describing: record?.serial?.unicodeScalars.map { $0.value }))")
    }
}
