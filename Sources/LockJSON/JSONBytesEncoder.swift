/// Encodes `Encodable` values straight to compact UTF-8 JSON, with no intermediate tree and no
/// Foundation: what the API's results travel as.
///
/// The text is the JSON value Foundation's `JSONEncoder()` with default settings wrote for the
/// same value (parsed, the two are equal; `Tests/LockJSONTests/APIEncodingTests.swift` checks
/// every API type): a key left out by `encodeIfPresent(nil)`, `null` for an explicit
/// `encodeNil` or a nil `encode`, integral doubles without `.0` (`1480`, which clients read as an
/// integer), other doubles in their shortest round-trip form, NaN and infinity refused with
/// `EncodingError.invalidValue`. Unlike JSONEncoder it writes members in the order `encode(to:)`
/// writes them (JSONEncoder's order came from its dictionary's hashing), `/` as is (the same
/// string), and has no strategies: `Date`, `Data` and `URL` encode through their own `Codable`
/// conformances, and the API carries none of them.
public struct JSONBytesEncoder: Sendable {
    public init() {}

    /// Appends the JSON text of `value` to `bytes`. On error `bytes` is left as it was.
    public func encode(_ value: some Encodable, into bytes: inout [UInt8]) throws {
        let sink = JSONByteSink()
        swap(&sink.bytes, &bytes)
        defer { swap(&sink.bytes, &bytes) }
        let start = sink.bytes.count
        do {
            try sink.encodeTopLevel(value)
        } catch {
            sink.bytes.removeSubrange(start...)
            throw error
        }
    }

    /// The JSON text of `value`.
    public func encode(_ value: some Encodable) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(value, into: &bytes)
        return bytes
    }

    /// `JSONBytesEncoder().encode(value, into: &bytes)`.
    public static func encode(_ value: some Encodable, into bytes: inout [UInt8]) throws {
        try JSONBytesEncoder().encode(value, into: &bytes)
    }
}

/// The output of one encoding and the containers open in it, innermost last. A container has
/// no "end" call in the Encoder protocol, so it is closed when something is written to a
/// container further out, or when the value that opened it returns from `encode(to:)`.
final class JSONByteSink {
    struct Frame {
        /// `}` or `]`; 0 for the slot of a `superEncoder`, which is `{}` if nothing fills it.
        var closer: UInt8
        /// Members or elements written so far.
        var count = 0
        /// Where the frame's text begins.
        var start: Int
    }

    // Unchecked: a sink lives for one `encode` call on one thread and nothing else holds it, so
    // two accesses cannot overlap; the dynamic checks cost a quarter of an encoding (measured).
    @exclusivity(unchecked) var bytes: [UInt8] = []
    @exclusivity(unchecked) var open: [Frame] = []
    /// The keys from the top to the value being written (entry i: its key in the container at
    /// frame i; nil for a `superEncoder` slot). Kept here rather than in each encoder and
    /// container, so a member costs no array: a codingPath is built only when asked for.
    @exclusivity(unchecked) var path: [(any CodingKey)?] = []

    /// The codingPath of the value at `depth`.
    func codingPath(_ depth: Int) -> [any CodingKey] { path.prefix(depth).compactMap { $0 } }

    private func setKey(_ key: (any CodingKey)?, at index: Int) {
        if index < path.count { path[index] = key } else { path.append(key) }
    }

    func encodeTopLevel<T: Encodable>(_ value: T) throws {
        guard try encodeValue(value, depth: 0, emptyAsObject: false) else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
    }

    /// Writes one value into the slot at `depth` (the number of frames that stay open around
    /// it). A value that writes nothing is an empty object, as JSONEncoder writes it, unless
    /// `emptyAsObject` is false; returns whether anything was written.
    @discardableResult
    func encodeValue<T: Encodable>(_ value: T, depth: Int, emptyAsObject: Bool = true) throws -> Bool {
        if T.self == JSONValue.self {
            JSONWriter.write(value as! JSONValue, to: &bytes)
            return true
        }
        let start = bytes.count
        try value.encode(to: JSONBytesEncoding(sink: self, depth: depth))
        close(downTo: depth)
        if bytes.count > start { return true }
        if emptyAsObject { bytes.append(contentsOf: "{}".utf8) }
        return emptyAsObject
    }

    /// Closes frames until `depth` remain open.
    func close(downTo depth: Int) {
        while open.count > depth {
            let frame = open.removeLast()
            if frame.closer != 0 {
                bytes.append(frame.closer)
            } else if bytes.count == frame.start {
                bytes.append(contentsOf: "{}".utf8)
            }
        }
    }

    /// Opens the slot of a `superEncoder` as frame `depth`: `{}` if nothing fills it.
    func openSlot(depth: Int) {
        open.append(Frame(closer: 0, start: bytes.count))
        setKey(nil, at: depth)
    }

