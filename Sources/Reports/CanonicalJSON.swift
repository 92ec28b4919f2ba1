import Foundation

/// A JSON value as the canonicaliser sees it. Integers stay exact (`Int64`); other numbers are
/// IEEE doubles.
public indirect enum JSONNode: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONNode])
    case object([String: JSONNode])

    public subscript(key: String) -> JSONNode? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// Why a text is not JSON we accept, with where.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible, Equatable {
    public let offset: Int
    public let reason: String
    public var description: String { "not valid JSON at byte \(offset): \(reason)" }
}

/// The JSON Canonicalization Scheme (RFC 8785, "JCS"): the bytes a report's signature covers.
/// Object members sorted by their names' UTF-16 code units, no whitespace, strings with only
/// the escapes JSON requires (`\"`, `\\`, `\b \f \n \r \t`, `\u00xx` for the other control
/// characters) and everything else as UTF-8, numbers as IEEE-754 doubles written as ECMAScript
/// writes them (RFC 8785 §3.2.2.3): integers without a fraction or exponent, and an integer
/// beyond 2^53 as the double nearest to it. docs/reports.md says the same for people writing
/// their own verifier.
public enum CanonicalJSON {
    /// 2^53: every integer up to it in magnitude is a double exactly, so JCS and tools that read
    /// integers exactly write it the same way; beyond it they differ (RFC 8785 §3.2.2.3 and
    /// RFC 7493 §2.2 advise keeping integers within it).
    public static let exactIntegerLimit: Int64 = 1 << 53

    /// The canonical bytes of `node`.
    public static func bytes(_ node: JSONNode) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(node, into: &out)
        return out
    }

    public static func string(_ node: JSONNode) -> String { String(decoding: bytes(node), as: UTF8.self) }

    /// The canonical bytes of an `Encodable` value (encoded with JSONEncoder, then canonicalised).
    public static func bytes(of value: some Encodable) throws -> [UInt8] {
        let data = try JSONEncoder().encode(value)
        return bytes(try JSONNode.parse([UInt8](data)))
    }

    static func write(_ node: JSONNode, into out: inout [UInt8]) {
        switch node {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        // Beyond 2^53 an integer is not a double exactly: JCS writes the double it reads as.
        case .integer(let i): out += Array((i.magnitude <= exactIntegerLimit.magnitude ? String(i) : ecmaScript(Double(i))).utf8)
        case .number(let d): out += Array(ecmaScript(d).utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(0x5B)
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(0x2C) }
                write(item, into: &out)
            }
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            let keys = members.keys.sorted { Array($0.utf16).lexicographicallyPrecedes(Array($1.utf16)) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(0x2C) }
                writeString(key, into: &out)
                out.append(0x3A)
                write(members[key]!, into: &out)
            }
            out.append(0x7D)
        }
    }

    /// The first number in `node` that RFC 8785 and a JSON tool that reads integers exactly and
    /// writes doubles as Python's `repr` does (the independent check in docs/reports.md) would
    /// write differently, with where it is (`report.status.battery_mv`); nil if there is none.
    /// Agreed on: integers within ±2^53, and other numbers of magnitude from 1e-4 to 2^53 (where
    /// both write the shortest round-trip digits without an exponent).
    public static func unportableNumber(in node: JSONNode, at path: String) -> String? {
        switch node {
        case .integer(let i): return i.magnitude <= exactIntegerLimit.magnitude ? nil : "\(i) at \(path)"
        case .number(let d): return abs(d) >= 1e-4 && abs(d) < Double(exactIntegerLimit) ? nil : "\(ecmaScript(d)) at \(path)"
        case .array(let items):
            for (i, item) in items.enumerated() {
                if let found = unportableNumber(in: item, at: "\(path)[\(i)]") { return found }
            }
            return nil
        case .object(let members):
            for key in members.keys.sorted() {
                if let found = unportableNumber(in: members[key]!, at: "\(path).\(key)") { return found }
            }
            return nil
        case .null, .bool, .string: return nil
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for byte in s.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x08: out += [0x5C, 0x62]
            case 0x0C: out += [0x5C, 0x66]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }

    /// ECMAScript's Number::toString (ECMA-262 §6.1.6.1.20), which RFC 8785 §3.2.2.3 adopts,
    /// built on Swift's shortest round-trip digits.
    public static func ecmaScript(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == 0 { return "0" }
        if value < 0 { return "-" + ecmaScript(-value) }
        // Swift's description is the shortest digit string that reads back as the same double.
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...].replacingOccurrences(of: "+", with: "")) ?? 0
        }
        let point = mantissa.firstIndex(of: ".")
        let integerDigits = point.map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        var digits = Array(mantissa.filter { $0 != "." })
        var n = integerDigits + exponent
        while digits.first == "0" {
            digits.removeFirst()
            n -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let s = String(digits)
        if k <= n && n <= 21 { return s + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 { return String(digits[0..<n]) + "." + String(digits[n...]) }
        if -6 < n && n <= 0 { return "0." + String(repeating: "0", count: -n) + s }
        let e = n - 1
        let head = k == 1 ? s : String(digits[0]) + "." + String(digits[1...])
        return head + "e" + (e > 0 ? "+" : "-") + String(abs(e))
    }
}

