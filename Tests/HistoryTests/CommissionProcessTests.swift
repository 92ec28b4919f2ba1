import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Reports
import Testing

/// `lockdiag commission` end to end (docs/commissioning.md): real locksim locks on ptys, a real
/// lockdiagd, the real CLI in --yes mode; the test plays the installer on locksim's console,
/// acting when the CLI says what to do.
@Suite(.serialized) struct CommissionTests {
    static let seed = 0x51

    final class Rig {
        let sim: SimulatedPtyLocks
        let daemon: DaemonProcess
        let output: TemporaryDirectory

        init() throws {
            sim = try SimulatedPtyLocks(count: 2, ["--scenario", "healthy,strike-misaligned", "--activity", "0", "--seed", "\(CommissionTests.seed)"])
            daemon = try DaemonProcess(["--no-discovery"] + sim.paths.flatMap { ["--serial", $0] })
            output = try TemporaryDirectory(prefix: "cert")
            let client = JSONRPCClient(socketPath: daemon.socketPath)
            _ = TestSupport.wait(upTo: 15) {
                (try? client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.filter { $0.online && $0.serial != nil }.count) == 2
            }
        }

        func id(_ index: Int) -> String { String(format: "SIM-%04X-%03d", CommissionTests.seed, index) }

        /// Runs `lockdiag commission` on lock `index` as an installer would: opens and closes the
        /// door and presents a finger when told to. Returns the exit status and everything printed.
        func commission(_ index: Int, extra: [String] = []) throws -> (status: Int32, out: String, err: String) {
            let cli = try ChildProcess("lockdiag", ["commission", id(index), "--yes", "--wait", "30", "--socket", daemon.socketPath,
                                                    "-o", output.path + "/cert-\(index).json", "--html", output.path + "/cert-\(index).html"] + extra)
            return playInstaller(index, cli, done: "image_quality_min")
        }

        /// Acts on `child`'s lines as an installer: the door when told, a finger on the sensor
        /// between looks at the output while the fingerprint step runs (until `done` shows).
        func playInstaller(_ index: Int, _ cli: ChildProcess, done: String) -> (status: Int32, out: String, err: String) {
            let deadline = Date().addingTimeInterval(120)
            var presenting = false
            while Date() < deadline {
                // While the fingerprint step runs, a finger goes on the sensor between looks at the CLI.
                guard let line = cli.readLine(within: presenting ? 0.5 : 5) else {
                    if presenting { sim.command("finger \(index)") }
                    if !cli.process.isRunning { break }
                    continue
                }
                if line.contains("Open the door") { #expect(sim.command("door \(index) open") == "ok door \(index) open") }
                if line.contains("Close the door") { #expect(sim.command("door \(index) closed") == "ok door \(index) closed") }
                if line.contains("Present a finger") {
                    presenting = true
                    sim.command("finger \(index)")
                }
                if line.contains(done) { presenting = false }
            }
            #expect(cli.waitForExit(within: 10))
            return (cli.process.terminationStatus, cli.allOutput, cli.allErrors)
        }

        func stop() {
            #expect(daemon.stop() == 0)
            sim.stop()
            output.remove()
        }
    }

    @Test func aHealthyLockIsCommissionedAndItsCertificateVerifies() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let run = try rig.commission(0)
        #expect(run.status == 0, "stdout:\n\(run.out)\nstderr:\n\(run.err)")
        #expect(run.out.contains("COMMISSIONED: all 6 steps passed"))
        #expect(run.out.contains("✓ end_of_travel_rise"))
        #expect(!run.out.contains("✗"))

        let path = rig.output.path + "/cert-0.json"
        let bytes = try #require(FileManager.default.contents(atPath: path))
        let verification = ReportVerifier.verify(fileBytes: [UInt8](bytes))
        #expect(verification.valid, "\(verification.reason)")
        let certificate = try #require(verification.certificate)
        #expect(certificate.verdict == .pass && certificate.device.id == rig.id(0) && certificate.limitsModel == "LX-300")
        // locksim without --parts is an LDP/1.0 lock: the certificate says its parts could not be checked, and why.
        #expect(certificate.parts?.result == "not_checked" && certificate.parts?.problem?.contains("no genuine-part check") == true)
        let throwsClosed = try #require(certificate.steps.first { $0.step == "throws_door_closed" })
        #expect(throwsClosed.actuations.count == 4 && throwsClosed.actuations.allSatisfy { $0.door == "closed" && $0.trace != nil })
        // The page verifies too, and `lockdiag verify` says so.
        let verify = try ChildProcess.run("lockdiag", ["verify", rig.output.path + "/cert-0.html"])
        #expect(verify.status == 5 && verify.stdout.contains("UNTRUSTED") && verify.stdout.contains("commissioning certificate"), "\(verify)")

        // The docs' independent Python check (another Ed25519 and JSON implementation) agrees.
        if (try? runTool("/usr/bin/python3", ["-c", "import cryptography"]))?.status == 0 {
            let check = try runTool("/usr/bin/python3", ["-c", try IndependentCheckTests.docsRecipe(reading: path)])
            #expect(check.status == 0, "\(check.err)")
        }
        // One changed measurement and the certificate no longer verifies.
        let text = String(decoding: bytes, as: UTF8.self)
        let altered = text.replacingOccurrences(of: "\"verdict\":\"pass\"", with: "\"verdict\":\"fail\"", options: [], range: text.range(of: "\"verdict\":\"pass\""))
        #expect(altered != text)
        let alteredPath = rig.output.path + "/altered.json"
        #expect(FileManager.default.createFile(atPath: alteredPath, contents: Data(altered.utf8)))
        #expect(!ReportVerifier.verify(fileBytes: Array(altered.utf8)).valid)
        let refused = try ChildProcess.run("lockdiag", ["verify", alteredPath])
        #expect(refused.status == 2 && refused.stdout.contains("INVALID"), "\(refused)")
        if (try? runTool("/usr/bin/python3", ["-c", "import cryptography"]))?.status == 0 {
            #expect(try runTool("/usr/bin/python3", ["-c", try IndependentCheckTests.docsRecipe(reading: alteredPath)]).status != 0)
        }
        // The history keeps it like any signed report.
        let kept = try runTool("/usr/bin/sqlite3", [rig.daemon.databasePath, "SELECT count(*) FROM signed_report WHERE report_id = '\(certificate.certificateID)'"])
        #expect(kept.out.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(kept)")
    }

