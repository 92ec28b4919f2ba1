import ArgumentParser
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one lock's readings, its last actuation and its faults.",
            usage: "lockdiag status <device> [<options>]",
            discussion: """
                Exits 2 when the lock has a confirmed fault, 4 when it is offline. --json prints the device.status result.

                A Tuya lock whose product id no layout lists is read with Tuya's standard lock layout; its "layout" row \
                says so and why, e.g. "standard ms (assumed: product id … not known)" (firmware-specs/tuya-mcu.md §6.1).
                """)

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or its path).")
        var device: String

        func run() throws {
            try perform { () throws(CLIError) in
                let session = try Session(options)
                let status = try session.call(APIMethod.deviceStatus, params: DeviceParams(device: device), as: DeviceStatus.self)
                let id = status.value.device
                let faults = try session.call(APIMethod.faultsList, params: FaultsListParams(device: id), as: FaultsList.self).value.faults
                if options.json {
                    printJSON(status.raw)
                } else {
                    let summary = try session.call(APIMethod.devicesList, as: DevicesList.self).value.devices.first { $0.id == id }
                    Output.out(StatusRenderer.render(status.value, summary: summary, faults: faults, style: Terminal.style(json: false)))
                }
                guard status.value.online else {
                    throw CLIError(status: .deviceProblem,
                                   message: "device '\(id)' is offline — check its cable or radio link; the readings shown are the last ones")
                }
                return ExitStatus.forFaults(faults)
            }
        }
    }
}
