import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// The real lockdiagd, with its real libudev discovery and libusb transport, against USB locks
/// faked by umockdev (Tests/Recordings): the recordings describe the devices and script the
/// URBs; lockdiag-usb-testbed plugs and unplugs them while the daemon runs.
@Suite(.serialized) struct USBTests {
    static let bulkSyspath = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3"
    static let acmTTY = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4:1.0/tty/ttyACM0"

    @Test func scanFindsTheBulkLockWithItsIdsAndTheCDCLock() throws {
        let scratch = try TemporaryDirectory(prefix: "usbscan")
        defer { scratch.remove() }
        let bulk = try Recording.prepare("lock-bulk.umockdev", in: scratch)
        let acm = try Recording.prepare("lock-acm.umockdev", in: scratch)
        let lines = try Recording.runUnderUmockdev(["--device", bulk, "--device", acm], product: "lockdiagd", ["--scan"])
        let bulkLine = try #require(lines.first { $0.hasPrefix("LX3-000123 ") }, "\(lines)")
        #expect(bulkLine.split(separator: " ", omittingEmptySubsequences: true).prefix(5).map(String.init)
                == ["LX3-000123", "usb", "1-3", "1-3", "1209:0001"])
        #expect(bulkLine.contains("vendor-bulk") && bulkLine.hasSuffix("ok"))
        let ttyLine = try #require(lines.first { $0.hasPrefix("SIM-0007-000 ") }, "\(lines)")
        #expect(ttyLine.split(separator: " ", omittingEmptySubsequences: true).prefix(5).map(String.init)
                == ["SIM-0007-000", "serial", "/dev/ttyACM0", "1-4", "1209:0002"])
    }

    /// A service cable is seen but never polled unless it is named by its serial number.
    @Test func aServiceCableIsNotPolledUntilNamed() throws {
        let scratch = try TemporaryDirectory(prefix: "usbcable")
        defer { scratch.remove() }
        let cable = try Recording.prepare("cable-cp210x.umockdev", in: scratch)
        let seen = try Recording.runUnderUmockdev(["--device", cable], product: "lockdiagd", ["--scan"])
        let line = try #require(seen.first { $0.contains("10c4:ea60") }, "\(seen)")
        #expect(line.hasPrefix("- ") && line.contains("/dev/ttyUSB0") && line.contains("not polled; to use it: --usb-serial 0001"))
        let named = try Recording.runUnderUmockdev(["--device", cable], product: "lockdiagd", ["--scan", "--usb-serial", "0001"])
        #expect(named.contains { $0.hasPrefix("0001 ") && $0.contains("service cable named by --usb-serial") }, "\(named)")

        // The daemon itself: not listed unless named.
        for (arguments, expected) in [([String](), [String]()), (["--usb-serial", "0001"], ["0001"])] {
            let daemon = try DaemonProcess(arguments, launcher: ["/usr/bin/umockdev-run", "--device", cable, "--"])
            let client = JSONRPCClient(socketPath: daemon.socketPath)
            try client.connect()
            #expect(try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.map(\.id) == expected)
            #expect(Recording.stopUnderUmockdevRun(daemon) == 0)
        }
    }

    /// IDENTIFY and READ_STATUS through the real libusb transport, replayed from lock-bulk.ioctl;
    /// then the lock vanishes mid-transfer (NO_DEVICE) and the daemon carries on.
    @Test func identifyAndStatusOverBulkThenAnUnplugMidTransferTakesItOffline() throws {
        let scratch = try TemporaryDirectory(prefix: "usbioctl")
        defer { scratch.remove() }
        let bulk = try Recording.prepare("lock-bulk.umockdev", in: scratch)
        let script = Recording.path("lock-bulk.ioctl")
        let daemon = try DaemonProcess([], launcher: ["/usr/bin/umockdev-run", "--device", bulk, "--ioctl", "/dev/bus/usb/001/007=" + script, "--"])
        defer { #expect(Recording.stopUnderUmockdevRun(daemon) == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func device() throws -> DeviceSummary? {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first { $0.id == "LX3-000123" }
        }

        #expect(try TestSupport.wait(upTo: 10) { try device()?.model != nil })
        let listed = try #require(try device())
        #expect(listed.transport == "usb" && listed.path == "1-3")
        #expect(listed.model == "LX-300" && listed.hardwareRevision == "C" && listed.firmware == "2.4.1" && listed.serial == "LX3-000123")
        #expect(listed.capabilities == ["motor", "battery_load_test", "door_sensor", "temperature"])
        #expect(listed.usb == USBDeviceInfo(port: "1-3", vendorID: "1209", productID: "0001", serial: "LX3-000123",
                                             manufacturer: "Example Locks", product: "LX-300 lock controller", plugged: true))

        func status() throws -> DeviceStatus {
            try client.call(APIMethod.deviceStatus, params: ["device": "LX3-000123"]).decode(as: DeviceStatus.self)
        }
        #expect(try TestSupport.wait(upTo: 10) { try status().updatedAt != nil })
        let s = try status()
        #expect(s.lock == "locked" && s.door == "closed" && s.calibrated == true)
        #expect(s.battery.voltageMillivolts == 6120 && s.battery.percent == 87)
        #expect(s.temperatureCelsius == 21.7 && s.actuations == 2069 && s.uptimeSeconds == 412_255)

        // The third exchange ends in -ENODEV: the daemon says why, takes the lock offline and
        // raises link_lost (udev said nothing about an unplug: for all it knows, a reset).
        #expect(daemon.child.waitForErrorLine(containing: "LIBUSB_TRANSFER_NO_DEVICE on endpoint 0x81", within: 10) != nil)
        #expect(try TestSupport.wait(upTo: 10) { try device()?.online == false })
        #expect(try TestSupport.wait(upTo: 10) {
            try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults.contains { $0.name == "link_lost" && $0.device == "LX3-000123" }
        })
        // Still serving.
        #expect(try client.call(APIMethod.daemonInfo).decode(as: DaemonInfo.self).devices == 1)
    }

    /// Fixed wiring without discovery: `--usb` by port path and by serial number open the same
    /// lock through libusb (the serial number read from sysfs, not asked of the device).
    @Test func aBulkLockNamedByPortOrSerialIsOpenedWithoutDiscovery() throws {
        let scratch = try TemporaryDirectory(prefix: "usbnamed")
        defer { scratch.remove() }
        let bulk = try Recording.prepare("lock-bulk.umockdev", in: scratch)
        for address in ["1-3", "LX3-000123"] {
            let daemon = try DaemonProcess(["--no-discovery", "--usb", address],
                                           launcher: ["/usr/bin/umockdev-run", "--device", bulk, "--ioctl",
                                                      "/dev/bus/usb/001/007=" + Recording.path("lock-bulk.ioctl"), "--"])
            let client = JSONRPCClient(socketPath: daemon.socketPath)
            try client.connect()
            #expect(try TestSupport.wait(upTo: 10) {
                let devices = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
                return devices.count == 1 && devices[0].id == "LX3-000123" && devices[0].model == "LX-300" && devices[0].transport == "usb"
            }, "--usb \(address)")
            #expect(Recording.stopUnderUmockdevRun(daemon) == 0)
        }
        // Nothing at that port: listed with what to do, and polled again when it appears.
        let daemon = try DaemonProcess(["--no-discovery", "--usb", "2-7"], launcher: ["/usr/bin/umockdev-run", "--device", bulk, "--"])
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        #expect(try TestSupport.wait(upTo: 10) {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first?.problem?
                .contains("no USB device at port 2-7 — is the lock plugged in?") == true
        })
        #expect(Recording.stopUnderUmockdevRun(daemon) == 0)
    }

    /// A halted (stalled) IN endpoint costs one exchange: the halt is cleared and counted, the
    /// lost answer counts as a timeout, and the next poll gets through.
    @Test func aStalledEndpointIsClearedCountedAndTheNextExchangeWorks() throws {
        let scratch = try TemporaryDirectory(prefix: "usbstall")
        defer { scratch.remove() }
        let (daemon, client) = try Recording.bulkLockDaemon(replaying: "lock-bulk-stall.ioctl", in: scratch)
        defer { #expect(Recording.stopUnderUmockdevRun(daemon) == 0) }
        func status() throws -> DeviceStatus {
            try client.call(APIMethod.deviceStatus, params: ["device": "LX3-000123"]).decode(as: DeviceStatus.self)
        }
        #expect(try TestSupport.wait(upTo: 10) { try status().battery.voltageMillivolts == 5980 })
        let s = try status()
        #expect(s.lock == "unlocked" && s.door == "open" && s.battery.percent == 74 && s.actuations == 2070)
        // Counters are published once a second.
        #expect(try TestSupport.wait(upTo: 5) {
            let link = try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices.first { $0.device == "LX3-000123" }
            return (link?.usb?.stalls ?? 0) >= 1 && (link?.timeouts ?? 0) >= 1 && (link?.usb?.exchanges ?? 0) >= 3
        })
    }

    /// Plug a bulk lock in while the daemon runs, pull it, plug it back: attach, detach and
    /// reattach under the same id, each announced as devices.changed.
    @Test func hotplugAttachesDetachesAndReattachesUnderTheSameID() throws {
        let scratch = try TemporaryDirectory(prefix: "usbhot")
        defer { scratch.remove() }
        let bed = try Testbed()
        defer { bed.quit() }
        let daemon = try DaemonProcess([], launcher: bed.launcher)
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        let subscribed = try client.call(APIMethod.devicesSubscribe).decode(as: DevicesSubscription.self)
        #expect(subscribed.subscribed && subscribed.devices.isEmpty)
        // A technician's view of the same: the CLI following the list.
        let follow = try ChildProcess("lockdiag", ["list", "--follow", "--socket", daemon.socketPath])
        defer { follow.signal(SIGKILL) }
        #expect(follow.readLine(within: 10)?.hasPrefix("No locks known to lockdiagd.") == true)

        // The URB script first: the add uevent goes out with the device, and the daemon opens it at once.
        try bed.command("ioctl /dev/bus/usb/001/007 " + Recording.path("lock-bulk.ioctl"))
        try bed.command("add " + Recording.prepare("lock-bulk.umockdev", in: scratch))
        let added = try #require(try nextChange(client))
        #expect(added.change == .added && added.device.id == "LX3-000123" && added.device.transport == "usb" && added.device.path == "1-3")
        #expect(added.device.usb?.plugged == true)
        // In devices.list at once (the hub lists it before the poll loop has even opened it).
        #expect(try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.map(\.id) == ["LX3-000123"])
        #expect(try TestSupport.wait(upTo: 10) {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first?.model == "LX-300"
        })
        #expect(follow.readLine(within: 10)?.hasSuffix("+ LX3-000123 plugged in (usb 1-3)") == true)

        try bed.command("uevent \(Self.bulkSyspath) remove")
        try bed.command("remove \(Self.bulkSyspath)")
        let removed = try #require(try nextChange(client, skipping: .added))
        #expect(removed.change == .removed && removed.device.id == "LX3-000123")
        #expect(removed.device.state == "offline" && removed.device.usb?.plugged == false)
        #expect(removed.device.problem?.contains("unplugged from USB port 1-3") == true)
        let listed = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
        #expect(listed.count == 1 && listed[0].state == "offline" && listed[0].model == "LX-300")
        #expect(follow.readLine(within: 10)?.hasSuffix("- LX3-000123 unplugged (usb 1-3); still listed, offline") == true)
        follow.signal(SIGINT)
        #expect(follow.waitForExit(within: 5) && follow.process.terminationStatus == 0)

        // Plugged back in (into the same port, so the kernel gives it a new address): same id.
        let replug = try Recording.prepare("lock-bulk.umockdev", in: scratch, as: "replug.umockdev") {
            $0.replacingOccurrences(of: "001/007", with: "001/009").replacingOccurrences(of: "DEVNUM=007", with: "DEVNUM=009")
                .replacingOccurrences(of: "devnum=7", with: "devnum=9").replacingOccurrences(of: "189:6", with: "189:8")
                .replacingOccurrences(of: "MINOR=6", with: "MINOR=8")
        }
        let script = scratch.path + "/replug.ioctl"
        try String(contentsOfFile: Recording.path("lock-bulk.ioctl"), encoding: .utf8)
            .replacingOccurrences(of: "/dev/bus/usb/001/007", with: "/dev/bus/usb/001/009").write(toFile: script, atomically: true, encoding: .utf8)
        try bed.command("ioctl /dev/bus/usb/001/009 " + script)
        try bed.command("add " + replug)
        let back = try #require(try nextChange(client))
        #expect(back.change == .added && back.device.id == "LX3-000123" && back.device.usb?.plugged == true)
        #expect(try TestSupport.wait(upTo: 10) {
            let devices = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
            return devices.count == 1 && devices[0].lastSeen != nil && devices[0].problem?.contains("unplugged") != true
        })
    }

    /// A CDC-ACM lock: udev's properties (from lock-acm.umockdev) point discovery at
    /// /dev/ttyACM0, which is a simulator's pty. Found at start, online, unplugged (uevent),
    /// plugged back: same id, online again.
    @Test func aCDCACMLockIsFoundThroughUdevAndServedByTheSimulator() throws {
        let scratch = try TemporaryDirectory(prefix: "usbacm")
        defer { scratch.remove() }
        let sim = try ChildProcess("locksim", ["--pty", "--scenario", "healthy", "--seed", "7", "--activity", "0"])
        defer { sim.signal(SIGTERM); _ = sim.waitForExit(within: 5) }
        let pty = try #require(sim.readLine(within: 10))
        let bed = try Testbed()
        defer { bed.quit() }
        try bed.command("add " + Recording.prepare("lock-acm.umockdev", in: scratch))
        try bed.command("link /dev/ttyACM0 \(pty)")

        let daemon = try DaemonProcess([], launcher: bed.launcher)
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func device() throws -> DeviceSummary? { try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first }
        #expect(try TestSupport.wait(upTo: 10) { try device()?.online == true })
        let found = try #require(try device())
        #expect(found.id == "SIM-0007-000" && found.transport == "serial" && found.path == "/dev/ttyACM0")
        #expect(found.serial == "SIM-0007-000" && found.usb?.port == "1-4" && found.usb?.productID == "0002")

        _ = try client.call(APIMethod.devicesSubscribe)
        try bed.command("uevent \(Self.acmTTY) remove")
        let removed = try #require(try nextChange(client))
        #expect(removed.change == .removed && removed.device.id == "SIM-0007-000" && !removed.device.online)
        try bed.command("uevent \(Self.acmTTY) add")
        let back = try #require(try nextChange(client))
        #expect(back.change == .added && back.device.id == "SIM-0007-000")
        #expect(try TestSupport.wait(upTo: 10) { try device()?.online == true })
        let stats = try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        #expect(stats.devices.count == 1)
    }

    /// The next devices.changed notification (ignoring other notifications and, optionally,
    /// repeats of one kind), nil after 10 s.
    func nextChange(_ client: JSONRPCClient, skipping: DeviceChangeKind? = nil) throws -> DeviceChange? {
        let deadline = Date().addingTimeInterval(10)
        while let (method, params) = try client.nextNotification(timeoutSeconds: deadline.timeIntervalSinceNow) {
            guard method == APIMethod.devicesChangedNotification else { continue }
            let change = try params.decode(as: DeviceChange.self)
            if change.change == skipping { continue }
            return change
        }
        return nil
    }
}

