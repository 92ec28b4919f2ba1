/// Decodes `Decodable` values straight from a `JSONValue` tree, with no bytes and no Foundation
/// in between.
///
/// Errors are the `DecodingError`s JSONDecoder throws, with the same codingPath (array indices
/// as int keys), so a server can say "missing field 'device'" or "field 'limit' should be an
/// integer". Numbers convert when exact: `3.0` reads as the integer 3, `3.5` or 300 as an
/// `Int8` is `dataCorrupted`. Like the encoder it has no strategies: `Date`, `Data` and `URL`
/// decode through their own `Codable` conformances.
public struct JSONValueDecoder: Sendable {
    public init() {}

    /// The `T` that `value` holds.
    public func decode<T: Decodable>(_ type: T.Type = T.self, from value: JSONValue) throws -> T {
        try JSONValueDecoding.unbox(value, as: T.self, codingPath: [])
    }
}

/// The `Decoder` handed to one value's `init(from:)`.
struct JSONValueDecoding: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func unbox<T: Decodable>(_ value: JSONValue, as type: T.Type, codingPath: [any CodingKey]) throws -> T {
        if T.self == JSONValue.self { return value as! T }  // the subtree as it is
        return try T(from: JSONValueDecoding(value: value, codingPath: codingPath))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch(container: "keyed", expected: [String: Any].self)
        }
        return KeyedDecodingContainer(JSONValueKeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch(container: "unkeyed", expected: [Any].self)
        }
        return JSONValueUnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    private func mismatch(container: String, expected: Any.Type) -> DecodingError {
        if value == .null {
            return .valueNotFound(expected, DecodingError.Context(
                codingPath: codingPath, debugDescription: "Cannot get \(container) decoding container -- found null value instead"))
        }
        return JSONValueDecoding.typeMismatch(expected, value, codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try Self.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try Self.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Self.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try Self.float(value, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try Self.integer(value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Self.integer(value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Self.integer(value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Self.integer(value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Self.integer(value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try Self.integer(value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Self.integer(value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Self.integer(value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Self.integer(value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Self.integer(value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Self.unbox(value, as: T.self, codingPath: codingPath) }

    // MARK: Scalars, with JSONDecoder's errors

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "bool"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "a dictionary"
        }
    }

    static func typeMismatch(_ type: Any.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) -> DecodingError {
        if value == .null {
            return .valueNotFound(type, DecodingError.Context(
                codingPath: codingPath, debugDescription: "Cannot get value of type \(type) -- found null value instead"))
        }
        return .typeMismatch(type, DecodingError.Context(
            codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(kind(value)) instead."))
    }

    static func bool(_ value: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = value else { throw typeMismatch(Bool.self, value, codingPath()) }
        return flag
    }

    static func string(_ value: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> String {
        guard case .string(let text) = value else { throw typeMismatch(String.self, value, codingPath()) }
        return text
    }

    static func double(_ value: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard let number = value.doubleValue else { throw typeMismatch(Double.self, value, codingPath()) }
        return number
    }

    static func float(_ value: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> Float {
        guard let number = value.doubleValue else { throw typeMismatch(Float.self, value, codingPath()) }
        guard abs(number) <= Double(Float.greatestFiniteMagnitude) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath(), debugDescription: "Parsed JSON number <\(value)> does not fit in Float."))
        }
        return Float(number)
    }

    static func integer<T: FixedWidthInteger>(_ value: JSONValue, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> T {
        let exact: T?
        switch value {
        case .integer(let number): exact = T(exactly: number)
        case .double(let number): exact = T(exactly: number)
        default: throw typeMismatch(T.self, value, codingPath())
        }
        guard let exact else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath(), debugDescription: "Parsed JSON number <\(value)> does not fit in \(T.self)."))
        }
        return exact
    }
}

struct JSONValueKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: some CodingKey) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try JSONValueDecoding.bool(member(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try JSONValueDecoding.string(member(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try JSONValueDecoding.double(member(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try JSONValueDecoding.float(member(key), codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

    private func integer<T: FixedWidthInteger>(_ key: Key) throws -> T { try JSONValueDecoding.integer(member(key), codingPath + [key]) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try JSONValueDecoding.unbox(member(key), as: T.self, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try JSONValueDecoding(value: member(key), codingPath: codingPath + [key]).container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONValueDecoding(value: member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        JSONValueDecoding(value: members[JSONIndexKey.super.stringValue] ?? .null, codingPath: codingPath + [JSONIndexKey.super])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONValueDecoding(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct JSONValueUnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The next element and its index; throws valueNotFound at the end, as JSONDecoder does.
    private mutating func next(_ type: Any.Type) throws -> (JSONValue, Int) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(codingPath: path(currentIndex), debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], currentIndex)
    }

    private func path(_ index: Int) -> [any CodingKey] { codingPath + [JSONIndexKey(intValue: index)] }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any?.self, DecodingError.Context(
                codingPath: codingPath + [JSONIndexKey(intValue: currentIndex)], debugDescription: "Unkeyed container is at end."))
        }
        if elements[currentIndex] == .null {
            currentIndex += 1
            return true
        }
        return false
    }

    /// The next element read by `read` (one of JSONValueDecoding's scalar readers).
    private mutating func next<T>(_ type: T.Type, _ read: (JSONValue, @autoclosure () -> [any CodingKey]) throws -> T) throws -> T {
        let (value, index) = try next(type)
        return try read(value, path(index))
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type, JSONValueDecoding.bool) }
    mutating func decode(_ type: String.Type) throws -> String { try next(type, JSONValueDecoding.string) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type, JSONValueDecoding.double) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type, JSONValueDecoding.float) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type, JSONValueDecoding.integer) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type, JSONValueDecoding.integer) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, index) = try next(type)
        return try JSONValueDecoding.unbox(value, as: T.self, codingPath: path(index))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, index) = try next(KeyedDecodingContainer<NestedKey>.self)
        return try JSONValueDecoding(value: value, codingPath: path(index)).container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, index) = try next((any UnkeyedDecodingContainer).self)
        return try JSONValueDecoding(value: value, codingPath: path(index)).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, index) = try next((any Decoder).self)
        return JSONValueDecoding(value: value, codingPath: path(index))
    }
}
