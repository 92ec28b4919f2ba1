import ArgumentParser
import JSONRPC
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show lockdiagd's version, uptime, poll loop timing, link counters and history health.",
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
                    Output.out(InfoRenderer.render(info: info.value, stats: stats.value, style: Terminal.style(json: false)))
                }
                return .ok
            }
        }
    }
}
