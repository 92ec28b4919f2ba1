import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// firmware-specs/usb.md §2.2–2.3 (timing and errors), kept by the real lockdiagd and libusb
/// against umockdev recordings (Tests/Recordings).
@Suite(.serialized) struct USBPromiseTests {
    /// lock-bulk.umockdev plugged into a testbed whose usbfs node answers as `setup` (a testbed
    /// command) says, and lockdiagd on it with a client connected.
    static func lockOnTestbed(_ setup: String) throws -> (Testbed, DaemonProcess, JSONRPCClient) {
        let bed = try Testbed()
        do {
            try bed.command(setup)
            let scratch = try TemporaryDirectory(prefix: "usbbed")
            defer { scratch.remove() }
            try bed.command("add " + Recording.prepare("lock-bulk.umockdev", in: scratch))
            let daemon = try DaemonProcess([], launcher: bed.launcher)
            let client = JSONRPCClient(socketPath: daemon.socketPath)
            try client.connect()
            return (bed, daemon, client)
        } catch {
            bed.quit()
            throw error
        }
    }

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

    /// A user who may not open the device node is told what to do about it (usb.md §2.3).
    @Test func accessDeniedOnOpenSaysToJoinTheGroupOrRunAsRoot() throws {
        let scratch = try TemporaryDirectory(prefix: "usbaccess")
        defer { scratch.remove() }
        let bulk = try Recording.prepare("lock-bulk.umockdev", in: scratch)
        // lockdiagd as nobody: the testbed open to it, all but the lock's node, which stays root's
        // (0600) as udev leaves it without our rules.
        let asNobody = #"chmod -R a+rwX "$UMOCKDEV_DIR" && chmod 0600 "$UMOCKDEV_DIR/dev/bus/usb/001/007" && "#
            + #"exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups "$0" "$@""#
        let daemon = try DaemonProcess([], launcher: ["/usr/bin/umockdev-run", "--device", bulk, "--", "/bin/sh", "-c", asNobody])
        defer { #expect(Recording.stopUnderUmockdevRun(daemon) == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func problem() throws -> String? {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first { $0.id == "LX3-000123" }?.problem
        }
        #expect(try TestSupport.wait(upTo: 10) { try problem()?.contains("LIBUSB_ERROR_ACCESS") == true })
        let said = try #require(try problem())
        #expect(said.contains("libusb_open: LIBUSB_ERROR_ACCESS — permission denied — add your user to group lockdiag (see udev/README.md) or run as root"),
                "\(said)")
    }

    /// An interface another program has claimed: lockdiagd says so and keeps trying to claim it.
    @Test func aBusyInterfaceIsReportedAndClaimedAgainAndAgain() throws {
        let (bed, daemon, client) = try Self.lockOnTestbed("busy /dev/bus/usb/001/007")
        defer { bed.quit() }
        defer { #expect(daemon.stop() == 0) }
        func listed() throws -> DeviceSummary? {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first { $0.id == "LX3-000123" }
        }
        #expect(try TestSupport.wait(upTo: 10) { try listed()?.problem?.contains("LIBUSB_ERROR_BUSY") == true })
        let said = try #require(try listed())
        #expect(!said.online)
        #expect(said.problem?.contains("libusb_claim_interface: LIBUSB_ERROR_BUSY — the interface is claimed by another program") == true
                    && said.problem?.contains("lockdiag retries") == true, "\(said.problem ?? "")")
        // And it does: claim after claim while the other program holds on.
        let first = try #require(Int(try bed.answer("claims")))
        #expect(first >= 1)
        #expect(try TestSupport.wait(upTo: 10) { try Int(bed.answer("claims"))! >= first + 3 })
    }

    /// A lock that accepts requests but never ends its answer (its IN transfers stay pending), and
    /// one that never accepts a request (OUT pending): each exchange ends at libusb's transfer
    /// timeout as LIBUSB_TRANSFER_TIMED_OUT, is counted as a USB timeout and as a response
    /// timeout as on serial, and the link stays open for the next exchange.
    @Test(arguments: ["in", "out"]) func anExchangeThatRunsOutOfTimeIsATimeoutAndTheNextOneIsTried(_ hung: String) throws {
        let (bed, daemon, client) = try Self.lockOnTestbed("hang /dev/bus/usb/001/007 \(hung)")
        defer { bed.quit() }
        defer { #expect(daemon.stop() == 0) }
        func link() throws -> LinkStats? {
            try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices.first { $0.device == "LX3-000123" }
        }
        // Counters are published once a second.
        #expect(try TestSupport.wait(upTo: 10) {
            let stats = try link()
            return ((hung == "in" ? stats?.usb?.inTimeouts : stats?.usb?.outTimeouts) ?? 0) >= 3 && (stats?.timeouts ?? 0) >= 3
        }, "\(String(describing: try? link()))")
        let stats = try #require(try link())
        let usb = try #require(stats.usb)
        #expect((hung == "in" ? usb.outTimeouts : usb.inTimeouts) == 0, "\(usb)")
        // Each timed-out exchange ended and the next one started, on the same open link.
        #expect(usb.exchanges >= 3 && usb.transferErrors == 0 && usb.stalls == 0, "\(usb)")
        #expect(stats.timeouts >= 3 && stats.reconnects == 0, "\(stats)")
        let faults = try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults
        #expect(!faults.contains { $0.name == "link_lost" }, "\(faults.map(\.name))")
        #expect(!daemon.child.allErrors.contains("LIBUSB_TRANSFER_TIMED_OUT on endpoint"), "a timeout closed the link: \(daemon.child.allErrors)")
    }
}

