/// A Bluetooth UUID: a 128-bit UUID, of which the 16- and 32-bit forms are shorthands on the
/// Bluetooth Base UUID `00000000-0000-1000-8000-00805F9B34FB` (Core Specification v5.3, Vol 3,
/// Part B, §2.5.1). On the air UUIDs travel little-endian; `description` is the usual text form.
public struct BluetoothUUID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The most significant 64 bits (text groups 1–3).
    public let high: UInt64
    /// The least significant 64 bits (text groups 4–5).
    public let low: UInt64

    static let baseHighMask: UInt64 = 0x0000_0000_FFFF_FFFF
    static let baseHigh: UInt64 = 0x0000_0000_0000_1000
    static let baseLow: UInt64 = 0x8000_0080_5F9B_34FB

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A 16-bit UUID (`0x180F`, Battery Service).
    public init(_ short: UInt16) { self.init(uint32: UInt32(short)) }

    /// A 32-bit UUID.
    public init(uint32 value: UInt32) {
        high = UInt64(value) << 32 | Self.baseHigh
        low = Self.baseLow
    }

    /// `0x180F`, `180f`, `0000180f` or the 36-character form; nil for anything else.
    public init?(string text: String) {
        var s = Substring(text)
        if s.hasPrefix("0x") || s.hasPrefix("0X") { s = s.dropFirst(2) }
        if s.count == 4 || s.count == 8, let value = UInt32(s, radix: 16) {
            self.init(uint32: value)
            return
        }
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        let hex = groups.joined()
        guard hex.allSatisfy(\.isHexDigit),
              let high = UInt64(hex.prefix(16), radix: 16), let low = UInt64(hex.suffix(16), radix: 16) else { return nil }
        self.init(high: high, low: low)
    }

    /// From the air: 2, 4 or 16 bytes, least significant first.
    public init?(littleEndian bytes: [UInt8]) {
        switch bytes.count {
        case 2: self.init(UInt16(bytes[0]) | UInt16(bytes[1]) << 8)
        case 4: self.init(uint32: UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        case 16:
            var high: UInt64 = 0
            var low: UInt64 = 0
            for i in 0..<8 {
                low |= UInt64(bytes[i]) << (8 * UInt64(i))
                high |= UInt64(bytes[8 + i]) << (8 * UInt64(i))
            }
            self.init(high: high, low: low)
        default: return nil
        }
    }

    /// Whether this is a shorthand on the Base UUID.
    public var isBased: Bool { low == Self.baseLow && high & Self.baseHighMask == Self.baseHigh }

    /// The 16-bit form, when there is one.
    public var shortValue: UInt16? {
        guard isBased, high >> 48 == 0 else { return nil }
        return UInt16(truncatingIfNeeded: high >> 32)
    }

    /// The 32-bit form, when there is one (every 16-bit UUID has one too).
    public var uint32Value: UInt32? { isBased ? UInt32(truncatingIfNeeded: high >> 32) : nil }

    /// The shortest form ATT allows: 2 bytes for a 16-bit UUID, else 16 (ATT has no 32-bit
    /// form: Core Specification v5.3, Vol 3, Part F, §3.2.1), least significant first.
    public var attBytes: [UInt8] {
        if let short = shortValue { return [UInt8(truncatingIfNeeded: short), UInt8(truncatingIfNeeded: short >> 8)] }
        return fullLittleEndianBytes
    }

    /// All 16 bytes, least significant first.
    public var fullLittleEndianBytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: low >> (8 * UInt64($0))) } + (0..<8).map { UInt8(truncatingIfNeeded: high >> (8 * UInt64($0))) }
    }

    /// `0x180F` for a 16-bit UUID, else the 36-character lower-case form.
    public var description: String {
        if let short = shortValue { return "0x" + Self.hex(UInt64(short), digits: 4).uppercased() }
        return fullText
    }

    /// The 36-character lower-case form, whatever the UUID.
    public var fullText: String {
        let h = Self.hex(high, digits: 16), l = Self.hex(low, digits: 16)
        return "\(h.prefix(8))-\(h.dropFirst(8).prefix(4))-\(h.suffix(4))-\(l.prefix(4))-\(l.suffix(12))"
    }

    static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    public static func < (a: BluetoothUUID, b: BluetoothUUID) -> Bool { (a.high, a.low) < (b.high, b.low) }
}
