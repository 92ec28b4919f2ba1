import JSONRPC

/// Text from a lock, a report file, the air or the daemon, made safe to print on a terminal.
///
/// Locks choose their own model, serial and firmware strings, BLE devices their names, and a
/// report file comes from anyone; printed raw, an escape sequence in one of them could rewrite
/// what the technician sees (move the cursor, recolour, retitle the window, hide a line with a
/// carriage return) — the attack class of CVE-2021-42574 ("Trojan Source") and of terminal
/// escape injection. Every such string is cleaned once, where it enters the CLI, so renderers
/// can add their own colours freely: control characters (C0, DEL and C1, Unicode category Cc)
/// and the bidirectional marks, embeddings, overrides and isolates become U+FFFD.
public enum DisplayText {
    public static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Whether a terminal would act on `scalar` instead of showing it.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        // Arabic letter mark, LRM/RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI (Unicode UAX #9, table 1).
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    public static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(isUnsafe(scalar) ? replacement : scalar) }
        return String(scalars)
    }

    public static func safe(_ text: String?) -> String? { text.map { safe($0) } }
}

extension JSONValue {
    /// This value with every string (object keys included) passed through `DisplayText.safe`:
    /// what the CLI decodes before rendering. `--json` prints the raw value through `JSONOutput`,
    /// whose escapes make it inert.
    public var displaySafe: JSONValue {
        switch self {
        case .string(let text): .string(DisplayText.safe(text))
        case .array(let elements): .array(elements.map(\.displaySafe))
        case .object(let members):
            .object(Dictionary(members.map { (DisplayText.safe($0.key), $0.value.displaySafe) }, uniquingKeysWith: { first, _ in first }))
        default: self
        }
    }
}

/// JSON as the CLI prints it (`--json`, `--follow --json`, `report --json`): the same value, with
/// every character a terminal would act on written as a `\uXXXX` escape, so the text is inert
/// on a terminal and in a pager while any JSON reader gets the same strings back. JSON itself
/// escapes only C0 controls; this adds DEL, the C1 controls, the bidirectional marks, embeddings,
/// overrides and isolates (`DisplayText.isUnsafe`) and U+2028/U+2029, which some readers take
/// for line breaks.
public enum JSONOutput {
    /// `json` (valid JSON text) with those characters escaped. Outside strings JSON text is
    /// ASCII, so every such character is inside a string, where an escape means the same.
    public static func inert(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: needsEscape) else { return json }
        var out = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            guard needsEscape(scalar) else {
                out.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16)
            out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
        }
        return String(out)
    }

    /// C0 controls are left to the JSON encoder (outside strings they are its line breaks).
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x7F && (DisplayText.isUnsafe(scalar) || scalar.value == 0x2028 || scalar.value == 0x2029)
    }
}