    @Test func aMisalignedStrikeIsFlaggedWithAdviceAndExitStatus2() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let run = try rig.commission(1)
        #expect(run.status == 2, "stdout:\n\(run.out)\nstderr:\n\(run.err)")
        #expect(run.out.contains("✗ end_of_travel_rise"))
        #expect(run.out.contains("FAULT strike_misaligned"))
        #expect(run.out.contains("→ Open the door and look for rub marks"))
        #expect(run.out.contains("NOT COMMISSIONED"))
        let bytes = try #require(FileManager.default.contents(atPath: rig.output.path + "/cert-1.json"))
        let certificate = try #require(ReportVerifier.verify(fileBytes: [UInt8](bytes)).certificate)
        #expect(certificate.verdict == .fail)
        let closed = try #require(certificate.steps.first { $0.step == "throws_door_closed" })
        #expect(closed.faults.contains("strike_misaligned"))
        let rise = try #require(closed.measurements.first { $0.name == "end_of_travel_rise" })
        #expect(rise.verdict == .fail && (rise.value ?? 0) > 1.2)
        // Door open, the same lock ran free.
        let open = try #require(certificate.steps.first { $0.step == "throws_door_open" })
        #expect(open.verdict == .pass)
        // The fault is raised on the lock too, with its evidence.
        let client = JSONRPCClient(socketPath: rig.daemon.socketPath)
        let faults = try client.call(APIMethod.faultsList, params: ["device": .string(rig.id(1))]).decode(as: FaultsList.self).faults
        #expect(faults.contains { $0.name == "strike_misaligned" && $0.freezeFrame?.evidence.contains("door closed") == true }, "\(faults.map(\.name))")
    }

