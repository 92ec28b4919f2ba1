/// What discovery treats as a lock. Pure: decided from udev's facts about a device, so it is
/// tested without udev.
public struct DiscoveryPolicy: Sendable, Equatable {
    /// The udev property udev/70-lockdiag.rules sets on a lock (`usb` or `serial`): any device
    /// carrying it is probed, which is how a local rule adds a device of another id.
    public static let transportProperty = "LOCKDIAG_TRANSPORT"
    /// The udev tag the rules add (for `udevadm trigger --tag-match=lockdiag` and systemd).
    public static let tag = "lockdiag"

    public var bulkLocks: Set<USBID> = [KnownDevices.bulkLock]
    public var serialLocks: Set<USBID> = [KnownDevices.serialLock]
    /// USB serial numbers of USB-serial adapters (service cables) to use as locks.
    public var adapterSerials: Set<String> = []
    /// Whether `LOCKDIAG_TRANSPORT` makes a device a lock.
    public var honourUdevProperty = true

    public init(adapterSerials: Set<String> = []) { self.adapterSerials = adapterSerials }

    /// What udev says about one device, as far as discovery cares.
    public struct Facts: Sendable, Equatable {
        public var syspath: String
        public var subsystem: String
        public var devtype: String?
        public var devnode: String?
        public var devlinks: [String] = []
        /// The `LOCKDIAG_TRANSPORT` property, if set.
        public var transportProperty: String?
        /// The USB device this one is (for a usb_device) or hangs off (for a tty).
        public var usb: USBFacts?

        public init(syspath: String, subsystem: String, devtype: String? = nil, devnode: String? = nil, devlinks: [String] = [],
                    transportProperty: String? = nil, usb: USBFacts? = nil) {
            self.syspath = syspath
            self.subsystem = subsystem
            self.devtype = devtype
            self.devnode = devnode
            self.devlinks = devlinks
            self.transportProperty = transportProperty
            self.usb = usb
        }
    }

    /// The USB device's own attributes (sysfs).
    public struct USBFacts: Sendable, Equatable {
        public var port: String
        public var id: USBID
        public var serial: String?
        public var manufacturer: String?
        public var product: String?

        public init(port: String, id: USBID, serial: String? = nil, manufacturer: String? = nil, product: String? = nil) {
            self.port = port
            self.id = id
            self.serial = serial
            self.manufacturer = manufacturer
            self.product = product
        }
    }

    /// The device as discovery sees it, or nil when it is neither a lock nor a service cable.
    public func classify(_ facts: Facts) -> DiscoveredDevice? {
        guard let usb = facts.usb else { return nil }
        let isUSBDevice = facts.subsystem == "usb" && facts.devtype == "usb_device"
        let isTTY = facts.subsystem == "tty"
        let tagged = honourUdevProperty ? facts.transportProperty : nil
        var pick: (DiscoveredDevice.Transport, DiscoveredDevice.Match)?
        if isUSBDevice {
            if bulkLocks.contains(usb.id) { pick = (.usb, .knownLock) } else if tagged == "usb" { pick = (.usb, .udevProperty) }
        } else if isTTY {
            if serialLocks.contains(usb.id) {
                pick = (.serial, .knownLock)
            } else if tagged == "serial" {
                pick = (.serial, .udevProperty)
            } else if let serial = usb.serial, adapterSerials.contains(serial) {
                pick = (.serial, .configuredSerial)
            } else if KnownDevices.serviceCables[usb.id] != nil {
                pick = (.serial, .serviceCable)
            }
        }
        guard let (transport, match) = pick else { return nil }
        return DiscoveredDevice(transport: transport, match: match, syspath: facts.syspath, devnode: facts.devnode,
                                devlinks: facts.devlinks, port: usb.port, id: usb.id, serial: usb.serial,
                                manufacturer: usb.manufacturer, product: usb.product)
    }
}
