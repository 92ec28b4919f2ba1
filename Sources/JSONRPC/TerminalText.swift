/// Characters a terminal (or a log viewer) acts on instead of showing, and text with them
/// written as `\uXXXX` escapes: shared by the CLI's `--json` output and the daemon's audit log,
/// so neither a lock's strings nor a client's can rewrite what a person reads.
///
/// Unsafe: the control characters (C0, DEL and C1, Unicode category Cc) and the bidirectional
/// marks, embeddings, overrides and isolates — the attack class of CVE-2021-42574 ("Trojan
/// Source") and of terminal escape injection.
public enum TerminalText {
    /// Whether a terminal would act on `scalar` instead of showing it.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        // Arabic letter mark, LRM/RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI (Unicode UAX #9, table 1).
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `json` (valid JSON text) with every unsafe character and U+2028/U+2029 (which some
    /// readers take for line breaks) escaped. JSON escapes C0 itself, and outside strings JSON
    /// text is ASCII, so every such character is inside a string, where an escape means the same.
    public static func inertJSON(_ json: String) -> String {
        escaping(json) { $0.value >= 0x7F && (isUnsafe($0) || $0.value == 0x2028 || $0.value == 0x2029) }
    }

    /// Free text (an error message a client's input went into) on one inert line: every unsafe
    /// character, line breaks included, and U+2028/U+2029 escaped.
    public static func oneInertLine(_ text: String) -> String {
        escaping(text) { isUnsafe($0) || $0.value == 0x2028 || $0.value == 0x2029 }
    }

    static func escaping(_ text: String, _ escape: (Unicode.Scalar) -> Bool) -> String {
        guard text.unicodeScalars.contains(where: escape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard escape(scalar) else {
                out.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16)
            out.append(contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
        }
        return String(out)
    }
}
