import ArgumentParser
import JSONRPC
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show lockdiagd's version, uptime, poll loop timing, link counters, history health and fleet link.",
            discussion: "--json prints {\"info\": <daemon.info result>, \"stats\": <daemon.stats result>}.")

        @OptionGroup var options: Options

        func run() throws {
            try perform { () throws(CLIError) in
                let session = try Session(options)
                let info = try session.call(APIMethod.daemonInfo, as: DaemonInfo.self)
                let stats = try session.call(APIMethod.daemonStats, as: DaemonStats.self)
                if options.json {
                    printJSON(["info": info.raw, "stats": stats.raw])
                } else {
                    let style = Terminal.style(json: false)
                    var text = InfoRenderer.render(info: info.value, stats: stats.value, style: style)
                    if let fleet = info.value.fleet { text += "\n\n" + FleetInfoRenderer.render(fleet, style: style) }
                    Output.out(text)
                }
                return .ok
            }
        }
    }
}

/// `lockdiag info`'s fleet section (docs/fleet.md): where the station sends its history, whether the link is up, and
/// how far behind the database is.
enum FleetInfoRenderer {
    static func row(_ label: String, _ value: String) -> String { "  " + VisibleText.pad(label, to: 14) + value }

    static func render(_ fleet: FleetLinkInfo, style: Style) -> String {
        var lines = [style.bold("Fleet")]
        lines.append(row("database", DisplayText.safe(fleet.database) + " as station " + DisplayText.safe(fleet.station)))
        let state = switch fleet.state {
        case .idle: style.green("idle") + " (the database has everything)"
        case .syncing: "syncing"
        case .connecting: "connecting"
        case .offline: style.yellow("OFFLINE") + " — the rows wait in the local history; retrying"
        }
        lines.append(row("state", state))
        let backlog = fleet.backlogRows.map { Units.count(Int($0), "row") + " to send" } ?? "not known until the first connection"
        let lag = fleet.lagSeconds == 0 ? "none" : Units.duration(seconds: fleet.lagSeconds)
        lines.append(row("backlog", backlog + " · lag " + lag))
        lines.append(row("sent", Units.count(Int(fleet.sentRows), "row") + " since start"
                         + (fleet.lastSyncAt.map { " · last batch \(Units.timestamp($0))" } ?? "")))
        if let error = fleet.lastError { lines.append(row("last error", style.yellow(DisplayText.safe(error)))) }
        return lines.joined(separator: "\n")
    }
}
