/// A table cell: its text and how to colour it.
public struct Cell: Sendable, ExpressibleByStringLiteral {
    public var text: String
    public var tint: Style.Tint?

    public init(_ text: String, tint: Style.Tint? = nil) {
        self.text = text
        self.tint = tint
    }

    public init(stringLiteral value: String) { self.init(value) }
}

/// Left-aligned columns separated by two spaces, widths from the widest cell. Colour is put
/// on after padding, so escapes never shift the columns.
public enum TextTable {
    public static func render(header: [String], rows: [[Cell]], style: Style) -> [String] {
        var widths = header.map(VisibleText.width)
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], VisibleText.width(cell.text))
            }
        }
        func line(_ cells: [Cell]) -> String {
            var parts: [String] = []
            for (column, cell) in cells.enumerated() {
                let last = column == cells.count - 1
                let padded = last ? cell.text : VisibleText.pad(cell.text, to: widths[column])
                if let tint = cell.tint, style.colour {
                    // Colour the text only, not the padding after it.
                    parts.append(style.apply(tint, cell.text) + String(repeating: " ", count: padded.count - cell.text.count))
                } else {
                    parts.append(padded)
                }
            }
            return parts.joined(separator: "  ")
        }
        return [style.bold(line(header.map { Cell($0) }))] + rows.map(line)
    }
}
