import ArgumentParser
import BenchKit
import Foundation
import OptionRanges
import LockDiagAPI
import LockDiagCLI
import Synchronization

extension LockDiag {
    /// `lockdiag bench`: test plans run on a rack of locks (docs/bench.md).
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a YAML test plan on many locks at once; write JUnit XML and CSV.",
            discussion: "See docs/bench.md for the plan format, with a commented example.",
            subcommands: [BenchRun.self, BenchCheck.self])
    }

    struct BenchCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check a test plan without running it: every problem with its line. Exits 0 when it is valid, 64 when not.")

        @Argument(help: "The plan (YAML).")
        var plan: String

        func run() throws {
            try perform { () throws(CLIError) in
                let parsed = try loadPlan(plan)
                Output.out("\(plan): valid — '\(parsed.name)', \(parsed.steps.count) step\(parsed.steps.count == 1 ? "" : "s"):")
                for (i, step) in parsed.steps.enumerated() {
                    Output.out("  \(i + 1). \(step.title)\(step.movesBolt ? "  (moves the bolt)" : "")")
                }
                if let replay = parsed.replay { Output.out("on the locks of the recording \(replay.file), replayed at \(replay.speed)×") }
                return .ok
            }
        }
    }

    struct BenchRun: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a test plan on every matching lock in parallel, through lockdiagd.",
            usage: "lockdiag bench run <plan> [--junit <file>] [--csv <dir>] [<options>]",
            discussion: """
                The plan is checked first; a plan with an error is refused, with its line and the reason, \
                before any lock is touched. Then every matching lock runs the plan's steps, in parallel \
                (--parallel N at a time). On a terminal one line per lock is redrawn in place; otherwise one \
                line per event. Ctrl-C stops the run safely: no new actuation or self-test is started, the \
                ones running finish (the motor stops by itself at the end stop; at most 40 s), and the \
                partial results are still written. Steps that move the bolt (actuate, the motor self-test) are \
                confirmed by running the plan, and need the technician role (group lockdiag-admin, or root).

                Exit status: 0 every lock passed every step; 2 a lock failed; 130 stopped by Ctrl-C (results \
                partial); 64 the plan is invalid; 3 lockdiagd unreachable; 4 no lock matched the plan.
                """)

        @Argument(help: "The plan (YAML; see docs/bench.md).")
        var plan: String

        @Option(help: ArgumentHelp("Write JUnit XML here: one testsuite per lock, one testcase per step.", valueName: "file"))
        var junit: String?

        @Option(help: ArgumentHelp("Write summary.csv, measurements.csv and traces.csv into this directory (created if missing).",
                                   valueName: "dir"))
        var csv: String?

        @Option(help: ArgumentHelp(Self.parallelRange.help("Locks tested at once (default: the plan's 'parallel', else all)"), valueName: "n"))
        var parallel: Int?

        @Option(name: .long, help: ArgumentHelp("lockdiagd's socket (not used by a plan with 'replay:').", valueName: "path"))
        var socket: String = DefaultPaths.effectiveSocket

        /// Each lock in parallel costs a connection (lockdiagd's --max-connections).
        static let parallelRange = OptionRange<Int>("--parallel", 1...256)

        func validate() throws {
            try Self.parallelRange.check(parallel)
        }

        func run() throws {
            try perform { () throws(CLIError) in
                let parsed = try loadPlan(plan)
                // A plan with `replay:` runs on a lockdiagd of its own that replays the recording.
                let replay = try parsed.replay.map { (r) throws(CLIError) in try BenchReplayDaemon(r, planPath: plan) }
                defer { replay?.stop() }
                BenchSignals.install()
                let socket = replay?.socketPath ?? self.socket
                let runner = BenchRunner(plan: parsed, parallel: parallel, console: BenchTerminal()) { BenchRPCClient(socketPath: socket) }
                let report: BenchReport
                do throws(BenchRunError) { report = try runner.run() } catch { throw CLIError(error) }
                var written: [String] = []
                if let junit {
                    try write(JUnitWriter.render(report), to: junit)
                    written.append(junit)
                }
                if let csv {
                    do { try FileManager.default.createDirectory(atPath: csv, withIntermediateDirectories: true) } catch {
                        throw CLIError(status: .failure, message: "cannot create the directory \(csv): \(error.localizedDescription)")
                    }
                    for file in CSVWriter.files(report) {
                        let path = (csv as NSString).appendingPathComponent(file.name)
                        try write(file.contents, to: path)
                        written.append(path)
                    }
                }
                for line in SummaryRenderer.render(report, style: Terminal.style(json: false)) { Output.out(line) }
                if !written.isEmpty { Output.err("lockdiag: results written to \(written.joined(separator: ", "))") }
                if report.interrupted { return .interrupted }
                if report.locks.isEmpty { return .deviceProblem }
                return report.passed ? .ok : .faultsPresent
            }
        }

        private func write(_ text: String, to path: String) throws(CLIError) {
            do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw CLIError(status: .failure, message: "cannot write \(path): \(error.localizedDescription) — check the path and its permissions")
            }
        }
    }
}

/// Reads and checks a plan; an invalid one is reported line by line with status 64.
func loadPlan(_ path: String) throws(CLIError) -> Plan {
    let bytes: [UInt8]
    do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
        throw CLIError(status: .usage, message: "cannot read the plan \(path): \(error.localizedDescription)")
    }
    do {
        return try PlanParser.parse(bytes: bytes)
    } catch {
        let lines = error.lines(file: path)
        throw CLIError(status: .usage, message: "the plan is invalid; nothing was run:\n" + lines.joined(separator: "\n"))
    }
}

/// Ctrl-C and SIGTERM for `bench run`: the first stops the run safely, a second one stops
/// waiting for the running actuations (the partial results are still written).
enum BenchSignals {
    static let received = Atomic<Int>(0)

    static func install() {
        StopSignals.install()
        for signo in [SIGINT, SIGTERM] {
            _ = signal(signo) { signo in
                stopSignal.store(signo, ordering: .relaxed)
                BenchSignals.received.add(1, ordering: .relaxed)
            }
        }
    }

    static var count: Int { received.load(ordering: .relaxed) }
}
