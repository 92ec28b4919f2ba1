import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// lockdiagd as a real process with embedded simulated locks on real ptys, reached over its
/// real Unix socket.
@Suite struct DaemonProcessTests {
    static let faulty: [(scenario: String, category: String)] = [
        ("motor-stall", "motor"), ("motor-open", "motor"), ("clutch-slip", "mechanical"), ("battery-low", "battery"),
        ("battery-worn", "battery"), ("fingerprint-dead", "fingerprint"), ("fingerprint-degraded", "fingerprint"),
        ("noisy-line", "communication"), ("flaky", "communication"), ("tamper", "security"),
    ]

    @Test func everyFaultyScenarioConfirmsItsCategoryAndHealthyStaysClean() throws {
        let scenarios = Self.faulty.map(\.scenario) + ["healthy"]
        let daemon = try DaemonProcess(["--simulate", scenarios.joined(separator: ","), "--simulate-activity", "0.7"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        let devices = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
        #expect(devices.count == scenarios.count)
        // Devices are listed in slot order, which is --simulate's order.
        for (device, (scenario, category)) in zip(devices, Self.faulty) {
            let confirmed = try TestSupport.wait(upTo: 20, pollEvery: 0.1) {
                let faults = try client.call(APIMethod.faultsList, params: ["device": .string(device.id)]).decode(as: FaultsList.self).faults
                return faults.contains { $0.status == .confirmed && $0.category == category }
            }
            #expect(confirmed, "\(scenario) (\(device.id)) has no confirmed \(category) fault")
        }
        let healthy = devices.last!
        let status = try client.call(APIMethod.deviceStatus, params: ["device": .string(healthy.id)]).decode(as: DeviceStatus.self)
        #expect((status.actuations ?? 0) > 0)
        let faults = try client.call(APIMethod.faultsList, params: ["device": .string(healthy.id)]).decode(as: FaultsList.self).faults
        #expect(faults.isEmpty, "healthy lock has faults: \(faults.map(\.name))")
    }
}
