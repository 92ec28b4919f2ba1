import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// `device.actuate` over the socket: refused without `confirm: true`, else one analysed move.
@Suite struct ActuateTests {
    @Test func actuateNeedsConfirmAndReturnsTheAnalysedActuation() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,motor-stall", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 10) {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.allSatisfy { $0.online && $0.serial != nil }
        })
        let healthy = "SIM-0001-000", stalling = "SIM-0001-001"
        func status() throws -> DeviceStatus {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(healthy)]).decode(as: DeviceStatus.self)
        }
        #expect(try TestSupport.wait(upTo: 10) { try ["locked", "unlocked"].contains(status().lock) })
        let before = try status()

        for params: JSONValue in [["device": .string(healthy), "direction": "unlock"],
                                  ["device": .string(healthy), "direction": "unlock", "confirm": false]] {
            #expect {
                try client.call(APIMethod.deviceActuate, params: params)
            } throws: { error in
                guard case .remote(let e) = error as? RPCClientError else { return false }
                return e.code == RPCError.Code.invalidParams && e.message.contains("'confirm' must be true") && e.data == ["field": "confirm"]
            }
        }
        #expect {
            try client.call(APIMethod.deviceActuate, params: ["device": "nope", "direction": "lock", "confirm": true])
        } throws: { error in
            guard case .remote(let e) = error as? RPCClientError else { return false }
            return e.code == RPCError.Code.unknownDevice
        }
        // Refused calls moved nothing.
        let still = try client.call(APIMethod.deviceStatus, params: ["device": .string(healthy)]).decode(as: DeviceStatus.self)
        #expect(still.actuations == before.actuations)

        let direction: ActuationDirection = before.lock == "locked" ? .unlock : .lock
        let moved = try client.call(APIMethod.deviceActuate, params: try JSONValue(encoding: ActuateParams(device: healthy, direction: direction)),
                                    timeoutSeconds: 30).decode(as: ActuateResult.self)
        #expect(moved.verdict == .pass, "\(moved.findings)")
        #expect(moved.direction == direction && moved.actuation.direction == direction.rawValue)
        #expect(moved.actuation.source == "host" && moved.actuation.result == "reached" && moved.actuation.analysis == "normal")
        #expect((300...1500).contains(moved.actuation.durationMilliseconds))
        #expect(moved.trace?.samplesMilliamps.count == moved.actuation.samples)

        // The stall scenario jams when locking: a failed verdict with the lock's reason.
        let jam = try client.call(APIMethod.deviceActuate, params: ["device": .string(stalling), "direction": "lock", "confirm": true],
                                  timeoutSeconds: 30).decode(as: ActuateResult.self)
        #expect(jam.verdict == .fail)
        #expect(jam.findings.contains { $0.contains("stalled") }, "\(jam.findings)")
    }
}
