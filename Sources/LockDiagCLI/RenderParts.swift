import LockDiagAPI

/// The `parts` view: one row per accessory with its verdict, then the evidence of each part that
/// is not genuine and what to do.
public enum PartsRenderer {
    public static func render(_ result: PartsResult, style: Style) -> String {
        var lines = ["\(result.device): genuine-part check at \(result.checkedAt)"]
        if let problem = result.problem {
            lines.append(style.yellow("  not checked: \(problem)"))
        }
        if !result.parts.isEmpty {
            let rows: [[Cell]] = result.parts.map { part in
                [Cell(kindTitle(part.kind)), Cell(part.serial), Cell(part.verdict.replacingOccurrences(of: "_", with: " "), tint: tint(part.verdict)),
                 Cell(part.validUntil ?? "—")]
            }
            lines += TextTable.render(header: ["PART", "SERIAL", "VERDICT", "VALID UNTIL"], rows: rows, style: style).map { "  " + $0 }
        }
        let failing = result.parts.filter { !$0.isGenuine }
        for part in failing {
            lines.append("  \(kindTitle(part.kind)) \(part.serial): \(part.evidence)")
        }
        if !failing.isEmpty || result.problem != nil {
            lines.append(failing.contains { $0.verdict != "unverified" }
                         ? "Replace each part named above with a genuine one from the maker, keep the removed part for the warranty claim, and check again."
                         : "Reseat the named part's connector and run `lockdiag parts \(result.device)` again; a part that still does not answer is suspect.")
        } else {
            lines.append(style.green("All \(result.parts.count) parts are genuine."))
        }
        return lines.joined(separator: "\n")
    }

    /// `fingerprint_module` → `fingerprint module`.
    public static func kindTitle(_ kind: String) -> String { kind.replacingOccurrences(of: "_", with: " ") }

    static func tint(_ verdict: String) -> Style.Tint {
        switch verdict {
        case "genuine": .green
        case "unverified": .yellow
        default: .red
        }
    }
}
