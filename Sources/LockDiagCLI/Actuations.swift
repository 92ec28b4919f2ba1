import LockDiagAPI

/// One actuation in a line, shared by status, watch and test output.
public enum ActuationText {
    /// "#2067 unlock by user: reached in 353 ms · peak 1825 mA · running 239 mA · battery 6.14 → 6.05 V ·
    /// 351 mΩ internal resistance · end stop at 331 ms · analysis normal".
    public static func line(_ a: ActuationSummary, style: Style) -> String {
        var head = "#\(a.actuation)"
        if let direction = a.direction { head += " \(direction)" }
        if let source = a.source { head += " by \(source)" }
        let outcome = a.result.map { "\($0) in " } ?? "ran "
        var parts = ["\(head): \(outcome)\(Units.milliseconds(a.durationMilliseconds))",
                     "peak \(Units.milliamps(a.peakCurrentMilliamps))",
                     "running \(Units.milliamps(a.runningCurrentMilliamps))"]
        if let rest = a.batteryRestMillivolts, let loaded = a.batteryLoadedMillivolts {
            parts.append("battery \(Units.fixed(Double(rest) / 1000, decimals: 2)) → \(Units.volts(millivolts: loaded))")
        }
        if let resistance = a.internalResistanceMilliohms {
            parts.append("\(Units.milliohms(resistance)) internal resistance")
        }
        if let endStop = a.endStopAtMilliseconds { parts.append("end stop at \(Units.milliseconds(endStop))") }
        parts.append("analysis " + (a.analysis == "normal" ? style.green(a.analysis) : style.red(a.analysis)))
        return parts.joined(separator: " · ")
    }
}
