import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// `lockdiag bench run` on a plan with `replay:`: a recorded lock, replayed by a lockdiagd the
/// CLI starts for the plan, tested by the plan's steps — a field case as a test.
@Suite(.serialized) struct BenchReplayTests {
    /// Records a simulated lock in `scenario` until `ready` says enough was seen; its serial.
    static func record(_ scenario: String, into file: String, until ready: (JSONRPCClient) throws -> Bool) throws -> String {
        let live = try DaemonProcess(["--simulate", scenario, "--simulate-activity", "0", "--no-discovery", "--record", file])
        let client = JSONRPCClient(socketPath: live.socketPath)
        #expect(try TestSupport.wait(upTo: 15) { try ready(client) })
        let serial = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first?.serial ?? "?"
        #expect(live.stop() == 0)
        return serial
    }

    /// The soak lets the replay play out (recordings here last a few seconds, replayed 5× faster)
    /// before the faults are looked at.
    static let plan = """
        name: field case
        locks: all
        replay: {file: case.pcapng, speed: 5}
        steps:
          - wait_for_attach: 30s
          - identify
          - soak: 4s
          - no_confirmed_faults

        """

    @Test func aHealthyRecordingPassesAndAStalledOneFailsOnItsFault() throws {
        for (scenario, passes) in [("healthy", true), ("motor-stall", false)] {
            let directory = try TemporaryDirectory(prefix: "benchrp")
            defer { directory.remove() }
            // Until the stall is confirmed; a healthy lock for 100 frames (2 s at 50 Hz), so every
            // request the driver makes (status, fault memory) has recorded answers to replay.
            let serial = try Self.record(scenario, into: directory.path + "/case.pcapng") { client in
                try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults.contains { $0.status == .confirmed } || scenario == "healthy"
                    && client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices.first.map { $0.frames >= 100 } == true
            }
            try Self.plan.write(toFile: directory.path + "/plan.yaml", atomically: true, encoding: .utf8)
            // No lockdiagd at the default socket: the plan's own one is used.
            let run = try ChildProcess.run("lockdiag", ["bench", "run", directory.path + "/plan.yaml", "--junit", directory.path + "/out.xml",
                                                        "--socket", directory.path + "/none.sock"], timeoutSeconds: 90)
            #expect(run.status == (passes ? 0 : 2), "\(scenario): \(run.stdout)\n\(run.stderr)")
            #expect(run.stderr.contains("replaying \(directory.path)/case.pcapng at 5.0×"), "\(run.stderr)")
            let junit = try String(contentsOfFile: directory.path + "/out.xml", encoding: .utf8)
            #expect(junit.contains(serial), "\(scenario): \(junit)")
            #expect(junit.contains("motor_stall") == !passes, "\(scenario): \(junit)")
            // The replay's lockdiagd and its directory are gone.
            let left = (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()))?.filter { $0.hasPrefix("lockdiag-bench-replay-") } ?? []
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test func aReplayFileThatCannotBeReadIsRefusedBeforeAnythingRuns() throws {
        let directory = try TemporaryDirectory(prefix: "benchrx")
        defer { directory.remove() }
        try Self.plan.write(toFile: directory.path + "/plan.yaml", atomically: true, encoding: .utf8)
        let run = try ChildProcess.run("lockdiag", ["bench", "run", directory.path + "/plan.yaml"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("the plan's replay file \(directory.path)/case.pcapng cannot be read"), "\(run.stderr)")
    }
}