/// The recordings in Tests/Recordings.
enum Recording {
    static func path(_ name: String) -> String { TestSupport.repositoryRoot.path + "/Tests/Recordings/" + name }

    /// A copy without the comment lines (umockdev's .umockdev format has no comments), edited.
    static func prepare(_ name: String, in directory: TemporaryDirectory, as copy: String? = nil,
                        edit: (String) -> String = { $0 }) throws -> String {
        let text = try String(contentsOfFile: path(name), encoding: .utf8)
        let stripped = edit(text).split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        let target = directory.path + "/" + (copy ?? name)
        try stripped.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    /// lockdiagd with lock-bulk.umockdev plugged in, its URBs replayed from `script`, and a
    /// client connected to it.
    static func bulkLockDaemon(replaying script: String, in scratch: TemporaryDirectory) throws -> (DaemonProcess, JSONRPCClient) {
        let bulk = try prepare("lock-bulk.umockdev", in: scratch)
        let daemon = try DaemonProcess([], launcher: ["/usr/bin/umockdev-run", "--device", bulk, "--ioctl", "/dev/bus/usb/001/007=" + path(script), "--"])
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        return (daemon, client)
    }

    /// SIGTERM to lockdiagd itself: umockdev-run, started by the test runner with SIGTERM
    /// blocked, never sees the one DaemonProcess.stop sends it. Returns umockdev-run's exit
    /// status, which is lockdiagd's (nil if it did not exit within 15 s).
    static func stopUnderUmockdevRun(_ daemon: DaemonProcess) -> Int32? {
        let runner = daemon.child.process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(runner)/task/\(runner)/children", encoding: .utf8)) ?? ""
        for pid in children.split(separator: " ").compactMap({ Int32($0) }) { kill(pid, SIGTERM) }
        return daemon.stop()
    }

    /// Runs a product under `umockdev-run` with `options`, to its end; its stdout lines.
    static func runUnderUmockdev(_ options: [String], product: String, _ arguments: [String]) throws -> [String] {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/umockdev-run"), "umockdev-run missing: `make deps` installs umockdev")
        let child = try ChildProcess(product, arguments, launcher: ["/usr/bin/umockdev-run"] + options + ["--"])
        child.closeInput()
        var lines: [String] = []
        while let line = child.readLine(within: 20) { lines.append(line) }
        #expect(child.waitForExit(within: 10))
        #expect(child.process.terminationStatus == 0, "\(child.allErrors)")
        return lines
    }
}

/// lockdiag-usb-testbed: an umockdev testbed the test drives while lockdiagd runs in it.
final class Testbed {
    let child: ChildProcess
    let directory: String

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/umockdev-wrapper"), "umockdev missing: `make deps` installs it")
        // Under the preload itself: the uevent calls resolve /sys paths through it.
        child = try ChildProcess("lockdiag-usb-testbed", [], launcher: ["/usr/bin/umockdev-wrapper"])
        let first = try #require(child.readLine(within: 10), "lockdiag-usb-testbed did not start: \(child.allErrors)")
        try #require(first.hasPrefix("dir "), "\(first) \(child.allErrors)")
        directory = String(first.dropFirst(4))
    }

    /// Runs the program under test inside the testbed, through umockdev's preload library.
    var launcher: [String] { ["/usr/bin/env", "UMOCKDEV_DIR=\(directory)", "LD_PRELOAD=libumockdev-preload.so.0"] }

    func command(_ line: String) throws { _ = try answer(line) }

    /// What follows "ok" in the tool's answer to `line`.
    func answer(_ line: String) throws -> String {
        child.send(line)
        let answer = try #require(child.readLine(within: 10), "no answer to '\(line)': \(child.allErrors)")
        try #require(answer.hasPrefix("ok"), "'\(line)': \(answer)")
        return String(answer.dropFirst(2)).trimmingCharacters(in: .whitespaces)
    }

    /// Removes the testbed (its directory) and waits for the tool to exit.
    func quit() {
        child.send("quit")
        if !child.waitForExit(within: 5) { child.signal(SIGKILL) }
    }
}
