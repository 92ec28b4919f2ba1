import LockDiagCLI

/// Where one lock is in a run, for the live view.
public struct LockProgress: Sendable, Equatable {
    public var lock: String
    public var stepIndex: Int
    public var stepCount: Int
    public var stepTitle: String
    /// `actuate`: cycles done and planned.
    public var cycle: (done: Int, of: Int)?
    public var failedSteps: Int
    public var finished: LockVerdict?
    /// The first failure's headline, once there is one.
    public var firstFailure: String?

    public init(lock: String, stepCount: Int) {
        self.lock = lock
        self.stepIndex = 0
        self.stepCount = stepCount
        self.stepTitle = "waiting"
        self.failedSteps = 0
    }

    public static func == (a: LockProgress, b: LockProgress) -> Bool {
        a.lock == b.lock && a.stepIndex == b.stepIndex && a.stepTitle == b.stepTitle && a.cycle?.done == b.cycle?.done
            && a.cycle?.of == b.cycle?.of && a.failedSteps == b.failedSteps && a.finished == b.finished && a.firstFailure == b.firstFailure
    }

    /// `SIM-0001-003  step 5/7 actuate 10 cycles  cycle 3/10  FAIL so far: peak motor current …`
    public func line(idWidth: Int, style: Style) -> String {
        let id = VisibleText.pad(lock, to: idWidth)
        if let finished {
            let verdict: String = switch finished {
            case .pass: style.green("PASS")
            case .fail: style.red("FAIL")
            case .incomplete: style.yellow("STOPPED")
            }
            let detail = finished == .pass ? "all \(stepCount) steps passed" : firstFailure ?? ""
            return "\(id)  \(verdict)  \(detail)"
        }
        var text = "\(id)  step \(stepIndex)/\(stepCount) \(stepTitle)"
        if let cycle { text += "  cycle \(cycle.done)/\(cycle.of)" }
        text += failedSteps == 0 ? "  " + style.green("ok so far") : "  " + style.red("FAIL so far") + (firstFailure.map { ": \($0)" } ?? "")
        return text
    }
}

/// The end-of-run summary table and verdict line.
public enum SummaryRenderer {
    public static func render(_ report: BenchReport, style: Style) -> [String] {
        let rows: [[Cell]] = report.locks.map { lock in
            let verdict = lock.verdict
            let tint: Style.Tint = verdict == .pass ? .green : verdict == .fail ? .red : .yellow
            let s = lock.steps
            let problem = lock.firstProblem.map { "step \($0.index) \($0.title): \($0.headline)" } ?? ""
            return [Cell(lock.id), Cell(verdict.rawValue.uppercased(), tint: tint),
                    Cell("\(s.filter { $0.verdict == .pass }.count)/\(s.count)"), Cell(lock.model ?? "–"), Cell(lock.firmware ?? "–"),
                    Cell(Format.seconds((lock.durationSeconds * 10).rounded() / 10)), Cell(problem)]
        }
        var lines = TextTable.render(header: ["LOCK", "VERDICT", "STEPS", "MODEL", "FIRMWARE", "TIME", "FIRST PROBLEM"], rows: rows, style: style)
        let passed = report.locks.filter { $0.verdict == .pass }.count
        let failed = report.locks.filter { $0.verdict == .fail }.count
        let stopped = report.locks.count - passed - failed
        var verdict = "\(report.plan): \(passed) passed, \(failed) failed"
        if stopped > 0 { verdict += ", \(stopped) stopped" }
        verdict += " (\(report.locks.count) lock\(report.locks.count == 1 ? "" : "s"), \(Format.seconds((report.durationSeconds * 10).rounded() / 10)))"
        if report.interrupted { verdict += " — interrupted, results are partial" }
        lines.append("")
        lines.append(report.passed ? style.green(verdict) : style.red(verdict))
        return lines
    }
}
