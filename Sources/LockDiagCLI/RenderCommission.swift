import LockDiagAPI
import JSONRPC

/// A commissioning step's outcome for the installer's terminal: one line per measurement
/// (✓ pass, ✗ fail, – not measured) with its limit, then what to do about each fault found.
public enum CommissionRenderer {
    public static func render(_ result: CommissionStepResult) -> String {
        var lines: [String] = []
        for m in result.measurements {
            let mark = switch m.verdict {
            case .pass: "✓"
            case .fail: "✗"
            case .notMeasured: "–"
            }
            var line = "  \(mark) \(DisplayText.safe(m.name))"
            if let value = m.value { line += " \(CanonicalJSON.ecmaScript(value))" + (m.unit.isEmpty ? "" : " \(DisplayText.safe(m.unit))") }
            if let limit = m.limit { line += " (limit \(m.bound == .min ? "≥" : "≤") \(CanonicalJSON.ecmaScript(limit)))" }
            line += ": \(DisplayText.safe(m.evidence))"
            lines.append(line)
        }
        for (fault, advice) in zip(result.faults, result.advice) {
            lines.append("  FAULT \(DisplayText.safe(fault))")
            lines.append("    → \(DisplayText.safe(advice))")
        }
        return lines.joined(separator: "\n")
    }
}