    /// Opens a container (`{` or `[`) as frame `depth`.
    func openContainer(_ opener: UInt8, closer: UInt8, depth: Int) {
        close(downTo: depth)
        open.append(Frame(closer: closer, start: bytes.count))
        bytes.append(opener)
    }

    /// Starts the next element of the array at frame `index`.
    func beginElement(of index: Int) {
        close(downTo: index + 1)
        setKey(JSONIndexKey(intValue: open[index].count), at: index)
        if open[index].count > 0 { bytes.append(UInt8(ascii: ",")) }
        open[index].count += 1
    }

    /// Starts the member `key` of the object at frame `index`.
    func beginMember(_ key: some CodingKey, of index: Int) {
        close(downTo: index + 1)
        setKey(key, at: index)
        if open[index].count > 0 { bytes.append(UInt8(ascii: ",")) }
        open[index].count += 1
        JSONWriter.writeString(key.stringValue, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    func writeNull() { bytes.append(contentsOf: "null".utf8) }

    func write(_ flag: Bool) { bytes.append(contentsOf: (flag ? "true" : "false").utf8) }

    func write(_ text: String) { JSONWriter.writeString(text, to: &bytes) }

    func write(_ number: some FixedWidthInteger) { JSONWriter.writeInteger(number, to: &bytes) }

    /// A float as the value at `depth`.
    func write<F: BinaryFloatingPoint & CustomStringConvertible>(_ number: F, depth: Int) throws {
        guard number.isFinite else {
            throw EncodingError.invalidValue(number, EncodingError.Context(
                codingPath: codingPath(depth),
                debugDescription: "Unable to encode \(F.self).\(number) directly in JSON: JSON has no NaN or infinity — send null or leave the field out."))
        }
        // As JSONEncoder writes it: the shortest round-trip digits, an integral value without
        // ".0" (so `1480.0` reads back as the integer 1480).
        var text = number.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }
}

/// The `Encoder` handed to one value's `encode(to:)`.
struct JSONBytesEncoding: Encoder {
    let sink: JSONByteSink
    /// The frame this value's container takes.
    let depth: Int
    var codingPath: [any CodingKey] { sink.codingPath(depth) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // A second request for the container (a subclass's encode after its superclass's) goes
        // on writing into the same object.
        if !(sink.open.count > depth && sink.open[depth].closer == UInt8(ascii: "}")) {
            sink.openContainer(UInt8(ascii: "{"), closer: UInt8(ascii: "}"), depth: depth)
        }
        return KeyedEncodingContainer(JSONBytesKeyedContainer<Key>(sink: sink, frame: depth))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if !(sink.open.count > depth && sink.open[depth].closer == UInt8(ascii: "]")) {
            sink.openContainer(UInt8(ascii: "["), closer: UInt8(ascii: "]"), depth: depth)
        }
        return JSONBytesUnkeyedContainer(sink: sink, frame: depth)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONBytesSingleValueContainer(sink: sink, depth: depth)
    }
}

/// A key for an array index or a `super` slot, spelled as JSONEncoder spells them in a codingPath.
/// One word, so it sits in an existential's inline buffer (no allocation per array element).
struct JSONIndexKey: CodingKey {
    /// `Int.min` for `super`.
    private let index: Int
    init(intValue: Int) { index = intValue }
    init?(stringValue: String) {
        guard stringValue == "super" else { return nil }
        index = .min
    }
    var intValue: Int? { index == .min ? nil : index }
    var stringValue: String { index == .min ? "super" : "Index \(index)" }
    static let `super` = JSONIndexKey(stringValue: "super")!
}

struct JSONBytesKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let sink: JSONByteSink
    let frame: Int
    var codingPath: [any CodingKey] { sink.codingPath(frame) }

    func encodeNil(forKey key: Key) throws {
        sink.beginMember(key, of: frame)
        sink.writeNull()
    }
    func encode(_ value: Bool, forKey key: Key) throws {
        sink.beginMember(key, of: frame)
        sink.write(value)
    }
    func encode(_ value: String, forKey key: Key) throws {
        sink.beginMember(key, of: frame)
        sink.write(value)
    }
    func encode(_ value: Double, forKey key: Key) throws {
        sink.beginMember(key, of: frame)
        try sink.write(value, depth: frame + 1)
    }
    func encode(_ value: Float, forKey key: Key) throws {
        sink.beginMember(key, of: frame)
        try sink.write(value, depth: frame + 1)
    }
    func encode(_ value: Int, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: Int8, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: Int16, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: Int32, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: Int64, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: UInt, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: UInt8, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: UInt16, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: UInt32, forKey key: Key) throws { integer(value, key) }
    func encode(_ value: UInt64, forKey key: Key) throws { integer(value, key) }

    private func integer(_ value: some FixedWidthInteger, _ key: Key) {
        sink.beginMember(key, of: frame)
        sink.write(value)
    }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        sink.beginMember(key, of: frame)
        try sink.encodeValue(value, depth: frame + 1)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        sink.beginMember(key, of: frame)
        sink.openContainer(UInt8(ascii: "{"), closer: UInt8(ascii: "}"), depth: frame + 1)
        return KeyedEncodingContainer(JSONBytesKeyedContainer<NestedKey>(sink: sink, frame: frame + 1))
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        sink.beginMember(key, of: frame)
        sink.openContainer(UInt8(ascii: "["), closer: UInt8(ascii: "]"), depth: frame + 1)
        return JSONBytesUnkeyedContainer(sink: sink, frame: frame + 1)
    }

