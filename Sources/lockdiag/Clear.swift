import ArgumentParser
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Clear a lock's faults, in lockdiagd and in the lock's own fault memory.",
            discussion: "Do this after a repair. A fault whose cause is still there comes back. Needs the technician role (group lockdiag-admin, or root); the clear is audited. --json prints the faults.clear result.")

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or a serial number or path only one lock has).")
        var device: String

        func run() throws {
            try perform { () throws(CLIError) in
                let session = try Session(options)
                let cleared = try session.call(APIMethod.faultsClear, params: DeviceParams(device: device), as: FaultsCleared.self)
                if options.json {
                    printJSON(cleared.raw)
                } else {
                    let c = cleared.value
                    Output.out("\(c.device): cleared \(Units.count(c.cleared, "fault")) in lockdiagd and "
                               + "\(Units.count(c.clearedOnDevice, "record")) in the lock's fault memory.")
                    Output.out("A fault whose cause is still there comes back; `lockdiag test \(c.device) all` checks now.")
                }
                return .ok
            }
        }
    }
}
