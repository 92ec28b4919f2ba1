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
    /// what the CLI decodes before rendering. `--json` prints the raw value, which JSON escaping
    /// already makes inert.
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
