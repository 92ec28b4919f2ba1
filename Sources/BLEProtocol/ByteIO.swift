// Little-endian readers and writers for ATT PDUs, HCI events and AD structures (Bluetooth
// carries every multi-octet field least significant octet first: Core Specification v5.3,
// Vol 3, Part F, §3.2.9 for ATT, Vol 4, Part E, §5.2 for HCI).

/// Reads fields from a byte array front to back; every read checks the length first.
struct WireReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    /// Whether `count` more bytes are there.
    func has(_ count: Int) -> Bool { remaining >= count }

    mutating func u8() -> UInt8? {
        guard has(1) else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16? {
        guard has(2) else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, has(count) else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }
}

/// Appends fields to a byte array.
struct WireWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 32) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func append(_ more: [UInt8]) { bytes.append(contentsOf: more) }
}

extension Array where Element == UInt8 {
    /// Lower-case hex, two digits per byte, no separators.
    var hexText: String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        var text = ""
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}
