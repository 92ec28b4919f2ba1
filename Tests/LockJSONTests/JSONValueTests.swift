import Foundation
import LockDiagTestSupport
import Testing

@testable import LockJSON

@Suite struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue(parsing: #" {"a": [1, -2, 2.5, "x", null, true, false], "b": {"c": -0.5e2}, "e": ""} "#)
        #expect(value == ["a": [1, -2, 2.5, "x", nil, true, false], "b": ["c": -50.0], "e": ""])
        #expect(value["a"]?[0]?.intValue == 1)
        #expect(value["a"]?[2]?.doubleValue == 2.5)
        #expect(value["a"]?[3]?.stringValue == "x")
        #expect(value["a"]?[4]?.isNull == true)
        #expect(value["a"]?[5]?.boolValue == true)
        #expect(value["b"]?["c"]?.int64Value == -50)
        #expect(value["missing"] == nil)
        #expect(value["a"]?[99] == nil)
        #expect(value["a"]?["not-an-object"] == nil)
        #expect(value["b"]?.objectValue?.count == 1)
        #expect(value["a"]?.arrayValue?.count == 7)
    }

    @Test func integersAndFractionsStayApart() throws {
        #expect(try JSONValue(parsing: "1") == .integer(1))
        #expect(try JSONValue(parsing: "1.0") == .double(1.0))
        #expect(try JSONValue(parsing: "1e2") == .double(100))
        #expect(try JSONValue(parsing: "-0") == .integer(0))
        #expect(try JSONValue(parsing: "9223372036854775807") == .integer(.max))
        #expect(try JSONValue(parsing: "-9223372036854775808") == .integer(.min))
        // Past Int64: a Double, as a JavaScript peer would read it.
        #expect(try JSONValue(parsing: "9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(JSONValue.double(3.5).intValue == nil)
        #expect(JSONValue.double(3.0).intValue == 3)
        #expect(JSONValue.string("3").intValue == nil)
    }

    @Test func serialisesCompactlyWithSortedKeys() {
        let value: JSONValue = ["zeta": 1, "alpha": [true, nil, 0.25], "mid": ["b": "x", "a": -7]]
        #expect(value.jsonText == #"{"alpha":[true,null,0.25],"mid":{"a":-7,"b":"x"},"zeta":1}"#)
        #expect(JSONValue.double(1.0).jsonText == "1.0")
        #expect(JSONValue.double(.nan).jsonText == "null")
        #expect(JSONValue.double(.infinity).jsonText == "null")
        #expect(JSONValue.integer(.min).jsonText == "-9223372036854775808")
        #expect("\(value)" == value.jsonText)
    }

    @Test func stringsNeverBreakTheLine() throws {
        let nasty = "line1\nline2\r\n\ttab \"quoted\" back\\slash \u{0}\u{1}\u{1F} \u{7F} é 🔒 \u{2028}"
        let bytes = JSONValue.string(nasty).jsonBytes
        #expect(!bytes.contains(0x0A))
        #expect(!bytes.contains(0x0D))
        #expect(!bytes.contains(where: { $0 < 0x20 }))
        #expect(String(decoding: bytes, as: UTF8.self).contains(#"\n"#))
        #expect(String(decoding: bytes, as: UTF8.self).contains(#"\u0001"#))
        #expect(try JSONValue(parsing: bytes) == .string(nasty))
    }

    @Test func decodesEscapes() throws {
        #expect(try JSONValue(parsing: #""\" \\ \/ \b \f \n \r \t""#) == .string("\" \\ / \u{8} \u{C} \n \r \t"))
        #expect(try JSONValue(parsing: #""\u00e9\u00E9""#) == .string("éé"))
        #expect(try JSONValue(parsing: #""\ud83d\udd12""#) == .string("🔒"))
        #expect(try JSONValue(parsing: "\"🔒 raw\"") == .string("🔒 raw"))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "[1 2]", #"{"a":1,}"#, #"{"a" 1}"#, #"{1:2}"#, "01", "-", "1.", ".5", "+1", "1e",
        "1e+", "tru", "nul", "falsey", #""abc"#, #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#, #""\ud800\u0041""#,
        #""\udc00""#, "\"a\u{1}b\"", "\"a\nb\"", "[1] 2", "'x'", "NaN", "Infinity", "-Infinity", "[", "[[]", "{\"a\":}",
    ])
    func rejectsInvalidText(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xFF, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xC3, 0x22]) }  // truncated é
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0xED, 0xA0, 0x80, 0x22]) }  // UTF-8 surrogate
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0xFF]) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: [0x22, 0x5C, 0x6E, 0xFE, 0x22]) }  // after an escape
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONValue(parsing: #"{"a": tru}"#)
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 6)
            #expect(error.description.contains("byte 6"))
        }
    }

    @Test func limitsNesting() throws {
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(throws: Never.self) { try JSONValue(parsing: ok) }
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        // A hostile megabyte of brackets fails fast instead of overflowing the stack.
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: String(repeating: "[", count: 1 << 20)) }
    }

    /// One duplicate-key policy for every text the package reads (requests, replies, reports):
    /// refused, saying which name and where, never "the last one wins".
    @Test func repeatedMemberNameIsRefusedSayingWhere() throws {
        for (text, offset) in [(#"{"a":1,"a":2}"#, 7), (#"{"x":{"b":[],"c":0,"b":1}}"#, 19), (#"[{"é":1, "é":1}]"#, 10)] {
            do {
                let value = try JSONValue(parsing: text)
                Issue.record("parsed \(text) as \(value)")
            } catch {
                #expect(error.offset == offset, "\(text): \(error)")
                #expect(error.reason.contains("duplicate member name"), "\(error)")
            }
        }
        // Equal names in different objects are not repeats.
        #expect(try JSONValue(parsing: #"{"a":{"a":1},"b":[{"a":2},{"a":3}]}"#)["b"]?[1]?["a"] == 3)
    }

    @Test func depthLimitIsTheCallersChoice() throws {
        let sixtyFour = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue(parsingForCanonicalForm: sixtyFour) }
        #expect(throws: JSONParseError.self) { try JSONValue(parsingForCanonicalForm: "[" + sixtyFour + "]") }
        #expect(throws: Never.self) { try JSONValue(parsing: "[" + sixtyFour + "]") }
    }

    /// `lockdiag --json` printed JSONEncoder's pretty text; `prettyText` is the same text.
    @Test func prettyTextIsWhatJSONEncoderPrinted() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let values: [JSONValue] = [
            ["a": [], "b": [:], "c": [[1, 2], [], ["x": nil]], "d": [1.0, 2.5, -0.0, 1e21, 1e-7], "e": "a/b\u{1}\n\"é",
             "f": true, "g": ["nested": ["deeper": [1, "two", false]]], "B": -9_223_372_036_854_775_807],
            [], [:], 1, "x", nil, .double(.nan),
        ]
        for value in values {
            #expect(value.prettyText == String(decoding: try encoder.encode(value), as: UTF8.self))
        }
        var generator = SeededGenerator(seed: 0x5EED_0002)
        for _ in 0..<100 {
            let value = Self.randomValue(depth: 0, using: &generator)
            #expect(value.prettyText == String(decoding: try encoder.encode(value), as: UTF8.self))
        }
    }

    @Test func randomValuesRoundTrip() throws {
        var generator = SeededGenerator(seed: 0x5EED_0001)
        for _ in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let text = value.jsonBytes
            #expect(!text.contains(0x0A))
            #expect(try JSONValue(parsing: text) == value)
        }
    }

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let choice = Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .integer(Int64.random(in: .min ... .max, using: &generator))
        case 3:
            // Random bit patterns cover subnormals and huge exponents; non-finite ones are skipped.
            let number = Double(bitPattern: UInt64.random(in: 0 ... .max, using: &generator))
            return .double(number.isFinite ? number : 0.5)
        case 4:
            let scalars = (0..<Int.random(in: 0..<12, using: &generator)).map { _ -> Character in
                let pool: [UInt32] = [0x0A, 0x0D, 0x00, 0x22, 0x5C, 0x41, 0xE9, 0x1F512, 0x2028, 0x7F, 0x1F]
                return Character(Unicode.Scalar(pool.randomElement(using: &generator)!)!)
            }
            return .string(String(scalars))
        case 5:
            return .array((0..<Int.random(in: 0..<5, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int.random(in: 0..<5, using: &generator) {
                members["k\(index)\n\"x"] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }

    // MARK: Codable bridge

    struct Reading: Codable, Equatable {
        var deviceID: String
        var voltageMillivolts: Int
        var temperatureCelsius: Double
        var note: String?

        enum CodingKeys: String, CodingKey {
            case deviceID = "device_id"
            case voltageMillivolts = "voltage_mv"
            case temperatureCelsius = "temperature_c"
            case note
        }
    }

    @Test func bridgesCodableTypesThroughTheirCodingKeys() throws {
        let reading = Reading(deviceID: "front-door", voltageMillivolts: 5012, temperatureCelsius: 21.5, note: nil)
        let value = try JSONValue(encoding: reading)
        #expect(value == ["device_id": "front-door", "voltage_mv": 5012, "temperature_c": 21.5])
        #expect(try value.decode(as: Reading.self) == reading)
        #expect(try JSONValue(encoding: [1, 2]) == [1, 2])
        #expect(try JSONValue(encoding: "plain") == "plain")
        #expect(throws: DecodingError.self) { try (["device_id": 1] as JSONValue).decode(as: Reading.self) }
        // A JSONValue inside a Codable type is its subtree as it is, null included.
        let envelope = try (["payload": ["n": 1.0], "absent": nil] as JSONValue).decode(as: Envelope.self)
        #expect(envelope == Envelope(payload: ["n": 1.0], absent: nil))
        #expect(try JSONValue(encoding: envelope) == ["payload": ["n": 1.0]])
    }

    struct Envelope: Codable, Equatable {
        var payload: JSONValue
        var absent: JSONValue?
    }

    @Test func isItselfCodable() throws {
        let text = #"{"payload":{"a":[1,2.5,"x",null,true,false,{"b":[]}],"big":12345678901234}}"#
        let decoded = try JSONDecoder().decode(Envelope.self, from: Data(text.utf8))
        #expect(decoded.payload == ["a": [1, 2.5, "x", nil, true, false, ["b": []]], "big": 12_345_678_901_234])
        let reencoded = try JSONDecoder().decode(Envelope.self, from: JSONEncoder().encode(decoded))
        #expect(reencoded == decoded)
    }
}
