import LockDiagAPI

/// The `info` view: daemon.info and daemon.stats.
public enum InfoRenderer {
    static func row(_ label: String, _ value: String) -> String { "  " + VisibleText.pad(label, to: 14) + value }

    public static func render(info: DaemonInfo, stats: DaemonStats, style: Style) -> String {
        var lines = [style.bold("lockdiagd \(info.version)") + " (pid \(info.pid)) on \(info.socket)"]
        lines.append(row("uptime", Units.duration(seconds: info.uptimeSeconds)))
        lines.append(row("protocols", info.protocols.joined(separator: ", ")))
        lines.append(row("devices", "\(info.devices) (\(info.devicesOnline) online)"))
        lines.append(row("poll rate", Units.hertz(stats.pollHz)))
        let l = stats.latenessMicroseconds
        lines.append(row("lateness", "p50 \(Units.microseconds(l.p50)) · p90 \(Units.microseconds(l.p90)) · "
                         + "p99 \(Units.microseconds(l.p99)) · p99.9 \(Units.microseconds(l.p999)) · max \(Units.microseconds(l.max)) · "
                         + "mean \(Units.fixed(l.mean, decimals: 1)) µs (\(l.count) wake-ups)"))
        let overruns = stats.overruns == 0 ? "0 overruns" : style.yellow("\(stats.overruns) overruns")
        let dropped = stats.ringDropped == 0 ? "0 readings dropped" : style.yellow("\(stats.ringDropped) readings dropped")
        lines.append(row("cycles", "\(stats.cycles) · \(overruns) · \(dropped)"))
        let granted = info.realtime.granted.isEmpty ? "none" : info.realtime.granted.joined(separator: ", ")
        var realtime = (info.realtime.requested ? "requested" : "not requested") + "; granted: \(granted)"
        if !info.realtime.missing.isEmpty {
            realtime += "; " + style.yellow("missing: " + info.realtime.missing.joined(separator: ", "))
        }
        lines.append(row("real-time", realtime))
        if let history = info.health?.history { lines += historyRows(history, style: style) }
        guard !stats.devices.isEmpty else { return lines.joined(separator: "\n") }
        lines.append("")
        lines.append(style.bold("Links"))
        let header = ["DEVICE", "REQUESTS", "FRAMES", "BYTES IN", "BYTES OUT", "CRC ERR", "HEADER ERR", "NOISE BYTES", "TIMEOUTS",
                      "NAKS", "OTHER ERR", "RECONNECTS"]
        let rows: [[Cell]] = stats.devices.map { d in
            let other = d.truncated + d.oversized + d.unsupportedVersion + d.unexpected + d.decodeErrors
            func counter(_ value: UInt64) -> Cell { Cell("\(value)", tint: value > 0 ? .yellow : nil) }
            return [Cell(d.device), Cell("\(d.requests)"), Cell("\(d.frames)"), Cell("\(d.bytesIn)"), Cell("\(d.bytesOut)"),
                    counter(d.crcErrors), counter(d.headerErrors), counter(d.noiseBytes), counter(d.timeouts), counter(d.naks),
                    counter(other), counter(d.reconnects)]
        }
        lines += TextTable.render(header: header, rows: rows, style: style)
        lines.append(style.dim("OTHER ERR: truncated, oversized, unsupported version, unexpected and undecodable frames"))
        return lines.joined(separator: "\n")
    }

    /// The history writer's health: `ok`, or DEGRADED with the reason and what waits in memory;
    /// drops and refused (quarantined) records whenever there were any.
    static func historyRows(_ h: HistoryHealth, style: Style) -> [String] {
        var rows: [String] = []
        if h.status == .ok {
            rows.append(row("history", style.green("ok") + (h.pendingTelemetry > 0 ? " · \(h.pendingTelemetry) telemetry records to flush" : "")))
        } else {
            rows.append(row("history", style.yellow("DEGRADED") + (h.since.map { " since \(Units.timestamp($0))" } ?? "")
                            + ": " + (h.reason ?? "writes fail")))
            rows.append(row("", "unsaved in memory: \(Units.count(h.unsavedFaultEvents, "fault event")) "
                            + "(\(h.unsavedRecords) of at most \(h.unsavedLimit) records), \(h.pendingTelemetry) telemetry"
                            + (h.retryInMilliseconds.map { " · next try in \(Units.milliseconds($0))" } ?? "")))
        }
        if h.droppedRecords > 0 || h.droppedTelemetry > 0 {
            rows.append(row("", style.yellow("dropped: \(Units.count(Int(h.droppedRecords), "record")) (newest first; a `lost` event marks "
                                             + "each gap), \(h.droppedTelemetry) telemetry")))
        }
        if h.quarantined > 0 {
            rows.append(row("", style.yellow("refused by the database and set aside: \(Units.count(Int(h.quarantined), "record"))")))
            for q in h.quarantine.suffix(5) {
                rows.append(row("", "  \(Units.timestamp(q.at)) \(q.kind)" + (q.device.map { " \($0)" } ?? "") + (q.what.map { " \($0)" } ?? "")
                                + ": \(q.reason)"))
            }
        }
        if h.writeErrors > 0 { rows.append(row("", "\(h.writeErrors) failed write attempts since start")) }
        return rows
    }
}
