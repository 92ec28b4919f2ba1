/// A JSON value: what travels as `params`, `result` and error `data`.
///
/// Objects are dictionaries and serialise with their keys sorted, so the same value always
/// produces the same bytes. Integers and fractional numbers are distinct cases: `1` parses as
/// `.integer(1)` and `1.0` as `.double(1.0)`; the numeric accessors read either.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

// MARK: - Accessors

extension JSONValue {
    /// The member `key` of an object; nil for a missing member or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index` of an array; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    public var isNull: Bool { self == .null }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as an integer: an `.integer`, or a `.double` with no fractional part that fits
    /// (peers written in languages with one number type send `3.0` for 3).
    public var int64Value: Int64? {
        switch self {
        case .integer(let value): return value
        case .double(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    public var intValue: Int? { int64Value.flatMap { Int(exactly: $0) } }

    /// Any number as a Double (an integer beyond 2^53 loses precision).
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        // A repeated key keeps its last value, as JSON parsers commonly do.
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

// MARK: - Text

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text on one line.
    public var description: String { jsonText }

    /// Compact JSON text on one line: no whitespace between tokens, object keys sorted, and
    /// control characters in strings (newlines included) escaped, so the text never contains a
    /// line feed and fits the one-JSON-text-per-line framing.
    public var jsonText: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// `jsonText` as UTF-8 bytes.
    public var jsonBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        write(to: &bytes)
        return bytes
    }

    /// Indented JSON text with keys sorted, for people (`JSONWriter.writePretty`).
    public var prettyText: String {
        var bytes: [UInt8] = []
        JSONWriter.writePretty(self, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the compact JSON text to `bytes`.
    public func write(to bytes: inout [UInt8]) {
        JSONWriter.write(self, to: &bytes)
    }

    /// Parses one JSON text (RFC 8259) strictly (see `JSONParser`): leading and trailing
    /// whitespace allowed, nothing else; nesting deeper than `maxDepth` is refused.
    public init(parsing bytes: some Collection<UInt8>, maxDepth: Int = JSONParser.maxDepth) throws(JSONParseError) {
        // withUnsafeBytes rethrows untyped errors, so the typed error travels in a Result.
        let parse = { (buffer: UnsafeRawBufferPointer) in
            Result { () throws(JSONParseError) -> JSONValue in try JSONParser.parse(buffer, maxDepth: maxDepth) }
        }
        if let result = bytes.withContiguousStorageIfAvailable({ parse(UnsafeRawBufferPointer($0)) }) {
            self = try result.get()
        } else {
            self = try Array(bytes).withUnsafeBytes(parse).get()
        }
    }

    /// Parses one JSON text from a string.
    public init(parsing text: String, maxDepth: Int = JSONParser.maxDepth) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8), maxDepth: maxDepth)
    }
}

// MARK: - Codable

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        // JSON has no NaN or infinity; they are written as null here as in `jsonText`.
        case .double(let value) where !value.isFinite: try container.encodeNil()
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

// MARK: - Bridging to Codable types

extension JSONValue {
    /// The JSON form of any Encodable value, as `JSONBytesEncoder` writes it (the same value
    /// Foundation's JSONEncoder with default settings gives). Key names come from the type's
    /// CodingKeys: nothing is forced.
    public init(encoding value: some Encodable, encoder: JSONBytesEncoder = JSONBytesEncoder()) throws {
        if let tree = value as? JSONValue {
            self = tree
            return
        }
        var bytes: [UInt8] = []
        try encoder.encode(value, into: &bytes)
        do { self = try JSONValue(parsing: bytes) } catch {
            // The encoder writes only valid JSON; a failure here is a bug in it, said as such.
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "JSONBytesEncoder wrote text its parser refuses (\(error)) — report this as a bug"))
        }
    }

    /// Decodes a Decodable type from this value with `decoder`, directly from the tree.
    public func decode<T: Decodable>(as type: T.Type = T.self, decoder: JSONValueDecoder = JSONValueDecoder()) throws -> T {
        try decoder.decode(T.self, from: self)
    }
}
