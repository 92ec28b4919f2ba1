import DeviceDiscovery
import Testing

/// What discovery takes for a lock, decided from udev's facts.
@Suite struct DiscoveryPolicyTests {
    let lockUSB = DiscoveryPolicy.USBFacts(port: "1-3", id: KnownDevices.bulkLock, serial: "LX3-000123", product: "LX-300")
    let acmUSB = DiscoveryPolicy.USBFacts(port: "1-4", id: KnownDevices.serialLock, serial: "LX3-000777")
    let ch340 = DiscoveryPolicy.USBFacts(port: "1-5", id: USBID(vendor: 0x1A86, product: 0x7523))
    let cp2102 = DiscoveryPolicy.USBFacts(port: "1-6", id: USBID(vendor: 0x10C4, product: 0xEA60), serial: "0001")
    let mouse = DiscoveryPolicy.USBFacts(port: "1-7", id: USBID(vendor: 0x046D, product: 0xC52B))

    func usbDevice(_ usb: DiscoveryPolicy.USBFacts, property: String? = nil) -> DiscoveryPolicy.Facts {
        DiscoveryPolicy.Facts(syspath: "/sys/devices/usb1/\(usb.port)", subsystem: "usb", devtype: "usb_device",
                              devnode: "/dev/bus/usb/001/007", transportProperty: property, usb: usb)
    }

    func tty(_ usb: DiscoveryPolicy.USBFacts, name: String = "ttyACM0", links: [String] = [], property: String? = nil) -> DiscoveryPolicy.Facts {
        DiscoveryPolicy.Facts(syspath: "/sys/devices/usb1/\(usb.port)/\(usb.port):1.0/tty/\(name)", subsystem: "tty",
                              devnode: "/dev/\(name)", devlinks: links, transportProperty: property, usb: usb)
    }

    @Test func theVendorBulkLockIsAUSBLockKnownByItsSerial() throws {
        let device = try #require(DiscoveryPolicy().classify(usbDevice(lockUSB)))
        #expect(device.transport == .usb && device.match == .knownLock && device.isLock)
        #expect(device.stableID == "LX3-000123")
        #expect(device.path == "1-3")
        #expect(device.id.description == "1209:0001")
    }

    @Test func withoutASerialNumberTheIdIsThePortPath() throws {
        var usb = lockUSB
        usb.serial = nil
        #expect(try #require(DiscoveryPolicy().classify(usbDevice(usb))).stableID == "1-3")
    }

    @Test func theCDCACMLockIsItsTTYNotItsUSBDevice() throws {
        #expect(DiscoveryPolicy().classify(usbDevice(acmUSB)) == nil)
        let device = try #require(DiscoveryPolicy().classify(tty(acmUSB)))
        #expect(device.transport == .serial && device.match == .knownLock)
        #expect(device.path == "/dev/ttyACM0")
        let linked = try #require(DiscoveryPolicy().classify(tty(acmUSB, links: ["/dev/serial/by-id/usb-x", "/dev/lockdiag/LX3-000777"])))
        #expect(linked.path == "/dev/lockdiag/LX3-000777")
    }

    @Test func serviceCablesAreSeenButNeverProbedUnlessNamed() throws {
        let seen = try #require(DiscoveryPolicy().classify(tty(cp2102, name: "ttyUSB0")))
        #expect(seen.match == .serviceCable && !seen.isLock)
        #expect(try #require(DiscoveryPolicy().classify(tty(ch340, name: "ttyUSB1"))).isLock == false)
        let named = try #require(DiscoveryPolicy(adapterSerials: ["0001"]).classify(tty(cp2102, name: "ttyUSB0")))
        #expect(named.match == .configuredSerial && named.isLock && named.transport == .serial)
        // A serial number that is not this cable's changes nothing.
        #expect(DiscoveryPolicy(adapterSerials: ["0002"]).classify(tty(cp2102, name: "ttyUSB0"))?.isLock == false)
    }

    @Test func theUdevPropertyMakesAnyDeviceALock() throws {
        #expect(DiscoveryPolicy().classify(usbDevice(mouse)) == nil)
        #expect(DiscoveryPolicy().classify(tty(mouse)) == nil)
        let bulk = try #require(DiscoveryPolicy().classify(usbDevice(mouse, property: "usb")))
        #expect(bulk.match == .udevProperty && bulk.transport == .usb)
        let serial = try #require(DiscoveryPolicy().classify(tty(ch340, property: "serial")))
        #expect(serial.match == .udevProperty && serial.isLock)
        var policy = DiscoveryPolicy()
        policy.honourUdevProperty = false
        #expect(policy.classify(usbDevice(mouse, property: "usb")) == nil)
    }

    @Test func devicesWithoutAUSBParentAreIgnored() {
        let console = DiscoveryPolicy.Facts(syspath: "/sys/devices/virtual/tty/tty0", subsystem: "tty", devnode: "/dev/tty0")
        #expect(DiscoveryPolicy().classify(console) == nil)
        // The interface of a bulk lock is not the lock: its usb_device is.
        var interface = usbDevice(lockUSB)
        interface.devtype = "usb_interface"
        #expect(DiscoveryPolicy().classify(interface) == nil)
    }

    @Test func ids() {
        #expect(USBID("1209:0001") == KnownDevices.bulkLock)
        #expect(USBID("1a86:7523")?.description == "1a86:7523")
        #expect(USBID("nope") == nil)
        #expect(KnownDevices.name(of: KnownDevices.bulkLock)?.contains("vendor-bulk") == true)
        #expect(KnownDevices.serviceCables.count == 4)
    }
}
