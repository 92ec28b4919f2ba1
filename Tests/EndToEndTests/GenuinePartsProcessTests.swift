import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// Genuine-part checks with real processes: locksim's simulated parts (LDP/1.1 over ptys), a real
/// lockdiagd that checks them when the locks attach, and the lockdiag CLI.
@Suite(.serialized) struct GenuinePartsProcessTests {
    /// A folder holding the demo maker's root, as a station that services simulated locks would
    /// configure it (`--part-roots`).
    static func demoRoots() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "roots")
        try FileManager.default.copyItem(atPath: TestSupport.firmwareSpec("parts/demo/demo-maker-root.json").path,
                                         toPath: dir.path + "/demo-maker-root.json")
        return dir
    }

    func faults(_ client: JSONRPCClient, _ device: String) throws -> [Fault] {
        try client.call(APIMethod.faultsList, params: ["device": .string(device)]).decode(as: FaultsList.self).faults
    }

    @Test func counterfeitAndWrongSerialPartsAreFlaggedAndGenuineOnesPass() async throws {
        let roots = try Self.demoRoots()
        defer { roots.remove() }
        let locks = try SimulatedPtyLocks(count: 3, ["--scenario", "healthy,counterfeit-fingerprint,wrong-serial-part", "--parts", "--activity", "0", "--seed", "23"])
        defer { locks.stop() }
        let ids = (0..<3).map { String(format: "SIM-0017-%03d", $0) }
        let daemon = try DaemonProcess(["--no-discovery", "--part-roots", roots.path] + locks.paths.flatMap { ["--serial", $0] })
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        // Checked on attach, without anyone asking: the faults appear by themselves.
        for id in ids.dropFirst() {
            let flagged = try await TestSupport.wait(upTo: 20, pollEvery: 0.1) { () async throws -> Bool in
                // Not listed yet (still opening its pty) is not yet flagged.
                ((try? faults(client, id)) ?? []).contains { $0.name == "counterfeit_part" && $0.status == .confirmed }
            }
            #expect(flagged, "\(id) has no confirmed counterfeit_part")
        }
        let counterfeit = try #require(try faults(client, ids[1]).first { $0.name == "counterfeit_part" })
        #expect((counterfeit.freezeFrame?.evidence ?? "").contains("fingerprint module FPM-SIM-0017-001: counterfeit, its certificate is self-signed"))
        let wrongSerial = try #require(try faults(client, ids[2]).first { $0.name == "counterfeit_part" })
        #expect((wrongSerial.freezeFrame?.evidence ?? "").contains("battery pack BAT-SIM-0017-002: wrong_serial"))

        let healthy = try ChildProcess.run("lockdiag", ["parts", ids[0], "--socket", daemon.socketPath])
        #expect(healthy.status == 0, "\(healthy.stderr)")
        #expect(healthy.stdout.contains("All 3 parts are genuine."))
        #expect(try faults(client, ids[0]).isEmpty)

        let fake = try ChildProcess.run("lockdiag", ["parts", ids[1], "--socket", daemon.socketPath])
        #expect(fake.status == 2)
        #expect(fake.stdout.contains("fingerprint module  FPM-SIM-0017-001  counterfeit"), "\(fake.stdout)")
        #expect(fake.stdout.contains("battery pack        BAT-SIM-0017-001  genuine"))
        #expect(fake.stdout.contains("Replace each part named above"))

        let json = try ChildProcess.run("lockdiag", ["parts", ids[2], "--json", "--socket", daemon.socketPath])
        #expect(json.status == 2)
        let result = try JSONDecoder().decode(PartsResult.self, from: Data(json.stdout.utf8))
        #expect(result.parts.map(\.verdict) == ["genuine", "wrong_serial", "genuine"])

        // The signed report lists every part, verifies, and fails once a verdict is changed.
        let out = try TemporaryDirectory(prefix: "report")
        defer { out.remove() }
        let made = try ChildProcess.run("lockdiag", ["report", ids[1], "--output", out.path + "/r.json", "--socket", daemon.socketPath])
        #expect(made.status == 0 || made.status == 2, "\(made.stderr)")
        let text = try String(contentsOfFile: out.path + "/r.json", encoding: .utf8)
        #expect(text.contains("\"FPM-SIM-0017-001\"") && text.contains("\"not_genuine\""))
        let verified = try ChildProcess.run("lockdiag", ["verify", out.path + "/r.json"])
        #expect(verified.stdout.contains("the signature is valid"), "\(verified.stdout)")
        try text.replacingOccurrences(of: "\"counterfeit\"", with: "\"genuine\"").write(toFile: out.path + "/r.json", atomically: true, encoding: .utf8)
        let altered = try ChildProcess.run("lockdiag", ["verify", out.path + "/r.json"])
        #expect(altered.stdout.contains("INVALID"), "\(altered.stdout)")
    }

    /// The demo maker's private key is public: a station trusts it only when told to, so by
    /// default even the simulator's healthy parts are refused.
    @Test func withoutTheDemoRootSimulatedPartsAreNotTrusted() async throws {
        let locks = try SimulatedPtyLocks(count: 1, ["--scenario", "healthy", "--parts", "--activity", "0", "--seed", "24"])
        defer { locks.stop() }
        let daemon = try DaemonProcess(["--no-discovery", "--serial", locks.paths[0]])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let refused = try await TestSupport.wait(upTo: 20, pollEvery: 0.1) { () async throws -> Bool in
            ((try? faults(client, "SIM-0018-000")) ?? []).contains { $0.name == "counterfeit_part" && ($0.freezeFrame?.evidence ?? "").contains("not a trusted maker root") }
        }
        #expect(refused)
    }

    /// `genuine_parts` in a bench plan: the embedded simulated locks of `--simulate` (whose demo
    /// root lockdiagd trusts then) pass or fail the step by their parts.
    @Test func theBenchStepPassesGenuinePartsAndFailsACounterfeit() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,counterfeit-fingerprint", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let dir = try TemporaryDirectory(prefix: "benchparts")
        defer { dir.remove() }
        let run = try BenchPromiseTests.bench("locks: all\nsteps:\n  - wait_for_attach: 30s\n  - genuine_parts\n", daemon: daemon, in: dir, name: "parts")
        #expect(run.status == 2, "\(run.output)")
        let rows = run.summary.values.sorted { $0[0] < $1[0] }
        #expect(rows.map { $0[BenchPromiseTests.verdict] } == ["pass", "fail"], "\(rows)")
        #expect(rows[1][BenchPromiseTests.firstProblem].contains("fingerprint module FPM-SIM-0001-001 is counterfeit: its certificate is self-signed"),
                "\(rows[1])")
        #expect(run.xml.contains("genuine parts") && run.xml.contains("is counterfeit: its certificate is self-signed"))
    }

    @Test func aBadRootFolderStopsTheDaemonWithTheFileNamed() throws {
        let dir = try TemporaryDirectory(prefix: "roots")
        defer { dir.remove() }
        try #"{"maker_id": 1, "public_key": "00"}"#.write(toFile: dir.path + "/bad.json", atomically: true, encoding: .utf8)
        let run = try ChildProcess.run("lockdiagd", ["--no-discovery", "--simulate", "healthy", "--part-roots", dir.path,
                                                    "--socket", dir.path + "/s.sock", "--db", dir.path + "/h.sqlite"], timeoutSeconds: 20)
        #expect(run.status == 64)
        #expect(run.stderr.contains("--part-roots: part trust root \(dir.path)/bad.json: public_key is missing or not 64 hex digits"), "\(run.stderr)")
    }
}
