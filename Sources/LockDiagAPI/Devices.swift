// Devices coming and going: `devices.subscribe` and its `devices.changed` notifications, and
// the USB identity shown for USB-attached locks (docs/socket-api.md).

/// Where a USB-attached lock is and what it says it is (from udev and its USB descriptors).
public struct USBDeviceInfo: Codable, Sendable, Equatable {
    /// Port path, `1-1.4` (bus 1, root port 1, hub port 4): where it is plugged in.
    public var port: String
    /// Hex, four digits: `1209`.
    public var vendorID: String
    public var productID: String
    /// The USB serial number (iSerialNumber); absent when the device has none.
    public var serial: String?
    public var manufacturer: String?
    public var product: String?
    /// Plugged in now, as far as udev knows.
    public var plugged: Bool

    enum CodingKeys: String, CodingKey {
        case port, serial, manufacturer, product, plugged
        case vendorID = "vendor_id"
        case productID = "product_id"
    }

    public init(port: String, vendorID: String, productID: String, serial: String?, manufacturer: String?, product: String?, plugged: Bool) {
        self.port = port
        self.vendorID = vendorID
        self.productID = productID
        self.serial = serial
        self.manufacturer = manufacturer
        self.product = product
        self.plugged = plugged
    }
}

/// What happened to a device.
public enum DeviceChangeKind: String, Codable, Sendable, CaseIterable {
    /// Now in `devices.list`: plugged in (or plugged back in: same id, its faults kept).
    case added
    /// Unplugged: still listed, `offline`, until it comes back or is forgotten.
    case removed
    /// Dropped from `devices.list` after staying unplugged for `--forget-unplugged` seconds.
    case forgotten
}

/// `devices.changed` notification params.
public struct DeviceChange: Codable, Sendable, Equatable {
    public var change: DeviceChangeKind
    /// The device as `devices.list` shows it after the change.
    public var device: DeviceSummary
    /// `devices.changed` notifications dropped before this one because the client read too slowly.
    public var lost: Int

    public init(change: DeviceChangeKind, device: DeviceSummary, lost: Int = 0) {
        self.change = change
        self.device = device
        self.lost = lost
    }
}

/// `devices.subscribe` result: the devices now, and from here on every change.
public struct DevicesSubscription: Codable, Sendable, Equatable {
    public var subscribed: Bool
    public var devices: [DeviceSummary]

    public init(subscribed: Bool, devices: [DeviceSummary]) {
        self.subscribed = subscribed
        self.devices = devices
    }
}

/// `devices.unsubscribe` result.
public struct DevicesUnsubscribed: Codable, Sendable, Equatable {
    /// Whether the connection was subscribed.
    public var unsubscribed: Bool

    public init(unsubscribed: Bool) { self.unsubscribed = unsubscribed }
}

/// `daemon.stats` `devices[].usb`: what a vendor-bulk USB link counted (firmware-specs/usb.md §2.3).
public struct USBLinkStats: Codable, Sendable, Equatable {
    /// Exchanges started: one OUT transfer per request.
    public var exchanges: UInt64
    /// Endpoint halts (STALL) seen and cleared.
    public var stalls: UInt64
    /// Transfers that failed otherwise (a bad cable, an overflow).
    public var transferErrors: UInt64
    /// Answers the lock did not end within the IN timeout.
    public var inTimeouts: UInt64
    /// Requests the lock did not accept within the OUT timeout.
    public var outTimeouts: UInt64
    /// Received bytes dropped because the poll loop had not read the previous ones.
    public var droppedBytes: UInt64

    enum CodingKeys: String, CodingKey {
        case exchanges, stalls
        case transferErrors = "transfer_errors"
        case inTimeouts = "in_timeouts"
        case outTimeouts = "out_timeouts"
        case droppedBytes = "dropped_bytes"
    }

    public init(exchanges: UInt64, stalls: UInt64, transferErrors: UInt64, inTimeouts: UInt64, outTimeouts: UInt64, droppedBytes: UInt64) {
        self.exchanges = exchanges
        self.stalls = stalls
        self.transferErrors = transferErrors
        self.inTimeouts = inTimeouts
        self.outTimeouts = outTimeouts
        self.droppedBytes = droppedBytes
    }
}
