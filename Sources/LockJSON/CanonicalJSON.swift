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

    /// Nesting deeper than this is refused when a signed report is read (docs/reports.md).
    public static let maxDepth = 64

    /// The canonical bytes of `node`.
    public static func bytes(_ node: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(node, into: &out)
        return out
    }

    public static func string(_ node: JSONValue) -> String { String(decoding: bytes(node), as: UTF8.self) }

    /// The canonical bytes of an `Encodable` value (encoded with JSONBytesEncoder, then canonicalised).
    public static func bytes(of value: some Encodable) throws -> [UInt8] {
        bytes(try JSONValue(encoding: value))
    }

    static func write(_ node: JSONValue, into out: inout [UInt8]) {
        switch node {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        // Beyond 2^53 an integer is not a double exactly: JCS writes the double it reads as.
        case .integer(let i):
            if i.magnitude <= exactIntegerLimit.magnitude { JSONWriter.writeInteger(i, to: &out) } else { out += Array(ecmaScript(Double(i)).utf8) }
        case .double(let d): out += Array(ecmaScript(d).utf8)
        // JCS needs exactly the escapes the compact writer makes (RFC 8785 §3.2.2.2).
        case .string(let s): JSONWriter.writeString(s, to: &out)
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
                JSONWriter.writeString(key, to: &out)
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
    /// A fraction-free double within 2^53 (`0.0`, `1480.0`) is the integer it equals.
    public static func unportableNumber(in node: JSONValue, at path: String) -> String? {
        switch node {
        case .integer(let i): return i.magnitude <= exactIntegerLimit.magnitude ? nil : "\(i) at \(path)"
        case .double(let d) where d == d.rounded() && abs(d) < Double(exactIntegerLimit): return nil
        case .double(let d): return abs(d) >= 1e-4 && abs(d) < Double(exactIntegerLimit) ? nil : "\(ecmaScript(d)) at \(path)"
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
            exponent = Int(String(text[text.index(after: e)...].filter { $0 != "+" })) ?? 0
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

extension JSONValue {
    /// Parses a text that is to be canonicalised (a signed report): strictly, as every text
    /// (`JSONParser`), and no deeper than `CanonicalJSON.maxDepth`.
    public init(parsingForCanonicalForm bytes: some Collection<UInt8>) throws(JSONParseError) {
        try self.init(parsing: bytes, maxDepth: CanonicalJSON.maxDepth)
    }

    /// `init(parsingForCanonicalForm:)` of a string's UTF-8.
    public init(parsingForCanonicalForm text: String) throws(JSONParseError) {
        try self.init(parsingForCanonicalForm: Array(text.utf8))
    }
}
