import LockDiagAPI

/// The `test` view: each self-test's verdict, measurements, findings and fault codes.
public enum TestRunRenderer {
    static func verdictMark(_ verdict: Verdict, style: Style) -> String {
        switch verdict {
        case .pass: style.green("✔")
        case .fail: style.red("✖")
        case .aborted: style.yellow("■")
        }
    }

    static func verdictText(_ verdict: Verdict, style: Style) -> String {
        let text = verdict.rawValue.uppercased()
        switch verdict {
        case .pass: return style.green(text)
        case .fail: return style.red(text)
        case .aborted: return style.yellow(text)
        }
    }

    /// The measurements a test made, as (label, value with unit), in a fixed order.
    public static func measurements(_ m: TestMeasurements) -> [(String, String)] {
        var rows: [(String, String)] = []
        if let v = m.durationMilliseconds { rows.append(("duration", Units.milliseconds(v))) }
        if let v = m.peakCurrentMilliamps { rows.append(("peak current", Units.milliamps(v))) }
        if let v = m.runningCurrentMilliamps { rows.append(("running current", Units.milliamps(v))) }
        if let v = m.endPositionReached { rows.append(("end position", v ? "reached" : "NOT reached")) }
        if let v = m.loadCurrentMilliamps { rows.append(("load current", Units.milliamps(v))) }
        if let v = m.batteryRestMillivolts { rows.append(("battery at rest", Units.volts(millivolts: v))) }
        if let v = m.batteryLoadedMillivolts { rows.append(("battery loaded", Units.volts(millivolts: v))) }
        if let v = m.batterySagMillivolts { rows.append(("battery sag", Units.millivolts(v))) }
        if let v = m.internalResistanceMilliohms { rows.append(("internal resistance", Units.milliohms(v))) }
        if let v = m.imageQuality { rows.append(("image quality", "\(v)/100")) }
        return rows
    }

    /// One test's block. Traces are drawn `traceWidth` characters wide.
    public static func render(_ result: TestResult, traceWidth: Int, style: Style) -> [String] {
        var lines = ["\(verdictMark(result.verdict, style: style)) \(style.bold(result.test.rawValue)): \(verdictText(result.verdict, style: style))"]
        for (label, value) in measurements(result.measurements) {
            lines.append("    " + VisibleText.pad(label, to: 21) + value)
        }
        for other in result.otherMeasurements ?? [] {
            lines.append("    " + VisibleText.pad("measurement \(other.id)", to: 21) + "\(other.value)" + style.dim(" (unknown to this lockdiag)"))
        }
        for actuation in result.actuations {
            lines.append("    actuation " + ActuationText.line(actuation, style: style))
            if let trace = result.traces.first(where: { $0.actuation == actuation.actuation }), !trace.samplesMilliamps.isEmpty {
                let peak = trace.samplesMilliamps.max() ?? 0
                lines.append("      " + Sparkline.render(trace.samplesMilliamps, width: traceWidth) + style.dim("  max \(Units.milliamps(peak))"))
            }
        }
        for finding in result.findings { lines.append("    finding: " + (result.verdict == .pass ? finding : style.yellow(finding))) }
        if !result.faults.isEmpty { lines.append("    fault codes: " + style.red(result.faults.joined(separator: ", "))) }
        return lines
    }

    public static func render(_ run: TestRun, traceWidth: Int = 60, style: Style) -> String {
        var lines = ["\(run.test.rawValue) self-test on \(style.bold(run.device)): \(verdictText(run.verdict, style: style))"
            + style.dim("  (\(Units.duration(seconds: Double(run.durationMilliseconds) / 1000)), started \(Units.timestamp(run.startedAt)))")]
        for result in run.results {
            lines.append("")
            lines += render(result, traceWidth: traceWidth, style: style)
        }
        lines.append("")
        let failed = run.results.filter { $0.verdict == .fail }.count
        let aborted = run.results.filter { $0.verdict == .aborted }.count
        var overall = "Overall: \(verdictText(run.verdict, style: style))"
        switch run.verdict {
        case .pass:
            overall += " — \(Units.count(run.results.count, "test")) passed"
        case .fail, .aborted:
            var what: [String] = []
            if failed > 0 { what.append("\(failed) failed") }
            if aborted > 0 { what.append("\(aborted) aborted") }
            overall += " — \(what.joined(separator: ", ")) of \(run.results.count)"
            if failed > 0 { overall += "; `lockdiag faults \(run.device)` says what to do" }
            if aborted > 0 { overall += "; an aborted test could not finish (door open, power dip?): check the lock and rerun" }
        }
        lines.append(overall)
        return lines.joined(separator: "\n")
    }
}

/// What the progress line of a running self-test shows, fed by telemetry notifications.
public struct TestProgress: Sendable {
    public let device: String
    public let test: TestKind
    /// The actuation in progress: its number, direction (from the motor state) and how far in.
    public private(set) var running: (actuation: Int, direction: String?, milliseconds: Int)?
    public private(set) var lastFinished: ActuationSummary?
    private var motorDirection: String?
    /// Set while the CLI waits for a busy lock to become free.
    public var waitingForBusyLock: String?

    static let spinner: [Character] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

    public init(device: String, test: TestKind) {
        self.device = device
        self.test = test
    }

    public mutating func apply(_ n: TelemetryNotification) {
        if let status = n.status {
            switch status.motor.state {
            case "locking": motorDirection = "lock"
            case "unlocking": motorDirection = "unlock"
            default: motorDirection = nil
            }
        }
        if let trace = n.trace {
            let end = trace.firstIndex + trace.samplesMilliamps.count
            let milliseconds = trace.sampleRateHz > 0 ? end * 1000 / trace.sampleRateHz : 0
            let direction = running?.actuation == trace.actuation ? running?.direction ?? motorDirection : motorDirection
            running = (trace.actuation, direction, milliseconds)
        }
        if let actuation = n.actuation {
            lastFinished = actuation
            if running?.actuation == actuation.actuation { running = nil }
        }
    }

    /// "⠙ motor self-test on SIM-0001-001 · 1.2 s · actuation #2074 lock … 320 ms".
    public func line(elapsedSeconds: Double, frame: Int) -> String {
        let spin = Self.spinner[((frame % Self.spinner.count) + Self.spinner.count) % Self.spinner.count]
        var text = "\(spin) \(test.rawValue) self-test on \(device) · \(Units.fixed(elapsedSeconds, decimals: 1)) s"
        if let waiting = waitingForBusyLock {
            text += " · lock busy (\(waiting)), waiting for it"
        } else if let running {
            text += " · actuation #\(running.actuation)" + (running.direction.map { " \($0)" } ?? "") + " … \(Units.milliseconds(running.milliseconds))"
        } else if let done = lastFinished {
            text += " · actuation #\(done.actuation)" + (done.direction.map { " \($0)" } ?? "")
                + ": \(done.result ?? "done") in \(Units.milliseconds(done.durationMilliseconds)), peak \(Units.milliamps(done.peakCurrentMilliamps))"
        }
        return text
    }
}
