/// Writes compact JSON (RFC 8259) into a byte array: the serialiser of `JSONValue` trees (the
/// encoder and the canonical writer share its string escaping).
public enum JSONWriter {
    /// Appends `value`, objects with their keys sorted.
    public static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let flag):
            out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number):
            writeInteger(number, to: &out)
        case .double(let number):
            writeDouble(number, to: &out)
        case .string(let text):
            writeString(text, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // Sorted so equal values give equal bytes (diffable logs, stable golden tests).
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `value` for people: two-space indents, `"key" : value`, keys sorted, an integral
    /// double without `.0` — the text `JSONEncoder` made with `[.prettyPrinted, .sortedKeys,
    /// .withoutEscapingSlashes]`, which `lockdiag --json` has always printed.
    public static func writePretty(_ value: JSONValue, indent: Int = 0, to out: inout [UInt8]) {
        func newline(_ level: Int) {
            out.append(0x0A)
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * level))
        }
        switch value {
        case .double(let number) where number.isFinite:
            var text = number.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            out.append(contentsOf: text.utf8)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            // An empty container is an empty line, as JSONEncoder writes it.
            if elements.isEmpty { out.append(0x0A) }
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                writePretty(element, indent: indent + 1, to: &out)
            }
            newline(indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            if members.isEmpty { out.append(0x0A) }
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                writeString(key, to: &out)
                out.append(contentsOf: " : ".utf8)
                writePretty(members[key]!, indent: indent + 1, to: &out)
            }
            newline(indent)
            out.append(UInt8(ascii: "}"))
        default:
            write(value, to: &out)
        }
    }

    /// A finite double in its shortest round-trip form (`1.0`, `0.1`, `1e-05`); NaN and
    /// infinity as null.
    public static func writeDouble(_ number: Double, to out: inout [UInt8]) {
        // JSON has no NaN or infinity; null is what most serialisers write instead.
        guard number.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        // Swift prints the shortest text that reads back to the same Double ("0.1", "1e-05",
        // "1.0"), and every such text is a valid JSON number.
        out.append(contentsOf: number.description.utf8)
    }

    /// An integer in decimal, without going through a String.
    public static func writeInteger(_ number: some FixedWidthInteger, to out: inout [UInt8]) {
        if number == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if number < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        let start = out.count
        while magnitude > 0 {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        }
        out[start...].reverse()
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A string with the escapes RFC 8259 §7 requires (quote, backslash, control characters),
    /// the short forms where JSON has one, and everything else as UTF-8.
    public static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (keys, states, ids) need no escape: one copy instead of a byte at a time.
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            out.append(contentsOf: utf8)
            return true
        }
        if copied == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x00..<0x20:
                // Every other control character must be escaped too (RFC 8259 §7).
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
