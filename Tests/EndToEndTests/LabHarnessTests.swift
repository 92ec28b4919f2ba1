import Foundation
import LockDiagTestSupport
import Testing

/// The kernel lab's own failure path (docs/lab.md § Scenarios), on the host: the guest's runner,
/// scripts/lab/guest-run.sh, given scenarios of this test's that pass, fail and overrun their
/// deadline, each written with the real scripts/lab/lib.sh. A lab that cannot fail is no test.
@Suite struct LabHarnessTests {
    @Test func eachScenarioGetsAVerdictAndAnOverrunOneIsKilledAtItsLastStep() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("lab-harness-\(UUID().uuidString)")
        let scenarios = base.appendingPathComponent("scenarios"), out = base.appendingPathComponent("results")
        try fm.createDirectory(at: scenarios, withIntermediateDirectories: true)
        try fm.createDirectory(at: out, withIntermediateDirectories: true)
        let tag = String(UUID().uuidString.prefix(8)).lowercased()
        let passing = "passes-\(tag)", failing = "fails-\(tag)", overrunning = "overruns-\(tag)"
        defer {
            try? fm.removeItem(at: base)
            // lib.sh's work folders: /tmp/lab-NAME.XXXXXX.
            for entry in (try? fm.contentsOfDirectory(atPath: "/tmp")) ?? [] where entry.contains(tag) {
                try? fm.removeItem(atPath: "/tmp/" + entry)
            }
        }
        let lib = #". "$LAB_ROOT/scripts/lab/lib.sh""#
        let scripts = [
            passing: "# lab-deadline: 30\n\(lib)\nstep \"nothing to do\"\necho ok\n",
            failing: "# lab-deadline: 30\n\(lib)\nstep \"the lock answers\"\nwait_for 1 \"an answer that never comes\" false\n",
            overrunning: "# lab-deadline: 2\n\(lib)\nstep \"first\"\nstep \"waiting for a lock that never comes\"\nwait_for 600 \"the lock\" false\n",
        ]
        for (name, text) in scripts {
            try text.write(to: scenarios.appendingPathComponent("\(name).sh"), atomically: true, encoding: .utf8)
        }

        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: "/bin/sh")
        runner.arguments = [TestSupport.repositoryRoot.appendingPathComponent("scripts/lab/guest-run.sh").path,
                            [passing, failing, overrunning].joined(separator: ",")]
        runner.environment = ProcessInfo.processInfo.environment.merging(
            ["LAB_OUT_DIR": out.path, "LAB_SCENARIO_DIR": scenarios.path]) { $1 }
        runner.standardOutput = FileHandle.nullDevice
        runner.standardError = FileHandle.nullDevice
        try runner.run()
        // Bounded by the scenarios' own deadlines (1 s of waiting, a 2 s deadline).
        #expect(TestSupport.wait(upTo: 60, pollEvery: 0.05) { !runner.isRunning })
        if runner.isRunning { runner.terminate() }

        let verdicts = try String(contentsOf: out.appendingPathComponent("verdicts"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(verdicts.count == 3, "one verdict per scenario: \(verdicts)")
        #expect(verdicts.contains { $0.hasPrefix("PASS \(passing) ") }, "\(verdicts)")
        #expect(verdicts.contains { $0.hasPrefix("FAIL \(failing) ") && $0.hasSuffix(": timed out after 1s waiting for an answer that never comes") },
                "a failed scenario's verdict gives its reason: \(verdicts)")
        let overrun = verdicts.first { $0.hasPrefix("FAIL \(overrunning) ") } ?? ""
        #expect(overrun.contains("deadline of 2s passed (last step: step: waiting for a lock that never comes"),
                "an overrun is killed and names its last step: \(verdicts)")
        let log = try String(contentsOf: out.appendingPathComponent("\(failing).log"), encoding: .utf8)
        #expect(log.contains("FAIL: timed out after 1s"), "each scenario's output is kept: \(log)")
    }
}
