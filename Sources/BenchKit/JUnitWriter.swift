import LockDiagAPI

/// Writes a run as JUnit XML in the shape of the schema Jenkins reads, `junit-10.xsd` of the
/// jenkinsci/xunit-plugin (Tests/BenchKitTests/junit-10.xsd is our rendition of it; the tests
/// validate against it with xmllint): one `testsuite` per lock, one `testcase` per step; a
/// failed check is a `failure` whose message holds the measurement and the limit, a step that
/// could not run is an `error`, one not run is `skipped`.
public enum JUnitWriter {
    public static func render(_ report: BenchReport) -> String {
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let all = report.locks.flatMap(\.steps)
        x += "<testsuites name=\"\(attr(report.plan))\" tests=\"\(all.count)\" failures=\"\(all.filter { $0.verdict == .fail }.count)\""
        x += " errors=\"\(all.filter { $0.verdict == .error }.count)\" time=\"\(seconds(report.durationSeconds))\">\n"
        for lock in report.locks {
            let steps = lock.steps
            x += "  <testsuite name=\"\(attr(lock.id))\" tests=\"\(steps.count)\" failures=\"\(steps.filter { $0.verdict == .fail }.count)\""
            x += " errors=\"\(steps.filter { $0.verdict == .error }.count)\" skipped=\"\(steps.filter { $0.verdict == .skipped }.count)\""
            x += " time=\"\(seconds(lock.durationSeconds))\" timestamp=\"\(attr(localTimestamp(lock.startedAt)))\" hostname=\"\(attr(report.hostname))\">\n"
            x += "    <properties>\n"
            var properties: [(String, String)] = [("plan", report.plan), ("verdict", lock.verdict.rawValue)]
            if let v = lock.model { properties.append(("model", v)) }
            if let v = lock.hardwareRevision { properties.append(("hardware_revision", v)) }
            if let v = lock.firmware { properties.append(("firmware", v)) }
            if let v = lock.serial { properties.append(("serial", v)) }
            if let v = lock.path { properties.append(("path", v)) }
            if lock.joinedLate { properties.append(("joined_late", "true")) }
            if report.interrupted { properties.append(("interrupted", "true")) }
            for (name, value) in properties { x += "      <property name=\"\(attr(name))\" value=\"\(attr(value))\"/>\n" }
            x += "    </properties>\n"
            for step in steps {
                let name = (step.index < 10 ? "0" : "") + "\(step.index) \(step.title)"
                x += "    <testcase name=\"\(attr(name))\" classname=\"\(attr("bench." + lock.id))\" time=\"\(seconds(step.durationSeconds))\">\n"
                switch step.verdict {
                case .pass: break
                case .fail:
                    let message = step.failures.count == 1 ? step.failures[0] : "\(step.failures.count) checks failed: \(step.failures.first ?? "")"
                    x += "      <failure message=\"\(attr(message))\" type=\"limit\">\(text(step.failures.joined(separator: "\n")))</failure>\n"
                case .error:
                    x += "      <error message=\"\(attr(step.reason ?? "error"))\" type=\"error\">\(text(step.reason ?? ""))</error>\n"
                case .skipped:
                    x += "      <skipped message=\"\(attr(step.reason ?? "not run"))\"/>\n"
                }
                var out = step.log
                for m in step.measurements {
                    var line = "\(m.name) = \(m.value)\(m.unit.isEmpty ? "" : " " + m.unit)"
                    if let limit = m.limit { line += " (limit \(limit.text(unit: m.unit)): \(m.pass == true ? "ok" : "OUT"))" }
                    let context = [m.cycle.map { "cycle \($0)" }, m.context, m.actuation.map { "actuation \($0)" }].compactMap { $0 }
                    if !context.isEmpty { line += " [" + context.joined(separator: ", ") + "]" }
                    out.append(line)
                }
                if !out.isEmpty { x += "      <system-out>\(text(out.joined(separator: "\n")))</system-out>\n" }
                x += "    </testcase>\n"
            }
            x += "  </testsuite>\n"
        }
        x += "</testsuites>\n"
        return x
    }

    static func seconds(_ s: Double) -> String {
        let ms = Int((max(0, s) * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    /// JUnit's timestamp is ISO 8601 without a zone (the Ant schema's pattern); ours is UTC.
    static func localTimestamp(_ iso: String) -> String {
        var t = iso
        if t.hasSuffix("Z") { t.removeLast() }
        if let dot = t.firstIndex(of: ".") { t = String(t[..<dot]) }
        return t
    }

    /// Text content: markup characters escaped, and characters XML 1.0 cannot carry (§2.2:
    /// controls other than tab, LF, CR; U+FFFE, U+FFFF) replaced, since a lock's serial or a
    /// message may hold anything.
    static func text(_ s: String) -> String { escape(s, quotes: false) }

    static func attr(_ s: String) -> String { escape(s, quotes: true) }

    static func escape(_ s: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "\n" where quotes: out += "&#10;"
            case "\r": out += "&#13;"
            case "\t" where quotes: out += "&#9;"
            case "\t", "\n": out.unicodeScalars.append(c)
            default:
                if c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF { out += "\u{FFFD}" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }
}