    func superEncoder() -> any Encoder { slot(JSONIndexKey.super) }
    func superEncoder(forKey key: Key) -> any Encoder { slot(key) }

    private func slot(_ key: some CodingKey) -> any Encoder {
        sink.beginMember(key, of: frame)
        sink.openSlot(depth: frame + 1)
        return JSONBytesEncoding(sink: sink, depth: frame + 2)
    }
}

struct JSONBytesUnkeyedContainer: UnkeyedEncodingContainer {
    let sink: JSONByteSink
    let frame: Int
    var codingPath: [any CodingKey] { sink.codingPath(frame) }
    var count: Int { sink.open.count > frame ? sink.open[frame].count : 0 }

    private func next() { sink.beginElement(of: frame) }

    func encodeNil() throws {
        next()
        sink.writeNull()
    }
    func encode(_ value: Bool) throws {
        next()
        sink.write(value)
    }
    func encode(_ value: String) throws {
        next()
        sink.write(value)
    }
    func encode(_ value: Double) throws {
        next()
        try sink.write(value, depth: frame + 1)
    }
    func encode(_ value: Float) throws {
        next()
        try sink.write(value, depth: frame + 1)
    }
    func encode(_ value: Int) throws { integer(value) }
    func encode(_ value: Int8) throws { integer(value) }
    func encode(_ value: Int16) throws { integer(value) }
    func encode(_ value: Int32) throws { integer(value) }
    func encode(_ value: Int64) throws { integer(value) }
    func encode(_ value: UInt) throws { integer(value) }
    func encode(_ value: UInt8) throws { integer(value) }
    func encode(_ value: UInt16) throws { integer(value) }
    func encode(_ value: UInt32) throws { integer(value) }
    func encode(_ value: UInt64) throws { integer(value) }

    private func integer(_ value: some FixedWidthInteger) {
        next()
        sink.write(value)
    }

    func encode<T: Encodable>(_ value: T) throws {
        next()
        try sink.encodeValue(value, depth: frame + 1)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next()
        sink.openContainer(UInt8(ascii: "{"), closer: UInt8(ascii: "}"), depth: frame + 1)
        return KeyedEncodingContainer(JSONBytesKeyedContainer<NestedKey>(sink: sink, frame: frame + 1))
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        next()
        sink.openContainer(UInt8(ascii: "["), closer: UInt8(ascii: "]"), depth: frame + 1)
        return JSONBytesUnkeyedContainer(sink: sink, frame: frame + 1)
    }

    func superEncoder() -> any Encoder {
        next()
        sink.openSlot(depth: frame + 1)
        return JSONBytesEncoding(sink: sink, depth: frame + 2)
    }
}

struct JSONBytesSingleValueContainer: SingleValueEncodingContainer {
    let sink: JSONByteSink
    let depth: Int
    var codingPath: [any CodingKey] { sink.codingPath(depth) }

    func encodeNil() throws { sink.writeNull() }
    func encode(_ value: Bool) throws { sink.write(value) }
    func encode(_ value: String) throws { sink.write(value) }
    func encode(_ value: Double) throws { try sink.write(value, depth: depth) }
    func encode(_ value: Float) throws { try sink.write(value, depth: depth) }
    func encode(_ value: Int) throws { sink.write(value) }
    func encode(_ value: Int8) throws { sink.write(value) }
    func encode(_ value: Int16) throws { sink.write(value) }
    func encode(_ value: Int32) throws { sink.write(value) }
    func encode(_ value: Int64) throws { sink.write(value) }
    func encode(_ value: UInt) throws { sink.write(value) }
    func encode(_ value: UInt8) throws { sink.write(value) }
    func encode(_ value: UInt16) throws { sink.write(value) }
    func encode(_ value: UInt32) throws { sink.write(value) }
    func encode(_ value: UInt64) throws { sink.write(value) }
    func encode<T: Encodable>(_ value: T) throws { try sink.encodeValue(value, depth: depth) }
}
