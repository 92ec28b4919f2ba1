/// A lock (or a service cable) udev knows about, with what lockdiag needs to open it and to
/// recognise it again after a replug.
public struct DiscoveredDevice: Sendable, Hashable {
    /// How to talk to it.
    public enum Transport: String, Sendable {
        /// Vendor-bulk USB through libusb (`USBBulkPort`), addressed by port path.
        case usb
        /// A tty (CDC-ACM, or a USB-UART cable) through `SerialPort`.
        case serial
    }

    /// Why discovery picked it.
    public enum Match: String, Sendable {
        /// One of lockdiag's own VID:PIDs (`KnownDevices`).
        case knownLock = "known_lock"
        /// udev set `LOCKDIAG_TRANSPORT` on it (udev/70-lockdiag.rules, or a local rule).
        case udevProperty = "udev_property"
        /// A USB-serial adapter whose serial number was given with `--usb-serial`.
        case configuredSerial = "configured_serial"
        /// A USB-UART bridge seen but not probed (scan only; never attached).
        case serviceCable = "service_cable"
    }

    public var transport: Transport
    public var match: Match
    /// The udev device (the usb_device for `.usb`, the tty for `.serial`).
    public var syspath: String
    /// /dev/bus/usb/BBB/DDD or /dev/ttyACM0.
    public var devnode: String?
    /// udev's symlinks to `devnode` (DEVLINKS), e.g. /dev/lockdiag/LX3-000123.
    public var devlinks: [String]
    /// The USB device's port path, `1-1.4` (its sysfs name).
    public var port: String
    public var id: USBID
    /// The USB serial number (iSerialNumber), when the device has one.
    public var serial: String?
    public var manufacturer: String?
    public var product: String?

    public init(transport: Transport, match: Match, syspath: String, devnode: String?, devlinks: [String], port: String, id: USBID,
                serial: String?, manufacturer: String?, product: String?) {
        self.transport = transport
        self.match = match
        self.syspath = syspath
        self.devnode = devnode
        self.devlinks = devlinks
        self.port = port
        self.id = id
        self.serial = serial
        self.manufacturer = manufacturer
        self.product = product
    }

    /// Whether the daemon should talk to it.
    public var isLock: Bool { match != .serviceCable }

    /// The identity that survives unplug and replug: the serial number, else the port path
    /// (a lock without a serial number is the same lock only on the same port).
    public var stableID: String {
        if let serial, !serial.isEmpty { return serial }
        return port
    }

    /// What the daemon opens and shows as the device's path: the port path for a bulk lock; for
    /// a tty the /dev/lockdiag/… link udev/70-lockdiag.rules makes, else the device node.
    public var path: String {
        switch transport {
        case .usb: return port
        case .serial:
            if let link = devlinks.first(where: { $0.hasPrefix("/dev/lockdiag/") }) { return link }
            return devnode ?? syspath
        }
    }
}
