/// Why a frame's payload is not a valid LDP/1 message.
public enum MessageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The payload is shorter than the fields the message defines (§4.3).
    case payloadTooShort(type: UInt8, needed: Int, got: Int)
    /// The frame's type is not one LDP/1 defines for its kind.
    case unknownMessageType(kind: FrameKind, type: UInt8)
    /// A field holds a value outside its documented range.
    case invalidField(type: UInt8, field: String, value: Int)
    /// A `str` field is not valid UTF-8.
    case invalidUTF8(type: UInt8, field: String)

    /// The name the golden vectors use.
    public var vectorName: String {
        switch self {
        case .payloadTooShort: "payload_too_short"
        case .unknownMessageType: "unknown_message_type"
        case .invalidField: "invalid_field"
        case .invalidUTF8: "invalid_utf8"
        }
    }

    public var description: String {
        switch self {
        case .payloadTooShort(let t, let needed, let got):
            "message 0x\(hex(t)) needs at least \(needed) payload bytes, got \(got)"
        case .unknownMessageType(let kind, let t):
            "unknown \(kind) type 0x\(hex(t)) — the lock speaks a newer LDP/1 than this lockdiag"
        case .invalidField(let t, let field, let value):
            "message 0x\(hex(t)): field \(field) has invalid value \(value)"
        case .invalidUTF8(let t, let field):
            "message 0x\(hex(t)): field \(field) is not UTF-8"
        }
    }
}

func hex(_ value: UInt8) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return value < 16 ? "0" + digits : digits
}

/// Little-endian reader over a payload; every read checks the remaining length first.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let type: UInt8
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, type: UInt8) {
        self.bytes = bytes
        self.type = type
    }

    var remaining: Int { bytes.count - offset }

    /// Fails unless `n` more bytes are present; `needed` is reported as the total the message wants.
    func require(_ n: Int) throws(MessageError) {
        if remaining < n { throw .payloadTooShort(type: type, needed: offset + n, got: bytes.count) }
    }

    mutating func u8() throws(MessageError) -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(MessageError) -> UInt16 {
        try require(2)
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    mutating func i16() throws(MessageError) -> Int16 { Int16(bitPattern: try u16()) }

    mutating func u32() throws(MessageError) -> UInt32 {
        try require(4)
        defer { offset += 4 }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    mutating func i32() throws(MessageError) -> Int32 { Int32(bitPattern: try u32()) }

    mutating func bytes(_ n: Int) throws(MessageError) -> [UInt8] {
        try require(n)
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func string(_ field: String, max: Int) throws(MessageError) -> String {
        let n = Int(try u8())
        guard n <= max else { throw .invalidField(type: type, field: field, value: n) }
        try require(n)
        defer { offset += n }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
        guard let text = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw .invalidUTF8(type: type, field: field)
        }
        return text
    }
}

/// Little-endian writer appending to an array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(truncatingIfNeeded: v)); bytes.append(UInt8(truncatingIfNeeded: v >> 8)) }
    mutating func i16(_ v: Int16) { u16(UInt16(bitPattern: v)) }
    mutating func u32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }

    /// Writes a `str` field, cutting it at `max` bytes on a character boundary.
    mutating func string(_ s: String, max: Int) {
        var utf8 = Array(s.utf8.prefix(max))
        while !utf8.isEmpty, String(validating: utf8, as: UTF8.self) == nil { utf8.removeLast() }
        u8(UInt8(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}
