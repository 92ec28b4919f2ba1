import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import Testing

/// ldp-v1.md §7.3: "Unknown ids are kept and shown as numbers." A SELFTEST_RESULT with a
/// measurement id this host does not know (42) reaches the `tests.run` result and `lockdiag test`,
/// and the signed report made afterwards carries it (and still verifies, JSON and page).
@Suite(.serialized) struct UnknownMeasurementTests {
    @Test func anUnknownMeasurementIdIsKeptAndShownAsANumber() throws {
        let lock = try LDPTestLock(measurements: [LockProtocol.Measurement(.batteryRestMv, 6100), LockProtocol.Measurement(MeasurementID(rawValue: 42), 4711)])
        let rig = try LDPTestRig(lock)
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let raw = try rig.client.call(APIMethod.testsRun, params: ["device": "LDP-TEST-1", "test": "battery"])
        #expect(raw.jsonText.contains(#""other_measurements":[{"id":42,"value":4711}]"#), "\(raw.jsonText)")
        let run = try raw.decode(as: TestRun.self)
        #expect(run.results.first?.otherMeasurements == [OtherMeasurement(id: 42, value: 4711)])
        #expect(run.results.first?.measurements.batteryRestMillivolts == 6100, "a known id is still read as itself")

        let cli = try ChildProcess.run("lockdiag", ["test", "LDP-TEST-1", "battery", "--socket", rig.daemon.socketPath])
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout.contains("    measurement 42       4711 (unknown to this lockdiag)"), "\(cli.stdout)")

        // The report is made from the history: the kept measurement is in its signed content.
        let env = [DefaultPaths.socketEnvironmentVariable: rig.daemon.socketPath]
        let json = rig.daemon.directory.path + "/report.json", html = rig.daemon.directory.path + "/report.html"
        let made = try ChildProcess.run("lockdiag", ["report", "LDP-TEST-1", "-o", json, "--html", html], environment: env)
        #expect(made.status == 0 || made.status == 2, "\(made.stderr)")
        let file = String(decoding: try #require(FileManager.default.contents(atPath: json)), as: UTF8.self)
        #expect(file.contains(#""other_measurements":[{"id":42,"value":4711}]"#), "\(file)")
        let publicKey = try ChildProcess.run("lockdiag", ["key", "--public"], environment: env).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for path in [json, html] {
            let verified = try ChildProcess.run("lockdiag", ["verify", path, "--key", publicKey])
            #expect(verified.status == 0 && verified.stdout.hasPrefix("valid"), "\(path): \(verified.stdout) \(verified.stderr)")
        }
    }
}
