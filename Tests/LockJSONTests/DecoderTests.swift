import Foundation
import Testing

@testable import LockJSON

/// JSONValueDecoder throws the DecodingError JSONDecoder threw for the same text: the same case,
/// the same codingPath, the same type — what the server turns into "missing field 'x'".
@Suite struct DecoderTests {
    enum Kind: String, Codable { case motor, battery }

    struct Inner: Codable, Equatable {
        var n: Int8
        var f: Double
    }

    struct Outer: Codable, Equatable {
        var name: String
        var items: [Inner]
        var opt: Int?
        var kind: Kind?
        var table: [String: [UInt16]]?
        var flag: Bool?
    }

    static let good = #"{"name":"a","items":[{"n":1,"f":1},{"n":-2,"f":2.5}],"opt":3,"kind":"motor","table":{"x":[1,2]},"flag":true}"#

    @Test(arguments: [
        #"{"items":[]}"#,
        #"{"name":1,"items":[]}"#,
        #"{"name":null,"items":[]}"#,
        #"{"name":"a","items":{}}"#,
        #"{"name":"a","items":null}"#,
        #"{"name":"a","items":[{"n":1,"f":1},{"n":"x","f":1}]}"#,
        #"{"name":"a","items":[{"n":1,"f":1},{"n":1}]}"#,
        #"{"name":"a","items":[{"n":300,"f":1}]}"#,
        #"{"name":"a","items":[{"n":3.5,"f":1}]}"#,
        #"{"name":"a","items":[{"n":1,"f":"1"}]}"#,
        #"{"name":"a","items":[{"n":1,"f":null}]}"#,
        #"{"name":"a","items":[7]}"#,
        #"{"name":"a","items":[],"opt":"x"}"#,
        #"{"name":"a","items":[],"opt":1.5}"#,
        #"{"name":"a","items":[],"kind":"teleport"}"#,
        #"{"name":"a","items":[],"kind":3}"#,
        #"{"name":"a","items":[],"table":{"x":[1,-1]}}"#,
        #"{"name":"a","items":[],"table":{"x":[1,null]}}"#,
        #"{"name":"a","items":[],"table":[]}"#,
        #"{"name":"a","items":[],"flag":1}"#,
        "[]", "null", "3", #""text""#,
    ])
    func errorsAreJSONDecodersErrors(_ text: String) throws {
        let foundation = Self.describe { try JSONDecoder().decode(Outer.self, from: Data(text.utf8)) }
        let direct = Self.describe { try JSONValue(parsing: text).decode(as: Outer.self) }
        #expect(direct == (Self.betterThanFoundation[text] ?? foundation), "JSONDecoder: \(foundation)")
        #expect(direct.hasPrefix("no error") == false)
    }

    /// A number that does not fit its integer type: JSONDecoder's error has an empty codingPath,
    /// so a client would read "field 'params'"; this decoder names the field.
    static let betterThanFoundation = [
        #"{"name":"a","items":[{"n":300,"f":1}]}"#: "dataCorrupted at items.[0].n",
        #"{"name":"a","items":[{"n":3.5,"f":1}]}"#: "dataCorrupted at items.[0].n",
        #"{"name":"a","items":[],"opt":1.5}"#: "dataCorrupted at opt",
        #"{"name":"a","items":[],"table":{"x":[1,-1]}}"#: "dataCorrupted at table.x.[1]",
    ]

    @Test func decodesWhatJSONDecoderDecodes() throws {
        let value = try JSONValue(parsing: Self.good).decode(as: Outer.self)
        #expect(value == (try JSONDecoder().decode(Outer.self, from: Data(Self.good.utf8))))
        #expect(value.items[1] == Inner(n: -2, f: 2.5))
        // An integral fraction is the integer (peers with one number type send 3.0).
        #expect(try JSONValue(parsing: #"{"n":3.0,"f":1}"#).decode(as: Inner.self) == Inner(n: 3, f: 1))
        #expect(try JSONValue(parsing: #"{"name":"a","items":[],"opt":null}"#).decode(as: Outer.self).opt == nil)
        #expect(try JSONValue.null.decode(as: Int?.self) == nil)
        #expect(try JSONValue(parsing: "[1,null]").decode(as: [Int?].self) == [1, nil])
        #expect(try JSONValue(parsing: #"{"3":"x"}"#).decode(as: [Int: String].self) == [3: "x"])
    }

    /// An error as the server's message needs it: case, type, path (string or index), key.
    static func describe(_ body: () throws -> Outer) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        do {
            _ = try body()
            return "no error"
        } catch DecodingError.keyNotFound(let key, let context) {
            return "keyNotFound \(key.stringValue) at \(path(context.codingPath))"
        } catch DecodingError.typeMismatch(let type, let context) {
            return "typeMismatch \(type) at \(path(context.codingPath))"
        } catch DecodingError.valueNotFound(let type, let context) {
            return "valueNotFound \(type) at \(path(context.codingPath))"
        } catch DecodingError.dataCorrupted(let context) {
            return "dataCorrupted at \(path(context.codingPath))"
        } catch {
            return "other \(error)"
        }
    }
}
