import DeviceDiscovery
import Foundation
import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import LockSimulator
import Logging
import Synchronization
import Testing

/// The hub's side of hotplug, with discovery's events given as values and simulated locks on
/// real ptys behind them: listing, unplug, replug under the same id, forgetting, and
/// devices.changed. (USBTests repeats it with real udev events under umockdev.)
@Suite(.serialized) struct HotplugRegistryTests {
    final class Rig {
        let simulator: SimulatorServer
        let loop: PollLoop
        let hub: Hub
        let changes = Changes()
        let links = Hub.LinkFactory(usb: nil, usbProblem: "USB is off in this test", baudRate: 115_200)

        /// `linkDirectory`: the locks' paths are stable links that vanish while unplugged, as
        /// /dev/ttyACM0 does.
        init(locks: Int = 1, configurations: [SimulatorConfiguration]? = nil, linkDirectory: String? = nil) throws {
            simulator = try SimulatorServer(configurations: configurations ?? (0..<locks).map { SimulatorConfiguration(seed: 3, index: $0) },
                                            linkDirectory: linkDirectory)
            try simulator.start()
            loop = try PollLoop(configuration: PollLoopConfiguration())
            var logger = Logger(label: "test.hotplug")
            logger.logLevel = .warning
            hub = Hub(loop: loop, logger: logger)
            try loop.start()
            hub.start()
            #expect(hub.watchDevices(changes).isEmpty)
        }

        func stop() {
            hub.stop()
            loop.stop()
            simulator.stop()
        }

        /// A CDC-ACM lock as discovery would report it, its tty being simulated lock `index`'s
        /// (or `devnode`).
        func tty(_ index: Int, serial: String? = "SIM-0003-000", port: String = "1-4", devnode: String? = nil) -> DiscoveredDevice {
            DiscoveredDevice(transport: .serial, match: .knownLock, syspath: "/sys/devices/usb1/\(port)/\(port):1.0/tty/ttyACM\(index)",
                             devnode: devnode ?? simulator.devicePaths[index], devlinks: [], port: port, id: KnownDevices.serialLock, serial: serial,
                             manufacturer: "Example Locks", product: "LX-300")
        }

        func device(_ id: String) -> DeviceSummary? { hub.devices().first { $0.id == id } }
    }

    /// Collects devices.changed as a connection would.
    final class Changes: DeviceChangeSink {
        let sinkID: UInt64 = 42
        let seen = Mutex<[DeviceChange]>([])
        func offer(_ change: DeviceChange) -> Bool {
            seen.withLock { $0.append(change) }
            return true
        }
        var kinds: [DeviceChangeKind] { seen.withLock { $0.map(\.change) } }
    }

