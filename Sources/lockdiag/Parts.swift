import ArgumentParser
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Parts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that a lock's accessories (fingerprint module, battery pack, motor unit) are genuine.",
            discussion: """
                Each part proves itself with its maker-signed certificate and a signature over a fresh challenge \
                (LDP/1.1). lockdiagd also checks every part when a lock attaches. A part that fails raises fault \
                0x0703 counterfeit_part; one that cannot answer, 0x0704 unverified_part. Needs the technician role \
                (group lockdiag-admin, or root). Exits 0 when every part is genuine, 2 when one is not or could \
                not be checked, 4 when the lock cannot do the check (older firmware, offline). --json prints the \
                device.parts result.
                """)

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or a serial number or path only one lock has).")
        var device: String

        func run() throws {
            try perform { () throws(CLIError) in
                let session = try Session(options)
                let result = try session.call(APIMethod.deviceParts, params: DeviceParams(device: device), as: PartsResult.self)
                if options.json {
                    printJSON(result.raw)
                } else {
                    Output.out(PartsRenderer.render(result.value, style: Terminal.style(json: false)))
                }
                return result.value.allGenuine ? .ok : .faultsPresent
            }
        }
    }
}
