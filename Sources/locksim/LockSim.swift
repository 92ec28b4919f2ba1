import ArgumentParser
import Foundation
import LockSimulator

/// `locksim`: emulated LDP/1 lock controllers on pseudo-terminals.
@main
struct LockSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locksim",
        abstract: "Emulated LX-300 lock controllers speaking LDP/1 on pseudo-terminals, with scenarios and fault injection.",
        discussion: """
            Each lock is a physical model (4xAA battery with internal resistance, brushed DC motor \
            and gearbox driving the bolt, fingerprint module, fault memory) under firmware that \
            speaks LDP/1 as firmware-specs/ldp-v1.md defines it. Motor-current traces, battery sag \
            and faults come out of the model, deterministically from --seed.

            On start, locksim prints one device path per lock on stdout, one per line, then serves \
            until SIGTERM or SIGINT (exit 0, ptys closed). With --link-dir, the paths are stable \
            symlinks DIR/lock<N> that follow a replug to its new pty.

            SCENARIOS (--scenario takes one, or a comma list applied round-robin over --count):
            \(HelpText.scenarios)

            COMMANDS on stdin, one per line, each answered with lines starting "ok" or "error" \
            (end of input does not stop the simulator; only a signal does):
            \(HelpText.commands)

            Example:
              locksim --pty --count 2 --scenario motor-stall,healthy --link-dir /tmp/locks
            """)

    @Flag(help: "Serve each lock on a pseudo-terminal (the transport available today; required).")
    var pty = false

    @Option(help: "Scenario name, or a comma list applied round-robin across the locks.")
    var scenario = Scenario.healthy.rawValue

    @Option(help: "How many locks to serve.")
    var count = 1

    @Option(help: "Seed for every random draw; the same seed and input give the same bytes.")
    var seed: UInt64 = 1

    @Option(name: .customLong("link-dir"), help: "Directory for stable lock<N> symlinks to the ptys.")
    var linkDirectory: String?

    @Option(help: "Mean seconds between simulated uses (actuation or finger touch, alternately; ±30 % jitter); 0 for none.")
    var activity = 4.0

    func validate() throws {
        guard pty else { throw ValidationError("--pty is required: it is the only transport locksim serves today") }
        guard (1...64).contains(count) else { throw ValidationError("--count must be 1…64, not \(count)") }
        guard activity >= 0, activity.isFinite else { throw ValidationError("--activity must be 0 or more seconds") }
        do { _ = try Scenario.list(scenario) } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        // Block the stop signals before any thread exists, so every thread inherits the mask
        // and the main thread alone takes them with sigwait (no async-signal-safety worries).
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        // A reader of our stdout going away must not kill the simulator.
        signal(SIGPIPE, SIG_IGN)

        let scenarios = try Scenario.list(scenario)
        let configurations = SimulatorConfiguration.fleet(
            count: count, scenarios: scenarios, seed: seed,
            activityIntervalNanoseconds: activity > 0 ? UInt64(activity * 1e9) : nil)
        let server = try SimulatorServer(configurations: configurations, linkDirectory: linkDirectory)
        try server.start()
        for path in server.devicePaths { print(path) }
        fflush(nil)

        let console = SimulatorConsole(server: server)
        Thread.detachNewThread {
            while let line = readLine() {
                if let answer = console.execute(line) {
                    print(answer)
                    fflush(nil)
                }
            }
            // End of input: keep serving; only a signal stops locksim.
        }

        var received: Int32 = 0
        while sigwait(&stopSignals, &received) != 0 {}
        server.stop()
    }
}
