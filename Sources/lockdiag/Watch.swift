import ArgumentParser
import JSONRPC
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a lock live until Ctrl-C: status, motor current, actuations, fault changes.",
            discussion: """
                On a terminal a small block is redrawn in place (at most 10 times a second) with a sparkline of \
                the motor current; fault changes scroll above it. Otherwise one line per update, or with --json \
                each telemetry notification's params as one JSON line. Exits 0 on Ctrl-C (SIGINT) or SIGTERM.
                """)

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or its path).")
        var device: String

        /// Redraws at most this often, however fast updates arrive.
        static let redrawInterval = 0.1

        func run() throws {
            try perform { () throws(CLIError) in
                StopSignals.install()
                let session = try Session(options)
                let subscription = try session.call(APIMethod.telemetrySubscribe, params: DeviceParams(device: device),
                                                    as: Subscription.self).value
                defer { session.unsubscribe(subscription.device) }
                let live = Terminal.stdoutIsTerminal && !options.json
                let initial = live ? try? session.call(APIMethod.deviceStatus, params: DeviceParams(device: subscription.device),
                                                        as: DeviceStatus.self).value : nil
                var model = WatchModel(device: subscription.device, statusHz: subscription.statusHz, initialStatus: initial)
                let style = Terminal.style(json: options.json)
                let screen = live ? LiveBlock() : nil
                defer { screen?.finish() }
                screen?.draw(model.block(width: Terminal.columns() - 1, style: style), log: [])
                var dirty = false
                var lastDraw = monotonicSeconds()
                while !StopSignals.received {
                    let next: (method: String, params: JSONValue)?
                    do throws(RPCClientError) { next = try session.client.nextNotification(timeoutSeconds: Self.redrawInterval) } catch {
                        throw CLIError(error)
                    }
                    if let next, next.method == APIMethod.telemetryNotification {
                        guard let notification = try? next.params.displaySafe.decode(as: TelemetryNotification.self) else {
                            Output.err("lockdiag: skipped an update lockdiagd sent in an unexpected form: \(DisplayText.safe(String(next.params.jsonText.prefix(200))))")
                            continue
                        }
                        if options.json {
                            Output.out(JSONOutput.inert(next.params.jsonText))
                            if notification.lost > 0 { Output.err("lockdiag: " + WatchModel.lostText(notification.lost)) }
                        } else if let screen {
                            let log = model.apply(notification, style: style)
                            if !log.isEmpty {
                                screen.draw(model.block(width: Terminal.columns() - 1, style: style), log: log)
                                lastDraw = monotonicSeconds()
                                dirty = false
                            } else {
                                dirty = true
                            }
                        } else {
                            if notification.lost > 0 { Output.out(WatchModel.lostText(notification.lost)) }
                            Output.out(WatchModel.line(notification, style: style))
                        }
                    }
                    if let screen, dirty, monotonicSeconds() - lastDraw >= Self.redrawInterval {
                        screen.draw(model.block(width: Terminal.columns() - 1, style: style), log: [])
                        lastDraw = monotonicSeconds()
                        dirty = false
                    }
                }
                return .ok
            }
        }
    }
}

/// A block of lines redrawn in place at the bottom of the terminal, with log lines scrolling
/// above it. Each draw is one write, so the terminal never shows half a frame.
final class LiveBlock {
    private var drawnLines = 0

    init() { Output.write(1, Terminal.hideCursor) }

    func draw(_ block: [String], log: [String]) {
        var text = drawnLines > 0 ? Terminal.eraseUp(drawnLines) : ""
        for line in log { text += line + "\n" }
        for line in block { text += line + "\n" }
        drawnLines = block.count
        Output.write(1, text)
    }

    /// Leaves the last frame on screen and gives the cursor back.
    func finish() { Output.write(1, Terminal.showCursor) }
}
