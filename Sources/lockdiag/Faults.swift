import ArgumentParser
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Faults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show faults with their evidence and what to do (`→` lines), confirmed first.",
            discussion: "Exits 2 when a fault shown is confirmed. --json prints the faults.list result.")

        @OptionGroup var options: Options

        @Argument(help: "Only this device's faults (an id from `lockdiag list`); every device's when left out.")
        var device: String?

        func run() throws {
            try perform { () throws(CLIError) in
                let session = try Session(options)
                let faults = try session.call(APIMethod.faultsList, params: FaultsListParams(device: device), as: FaultsList.self)
                if options.json {
                    printJSON(faults.raw)
                } else {
                    Output.out(FaultsRenderer.render(faults.value.faults, scope: device, style: Terminal.style(json: false)))
                }
                return ExitStatus.forFaults(faults.value.faults)
            }
        }
    }
}
