import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// `lockdiag bench run` (the real binary) against a real lockdiagd with simulated locks; its
/// JUnit XML checked with xmllint against the schema, its CSV with Python's csv reader.
@Suite(.serialized) struct BenchTests {
    /// 20 locks: 12 healthy and one of each device-visible fault.
    static let scenarios = Array(repeating: "healthy", count: 12) + [
        "motor-stall", "motor-open", "clutch-slip", "battery-low", "battery-worn", "fingerprint-dead", "fingerprint-degraded", "tamper",
    ]

    static let plan = """
        name: rack of 20
        locks:
          model: LX-300
          expect: 20
        limits:
          motor_peak_current_ma: {max: 2400}
          actuation_time_ms: {max: 1500}
          internal_resistance_mohm: {max: 1200}
          fingerprint_image_quality: {min: 40}
        steps:
          - wait_for_attach: 30s
          - identify
          - require_firmware: 2.4.0
          - self_test: [battery, fingerprint]
          - actuate: {cycles: 1, pause: 100ms}
          - no_confirmed_faults
        """

    @Test func aPlanOnTwentyLocksGivesEachItsVerdict() throws {
        let daemon = try DaemonProcess(["--simulate", Self.scenarios.joined(separator: ","), "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "bench")
        defer { dir.remove() }
        let planPath = dir.path + "/plan.yaml"
        try Self.plan.write(toFile: planPath, atomically: true, encoding: .utf8)

        // Ten at a time: the other ten wait for a slot.
        let run = try ChildProcess.run("lockdiag", ["bench", "run", planPath, "--junit", dir.path + "/out.xml", "--csv", dir.path + "/csv",
                                                    "--parallel", "10", "--socket", daemon.socketPath], timeoutSeconds: 180)
        #expect(run.status == 2, "stderr: \(run.stderr)\nstdout: \(run.stdout)")

        // Each lock's verdict, by its scenario (serials are SIM-0001-<index>).
        let summary = try parseCSV(try String(contentsOfFile: dir.path + "/csv/summary.csv", encoding: .utf8))
        #expect(summary.count == 21, "\(summary)")
        var verdicts: [String: String] = [:]
        var problems: [String: String] = [:]
        for row in summary.dropFirst() {
            verdicts[row[0]] = row[4]
            problems[row[0]] = row[12]
        }
        for (index, scenario) in Self.scenarios.enumerated() {
            let id = "SIM-0001-" + String(format: "%03d", index)
            let expected = scenario == "healthy" ? "pass" : "fail"
            #expect(verdicts[id] == expected, "\(id) (\(scenario)): \(verdicts[id] ?? "missing") — \(problems[id] ?? "")")
        }
        // The JUnit XML: valid against the schema, a suite per lock, a case per step.
        let xml = try String(contentsOfFile: dir.path + "/out.xml", encoding: .utf8)
        // Why the faulty ones failed: a failure in their suite that fits their fault.
        func suite(_ id: String) -> String {
            guard let start = xml.range(of: "<testsuite name=\"\(id)\"") else { return "" }
            let rest = xml[start.lowerBound...]
            return String(rest[..<(rest.range(of: "</testsuite>")?.upperBound ?? rest.endIndex)])
        }
        for (id, evidence) in [("SIM-0001-012", "stalled"), ("SIM-0001-013", "open circuit"), ("SIM-0001-014", "timeout"),
                               ("SIM-0001-016", "battery internal resistance"), ("SIM-0001-018", "fingerprint image quality")] {
            #expect(suite(id).contains("<failure message=") && suite(id).contains(evidence), "\(id): \(problems[id] ?? "")\n\(suite(id))")
        }
        let validation = try validateJUnit(xml)
        #expect(validation.valid, "\(validation.message)")
        #expect(xml.components(separatedBy: "<testsuite ").count - 1 == 20)
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == 20 * 6)
        #expect(xml.contains("<testsuites name=\"rack of 20\" tests=\"120\""))
        #expect(xml.contains("internal resistance") && xml.contains("outside the limit ≤ 1200 mΩ"))

        // Every measurement and trace, parseable; healthy actuations within limits.
        let measurements = try parseCSV(try String(contentsOfFile: dir.path + "/csv/measurements.csv", encoding: .utf8))
        let peaks = measurements.filter { $0[0] == "SIM-0001-000" && $0[6] == "motor_peak_current_ma" }
        #expect(peaks.count == 2 && peaks.allSatisfy { $0[11] == "pass" }, "\(peaks)")
        let traces = try parseCSV(try String(contentsOfFile: dir.path + "/csv/traces.csv", encoding: .utf8))
        #expect(traces.count > 20 * 100, "traces: \(traces.count) rows")
        #expect(Set(traces.dropFirst().map { $0[0] }).count >= 19)

        // The summary table, and plain progress lines (stdout is not a terminal here).
        #expect(run.stdout.contains("rack of 20: 12 passed, 8 failed (20 locks"))
        #expect(run.stdout.contains("SIM-0001-013: step 5 FAIL"), "\(run.stdout)")
    }

    /// A rack of six (three healthy), bolts starting locked and unlocked, used by simulated
    /// people between the bench's moves (as the daemon's --simulate locks are by default): every
    /// measured move is a full stroke from a known end, so every healthy lock passes the
    /// actuation-time limits, run after run, and every faulty one fails (issue 14, item 4).
    @Test func everyMoveStartsFromAKnownEndSoHealthyLocksPassWhereverTheirBoltsStart() throws {
        let scenarios = ["healthy", "healthy", "motor-stall", "healthy", "motor-open", "clutch-slip"]
        let links = try TemporaryDirectory(prefix: "rack")
        defer { links.remove() }
        // Round-robin: locks 0, 2, 4 start locked, 1, 3, 5 unlocked: healthy ones in both positions,
        // and the jamming one stuck part-way (it is homed to unlocked first, unmeasured).
        let sim = try ChildProcess("locksim", ["--pty", "--count", "6", "--scenario", scenarios.joined(separator: ","), "--bolt", "locked,unlocked",
                                               "--link-dir", links.path, "--activity", "1.5", "--seed", "11"])
        defer { sim.signal(SIGTERM) }
        for _ in scenarios { #expect(sim.readLine(within: 10) != nil) }
        let daemon = try DaemonProcess(scenarios.indices.flatMap { ["--serial", links.path + "/lock\($0)"] } + ["--no-discovery"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "bench")
        defer { dir.remove() }
        let planPath = dir.path + "/plan.yaml"
        try """
            name: known start
            locks: {expect: 6}
            limits:
              actuation_time_ms: {min: 200, max: 2000}
            steps:
              - wait_for_attach: 30s
              - actuate: {cycles: 2, pause: 200ms}
            """.write(toFile: planPath, atomically: true, encoding: .utf8)
        for round in 1...4 {
            let run = try ChildProcess.run("lockdiag", ["bench", "run", planPath, "--csv", dir.path + "/csv\(round)", "--socket", daemon.socketPath],
                                           timeoutSeconds: 120)
            #expect(run.status == 2, "round \(round): \(run.stdout)\(run.stderr)")
            let summary = try parseCSV(try String(contentsOfFile: dir.path + "/csv\(round)/summary.csv", encoding: .utf8))
            let verdicts = Dictionary(uniqueKeysWithValues: summary.dropFirst().map { ($0[0], ($0[4], $0[12])) })
            for (index, scenario) in scenarios.enumerated() {
                let id = "SIM-000B-00\(index)"
                let expected = scenario == "healthy" ? "pass" : "fail"
                // A link trouble (another process reading this pty, say) shows in the daemon's log: quoted.
                let link = daemon.child.allErrors.split(separator: "\n").filter { $0.contains(id) && ($0.contains("unanswered") || $0.contains("incomplete")) }
                #expect(verdicts[id]?.0 == expected, "round \(round), \(id) (\(scenario)): \(verdicts[id].map { "\($0.0) — \($0.1)" } ?? "missing") \(link.prefix(3))")
            }
            // Each healthy lock made its four measured moves, each a full stroke (the limits held).
            let measurements = try parseCSV(try String(contentsOfFile: dir.path + "/csv\(round)/measurements.csv", encoding: .utf8))
            for index in scenarios.indices where scenarios[index] == "healthy" {
                let times = measurements.filter { $0[0] == "SIM-000B-00\(index)" && $0[6] == "actuation_time_ms" && ["lock", "unlock"].contains($0[4]) }
                #expect(times.count == 4 && times.allSatisfy { $0[11] == "pass" }, "round \(round), lock \(index): \(times)")
            }
        }
    }

    @Test func anInvalidPlanIsRefusedBeforeAnyMotorMoves() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        func actuations() throws -> [UInt32] {
            let list = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
            return try list.map { try client.call(APIMethod.deviceStatus, params: ["device": .string($0.id)]).decode(as: DeviceStatus.self).actuations ?? 0 }
        }
        #expect(try TestSupport.wait(upTo: 10) { try actuations().allSatisfy { $0 > 0 } })
        let before = try actuations()
        let dir = try TemporaryDirectory(prefix: "bench")
        defer { dir.remove() }
        let planPath = dir.path + "/bad.yaml"
        try """
            locks: all
            steps:
              - actuate: {cycles: 5, pause: 100ms}
              - actuate: {cycles: 0}
            """.write(toFile: planPath, atomically: true, encoding: .utf8)
        let run = try ChildProcess.run("lockdiag", ["bench", "run", planPath, "--junit", dir.path + "/out.xml", "--socket", daemon.socketPath])
        #expect(run.status == 64)
        #expect(run.stderr.contains("the plan is invalid; nothing was run"))
        #expect(run.stderr.contains("bad.yaml:4:"), "\(run.stderr)")
        #expect(run.stderr.contains("cycles' is 0"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out.xml"))
        let motors = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.map { device in
            try client.call(APIMethod.deviceStatus, params: ["device": .string(device.id)]).decode(as: DeviceStatus.self).motor.state
        }
        #expect(motors.allSatisfy { $0 == "idle" })
        #expect(try actuations() == before)
    }

    /// Two locks from one locksim; one unplugged mid-run; a third lock from a second locksim
    /// that starts after the run and joins it.
    @Test func aLockThatDisappearsFailsItsRemainingStepsAndALateOneJoins() throws {
        let linksA = try TemporaryDirectory(prefix: "simA")
        let linksB = try TemporaryDirectory(prefix: "simB")
        defer {
            linksA.remove()
            linksB.remove()
        }
        let simA = try ChildProcess("locksim", ["--pty", "--count", "2", "--link-dir", linksA.path, "--activity", "0", "--seed", "5"])
        defer { simA.signal(SIGTERM) }
        #expect(simA.readLine(within: 10) != nil && simA.readLine(within: 10) != nil)
        let daemon = try DaemonProcess(["--serial", linksA.path + "/lock0", "--serial", linksA.path + "/lock1", "--serial", linksB.path + "/lock0"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "bench")
        defer { dir.remove() }
        let planPath = dir.path + "/plan.yaml"
        try """
            name: late and lost
            locks: {model: LX-300, join_late: true}
            steps:
              # A short attach window: the third lock comes after it, so it joins late.
              - wait_for_attach: 1s
              - identify
              - actuate: {cycles: 4, pause: 300ms}
              - no_confirmed_faults: {ignore: [link_lost, response_timeout]}
            """.write(toFile: planPath, atomically: true, encoding: .utf8)
        let bench = try ChildProcess("lockdiag", ["bench", "run", planPath, "--junit", dir.path + "/out.xml", "--csv", dir.path + "/csv",
                                                  "--socket", daemon.socketPath])
        // Once both locks are cycling: pull lock 1's cable and plug in the late lock.
        var cycling = Set<String>()
        let deadline = Date().addingTimeInterval(30)
        while cycling.count < 2, let line = bench.readLine(within: deadline.timeIntervalSinceNow) {
            if line.contains(": cycle 1/4") { cycling.insert(String(line.split(separator: " ")[1])) }
        }
        #expect(cycling.count == 2, "stdout: \(bench.allOutput)")
        simA.send("unplug 1")
        let simB = try ChildProcess("locksim", ["--pty", "--link-dir", linksB.path, "--activity", "0", "--seed", "6"])
        defer { simB.signal(SIGTERM) }
        #expect(bench.waitForExit(within: 90))
        #expect(bench.process.terminationStatus == 2, "stdout: \(bench.allOutput)\nstderr: \(bench.allErrors)")

        let summary = try parseCSV(try String(contentsOfFile: dir.path + "/csv/summary.csv", encoding: .utf8))
        let rows = Dictionary(uniqueKeysWithValues: summary.dropFirst().map { ($0[0], $0) })
        #expect(rows["SIM-0005-000"]?[4] == "pass", "\(summary)")
        let lost = try #require(rows["SIM-0005-001"])
        #expect(lost[4] == "fail")
        #expect(lost[12].contains("went offline"), "\(lost)")
        let late = try #require(rows["SIM-0006-000"], "the late lock did not join: \(summary)")
        #expect(late[4] == "pass" && late[11] == "true", "\(late)")

        let xml = try String(contentsOfFile: dir.path + "/out.xml", encoding: .utf8)
        #expect(try validateJUnit(xml).valid)
        // The lost lock's remaining step fails with the reason, not silently.
        #expect(xml.contains("<error message=\"not run: SIM-0005-001 went offline"), "\(xml)")
        #expect(xml.contains("<property name=\"joined_late\" value=\"true\"/>"))
    }

    @Test func ctrlCLetsTheRunningActuationFinishAndStillWritesPartialResults() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "bench")
        defer { dir.remove() }
        let planPath = dir.path + "/plan.yaml"
        try """
            name: long run
            locks: all
            steps:
              - identify
              - actuate: {cycles: 50, pause: 200ms}
              - no_confirmed_faults
            """.write(toFile: planPath, atomically: true, encoding: .utf8)
        let bench = try ChildProcess("lockdiag", ["bench", "run", planPath, "--junit", dir.path + "/out.xml", "--csv", dir.path + "/csv",
                                                  "--socket", daemon.socketPath])
        var cycled = false
        let deadline = Date().addingTimeInterval(30)
        while !cycled, let line = bench.readLine(within: deadline.timeIntervalSinceNow) { cycled = line.contains(": cycle 1/50 ok") }
        #expect(cycled, "stdout: \(bench.allOutput)")
        bench.signal(SIGINT)
        #expect(bench.waitForExit(within: 45))
        #expect(bench.process.terminationStatus == 130, "stdout: \(bench.allOutput)\nstderr: \(bench.allErrors)")
        #expect(bench.allErrors.contains("stopping: no new actuation or self-test"))

        let xml = try String(contentsOfFile: dir.path + "/out.xml", encoding: .utf8)
        #expect(try validateJUnit(xml).valid)
        #expect(xml.contains("<error message=\"interrupted (Ctrl-C) after "), "\(xml)")
        #expect(xml.contains("<skipped message=\"interrupted (Ctrl-C) before this step ran\"/>"))
        let measurements = try parseCSV(try String(contentsOfFile: dir.path + "/csv/measurements.csv", encoding: .utf8))
        #expect(measurements.contains { $0[6] == "motor_peak_current_ma" })

        // Nothing moves after the stop: both motors idle, and the actuation counters hold.
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let ids = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.map(\.id)
        func states() throws -> [DeviceStatus] {
            try ids.map { try client.call(APIMethod.deviceStatus, params: ["device": .string($0)]).decode(as: DeviceStatus.self) }
        }
        #expect(try TestSupport.wait(upTo: 5) { try states().allSatisfy { $0.motor.state == "idle" } })
        let counts = try states().map(\.actuations)
        let lastActuations = try states().map { $0.lastActuation?.actuation }
        // A host actuation started after the stop would show up in the lock's status within a poll.
        #expect(!(try TestSupport.wait(upTo: 1.5) { try states().map(\.actuations) != counts }))
        #expect(try states().map { $0.lastActuation?.actuation } == lastActuations)
    }

    @Test func locksThePlanExpectsButNeverCameFailTheRun() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--serial", "/dev/ttyLOCKDIAG-absent"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "bench")
        defer { dir.remove() }
        let planPath = dir.path + "/plan.yaml"
        try """
            locks: {expect: 2}
            steps:
              - wait_for_attach: 1s
              - identify
            """.write(toFile: planPath, atomically: true, encoding: .utf8)
        let run = try ChildProcess.run("lockdiag", ["bench", "run", planPath, "--csv", dir.path, "--socket", daemon.socketPath])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let summary = try parseCSV(try String(contentsOfFile: dir.path + "/summary.csv", encoding: .utf8))
        let rows = Dictionary(uniqueKeysWithValues: summary.dropFirst().map { ($0[0], $0) })
        #expect(rows["SIM-0001-000"]?[4] == "pass", "\(summary)")
        // The absent port is a lock of the run (selection all) that never attached.
        let absent = try #require(rows["/dev/ttyLOCKDIAG-absent"], "\(summary)")
        #expect(absent[4] == "fail" && absent[12].contains("did not attach within 1 s"), "\(absent)")
    }
}
