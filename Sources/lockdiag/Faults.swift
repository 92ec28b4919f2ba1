import ArgumentParser
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Faults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show faults with their evidence and what to do (`→` lines), confirmed first.",
            usage: "lockdiag faults [<device>] [--history [--since <time>]] [<options>]",
            discussion: """
                Exits 2 when a fault shown is confirmed. --json prints the faults.list result.
                A fault whose events are not in lockdiagd's history database yet (the disk \
                refused them) is marked NOT SAVED, with the history's reason below the list.
                --history DEVICE shows the device's fault history from lockdiagd's database instead (every raised, \
                confirmed, healed and cleared event, who cleared it, and `lost` gaps where events could not be \
                written); it outlives `lockdiag clear`, exits 0, and --json prints the faults.history result.
                """)

        @OptionGroup var options: Options

        @Argument(help: "Only this device's faults (an id from `lockdiag list`); every device's when left out.")
        var device: String?

        @Flag(name: .long, help: "Show the device's fault history (raised, confirmed, healed, cleared) instead of its active faults.")
        var history = false

        @Option(name: .long, help: ArgumentHelp("With --history: only events since then (2026-11-28, 2026-11-28T09:00:00Z, or 7d, 12h, 30m ago).",
                                                valueName: "time"))
        var since: String?

        func run() throws {
            if history { return try runHistory() }
            try perform { () throws(CLIError) in
                let session = try Session(options)
                let faults = try session.call(APIMethod.faultsList, params: FaultsListParams(device: device), as: FaultsList.self)
                if options.json {
                    printJSON(faults.raw)
                } else {
                    Output.out(FaultsRenderer.render(faults.value.faults, scope: device, history: faults.value.history,
                                                     style: Terminal.style(json: false)))
                }
                return ExitStatus.forFaults(faults.value.faults)
            }
        }
    }
}
