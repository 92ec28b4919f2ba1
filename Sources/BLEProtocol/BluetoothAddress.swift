/// An LE device address type (Core Specification v5.3, Vol 6, Part B, §1.3).
public enum LEAddressType: String, Sendable, Hashable, CaseIterable {
    /// An IEEE-assigned public address.
    case `public`
    /// A random address: static, or private (resolvable or not).
    case random
}

/// A Bluetooth device address. `bytes` are in display order (most significant first, as in
/// `AA:BB:CC:DD:EE:FF`); HCI and L2CAP carry them the other way round.
public struct BluetoothAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let type: LEAddressType

    public init(bytes: [UInt8], type: LEAddressType = .public) {
        precondition(bytes.count == 6, "a Bluetooth address has 6 bytes")
        self.bytes = bytes
        self.type = type
    }

    /// From HCI or L2CAP order (least significant byte first).
    public init(littleEndian bytes: [UInt8], type: LEAddressType) {
        self.init(bytes: bytes.reversed(), type: type)
    }

    /// `AA:BB:CC:DD:EE:FF` (public) or `AA:BB:CC:DD:EE:FF/random`; `/public` is accepted too.
    public init(parsing text: String) throws(BluetoothAddressError) {
        var body = Substring(text)
        var type = LEAddressType.public
        if let slash = text.firstIndex(of: "/") {
            body = text[..<slash]
            let suffix = text[text.index(after: slash)...].lowercased()
            guard let parsed = LEAddressType(rawValue: suffix) else { throw .badType(text, String(suffix)) }
            type = parsed
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else { throw .malformed(text) }
        self.init(bytes: parts.map { UInt8($0, radix: 16)! }, type: type)
    }

    /// `AA:BB:CC:DD:EE:FF`, upper case, without the type.
    public var text: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }

    /// The form `lockdiagd --ble` takes: `/random` appended for a random address.
    public var description: String { type == .random ? text + "/random" : text }

    /// HCI and L2CAP order.
    public var littleEndianBytes: [UInt8] { bytes.reversed() }

    /// For a random address, its sub-type from the top two bits (Vol 6, Part B, §1.3.2).
    public var randomKind: String? {
        guard type == .random else { return nil }
        switch bytes[0] >> 6 {
        case 0b11: return "static"
        case 0b01: return "resolvable private"
        case 0b00: return "non-resolvable private"
        default: return "reserved"
        }
    }

    public static func < (a: BluetoothAddress, b: BluetoothAddress) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes) || (a.bytes == b.bytes && a.type == .public && b.type == .random)
    }
}

/// Why a text is not a Bluetooth address.
public enum BluetoothAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case badType(String, String)

    public var description: String {
        switch self {
        case .malformed(let text):
            "'\(text)' is not a Bluetooth address: expected six hex pairs like AA:BB:CC:DD:EE:FF, with /random for a random address (`lockdiag scan` lists them)"
        case .badType(let text, let type):
            "'\(text)': unknown address type '\(type)' — use /random for a random address, nothing (or /public) for a public one"
        }
    }
}
