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
}
