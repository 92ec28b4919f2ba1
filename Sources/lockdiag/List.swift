import ArgumentParser
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the locks lockdiagd knows, with their state and fault counts.",
            discussion: "Exits 2 when any lock has a confirmed fault. --json prints the devices.list result.")

        @OptionGroup var options: Options

        func run() throws {
            try perform { () throws(CLIError) in
                let session = try Session(options)
                let devices = try session.call(APIMethod.devicesList, as: DevicesList.self)
                let faults = try session.call(APIMethod.faultsList, params: FaultsListParams(), as: FaultsList.self).value.faults
                if options.json {
                    printJSON(devices.raw)
                } else {
                    Output.out(DevicesRenderer.render(devices.value.devices, faults: faults, style: Terminal.style(json: false)))
                }
                return ExitStatus.forFaults(faults)
            }
        }
    }
}
