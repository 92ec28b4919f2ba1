import LockSimulator

/// Help-text tables laid out to fit 80 columns: ArgumentParser wraps any longer line at the
/// terminal width without indentation, which would break the tables apart.
enum HelpText {
    static let width = 79
    static let indent = 24

    static var scenarios: String { table(Scenario.allCases.map { ($0.rawValue, $0.summary) }) }
    static var commands: String { table(SimulatorConsole.commands) }

    /// `name  text` rows, the text wrapped with a hanging indent.
    static func table(_ rows: [(String, String)]) -> String {
        rows.map { name, text in
            var lines: [String] = []
            var line = "  " + name
            if line.count >= indent - 1 {
                lines.append(line)
                line = ""
            }
            line += String(repeating: " ", count: indent - line.count)
            var lineHasWords = false
            for word in text.split(separator: " ") {
                if lineHasWords && line.count + 1 + word.count > width {
                    lines.append(line)
                    line = String(repeating: " ", count: indent)
                    lineHasWords = false
                }
                line += (lineHasWords ? " " : "") + word
                lineHasWords = true
            }
            lines.append(line)
            return lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
