import ArgumentParser
import LockDiagAPI
import LockDiagCLI
import OptionRanges

// Exit statuses (scripts and bench rigs rely on them; ExitStatus in LockDiagCLI is the one
// definition, and `lockdiag --help` prints the same table):
//   0  ran fine: no confirmed fault in what was shown; the self-test passed
//   1  any other error (permission denied, protocol error, no reply in time)
//   2  confirmed fault(s) in what was shown (list, status, faults), or the self-test failed or was aborted
//   3  lockdiagd is unreachable (stderr says how to start it)
//   4  device problem: unknown device, offline, busy, timed out, or refused
//   64 usage error (swift-argument-parser's default), or an invalid bench plan
//   130 `bench run` stopped by Ctrl-C (partial results written)
// Human output goes to stdout; errors and progress go to stderr.

/// The lockdiag command line: a technician's and a test rig's view of lockdiagd.
@main
struct LockDiag: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiag",
        abstract: "Diagnose smart door locks through lockdiagd: what is wrong, how sure, what to do next.",
        discussion: """
            Every command talks to lockdiagd over its socket (--socket, or $\(DefaultPaths.socketEnvironmentVariable), \
            default \(DefaultPaths.socket)). Readings are shown with their units; --json prints the API's own \
            result instead (pretty-printed, keys sorted) and nothing else on stdout. Errors and progress go to stderr.

            Start with `lockdiag list`, then `lockdiag status DEVICE` and `lockdiag faults DEVICE`; each fault \
            ends with a line `→ advice` saying what to do. `lockdiag test DEVICE all` runs the lock's self-tests.

            \(ExitStatus.helpText)
            """,
        version: LockDiagVersion.current,
        subcommands: [List.self, Status.self, Faults.self, Clear.self, Watch.self, SelfTest.self, Info.self, Bench.self,
                      Report.self, Verify.self, Key.self, Scan.self, Fleet.self, Record.self, Commission.self, Parts.self]
    )
}

/// The options every subcommand takes.
struct Options: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("lockdiagd's socket.", valueName: "path"))
    var socket: String = DefaultPaths.effectiveClientSocket

    @Flag(name: .long, help: "Print the API's JSON result (pretty-printed, keys sorted) and nothing else on stdout.")
    var json = false

    @Option(name: .long, help: ArgumentHelp(Options.timeoutRange.help(
        "How long to wait for each reply (default \(Int(Options.defaultTimeout)) s; \(Int(Options.defaultTestTimeout)) s for `test`)"),
                                            valueName: "seconds"))
    var timeout: Double?

    static let defaultTimeout = 10.0
    static let defaultTestTimeout = 60.0

    /// A day: no reply is worth waiting longer for.
    static let timeoutRange = OptionRange<Double>("--timeout", 0.1...86_400, unit: "seconds")

    func validate() throws {
        try Self.timeoutRange.check(timeout)
    }

    /// The timeout for ordinary calls.
    var callTimeout: Double { timeout ?? Self.defaultTimeout }
}

extension TestKind: ExpressibleByArgument {}
