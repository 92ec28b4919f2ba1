import Foundation
import Testing

@testable import LockJSON

/// The corners of the Encoder protocol the API types do not reach, against JSONEncoder.
@Suite struct EncoderTests {
    struct Inner: Encodable {
        var x: Double
    }

    struct Outer: Encodable {
        var a: [Inner]
    }

    /// A NaN is refused, with the path JSONEncoder gives, and nothing is left in the buffer.
    @Test func nonFiniteNumbersAreRefusedSayingWhere() throws {
        let value = Outer(a: [Inner(x: 1), Inner(x: .nan)])
        func path(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "encoded"
            } catch EncodingError.invalidValue(_, let context) {
                return context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            } catch {
                return "\(error)"
            }
        }
        var bytes: [UInt8] = [1, 2, 3]
        #expect(path { try JSONBytesEncoder().encode(value, into: &bytes) } == "a.[1].x")
        #expect(path { _ = try JSONEncoder().encode(value) } == "a.[1].x")
        #expect(bytes == [1, 2, 3])
        #expect(throws: EncodingError.self) { try JSONBytesEncoder().encode([Float.infinity]) }
    }

    /// Hand-written encode(to:) shapes: nested containers, a superEncoder, a value that writes
    /// nothing, containers asked for twice, unkeyed nesting.
    struct Odd: Encodable {
        enum Keys: String, CodingKey { case nested, list, parent, empty, plain, again }
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            var nested = c.nestedContainer(keyedBy: Keys.self, forKey: .nested)
            try nested.encode("n", forKey: .plain)
            var list = c.nestedUnkeyedContainer(forKey: .list)
            try list.encode(1)
            var inner = list.nestedUnkeyedContainer()
            try inner.encodeNil()
            try inner.encode(true)
            var object = list.nestedContainer(keyedBy: Keys.self)
            try object.encode(2.5, forKey: .plain)
            try list.encode([3: "three"])
            try c.encode(Nothing(), forKey: .empty)
            let parent = c.superEncoder(forKey: .parent)
            var parentContainer = parent.container(keyedBy: Keys.self)
            try parentContainer.encode(-0.0, forKey: .plain)
            var again = encoder.container(keyedBy: Keys.self)
            try again.encode(UInt64.max, forKey: .again)
            try again.encodeNil(forKey: .plain)
        }
    }

    @Test func everyContainerShapeGivesJSONEncodersValue() throws {
        let direct = try JSONBytesEncoder().encode(Odd())
        #expect(try JSONValue(parsing: direct) == (try JSONValue(parsing: JSONEncoder().encode(Odd()))))
        #expect(String(decoding: direct, as: UTF8.self)
            == #"{"nested":{"plain":"n"},"list":[1,[null,true],{"plain":2.5},{"3":"three"}],"empty":{},"parent":{"plain":-0},"again":18446744073709551615,"plain":null}"#)
        // An empty superEncoder slot is an empty object; top-level values may be any JSON value.
        #expect(try JSONBytesEncoder().encode(Optional<Int>.none) == Array("null".utf8))
        #expect(try JSONBytesEncoder().encode([Int]()) == Array("[]".utf8))
        #expect(throws: EncodingError.self) { try JSONBytesEncoder().encode(Odd.Nothing()) }
    }
}
