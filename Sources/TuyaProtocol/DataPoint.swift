/// The type byte of a DP unit (tuya-mcu.md §5).
public enum TuyaDPType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case raw = 0
    case bool = 1
    /// A 4-byte big-endian signed integer.
    case value = 2
    case string = 3
    case enumeration = 4
    /// 1, 2 or 4 bytes, big-endian.
    case bitmap = 5

    /// The name Tuya's schemas use.
    public var description: String {
        switch self {
        case .raw: "raw"
        case .bool: "bool"
        case .value: "value"
        case .string: "string"
        case .enumeration: "enum"
        case .bitmap: "bitmap"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = match
    }
}

/// A DP's value, decoded by its type.
public enum TuyaDPValue: Sendable, Equatable, CustomStringConvertible {
    case raw([UInt8])
    case bool(Bool)
    case value(Int32)
    /// The string's bytes; Tuya strings are usually ASCII but nothing guarantees UTF-8.
    case string([UInt8])
    case enumeration(UInt8)
    /// The bits and the width in bytes (1, 2 or 4).
    case bitmap(UInt32, width: Int)

    public var type: TuyaDPType {
        switch self {
        case .raw: .raw
        case .bool: .bool
        case .value: .value
        case .string: .string
        case .enumeration: .enumeration
        case .bitmap: .bitmap
        }
    }

    /// The value as an integer, for the types that have one.
    public var integer: Int? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .value(let v): Int(v)
        case .enumeration(let e): Int(e)
        case .bitmap(let bits, _): Int(bits)
        case .raw, .string: nil
        }
    }

    public var description: String {
        switch self {
        case .raw(let bytes): bytes.map(hex2).joined()
        case .bool(let b): b ? "true" : "false"
        case .value(let v): String(v)
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .enumeration(let e): String(e)
        case .bitmap(let bits, _): "0x" + String(bits, radix: 16)
        }
    }
}

/// One DP unit: id, type, big-endian length, value.
public struct TuyaDataPoint: Sendable, Equatable {
    public var id: UInt8
    public var value: TuyaDPValue

    public init(id: UInt8, value: TuyaDPValue) {
        self.id = id
        self.value = value
    }
}

/// Why a frame's data is not a valid list of DP units.
public enum TuyaDPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer than 4 bytes left where a DP unit header should be.
    case truncatedHeader(offset: Int)
    /// A unit announces more bytes than the frame has left.
    case truncatedValue(dp: UInt8, length: Int, remaining: Int)
    /// A type byte Tuya does not define.
    case unknownType(dp: UInt8, type: UInt8)
    /// A length that type never has (bool, enum: 1; value: 4; bitmap: 1, 2 or 4).
    case invalidLength(dp: UInt8, type: TuyaDPType, length: Int)

    public var description: String {
        switch self {
        case .truncatedHeader(let o): "DP data ends inside a unit header at byte \(o)"
        case .truncatedValue(let dp, let n, let left): "DP \(dp) announces \(n) bytes but only \(left) follow"
        case .unknownType(let dp, let t): "DP \(dp) has unknown type \(t)"
        case .invalidLength(let dp, let t, let n): "DP \(dp) of type \(t) cannot be \(n) bytes long"
        }
    }
}

/// Encodes and decodes lists of DP units. Pure functions over bytes (a fuzz target can call them).
public enum TuyaDPCodec {
    /// Decodes every unit; the first malformed one makes the whole list invalid, since what
    /// follows it cannot be framed.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(TuyaDPError) -> [TuyaDataPoint] {
        var points: [TuyaDataPoint] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { throw .truncatedHeader(offset: offset) }
            let id = bytes[offset]
            let typeByte = bytes[offset + 1]
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            offset += 4
            guard let type = TuyaDPType(rawValue: typeByte) else { throw .unknownType(dp: id, type: typeByte) }
            guard bytes.count - offset >= length else { throw .truncatedValue(dp: id, length: length, remaining: bytes.count - offset) }
            let v = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
            offset += length
            let value: TuyaDPValue
            switch type {
            case .raw: value = .raw([UInt8](v))
            case .string: value = .string([UInt8](v))
            case .bool:
                guard length == 1 else { throw .invalidLength(dp: id, type: type, length: length) }
                value = .bool(v[0] != 0)
            case .enumeration:
                guard length == 1 else { throw .invalidLength(dp: id, type: type, length: length) }
                value = .enumeration(v[0])
            case .value:
                guard length == 4 else { throw .invalidLength(dp: id, type: type, length: length) }
                value = .value(Int32(bitPattern: UInt32(v[0]) << 24 | UInt32(v[1]) << 16 | UInt32(v[2]) << 8 | UInt32(v[3])))
            case .bitmap:
                guard length == 1 || length == 2 || length == 4 else { throw .invalidLength(dp: id, type: type, length: length) }
                var bits: UInt32 = 0
                for byte in v { bits = bits << 8 | UInt32(byte) }
                value = .bitmap(bits, width: length)
            }
            points.append(TuyaDataPoint(id: id, value: value))
        }
        return points
    }

    public static func decode(_ bytes: [UInt8]) throws(TuyaDPError) -> [TuyaDataPoint] {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(TuyaDPError) in try decode(raw) } }
        return try result.get()
    }

    /// The units on the wire (raw and string values longer than 65535 bytes are cut).
    public static func encode(_ points: [TuyaDataPoint]) -> [UInt8] {
        var out: [UInt8] = []
        for point in points {
            var value: [UInt8]
            switch point.value {
            case .raw(let bytes), .string(let bytes): value = Array(bytes.prefix(Int(UInt16.max)))
            case .bool(let b): value = [b ? 1 : 0]
            case .enumeration(let e): value = [e]
            case .value(let v):
                let u = UInt32(bitPattern: v)
                value = [UInt8(u >> 24), UInt8(truncatingIfNeeded: u >> 16), UInt8(truncatingIfNeeded: u >> 8), UInt8(truncatingIfNeeded: u)]
            case .bitmap(let bits, let width):
                let w = width == 1 || width == 2 ? width : 4
                value = (0..<w).reversed().map { UInt8(truncatingIfNeeded: bits >> UInt32(8 * $0)) }
            }
            out += [point.id, point.value.type.rawValue, UInt8(value.count >> 8), UInt8(truncatingIfNeeded: value.count)]
            out += value
        }
        return out
    }
}
