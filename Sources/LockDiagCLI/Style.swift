/// How text is decorated: ANSI colour and weight when writing to a terminal, nothing otherwise.
public struct Style: Sendable, Equatable {
    public var colour: Bool

    public init(colour: Bool) { self.colour = colour }

    /// No escapes at all: pipes, files, --json, NO_COLOR.
    public static let plain = Style(colour: false)

    /// Colour only on a terminal, and never when NO_COLOR is set. (no-color.org asks programs to
    /// honour NO_COLOR when it is non-empty; here any NO_COLOR counts, the stricter reading.)
    public static func decide(isTerminal: Bool, noColour: String?) -> Style {
        Style(colour: isTerminal && noColour == nil)
    }

    public enum Tint: Sendable {
        case red, yellow, green, dim, bold, cyan
        var code: String {
            switch self {
            case .red: "31"
            case .yellow: "33"
            case .green: "32"
            case .dim: "2"
            case .bold: "1"
            case .cyan: "36"
            }
        }
    }

    public func apply(_ tint: Tint?, _ text: String) -> String {
        guard colour, let tint, !text.isEmpty else { return text }
        return "\u{1B}[\(tint.code)m\(text)\u{1B}[0m"
    }

    public func red(_ text: String) -> String { apply(.red, text) }
    public func yellow(_ text: String) -> String { apply(.yellow, text) }
    public func green(_ text: String) -> String { apply(.green, text) }
    public func dim(_ text: String) -> String { apply(.dim, text) }
    public func bold(_ text: String) -> String { apply(.bold, text) }
}

/// Text measured and cut by what a terminal shows: ANSI escape sequences take no columns.
public enum VisibleText {
    /// Columns `text` takes, counting one per character and none for escape sequences.
    public static func width(_ text: String) -> Int {
        var count = 0
        var inEscape = false
        for character in text {
            if inEscape {
                if character.isLetter { inEscape = false }
            } else if character == "\u{1B}" {
                inEscape = true
            } else {
                count += 1
            }
        }
        return count
    }

    /// `text` cut to at most `columns` visible characters, ending in "…" when cut. Escape
    /// sequences are kept, and a reset is added when a cut may have left a colour open.
    public static func truncate(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        guard width(text) > columns else { return text }
        var result = ""
        var count = 0
        var inEscape = false
        var sawEscape = false
        for character in text {
            if inEscape {
                result.append(character)
                if character.isLetter { inEscape = false }
                continue
            }
            if character == "\u{1B}" {
                inEscape = true
                sawEscape = true
                result.append(character)
                continue
            }
            if count == columns - 1 { break }
            result.append(character)
            count += 1
        }
        result.append("…")
        if sawEscape { result.append("\u{1B}[0m") }
        return result
    }

    /// `text` padded with spaces to `columns` visible characters.
    public static func pad(_ text: String, to columns: Int) -> String {
        let missing = columns - width(text)
        return missing > 0 ? text + String(repeating: " ", count: missing) : text
    }
}
