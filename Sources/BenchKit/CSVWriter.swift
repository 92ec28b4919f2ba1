/// Writes a run's measurements and traces as CSV (RFC 4180: comma-separated, CRLF line ends,
/// fields with a comma, quote or line break quoted, quotes doubled), one header row each.
public enum CSVWriter {
    /// The files `--csv DIR` writes, by name.
    public static func files(_ report: BenchReport) -> [(name: String, contents: String)] {
        [("summary.csv", summary(report)), ("measurements.csv", measurements(report)), ("traces.csv", traces(report))]
    }

    public static let summaryHeader = ["lock", "model", "firmware", "serial", "verdict", "steps", "passed", "failed", "errors", "skipped",
                                       "duration_s", "joined_late", "first_problem"]

    public static func summary(_ report: BenchReport) -> String {
        var rows = [summaryHeader]
        for lock in report.locks {
            let s = lock.steps
            rows.append([lock.id, lock.model ?? "", lock.firmware ?? "", lock.serial ?? "", lock.verdict.rawValue, String(s.count),
                         String(s.filter { $0.verdict == .pass }.count), String(s.filter { $0.verdict == .fail }.count),
                         String(s.filter { $0.verdict == .error }.count), String(s.filter { $0.verdict == .skipped }.count),
                         JUnitWriter.seconds(lock.durationSeconds), lock.joinedLate ? "true" : "false",
                         lock.firstProblem.map { "step \($0.index) \($0.title): \($0.headline)" } ?? ""])
        }
        return render(rows)
    }

    public static let measurementsHeader = ["lock", "step", "step_kind", "cycle", "context", "actuation", "measurement", "value", "unit",
                                            "min", "max", "result", "time"]

    public static func measurements(_ report: BenchReport) -> String {
        var rows = [measurementsHeader]
        for lock in report.locks {
            for step in lock.steps {
                for m in step.measurements {
                    rows.append([m.lock, String(m.step), m.stepKind, m.cycle.map(String.init) ?? "", m.context ?? "",
                                 m.actuation.map(String.init) ?? "", m.name, String(m.value), m.unit,
                                 m.limit?.min.map(String.init) ?? "", m.limit?.max.map(String.init) ?? "",
                                 m.pass.map { $0 ? "pass" : "fail" } ?? "", m.at])
                }
            }
        }
        return render(rows)
    }

    public static let tracesHeader = ["lock", "step", "cycle", "context", "actuation", "sample", "time_ms", "current_ma"]

    /// Long form, one row per sample, so a spreadsheet or pandas can plot any trace.
    public static func traces(_ report: BenchReport) -> String {
        var rows = [tracesHeader]
        for lock in report.locks {
            for step in lock.steps {
                for t in step.traces {
                    let rate = max(1, t.sampleRateHz)
                    for (i, ma) in t.samplesMilliamps.enumerated() {
                        let us = i * 1_000_000 / rate
                        let ms = "\(us / 1000)" + (us % 1000 == 0 ? "" : "." + String(String(us % 1000 + 1000).dropFirst()))
                        rows.append([t.lock, String(t.step), t.cycle.map(String.init) ?? "", t.context ?? "", String(t.actuation),
                                     String(i), ms, String(ma)])
                    }
                }
            }
        }
        return render(rows)
    }

    static func render(_ rows: [[String]]) -> String {
        var out = ""
        for row in rows { out += row.map(field).joined(separator: ",") + "\r\n" }
        return out
    }

    public static func field(_ value: String) -> String {
        // A lock chooses its serial number and model, and they land in cells: one a spreadsheet
        // would read as a formula gets a leading single quote, and is quoted (OWASP, "CSV
        // Injection"). The numbers this writer puts out (`-12`, `0.5`) are left as they are.
        if let first = value.unicodeScalars.first, formulaStarts.contains(first), !isNumber(value) {
            return "\"'" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        // Scalars, not Characters: "\r\n" is one Character equal to neither "\r" nor "\n".
        guard value.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// What a cell that a spreadsheet evaluates starts with: = + - @, tab, carriage return.
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// A plain decimal number, `-12` or `-0.5`: what a spreadsheet reads as a value, never a formula.
    static func isNumber(_ text: String) -> Bool {
        let unsigned = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
        let parts = unsigned.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { (48...57).contains($0) } }
    }
}