    /// docs/commissioning.md: an installer's Ctrl-C (the client's connection closes) stops the
    /// throws — the one under way ends at its stop (LDP/1 has no abort), no further one starts.
    @Test func aClientThatGoesAwayStartsNoFurtherThrow() throws {
        let rig = try Rig()
        defer { rig.stop() }
        #expect(rig.sim.command("door 0 open") == "ok door 0 open")
        let client = JSONRPCClient(socketPath: rig.daemon.socketPath)
        func actuations() throws -> UInt32 {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(rig.id(0))]).decode(as: DeviceStatus.self).actuations ?? 0
        }
        let installer = JSONRPCClient(socketPath: rig.daemon.socketPath)
        let start = try installer.call(APIMethod.commissionStart, params: ["device": .string(rig.id(0)), "confirm": true, "wait_s": 20])
            .decode(as: CommissionProgress.self)
        let session: JSONValue = ["session": .string(start.session)]
        #expect(try installer.call(APIMethod.commissionStep, params: session, timeoutSeconds: 30).decode(as: CommissionProgress.self).next?.step
                == "throws_door_open")
        let before = try actuations()
        _ = try installer.send(APIMethod.commissionStep, params: session, timeoutSeconds: 30)
        #expect(try TestSupport.wait(upTo: 10, pollEvery: 0.05) { try actuations() > before })
        installer.close()
        #expect(rig.daemon.child.waitForErrorLine(containing: "abandoned by its client", within: 15) != nil, "\(rig.daemon.child.allErrors)")
        // The throw under way when it closed, and at most the one the lock had just accepted.
        let moved = try actuations() - before
        #expect(moved <= 2, "\(moved) throws after the client went away")
    }

    /// docs/socket-api.md "commission.start …": the refusals, each with its code, and nothing moves.
    @Test func commissionCallsAreRefusedAsDocumented() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let client = JSONRPCClient(socketPath: rig.daemon.socketPath)
        func code(_ method: String, _ params: JSONValue) -> Int? {
            do { _ = try client.call(method, params: params); return nil } catch {
                guard case .remote(let e) = error else { return nil }
                return e.code
            }
        }
        let id = JSONValue.string(rig.id(0))
        #expect(code(APIMethod.commissionStart, ["device": id]) == RPCError.Code.invalidParams)
        #expect(code(APIMethod.commissionStart, ["device": id, "confirm": true, "wait_s": 2]) == RPCError.Code.invalidParams)
        #expect(code(APIMethod.commissionStart, ["device": "nope", "confirm": true]) == RPCError.Code.unknownDevice)
        #expect(code(APIMethod.commissionStep, ["session": "nope"]) == RPCError.Code.invalidParams)
        let start = try client.call(APIMethod.commissionStart, params: ["device": id, "confirm": true]).decode(as: CommissionProgress.self)
        #expect(code(APIMethod.commissionStart, ["device": id, "confirm": true]) == RPCError.Code.busy, "one run per lock")
        #expect(code(APIMethod.commissionFinish, ["session": .string(start.session)]) == RPCError.Code.invalidParams, "steps still to run")
        let status = try client.call(APIMethod.deviceStatus, params: ["device": id]).decode(as: DeviceStatus.self)
        #expect(status.lastActuation?.source != "host", "nothing moved")
    }

    /// docs/commissioning.md: a bad limits file stops lockdiagd at start, saying what to fix.
    @Test func aBadLimitsFileStopsTheDaemonWithWhatToFix() throws {
        let dir = try TemporaryDirectory(prefix: "limits")
        defer { dir.remove() }
        let file = dir.path + "/limits.json"
        let shipped = try String(contentsOf: TestSupport.firmwareSpec("commissioning.json"), encoding: .utf8)
        try shipped.replacingOccurrences(of: "\"max_throw_ms\": 1100", with: "\"max_throw_ms\": \"fast\"")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ChildProcess.run("lockdiagd", ["--simulate", "healthy", "--commissioning-limits", file, "--socket", dir.path + "/s.sock",
                                                     "--db", dir.path + "/h.sqlite"], timeoutSeconds: 30)
        #expect(run.status != 0)
        #expect(run.stderr.contains("commissioning limits \(file): model \"LX-300\" \"max_throw_ms\" is \"fast\", must be a number in 100…3000"),
                "\(run.stderr)")
    }

    /// docs/bench.md: `commission` in a bench plan runs the same steps; each measurement lands in
    /// the results with its limit, and a failed one fails the step in JUnit.
    @Test func theBenchStepCommissionsAndReportsInJUnit() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let plan = rig.output.path + "/plan.yaml"
        try "name: end of line\nlocks: {ids: [\(rig.id(1))]}\nsteps:\n  - wait_for_attach: 30s\n  - commission: {wait: 30s}\n"
            .write(toFile: plan, atomically: true, encoding: .utf8)
        let junit = rig.output.path + "/junit.xml"
        let bench = try ChildProcess("lockdiag", ["bench", "run", plan, "--junit", junit, "--csv", rig.output.path + "/csv", "--socket", rig.daemon.socketPath])
        let run = rig.playInstaller(1, bench, done: "commission: Checking the controller")
        #expect(run.status == 2, "stdout:\n\(run.out)\nstderr:\n\(run.err)")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("throws_door_closed end_of_travel_rise") && xml.contains("<failure"), "\(xml)")
        let csv = try String(contentsOfFile: rig.output.path + "/csv/measurements.csv", encoding: .utf8)
        #expect(csv.contains("end_of_travel_rise") && csv.contains("image_quality_min") && csv.contains("battery_loaded_mv"), "\(csv)")
    }

    /// docs/commissioning.md, "The end-of-travel profile", in normal use: the diagnosis learns a
    /// lock's free-running profile from door-open lock throws and raises strike_misaligned when
    /// door-closed ones rub — no commissioning run needed. A healthy lock raises nothing.
    @Test func theLiveDiagnosisSeesAMisalignedStrikeInNormalUse() throws {
        let rig = try Rig()
        defer { rig.stop() }
        let client = JSONRPCClient(socketPath: rig.daemon.socketPath)
        /// A user's throw on locksim's console, waited for until lockdiagd has analysed it.
        func userThrow(_ index: Int, _ direction: String) throws {
            var number: Int?
            #expect(TestSupport.wait(upTo: 10, pollEvery: 0.1) {
                guard let answer = rig.sim.command("actuate \(index) \(direction)"), answer.hasPrefix("ok") else { return false }
                number = answer.split(separator: "=").last.flatMap { Int($0) }
                return true
            })
            #expect(try TestSupport.wait(upTo: 10, pollEvery: 0.05) {
                try client.call(APIMethod.deviceStatus, params: ["device": .string(rig.id(index))]).decode(as: DeviceStatus.self)
                    .lastActuation?.actuation == number
            }, "actuation \(number ?? -1) on \(rig.id(index)) never analysed")
        }
        func strikeFault(_ index: Int) throws -> Fault? {
            try client.call(APIMethod.faultsList, params: ["device": .string(rig.id(index))]).decode(as: FaultsList.self).faults
                .first { $0.name == "strike_misaligned" }
        }
        for index in [0, 1] {
            #expect(rig.sim.command("door \(index) open") == "ok door \(index) open")
            try userThrow(index, "unlock")
            try userThrow(index, "lock")
            #expect(rig.sim.command("door \(index) closed") == "ok door \(index) closed")
            // Four closed cycles: a short throw (1 in 4) is no rub reading, the others are.
            for _ in 0..<4 {
                try userThrow(index, "unlock")
                try userThrow(index, "lock")
            }
        }
        #expect(try strikeFault(0) == nil, "a healthy lock raised strike_misaligned")
        let fault = try #require(try strikeFault(1))
        #expect(fault.status == .confirmed && fault.freezeFrame?.evidence.contains("with the door closed") == true, "\(fault)")
    }

    @Test func aDoorNeverOpenedIsCouldNotRunNotAFailure() throws {
        let rig = try Rig()
        defer { rig.stop() }
        // Without --yes and without a terminal to ask on, nothing moves: a usage error.
        let unasked = try ChildProcess.run("lockdiag", ["commission", rig.id(0), "--socket", rig.daemon.socketPath])
        #expect(unasked.status == 64 && unasked.stderr.contains("add --yes"), "\(unasked)")
        let cli = try ChildProcess("lockdiag", ["commission", rig.id(0), "--yes", "--wait", "5", "--socket", rig.daemon.socketPath])
        #expect(cli.waitForExit(within: 30))
        #expect(cli.process.terminationStatus == 4, "\(cli.allOutput)\n\(cli.allErrors)")
        #expect(cli.allOutput.contains("Open the door fully"))
        #expect(cli.allErrors.contains("the door was not seen open within 5 s"))
    }
}
