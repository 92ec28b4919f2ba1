import ArgumentParser
import JSONRPC
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the locks lockdiagd knows, with their state and fault counts.",
            usage: "lockdiag list [--follow] [<options>]",
            discussion: """
                Exits 2 when any lock has a confirmed fault. --json prints the devices.list result. \
                --follow then stays, printing a line as each lock is plugged in, unplugged or forgotten \
                (with --json, each devices.changed notification's params as one JSON line), until Ctrl-C.
                """)

        @OptionGroup var options: Options

        @Flag(help: "After the list, print each lock plugged in, unplugged or forgotten as it happens, until Ctrl-C.")
        var follow = false

        func run() throws {
            try perform { () throws(CLIError) in
                if follow { StopSignals.install() }
                let session = try Session(options)
                // Subscribing first returns the list: no change can fall between the two.
                let devices = follow ? try subscribe(session) : try session.call(APIMethod.devicesList, as: DevicesList.self)
                let faults = try session.call(APIMethod.faultsList, params: FaultsListParams(), as: FaultsList.self).value.faults
                if options.json {
                    printJSON(devices.raw)
                } else {
                    Output.out(DevicesRenderer.render(devices.value.devices, faults: faults, style: Terminal.style(json: false)))
                }
                guard follow else { return ExitStatus.forFaults(faults) }
                try followChanges(session)
                return .ok
            }
        }

        private func subscribe(_ session: Session) throws(CLIError) -> Reply<DevicesList> {
            let reply = try session.call(APIMethod.devicesSubscribe, as: DevicesSubscription.self)
            let list = DevicesList(devices: reply.value.devices)
            return Reply(raw: (try? JSONValue(encoding: list)) ?? reply.raw, value: list)
        }

        private func followChanges(_ session: Session) throws(CLIError) {
            let style = Terminal.style(json: options.json)
            while !StopSignals.received {
                let next: (method: String, params: JSONValue)?
                do throws(RPCClientError) { next = try session.client.nextNotification(timeoutSeconds: 0.2) } catch {
                    throw CLIError(error)
                }
                guard let next, next.method == APIMethod.devicesChangedNotification else { continue }
                if options.json {
                    Output.out(JSONOutput.inert(next.params.jsonText))
                    continue
                }
                guard let change = try? next.params.displaySafe.decode(as: DeviceChange.self) else {
                    Output.err("lockdiag: skipped a change lockdiagd sent in an unexpected form: \(DisplayText.safe(String(next.params.jsonText.prefix(200))))")
                    continue
                }
                Output.out(DevicesRenderer.changeLine(change, time: Terminal.localTime(), style: style))
            }
        }
    }
}
