import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// firmware-specs/usb.md §2.2–2.3 (timing and errors), kept by the real lockdiagd and libusb
/// against umockdev recordings (Tests/Recordings).
@Suite(.serialized) struct USBPromiseTests {
    /// A transfer ended by a bus error (TRANSFER_ERROR) or an overflow costs that exchange only:
    /// each is counted, the lost answer counts as a timeout, the link stays up and the next
    /// exchange gets through.
    @Test func transferErrorsAndOverflowsAreCountedAndOnlyThatExchangeIsDropped() throws {
        let scratch = try TemporaryDirectory(prefix: "usberrors")
        defer { scratch.remove() }
        let (daemon, client) = try Recording.bulkLockDaemon(replaying: "lock-bulk-errors.ioctl", in: scratch)
        defer { #expect(Recording.stopUnderUmockdevRun(daemon) == 0) }
        func status() throws -> DeviceStatus {
            try client.call(APIMethod.deviceStatus, params: ["device": "LX3-000123"]).decode(as: DeviceStatus.self)
        }
        // The fourth exchange's answer arrives: the two bad ones did not end the link.
        #expect(try TestSupport.wait(upTo: 10) { try status().battery.voltageMillivolts == 5980 })
        #expect(try status().online)
        func link() throws -> LinkStats? {
            try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices.first { $0.device == "LX3-000123" }
        }
        // Counters are published once a second.
        #expect(try TestSupport.wait(upTo: 5) { try (link()?.frames ?? 0) >= 2 && (link()?.usb?.exchanges ?? 0) >= 4 })
        let counted = try #require(try link())
        #expect(counted.usb?.transferErrors == 2, "\(counted)")
        #expect(counted.usb?.stalls == 0 && counted.usb?.inTimeouts == 0 && counted.usb?.outTimeouts == 0, "\(counted)")
        // The two dropped exchanges are the two timeouts of the response deadline.
        #expect(counted.timeouts == 2, "\(counted)")
        let faults = try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults
        #expect(!faults.contains { $0.name == "link_lost" }, "\(faults.map(\.name))")
    }
}
