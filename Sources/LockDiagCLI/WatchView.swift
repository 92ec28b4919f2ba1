import LockDiagAPI

/// The state behind `lockdiag watch`, fed one telemetry notification at a time: the latest
/// status, the live (or last) motor-current trace, the last actuation, and how many updates
/// were lost. Rendering is separate, so it can be tested without a terminal.
public struct WatchModel: Sendable {
    public let device: String
    public let statusHz: Int
    public private(set) var status: DeviceStatus?
    /// The trace being received, or the last one: actuation number, rate, samples so far.
    public private(set) var trace: (actuation: Int, sampleRateHz: Int, samples: [Int])?
    /// The actuation summary for `trace` once it has come, which means the trace is complete.
    public private(set) var traceSummary: ActuationSummary?
    public private(set) var lastActuation: ActuationSummary?
    public private(set) var lostTotal = 0
    private var motorDirection: String?
    private var traceDirection: String?

    /// No trace gets longer than this many samples (a minute at 1 kHz), whatever arrives.
    static let maxTraceSamples = 60_000

    public init(device: String, statusHz: Int, initialStatus: DeviceStatus? = nil) {
        self.device = device
        self.statusHz = statusHz
        status = initialStatus
        lastActuation = initialStatus?.lastActuation
    }

    /// Takes one notification; returns the log lines it calls for (fault changes, lost updates).
    public mutating func apply(_ n: TelemetryNotification, style: Style) -> [String] {
        var log: [String] = []
        if n.lost > 0 {
            lostTotal += n.lost
            log.append(style.yellow(Self.lostText(n.lost)))
        }
        if let status = n.status {
            self.status = status
            switch status.motor.state {
            case "locking": motorDirection = "lock"
            case "unlocking": motorDirection = "unlock"
            default: motorDirection = nil
            }
        }
        if let chunk = n.trace { take(chunk) }
        if let actuation = n.actuation {
            lastActuation = actuation
            if trace?.actuation == actuation.actuation { traceSummary = actuation }
        }
        if let fault = n.fault { log.append(Self.faultLogLine(fault, style: style)) }
        return log
    }

    private mutating func take(_ chunk: TraceSamples) {
        if trace?.actuation != chunk.actuation {
            trace = (chunk.actuation, chunk.sampleRateHz, [])
            traceSummary = nil
            traceDirection = motorDirection
        }
        if traceDirection == nil { traceDirection = motorDirection }
        guard var current = trace, chunk.firstIndex >= 0 else { return }
        let end = chunk.firstIndex + chunk.samplesMilliamps.count
        guard end <= Self.maxTraceSamples else { return }
        // A chunk lost in between leaves a gap, drawn as zero current.
        if current.samples.count < chunk.firstIndex {
            current.samples += Array(repeating: 0, count: chunk.firstIndex - current.samples.count)
        }
        for (offset, value) in chunk.samplesMilliamps.enumerated() {
            let index = chunk.firstIndex + offset
            if index < current.samples.count { current.samples[index] = value } else { current.samples.append(value) }
        }
        trace = current
    }

    public static func lostText(_ lost: Int) -> String {
        "\(lost) \(lost == 1 ? "update" : "updates") lost: reading too slowly"
    }

    /// "00:21:46 ✖ 0x0101 Motor stall / jammed bolt: CONFIRMED 4× — evidence".
    public static func faultLogLine(_ fault: Fault, style: Style) -> String {
        let tint = FaultsRenderer.tint(fault.status)
        return "\(Units.timeOfDay(fault.lastSeen)) \(style.apply(tint, FaultsRenderer.marker(severity: fault.severity))) "
            + "\(fault.code) \(fault.title): " + style.apply(tint, "\(fault.status.rawValue.uppercased()) \(fault.count)×")
            + " — \(FaultsRenderer.evidence(fault))"
    }

    /// "bolt locked · door closed · battery 6.14 V (87 %) · motor idle 0 mA · fingerprint ready".
    public static func statusLine(_ s: DeviceStatus, style: Style) -> String {
        if let tuya = s.tuya { return TuyaStatusRenderer.watchLine(s, tuya, style: style) }
        // A lock with only the standard BLE services reports its battery level and nothing else.
        if s.wireProtocol == "GATT" {
            return "battery \(s.battery.percent.map { "\($0) %" } ?? "unknown")" + (s.online ? "" : " · " + style.red("OFFLINE"))
        }
        var parts = ["bolt \(s.lock)", "door \(s.door)",
                     "battery \(Units.battery(millivolts: s.battery.voltageMillivolts, percent: s.battery.percent, band: s.battery.band))",
                     "motor \(s.motor.state) \(Units.milliamps(s.motor.currentMilliamps))"]
        if let f = s.fingerprint { parts.append("fingerprint \(f.state)") }
        if let t = s.temperatureCelsius { parts.append(Units.celsius(t)) }
        if s.tamperActive == true { parts.append(style.red("TAMPER")) }
        if !s.online { parts.append(style.red("OFFLINE")) }
        return parts.joined(separator: " · ")
    }

    /// The block redrawn in place on a terminal, every line at most `width` columns.
    public func block(width: Int, style: Style) -> [String] {
        var lines = [style.bold(device) + " · live, \(statusHz) status/s · Ctrl-C to stop"
            + (lostTotal > 0 ? " · " + style.yellow("\(lostTotal) updates lost") : "")]
        lines.append(status.map { Self.statusLine($0, style: style) } ?? style.dim("waiting for the first status…"))
        if let trace {
            let milliseconds = trace.sampleRateHz > 0 ? trace.samples.count * 1000 / trace.sampleRateHz : 0
            let direction = traceSummary?.direction ?? traceDirection
            let state = traceSummary == nil ? "running" : "done"
            lines.append("motor current · actuation #\(trace.actuation)" + (direction.map { " \($0)" } ?? "")
                         + " · \(state) · \(Units.milliseconds(milliseconds)) · max \(Units.milliamps(trace.samples.max() ?? 0))")
            lines.append(Sparkline.render(trace.samples, width: max(1, width)))
        } else {
            lines.append("motor current · no actuation seen yet")
            lines.append("")
        }
        lines.append("last: " + (lastActuation.map { ActuationText.line($0, style: style) } ?? "no actuation since lockdiagd started"))
        return lines.map { VisibleText.truncate($0, to: width) }
    }

    /// One notification as one line, for a pipe or a log file.
    public static func line(_ n: TelemetryNotification, style: Style) -> String {
        if let s = n.status {
            return "status    " + statusLine(s, style: style) + (s.updatedAt.map { " · at \(Units.timestamp($0))" } ?? "")
        }
        if let t = n.trace {
            let last = t.firstIndex + t.samplesMilliamps.count - 1
            return "trace     actuation #\(t.actuation) samples \(t.firstIndex)–\(last) at \(Units.hertz(t.sampleRateHz)): "
                + "max \(Units.milliamps(t.samplesMilliamps.max() ?? 0)) " + Sparkline.render(t.samplesMilliamps, width: 32)
        }
        if let a = n.actuation { return "actuation " + ActuationText.line(a, style: style) }
        if let f = n.fault { return "fault     " + faultLogLine(f, style: style) }
        return "(empty update)"
    }
}
