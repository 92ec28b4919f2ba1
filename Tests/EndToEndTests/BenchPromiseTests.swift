import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// What docs/bench.md promises about a plan's options and how a run uses the locks, each
/// checked with the real `lockdiag bench run` against a real lockdiagd and simulated locks.
@Suite(.serialized) struct BenchPromiseTests {
    /// One run of `plan`: its exit status and output, the summary rows by lock, the JUnit XML
    /// and the measurement rows.
    struct Run {
        var status: Int32
        var output: String
        var summary: [String: [String]]
        var xml: String
        var measurements: [[String]]

        /// A lock's JUnit suite.
        func suite(_ id: String) -> String {
            guard let start = xml.range(of: "<testsuite name=\"\(id)\"") else { return "" }
            let rest = xml[start.lowerBound...]
            return String(rest[..<(rest.range(of: "</testsuite>")?.upperBound ?? rest.endIndex)])
        }

        /// The times of a lock's battery readings (soak), in order.
        func readingTimes(_ id: String) -> [Date] {
            let parse = ISO8601DateFormatter()
            parse.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return measurements.filter { $0[0] == id && $0[6] == "battery_mv" }.compactMap { parse.date(from: $0[12]) }
        }
    }

    static func bench(_ plan: String, _ extra: [String] = [], daemon: DaemonProcess, in dir: TemporaryDirectory, name: String) throws -> Run {
        let planPath = dir.path + "/\(name).yaml"
        try plan.write(toFile: planPath, atomically: true, encoding: .utf8)
        let run = try ChildProcess.run("lockdiag", ["bench", "run", planPath, "--junit", dir.path + "/\(name).xml", "--csv", dir.path + "/\(name)",
                                                    "--socket", daemon.socketPath] + extra, timeoutSeconds: 120)
        let summary = try parseCSV(try String(contentsOfFile: dir.path + "/\(name)/summary.csv", encoding: .utf8))
        let xml = try String(contentsOfFile: dir.path + "/\(name).xml", encoding: .utf8)
        #expect(try validateJUnit(xml).valid)
        return Run(status: run.status, output: run.stdout + run.stderr, summary: Dictionary(uniqueKeysWithValues: summary.dropFirst().map { ($0[0], $0) }),
                   xml: xml, measurements: try parseCSV(try String(contentsOfFile: dir.path + "/\(name)/measurements.csv", encoding: .utf8)))
    }

    // Summary columns (CSVWriter.summaryHeader).
    static let verdict = 4, passed = 6, failed = 7, skipped = 9, firstProblem = 12

    /// `stop_on_failure: true` stops a lock at its first failed step and reports the rest
    /// skipped; by default (false) every step runs.
    @Test func stopOnFailureSkipsTheRestOfAFailingLocksStepsAndOnlyThen() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,battery-worn", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "benchstop")
        defer { dir.remove() }
        let steps = """
            steps:
              - wait_for_attach: 30s
              - self_test: [battery]
              - identify
              - require_firmware: 2.0.0
            """
        let stopping = try Self.bench("name: stop\nlocks: {expect: 2}\nstop_on_failure: true\n" + steps, daemon: daemon, in: dir, name: "stop")
        #expect(stopping.status == 2, "\(stopping.output)")
        let worn = try #require(stopping.summary["SIM-0001-001"], "\(stopping.summary)")
        #expect(worn[Self.verdict] == "fail" && worn[Self.passed] == "1" && worn[Self.failed] == "1" && worn[Self.skipped] == "2", "\(worn)")
        #expect(worn[Self.firstProblem].contains("step 2"), "\(worn)")
        #expect(stopping.suite("SIM-0001-001").components(separatedBy: "<skipped message=\"not run: an earlier step failed (stop_on_failure)\"/>").count - 1 == 2,
                "\(stopping.suite("SIM-0001-001"))")
        // The healthy lock is not held back by the other's failure.
        let healthy = try #require(stopping.summary["SIM-0001-000"])
        #expect(healthy[Self.verdict] == "pass" && healthy[Self.passed] == "4" && healthy[Self.skipped] == "0", "\(healthy)")

        // The default: every step runs on the failing lock too.
        let all = try Self.bench("name: all\nlocks: {expect: 2}\n" + steps, daemon: daemon, in: dir, name: "all")
        let wornAll = try #require(all.summary["SIM-0001-001"], "\(all.summary)")
        #expect(wornAll[Self.verdict] == "fail" && wornAll[Self.passed] == "3" && wornAll[Self.failed] == "1" && wornAll[Self.skipped] == "0", "\(wornAll)")
        #expect(!all.xml.contains("<skipped"))
    }
}
