import ArgumentParser
import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagCLI

extension LockDiag {
    struct SelfTest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run a lock's self-test (motor, battery, fingerprint or all) and show the verdict.",
            usage: "lockdiag test <device> <kind> [--yes] [<options>]",
            discussion: """
                The motor test (and `all`) moves the bolt: it unlocks and locks the door, so lockdiag asks \
                first on a terminal; --yes confirms it up front (needed when stdin is not a terminal). \
                Self-tests need the technician role (group lockdiag-admin, or root). \
                A test takes up to about 20 s; a lock busy \
                with an actuation is waited for (up to \(Int(busyWaitSeconds)) s). Progress is shown on stderr when \
                it is a terminal. Exits 0 when every test passed, 2 when one failed or was aborted. \
                --json prints the tests.run result.
                """)

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or a serial number or path only one lock has).")
        var device: String

        @Argument(help: "Which self-test.")
        var kind: TestKind

        @Flag(name: [.customShort("y"), .long], help: "Confirm a test that moves the bolt (motor, all) without being asked.")
        var yes = false

        /// How long a busy lock (in the middle of an actuation) is waited for before giving up.
        static let busyWaitSeconds = 10.0
        static let busyRetryInterval = 0.3

        func run() throws {
            try perform { () throws(CLIError) in
                let confirmed = try confirmActuation()
                let session = try Session(options)
                let timeout = options.timeout ?? Options.defaultTestTimeout
                let showProgress = Terminal.stderrIsTerminal
                var progress = TestProgress(device: device, test: kind)
                var subscribed: String?
                if showProgress,
                   let subscription = try? session.call(APIMethod.telemetrySubscribe, params: DeviceParams(device: device), as: Subscription.self) {
                    subscribed = subscription.value.device
                }
                defer { if let subscribed { session.unsubscribe(subscribed) } }
                let started = monotonicSeconds()
                let params = TestsRunParams(device: device, test: kind, confirm: confirmed ? true : nil)
                var raw: JSONValue
                var saidBusy = false
                while true {
                    do throws(CLIError) {
                        if showProgress {
                            raw = try runShowingProgress(session, params: params, progress: &progress, started: started, timeout: timeout)
                        } else {
                            raw = try session.call(APIMethod.testsRun, params: params, as: JSONValue.self, timeout: timeout).raw
                        }
                        break
                    } catch where error.isBusy && monotonicSeconds() - started < Self.busyWaitSeconds {
                        // A lock in use is busy for about a second per actuation; a technician would just retry.
                        if !showProgress, !saidBusy { Output.err("lockdiag: \(device) is busy; waiting for it to finish…") }
                        saidBusy = true
                        progress.waitingForBusyLock = "actuation running"
                        wait(Self.busyRetryInterval, session: session, progress: &progress, started: started, showProgress: showProgress)
                        progress.waitingForBusyLock = nil
                    }
                }
                if showProgress { Output.write(2, Terminal.clearLine) }
                let run = try Session.decode(raw, as: TestRun.self, method: APIMethod.testsRun)
                if options.json {
                    printJSON(raw)
                } else {
                    let width = Terminal.stdoutIsTerminal ? max(20, min(100, Terminal.columns() - 20)) : 60
                    Output.out(TestRunRenderer.render(run, traceWidth: width, style: Terminal.style(json: false)))
                }
                return ExitStatus.forTest(run.verdict)
            }
        }

        /// A test that moves the bolt needs the user's say-so: --yes, or "y" at a prompt on a
        /// terminal. Returns whether it was confirmed (false for tests that do not actuate).
        private func confirmActuation() throws(CLIError) -> Bool {
            guard kind.actuates else { return false }
            if yes { return true }
            guard isatty(0) == 1 else {
                throw CLIError(status: .usage, message: "the \(kind.rawValue) test moves the bolt of \(device) (it unlocks and locks the door); "
                               + "add --yes to confirm nobody and nothing is in its way")
            }
            Output.write(2, "The \(kind.rawValue) test moves the bolt of \(device): it unlocks and locks the door. Is its way clear? [y/N] ")
            let answer = (readLine() ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            guard answer == "y" || answer == "yes" else {
                throw CLIError(status: .failure, message: "not confirmed; nothing was sent to \(device)")
            }
            return true
        }

        /// Sends tests.run and waits for its reply, redrawing the progress line from telemetry
        /// that arrives meanwhile on the same connection.
        private func runShowingProgress(_ session: Session, params: TestsRunParams, progress: inout TestProgress, started: Double,
                                        timeout: Double) throws(CLIError) -> JSONValue {
            let client = session.client
            let id: RPCRequestID
            do { id = try client.send(APIMethod.testsRun, params: try JSONValue(encoding: params), timeoutSeconds: timeout) } catch {
                throw (error as? RPCClientError).map(CLIError.init) ?? CLIError(status: .failure, message: "\(error)")
            }
            let deadline = monotonicSeconds() + timeout
            var lastDraw = 0.0
            while true {
                let now = monotonicSeconds()
                if now - lastDraw >= 0.1 {
                    drawProgress(progress, started: started)
                    lastDraw = now
                }
                guard now < deadline else { throw CLIError(RPCClientError.timeout) }
                let event: RPCClientEvent?
                do throws(RPCClientError) { event = try client.poll(timeoutSeconds: min(0.1, deadline - now)) } catch { throw CLIError(error) }
                switch event {
                case .notification(let method, let params)? where method == APIMethod.telemetryNotification:
                    if let notification = try? params.displaySafe.decode(as: TelemetryNotification.self) { progress.apply(notification) }
                case .reply(let replyID, let result)? where replyID == id:
                    switch result {
                    case .success(let value): return value
                    case .failure(let error): throw CLIError(RPCClientError.remote(error))
                    }
                default:
                    continue
                }
            }
        }

        /// Waits `seconds` before retrying a busy lock, keeping the progress line and the
        /// telemetry moving.
        private func wait(_ seconds: Double, session: Session, progress: inout TestProgress, started: Double, showProgress: Bool) {
            let until = monotonicSeconds() + seconds
            while case let left = until - monotonicSeconds(), left > 0 {
                if showProgress { drawProgress(progress, started: started) }
                if let next = try? session.client.nextNotification(timeoutSeconds: min(0.1, left)) {
                    if next.method == APIMethod.telemetryNotification,
                       let notification = try? next.params.displaySafe.decode(as: TelemetryNotification.self) { progress.apply(notification) }
                } else if !session.client.isConnected {
                    return
                }
            }
        }

        private func drawProgress(_ progress: TestProgress, started: Double) {
            let elapsed = monotonicSeconds() - started
            let line = progress.line(elapsedSeconds: elapsed, frame: Int(elapsed * 10))
            Output.write(2, Terminal.clearLine + VisibleText.truncate(line, to: Terminal.columns(2) - 1))
        }
    }
}