    @Test func aFoundLockIsListedAtOnceAndComesOnline() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let slot = try #require(rig.hub.deviceAppeared(rig.tty(0), links: rig.links))
        // Listed before the poll loop has even opened it: that is what devices.list shows.
        let listed = try #require(rig.device("SIM-0003-000"))
        #expect(listed.transport == "serial" && listed.usb?.port == "1-4" && listed.usb?.plugged == true)
        #expect(rig.changes.kinds == [.added])
        #expect(TestSupport.wait(upTo: 10) { rig.device("SIM-0003-000")?.online == true })
        // Seen again (enumeration and monitor both reporting it): nothing changes.
        #expect(rig.hub.deviceAppeared(rig.tty(0), links: rig.links) == nil)
        #expect(rig.hub.devices().count == 1 && rig.changes.kinds == [.added])
        _ = slot
    }

    @Test func unpluggedStaysListedOfflineThenReturnsUnderTheSameIDWithItsFaults() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let slot = try #require(rig.hub.deviceAppeared(rig.tty(0), links: rig.links))
        #expect(TestSupport.wait(upTo: 10) { rig.device("SIM-0003-000")?.online == true })
        let before = rig.hub.faults(of: slot)

        rig.hub.deviceDisappeared(rig.tty(0))
        let gone = try #require(rig.device("SIM-0003-000"))
        #expect(gone.state == "offline" && !gone.online && gone.usb?.plugged == false)
        #expect(gone.problem?.hasPrefix("unplugged from USB port 1-4") == true)
        #expect(rig.changes.kinds == [.added, .removed])
        // No link_lost for an unplug udev reported: let the hub's once-a-second check run
        // (75 poll-loop ticks at 50 Hz is 1.5 s by the loop's own clock) and look.
        let start = rig.loop.statistics.cycles
        #expect(TestSupport.wait(upTo: 5) { rig.loop.statistics.cycles > start + 75 })
        #expect(!rig.hub.faults(of: slot).contains { $0.name == "link_lost" })
        #expect(rig.device("SIM-0003-000")?.problem?.hasPrefix("unplugged") == true)

        // Back, on another port: same slot, same id, its history kept.
        let back = try #require(rig.hub.deviceAppeared(rig.tty(0, port: "1-2"), links: rig.links))
        #expect(back == slot)
        #expect(rig.changes.kinds == [.added, .removed, .added])
        #expect(rig.device("SIM-0003-000")?.usb?.port == "1-2")
        #expect(TestSupport.wait(upTo: 10) { rig.device("SIM-0003-000")?.online == true })
        #expect(rig.hub.faults(of: slot).count >= before.count)
        #expect(rig.hub.devices().count == 1)
    }

    /// Found by the kernel lab (docs/lab.md): a CDC-ACM lock's tty hangs up a moment before
    /// udev's remove event arrives, which took 2 s there; and after a replug udev reports the lock
    /// before its tty can be opened. Neither is a lost link.
    @Test func aLateUnplugFromUdevAndASlowReplugRaiseNoLinkLost() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hotplug-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rig = try Rig(linkDirectory: directory)
        defer { rig.stop() }
        let slot = try #require(rig.hub.deviceAppeared(rig.tty(0), links: rig.links))
        #expect(TestSupport.wait(upTo: 10) { rig.device("SIM-0003-000")?.online == true })
        /// Lets the hub's once-a-second check run at least twice (the loop's 50 Hz ticks).
        func twoChecks() {
            let start = rig.loop.statistics.cycles
            #expect(TestSupport.wait(upTo: 10) { rig.loop.statistics.cycles > start + 110 })
        }

        try rig.simulator.unplug(lock: 0)  // the tty goes first…
        #expect(TestSupport.wait(upTo: 5) { rig.device("SIM-0003-000")?.state == "offline" })
        twoChecks()
        rig.hub.deviceDisappeared(rig.tty(0))  // …udev's remove event 2 s later
        twoChecks()
        #expect(!rig.hub.faults(of: slot).contains { $0.name == "link_lost" }, "\(rig.hub.faults(of: slot).map(\.name))")

        _ = rig.hub.deviceAppeared(rig.tty(0), links: rig.links)  // udev reports it back…
        twoChecks()
        try rig.simulator.replug(lock: 0)  // …its tty opens 2 s later
        #expect(TestSupport.wait(upTo: 10) { rig.device("SIM-0003-000")?.online == true })
        twoChecks()
        #expect(!rig.hub.faults(of: slot).contains { $0.name == "link_lost" }, "\(rig.hub.faults(of: slot).map(\.name))")
    }

    /// A link that fails with no unplug from udev is still a lost link, once udev had its time.
    @Test func aDropWithoutAnUnplugIsALostLink() throws {
        // A link that vanishes with the pty: the hub reopening a bare /dev/pts/N would open the
        // next pty to get that number, another test's lock.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hotplug-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rig = try Rig(linkDirectory: directory)
        defer { rig.stop() }
        let slot = try #require(rig.hub.deviceAppeared(rig.tty(0), links: rig.links))
        #expect(TestSupport.wait(upTo: 10) { rig.device("SIM-0003-000")?.online == true })
        try rig.simulator.unplug(lock: 0)
        #expect(TestSupport.wait(upTo: 15) { rig.hub.faults(of: slot).contains { $0.name == "link_lost" } })
    }

    @Test func locksUnpluggedLongEnoughAreForgotten() throws {
        let rig = try Rig()
        defer { rig.stop() }
        _ = try #require(rig.hub.deviceAppeared(rig.tty(0), links: rig.links))
        rig.hub.forgetUnplugged(olderThan: 0)
        #expect(rig.hub.devices().count == 1, "a plugged-in lock is never forgotten")
        rig.hub.deviceDisappeared(rig.tty(0))
        rig.hub.forgetUnplugged(olderThan: 3600)
        #expect(rig.hub.devices().count == 1)
        rig.hub.forgetUnplugged(olderThan: 0)
        #expect(rig.hub.devices().isEmpty)
        #expect(rig.changes.kinds == [.added, .removed, .forgotten])
        #expect(rig.changes.seen.withLock { $0.last?.device.id } == "SIM-0003-000")
    }

    @Test func aLockWithoutASerialNumberIsKnownByItsPort() throws {
        let rig = try Rig()
        defer { rig.stop() }
        _ = try #require(rig.hub.deviceAppeared(rig.tty(0, serial: nil, port: "1-4"), links: rig.links))
        // Listed under its port path (the lock may already have answered by the time we look).
        #expect(rig.changes.seen.withLock { $0.first?.device.id } == "1-4")
        // Once it answers IDENTIFY, its LDP/1 serial becomes its id; it is still matched by port.
        #expect(TestSupport.wait(upTo: 10) { rig.hub.devices().first?.id == "SIM-0003-000" })
        rig.hub.deviceDisappeared(rig.tty(0, serial: nil, port: "1-4"))
        #expect(rig.hub.devices().first?.state == "offline")
        // Plugged into another port it is another lock (nothing says otherwise).
        _ = try #require(rig.hub.deviceAppeared(rig.tty(0, serial: nil, port: "1-2"), links: rig.links))
        #expect(rig.hub.devices().count == 2)
    }

    @Test func aLockAlsoNamedWithSerialIsNotAddedTwice() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let configured = try #require(rig.hub.addSerialDevice(path: rig.simulator.devicePaths[0]))
        #expect(rig.hub.deviceAppeared(rig.tty(0), links: rig.links) == nil)
        #expect(rig.hub.devices().count == 1)
        #expect(rig.hub.devices()[0].usb?.port == "1-4", "it gains its USB identity")
        // Unplugged: shown so, but its own link keeps retrying its path (it was named, not found).
        rig.hub.deviceDisappeared(rig.tty(0))
        #expect(rig.hub.devices()[0].usb?.plugged == false && rig.changes.kinds == [.removed])
        _ = rig.hub.deviceAppeared(rig.tty(0), links: rig.links)
        #expect(rig.changes.kinds == [.removed, .added])
        #expect(TestSupport.wait(upTo: 10) { rig.hub.devices()[0].online })
        _ = configured
    }

    @Test func aBulkLockWithoutUSBIsListedWithTheReason() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let bulk = DiscoveredDevice(transport: .usb, match: .knownLock, syspath: "/sys/devices/usb1/1-3", devnode: "/dev/bus/usb/001/007",
                                    devlinks: [], port: "1-3", id: KnownDevices.bulkLock, serial: "LX3-000123", manufacturer: nil, product: nil)
        _ = try #require(rig.hub.deviceAppeared(bulk, links: rig.links))
        let listed = try #require(rig.device("LX3-000123"))
        #expect(listed.transport == "usb" && listed.path == "1-3" && listed.state == "offline")
        #expect(listed.problem == "USB is off in this test")
    }

    @Test func unwatchingStopsTheNotifications() throws {
        let rig = try Rig()
        defer { rig.stop() }
        #expect(rig.hub.unwatchDevices(rig.changes.sinkID))
        #expect(!rig.hub.unwatchDevices(rig.changes.sinkID))
        _ = rig.hub.deviceAppeared(rig.tty(0), links: rig.links)
        #expect(rig.changes.kinds.isEmpty)
    }
}
