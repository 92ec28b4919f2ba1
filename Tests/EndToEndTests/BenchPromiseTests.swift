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

    /// `parallel` runs at most that many locks at once, the others shown `queued`; `--parallel`
    /// overrides it; without either every lock runs at once. Seen in when each lock's soak
    /// readings were taken: one lock's all come before the next lock's first, or they interleave.
    @Test func parallelBoundsHowManyLocksRunAtOnceAndTheFlagOverridesIt() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,healthy,healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "benchpar")
        defer { dir.remove() }
        let ids = ["SIM-0001-000", "SIM-0001-001", "SIM-0001-002"]
        let steps = "steps:\n  - wait_for_attach: 30s\n  - soak: 2s\n"
        let one = "name: one at a time\nlocks: {expect: 3}\nparallel: 1\n" + steps

        func spans(_ run: Run) -> [(first: Date, last: Date)] {
            ids.compactMap { id in
                let times = run.readingTimes(id)
                guard let first = times.first, let last = times.last else { return nil }
                return (first, last)
            }
        }
        let serial = try Self.bench(one, daemon: daemon, in: dir, name: "serial")
        #expect(serial.status == 0, "\(serial.output)")
        let serialSpans = spans(serial).sorted { $0.first < $1.first }
        #expect(serialSpans.count == 3)
        for (earlier, later) in zip(serialSpans, serialSpans.dropFirst()) {
            #expect(later.first > earlier.last, "parallel: 1 ran two locks at once: \(serialSpans)")
        }

        // The same plan with --parallel 3, and a plan without `parallel`: all three at once.
        let overridden = try Self.bench(one, ["--parallel", "3"], daemon: daemon, in: dir, name: "overridden")
        let unbounded = try Self.bench("name: all at once\nlocks: {expect: 3}\n" + steps, daemon: daemon, in: dir, name: "unbounded")
        for run in [overridden, unbounded] {
            #expect(run.status == 0, "\(run.output)")
            let s = spans(run)
            #expect(s.count == 3)
            #expect(s.map(\.first).max()! < s.map(\.last).min()!, "not all three soaked at once: \(s)")
        }

        // On a terminal the locks waiting for a slot are shown `queued`.
        let planPath = dir.path + "/serial.yaml"
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        script.arguments = ["-qfec", "\(try ChildProcess.product("lockdiag")) bench run \(planPath) --socket \(daemon.socketPath)", "/dev/null"]
        let output = Pipe()
        script.standardOutput = output
        script.standardInput = FileHandle.nullDevice
        try script.run()
        let screen = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        script.waitUntilExit()
        #expect(script.terminationStatus == 0, "\(screen)")
        #expect(screen.contains("queued"), "\(screen)")
    }

    /// `soak: T` passes a lock that stays online without a new confirmed fault, reading its
    /// battery once a second; a lock that gains a confirmed fault or goes offline during the
    /// soak fails it.
    @Test func soakFailsALockThatGainsAConfirmedFaultOrGoesOffline() throws {
        let locks = try SimulatedPtyLocks(count: 3, ["--activity", "0", "--seed", "21"])
        defer { locks.stop() }
        let sim = locks.child
        let daemon = try DaemonProcess(locks.paths.flatMap { ["--serial", $0] } + ["--no-discovery"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let dir = try TemporaryDirectory(prefix: "benchsoak")
        defer { dir.remove() }
        let planPath = dir.path + "/soak.yaml"
        try """
            name: soak
            locks: {expect: 3}
            steps:
              - wait_for_attach: 30s
              - soak: 8s
            """.write(toFile: planPath, atomically: true, encoding: .utf8)
        let bench = try ChildProcess("lockdiag", ["bench", "run", planPath, "--csv", dir.path + "/csv", "--socket", daemon.socketPath])
        var soaking = Set<String>()
        let deadline = Date().addingTimeInterval(30)
        while soaking.count < 3, let line = bench.readLine(within: deadline.timeIntervalSinceNow) {
            if line.contains(": step 2/2 soak") { soaking.insert(String(line.split(separator: " ")[1].dropLast())) }
        }
        #expect(soaking.count == 3, "stdout: \(bench.allOutput)")
        // Lock 1's tamper switch trips until the fault is confirmed; lock 2's cable is pulled.
        sim.send("unplug 2")
        let tampered = "SIM-0015-001"
        #expect(try TestSupport.wait(upTo: 6) {
            sim.send("tamper 1")
            return try client.call(APIMethod.faultsList, params: ["device": .string(tampered)]).decode(as: FaultsList.self).faults
                .contains { $0.code == "0x0701" && $0.status == .confirmed }
        })
        #expect(bench.waitForExit(within: 30))
        #expect(bench.process.terminationStatus == 2, "stdout: \(bench.allOutput)\nstderr: \(bench.allErrors)")
        let summary = try parseCSV(try String(contentsOfFile: dir.path + "/csv/summary.csv", encoding: .utf8))
        let rows = Dictionary(uniqueKeysWithValues: summary.dropFirst().map { ($0[0], $0) })
        #expect(rows["SIM-0015-000"]?[Self.verdict] == "pass", "\(summary)")
        #expect(rows[tampered]?[Self.verdict] == "fail" && rows[tampered]?[Self.firstProblem].contains("confirmed fault 0x0701 tamper") == true, "\(summary)")
        #expect(rows["SIM-0015-002"]?[Self.verdict] == "fail" && rows["SIM-0015-002"]?[Self.firstProblem].contains("went offline") == true, "\(summary)")
        // The battery, once a second: 8 readings in 8 s, give or take the one at the end.
        let measurements = try parseCSV(try String(contentsOfFile: dir.path + "/csv/measurements.csv", encoding: .utf8))
        let readings = measurements.filter { $0[0] == "SIM-0015-000" && $0[6] == "battery_mv" }
        #expect((7...9).contains(readings.count), "\(readings)")
    }

    /// `no_confirmed_faults` fails on a confirmed fault unless `ignore` names it, by its catalog
    /// name or by its code.
    @Test func noConfirmedFaultsIgnoresWhatItIsToldByNameOrCode() throws {
        let daemon = try DaemonProcess(["--simulate", "tamper", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 20) {
            try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults.contains { $0.code == "0x0701" && $0.status == .confirmed }
        })
        let confirmed = try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults.filter { $0.status == .confirmed }
        let dir = try TemporaryDirectory(prefix: "benchignore")
        defer { dir.remove() }
        func verdict(_ check: String, _ name: String) throws -> Run {
            try Self.bench("name: \(name)\nlocks: all\nsteps:\n  - \(check)\n", daemon: daemon, in: dir, name: name)
        }
        let strict = try verdict("no_confirmed_faults", "strict")
        #expect(strict.status == 2 && strict.summary["SIM-0001-000"]?[Self.firstProblem].contains("confirmed fault 0x0701 tamper") == true, "\(strict.summary)")
        // Everything else confirmed is ignored too, so only the tamper fault decides.
        let others = confirmed.filter { $0.code != "0x0701" }.map(\.name)
        for (name, ignore) in [("byname", ["tamper"]), ("bycode", ["0x0701"])] {
            let run = try verdict("no_confirmed_faults: {ignore: [\((ignore + others).joined(separator: ", "))]}", name)
            #expect(run.status == 0 && run.summary["SIM-0001-000"]?[Self.verdict] == "pass", "ignore \(ignore + others): \(run.summary)")
        }
    }

    /// Each lock runs on a thread of its own with a connection of its own (and the run one more);
    /// a lock busy with someone else's motor self-test is waited for, not failed.
    @Test func oneThreadAndOneConnectionPerLockAndABusyLockIsWaitedFor() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,healthy,healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "benchthreads")
        defer { dir.remove() }
        let planPath = dir.path + "/soak.yaml"
        try "name: threads\nlocks: {expect: 3}\nsteps:\n  - wait_for_attach: 30s\n  - soak: 20s\n".write(toFile: planPath, atomically: true, encoding: .utf8)
        let bench = try ChildProcess("lockdiag", ["bench", "run", planPath, "--socket", daemon.socketPath])
        defer { bench.signal(SIGKILL) }
        let pid = bench.process.processIdentifier
        func benchThreads() -> Int {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            return tasks.filter { ((try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8)) ?? "").hasPrefix("bench-") }.count
        }
        // The connections lockdiagd has open: the bench's and this test's own.
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func sockets() throws -> Int { try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).clients?.connectionsOpen ?? -1 }
        var soaking = 0
        let deadline = Date().addingTimeInterval(30)
        while soaking < 3, let line = bench.readLine(within: deadline.timeIntervalSinceNow) {
            if line.contains(": step 2/2 soak") { soaking += 1 }
        }
        #expect(soaking == 3, "\(bench.allOutput)")
        #expect(try TestSupport.wait(upTo: 10) { try benchThreads() == 3 && sockets() == 4 + 1 }, "threads \(benchThreads()), connections \((try? sockets()) ?? -1)")
        bench.signal(SIGINT)
        #expect(bench.waitForExit(within: 20))

        // Someone runs the motor self-test on a lock; a bench self-test sent meanwhile waits.
        let lock = "SIM-0001-000"
        let request = try client.send(APIMethod.testsRun, params: ["device": .string(lock), "test": "motor", "confirm": true], timeoutSeconds: 60)
        #expect(try TestSupport.wait(upTo: 10) {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(lock)]).decode(as: DeviceStatus.self).motor.state != "idle"
        })
        let run = try Self.bench("name: busy\nlocks: {ids: [\(lock)]}\nsteps:\n  - self_test: [battery]\n", daemon: daemon, in: dir, name: "busy")
        #expect(run.status == 0 && run.summary[lock]?[Self.verdict] == "pass", "\(run.summary) \(run.output)")
        var motorTest: Result<JSONValue, RPCError>?
        let replyBy = Date().addingTimeInterval(30)
        while motorTest == nil, Date() < replyBy, let event = try client.poll(timeoutSeconds: 1) {
            if case .reply(let id, let result) = event, id == request { motorTest = result }
        }
        // The bench's self-test came while the motor ran: it was NAKed busy and waited.
        guard case .success(let reply)? = motorTest else {
            Issue.record("the motor self-test did not come back: \(String(describing: motorTest))")
            return
        }
        #expect(try reply.decode(as: TestRun.self).verdict == .pass)
    }
}