extension JSONNode {
    /// Parses one JSON text (RFC 8259), strictly: no trailing commas or comments, no duplicate
    /// member names (they would make "the signed content" ambiguous), valid UTF-8 and escapes,
    /// nothing after the value but whitespace.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONNode {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("text after the JSON value") }
        return value
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONNode { try parse(Array(text.utf8)) }
}

private struct Parser {
    let bytes: [UInt8]
    var index = 0
    static let maxDepth = 64

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, reason: reason) }

    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    mutating func literal(_ word: String, _ node: JSONNode) throws(JSONSyntaxError) -> JSONNode {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count, Array(bytes[index..<(index + w.count)]) == w else { throw error("unexpected character") }
        index += w.count
        return node
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONNode {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth)") }
        guard index < bytes.count else { throw error("unexpected end") }
        switch bytes[index] {
        case 0x7B: return try object(depth: depth)
        case 0x5B: return try array(depth: depth)
        case 0x22: return .string(try string())
        case 0x74: return try literal("true", .bool(true))
        case 0x66: return try literal("false", .bool(false))
        case 0x6E: return try literal("null", .null)
        case 0x2D, 0x30...0x39: return try number()
        default: throw error("unexpected character")
        }
    }

    mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONNode {
        index += 1
        var members: [String: JSONNode] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x7D {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == 0x22 else { throw error("expected a member name") }
            let keyOffset = index
            let key = try string()
            guard members[key] == nil else { throw JSONSyntaxError(offset: keyOffset, reason: "duplicate member \"\(key)\"") }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == 0x3A else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            members[key] = try value(depth: depth + 1)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end in an object") }
            if bytes[index] == 0x2C {
                index += 1
                continue
            }
            guard bytes[index] == 0x7D else { throw error("expected ',' or '}'") }
            index += 1
            return .object(members)
        }
    }

    mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONNode {
        index += 1
        var items: [JSONNode] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == 0x5D {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end in an array") }
            if bytes[index] == 0x2C {
                index += 1
                continue
            }
            guard bytes[index] == 0x5D else { throw error("expected ',' or ']'") }
            index += 1
            return .array(items)
        }
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw error("bad hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func string() throws(JSONSyntaxError) -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let c = bytes[index]
            switch c {
            case 0x22:
                index += 1
                // Invalid UTF-8 would be replaced silently by String(decoding:); refuse it instead.
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case 0x5C:
                index += 1
                guard index < bytes.count else { throw error("unterminated escape") }
                let e = bytes[index]
                index += 1
                switch e {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 6 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else {
                            throw error("lone high surrogate")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("bad surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("lone low surrogate")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("bad \\u escape") }
                    out += Array(String(Character(u)).utf8)
                default: throw error("unknown escape")
                }
            case 0..<0x20: throw error("control character in a string")
            default:
                out.append(c)
                index += 1
            }
        }
    }

    mutating func number() throws(JSONSyntaxError) -> JSONNode {
        let start = index
        if bytes[index] == 0x2D { index += 1 }
        func digits() -> Int {
            let s = index
            while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            return index - s
        }
        guard index < bytes.count else { throw error("bad number") }
        if bytes[index] == 0x30 {
            index += 1
        } else if digits() == 0 {
            throw error("bad number")
        }
        var integral = true
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            integral = false
            guard digits() > 0 else { throw error("bad fraction") }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            integral = false
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard digits() > 0 else { throw error("bad exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let i = Int64(text) { return .integer(i) }
        guard let d = Double(text), d.isFinite else { throw JSONSyntaxError(offset: start, reason: "number out of range") }
        // A fraction-free double is the same number as the integer: keep one representation.
        if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return .integer(Int64(d)) }
        return .number(d)
    }
}
