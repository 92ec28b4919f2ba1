/// A USB vendor and product id pair.
public struct USBID: Sendable, Hashable, CustomStringConvertible, Comparable {
    public var vendor: UInt16
    public var product: UInt16

    public init(vendor: UInt16, product: UInt16) {
        self.vendor = vendor
        self.product = product
    }

    /// Parses `1209:0001`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let v = UInt16(parts[0], radix: 16), let p = UInt16(parts[1], radix: 16) else { return nil }
        self.init(vendor: v, product: p)
    }

    /// `1209:0001`.
    public var description: String { Self.hex(vendor) + ":" + Self.hex(product) }

    static func hex(_ value: UInt16) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    public static func < (a: USBID, b: USBID) -> Bool { (a.vendor, a.product) < (b.vendor, b.product) }
}

/// The USB identities lockdiag knows (firmware-specs/usb.md).
public enum KnownDevices {
    /// pid.codes' test vendor id (pid.codes: open-source hardware ids). A product needs its own
    /// PID from pid.codes (or its own VID); these two are for development and tests only.
    public static let pidCodesVendor: UInt16 = 0x1209

    /// The vendor-bulk variant: an LDP/1 controller with a class-0xFF interface and bulk pipes.
    public static let bulkLock = USBID(vendor: pidCodesVendor, product: 0x0001)
    /// The CDC-ACM variant: an LDP/1 controller that shows up as /dev/ttyACM*.
    public static let serialLock = USBID(vendor: pidCodesVendor, product: 0x0002)

    /// USB-UART bridges found in service cables for a lock's debug header. They are inside many
    /// other devices too (GPS receivers, development boards, modems), so they are never probed
    /// by default: a technician names the cable by path (`--serial`) or serial (`--usb-serial`).
    public static let serviceCables: [USBID: String] = [
        USBID(vendor: 0x1A86, product: 0x7523): "WCH CH340 USB-UART (no serial number: use --serial with a /dev/serial/by-path link)",
        USBID(vendor: 0x10C4, product: 0xEA60): "Silicon Labs CP210x USB-UART",
        USBID(vendor: 0x0403, product: 0x6001): "FTDI FT232R USB-UART",
        USBID(vendor: 0x067B, product: 0x2303): "Prolific PL2303 USB-UART (often no serial number: use --serial with a /dev/serial/by-path link)",
    ]

    /// What a known id is, for `lockdiagd --scan`.
    public static func name(of id: USBID) -> String? {
        switch id {
        case bulkLock: "LDP/1 lock controller, vendor-bulk variant (pid.codes test PID)"
        case serialLock: "LDP/1 lock controller, CDC-ACM variant (pid.codes test PID)"
        default: serviceCables[id]
        }
    }
}
