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

    public static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: TerminalText.isUnsafe) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(TerminalText.isUnsafe(scalar) ? replacement : scalar) }
        return String(scalars)
    }

    public static func safe(_ text: String?) -> String? { text.map { safe($0) } }
}

extension JSONValue {
    /// This value with every string (object keys included) passed through `DisplayText.safe`:
    /// what the CLI decodes before rendering. `--json` prints the raw value through `TerminalText.inertJSON`,
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
