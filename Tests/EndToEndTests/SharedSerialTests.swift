import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// Two real (simulated) locks that claim the same serial number, behind a real lockdiagd: each
/// has its own id, and `faults.clear`, `tests.run` and `device.actuate` given one id act on that
/// lock alone — the other's fault memory, commands and bolt are untouched (issue 14, item 2).
@Suite(.serialized) struct SharedSerialTests {
    static let serial = "LX3-SHARED-01"

    /// Lock A comes first and takes the serial number as its id; lock B, with the same serial
    /// number, comes later, is SERIAL@PATH, and sits in the daemon's first slot, where a
    /// first-match lookup by serial number would find it before A.
    final class Rack {
        let links: [TemporaryDirectory]
        let simulators: [ChildProcess]
        let daemon: DaemonProcess
        let client: JSONRPCClient
        /// Each lock's id: A's, then B's.
        var ids: [String] = []

        static func simulator(_ links: TemporaryDirectory, seed: Int) throws -> ChildProcess {
            // motor-stall: each lock starts with MOTOR_STALL in its fault memory (to clear), and unlocks fine.
            let sim = try ChildProcess("locksim", ["--pty", "--serial-number", SharedSerialTests.serial, "--scenario", "motor-stall",
                                                   "--link-dir", links.path, "--activity", "0", "--seed", String(seed)])
            guard sim.readLine(within: 10) != nil else { throw Failure("locksim did not start") }
            return sim
        }

        init() throws {
            links = [try TemporaryDirectory(prefix: "sharedA"), try TemporaryDirectory(prefix: "sharedB")]
            let paths = links.map { $0.path + "/lock0" }
            let a = try Self.simulator(links[0], seed: 9)
            daemon = try DaemonProcess(["--serial", paths[1], "--serial", paths[0], "--no-discovery"])
            client = JSONRPCClient(socketPath: daemon.socketPath)
            let client = self.client
            func listed() throws -> [DeviceSummary] { try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices }
            guard try TestSupport.wait(upTo: 15, until: { try listed().contains { $0.path == paths[0] && $0.id == SharedSerialTests.serial } }) else {
                throw Failure("lock A did not identify itself: \(daemon.child.allErrors)")
            }
            simulators = [a, try Self.simulator(links[1], seed: 10)]
            guard try TestSupport.wait(upTo: 15, until: {
                let devices = try listed()
                guard devices.count == 2, devices.allSatisfy({ $0.online && $0.serial == SharedSerialTests.serial }) else { return false }
                ids = paths.map { path in devices.first { $0.path == path }?.id ?? "" }
                return true
            }) else { throw Failure("the two locks did not come online: \(daemon.child.allErrors)") }
        }

        func stop() {
            #expect(daemon.stop() == 0)
            for simulator in simulators {
                simulator.signal(SIGTERM)
                _ = simulator.waitForExit(within: 10)
            }
            for directory in links { directory.remove() }
        }

        /// locksim's view of each lock: the RUN_SELFTEST and ACTUATE requests it accepted, and its bolt.
        func lockStates() throws -> [(commands: Int, bolt: String)] {
            try simulators.map { simulator in
                simulator.send("status")
                guard let line = simulator.readLine(within: 5) else { throw Failure("no status line from locksim") }
                let fields = Dictionary(line.split(separator: " ").compactMap { field -> (String, String)? in
                    let parts = field.split(separator: "=", maxSplits: 1)
                    return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
                }, uniquingKeysWith: { a, _ in a })
                return (Int(fields["commands"] ?? "") ?? -1, fields["bolt"] ?? "?")
            }
        }

        func faultNames(_ id: String) throws -> [String] {
            try client.call(APIMethod.faultsList, params: ["device": .string(id)]).decode(as: FaultsList.self).faults.map(\.name)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func eachLockHasItsOwnIDAndTheSerialNamesTheLockWithThatID() throws {
        let rack = try Rack()
        defer { rack.stop() }
        // A has the serial number as its id, B SERIAL@PATH.
        #expect(rack.ids == [Self.serial, Self.serial + "@" + rack.links[1].path + "/lock0"], "\(rack.ids)")
        // A name that is an id is that lock, although it is the other lock's serial number too.
        for id in rack.ids {
            let status = try rack.client.call(APIMethod.deviceStatus, params: ["device": .string(id)]).decode(as: DeviceStatus.self)
            #expect(status.device == id)
        }
    }

    @Test func faultsClearClearsOnlyTheLockNamed() throws {
        let rack = try Rack()
        defer { rack.stop() }
        // Both locks report the stall from their fault memory.
        #expect(try TestSupport.wait(upTo: 10) { try rack.ids.allSatisfy { try rack.faultNames($0).contains("motor_stall") } })
        // The CLI, by the bare serial number: lock A, whose id it is; B keeps its fault.
        let run = try ChildProcess.run("lockdiag", ["clear", Self.serial, "--json", "--socket", rack.daemon.socketPath])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try JSONValue(parsing: run.stdout).decode(as: FaultsCleared.self).device == Self.serial)
        #expect(try !rack.faultNames(rack.ids[0]).contains("motor_stall"))
        #expect(try rack.faultNames(rack.ids[1]).contains("motor_stall"), "clearing \(rack.ids[0]) cleared \(rack.ids[1])")
        // Over the socket, by B's id: B alone.
        let cleared = try rack.client.call(APIMethod.faultsClear, params: ["device": .string(rack.ids[1])]).decode(as: FaultsCleared.self)
        #expect(cleared.device == rack.ids[1] && cleared.clearedOnDevice >= 1, "\(cleared)")
        #expect(try !rack.faultNames(rack.ids[1]).contains("motor_stall"))
    }

    @Test func testsRunAndActuateReachOnlyTheLockNamed() throws {
        let rack = try Rack()
        defer { rack.stop() }
        for target in [0, 1] {
            let before = try rack.lockStates()
            let run = try rack.client.call(APIMethod.testsRun, params: ["device": .string(rack.ids[target]), "test": "battery"],
                                           timeoutSeconds: 30).decode(as: TestRun.self)
            #expect(run.device == rack.ids[target])
            let after = try rack.lockStates()
            #expect(after[target].commands == before[target].commands + 1, "\(before) → \(after)")
            #expect(after[1 - target].commands == before[1 - target].commands, "the self-test reached the other lock: \(before) → \(after)")
        }
        for target in [0, 1] {
            let before = try rack.lockStates()
            let moved = try rack.client.call(APIMethod.deviceActuate, params: ["device": .string(rack.ids[target]), "direction": "unlock", "confirm": true],
                                             timeoutSeconds: 30).decode(as: ActuateResult.self)
            #expect(moved.device == rack.ids[target] && moved.actuation.result == "reached", "\(moved)")
            let after = try rack.lockStates()
            #expect(after[target].commands == before[target].commands + 1 && after[target].bolt == "unlocked", "\(before) → \(after)")
            #expect(after[1 - target].commands == before[1 - target].commands && after[1 - target].bolt == before[1 - target].bolt,
                    "the bolt of the other lock moved: \(before) → \(after)")
        }
    }
}
