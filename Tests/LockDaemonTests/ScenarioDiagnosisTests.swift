import Foundation
import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import LockSimulator
import Logging
import Testing

/// The whole diagnosis path in one process: simulated locks on real ptys, the real serial
/// transport, poll loop, ring and hub. (The end-to-end tests repeat this with real processes.)
@Suite(.serialized) struct ScenarioDiagnosisTests {
    static let expected: [(Scenario, String, String)] = [
        (.motorStall, "motor", "motor_stall"),
        (.motorOpen, "motor", "motor_open_circuit"),
        (.clutchSlip, "mechanical", "clutch_failure"),
        (.batteryLow, "battery", "battery_low"),
        (.batteryWorn, "battery", "battery_worn"),
        (.fingerprintDead, "fingerprint", "fingerprint_not_responding"),
        (.fingerprintDegraded, "fingerprint", "fingerprint_image_degraded"),
        (.noisyLine, "communication", "comm_crc_errors"),
        (.flaky, "communication", "response_timeout"),
        (.tamper, "security", "tamper"),
    ]

    final class Rig {
        let simulator: SimulatorServer
        let loop: PollLoop
        let hub: Hub
        let slots: [Int]

        init(_ scenarios: [Scenario], activitySeconds: Double = 0.7) throws {
            let configurations = scenarios.enumerated().map { index, scenario in
                SimulatorConfiguration(scenario: scenario, seed: 7, index: index,
                                       activityIntervalNanoseconds: UInt64(activitySeconds * 1e9))
            }
            simulator = try SimulatorServer(configurations: configurations)
            try simulator.start()
            loop = try PollLoop(configuration: PollLoopConfiguration())
            var logger = Logger(label: "test.hub")
            logger.logLevel = .warning
            let hub = Hub(loop: loop, logger: logger)
            self.hub = hub
            slots = simulator.devicePaths.map { hub.addSerialDevice(path: $0)! }
            try loop.start()
            hub.start()
        }

        func stop() {
            hub.stop()
            loop.stop()
            simulator.stop()
        }

        func confirmed(_ slot: Int) -> [Fault] { hub.faults(of: slot).filter { $0.status == .confirmed } }
    }

    @Test func eachFaultyScenarioConfirmsItsFaultAndHealthyStaysClean() async throws {
        let rig = try Rig(Self.expected.map(\.0) + [.healthy])
        defer { rig.stop() }
        let healthy = rig.slots.last!
        for (offset, (scenario, category, name)) in Self.expected.enumerated() {
            let slot = rig.slots[offset]
            let found = await TestSupport.wait(upTo: 20) {
                rig.confirmed(slot).contains { $0.category == category && $0.name == name }
            }
            #expect(found, "\(scenario): expected a confirmed \(category) fault \(name), got \(rig.hub.faults(of: slot).map { "\($0.name)/\($0.status)" })")
        }
        // By now the healthy lock has been used (actuations, finger touches) several times.
        let summary = try #require(rig.hub.status(of: healthy))
        #expect((summary.actuations ?? 0) > 0)
        #expect(rig.hub.faults(of: healthy).isEmpty, "healthy lock has faults: \(rig.hub.faults(of: healthy).map(\.name))")
        #expect(summary.lastActuation?.analysis == "normal")
        let confirmedStall = try #require(rig.confirmed(rig.slots[0]).first { $0.name == "motor_stall" })
        #expect(confirmedStall.freezeFrame != nil)
        #expect(!confirmedStall.advice.isEmpty)
    }

    @Test func selfTestsMeasureAndJudge() async throws {
        let rig = try Rig([.healthy, .batteryWorn, .motorStall], activitySeconds: 60)
        defer { rig.stop() }
        for slot in rig.slots { _ = await TestSupport.wait(upTo: 5) { rig.hub.devices()[slot].online } }
        let healthy = try await rig.hub.runTests(.all, on: rig.slots[0])
        #expect(healthy.verdict == .pass, "\(healthy.results.map { "\($0.test): \($0.findings)" })")
        let motor = try #require(healthy.results.first { $0.test == .motor })
        #expect(motor.actuations.count == 2)
        #expect(motor.traces.count == 2)
        #expect((motor.measurements.peakCurrentMilliamps ?? 0) > (motor.measurements.runningCurrentMilliamps ?? 0))
        let battery = try #require(healthy.results.first { $0.test == .battery })
        #expect((battery.measurements.internalResistanceMilliohms ?? 0) > 0)

        let worn = try await rig.hub.runTests(.battery, on: rig.slots[1])
        #expect(worn.verdict == .fail)
        #expect(worn.results[0].faults.contains(FaultCatalog.format(FaultCode.batteryWorn)))

        let stall = try await rig.hub.runTests(.motor, on: rig.slots[2])
        #expect(stall.verdict == .fail)
        #expect(stall.results[0].faults.contains(FaultCatalog.format(FaultCode.motorStall)))
    }

    @Test func clearingFaultsEmptiesBothMemories() async throws {
        let rig = try Rig([.tamper], activitySeconds: 60)
        defer { rig.stop() }
        let slot = rig.slots[0]
        #expect(await TestSupport.wait(upTo: 10) { !rig.confirmed(slot).isEmpty })
        let cleared = try await rig.hub.clearFaults(of: slot)
        #expect(cleared.cleared >= 1)
        #expect(cleared.clearedOnDevice >= 1)
        #expect(rig.hub.faults(of: slot).isEmpty)
    }

    @Test func unplugRaisesLinkLostAndReplugHealsIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hub-\(getpid())-\(Int.random(in: 0...999_999))").path
        let simulator = try SimulatorServer(configurations: [SimulatorConfiguration(scenario: .healthy, seed: 3)], linkDirectory: directory)
        try simulator.start()
        defer {
            simulator.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let loop = try PollLoop()
        var logger = Logger(label: "test.hub")
        logger.logLevel = .warning
        let hub = Hub(loop: loop, logger: logger)
        let slot = try #require(hub.addSerialDevice(path: simulator.devicePaths[0]))
        try loop.start()
        hub.start()
        defer {
            hub.stop()
            loop.stop()
        }
        #expect(await TestSupport.wait(upTo: 5) { hub.devices()[slot].online })
        try simulator.unplug(lock: 0)
        #expect(await TestSupport.wait(upTo: 5) { !hub.devices()[slot].online && hub.devices()[slot].state == "offline" })
        #expect(await TestSupport.wait(upTo: 5) { hub.faults(of: slot).contains { $0.name == "link_lost" && $0.status == .confirmed } })
        _ = try simulator.replug(lock: 0)
        #expect(await TestSupport.wait(upTo: 5) { hub.devices()[slot].online })
        #expect(await TestSupport.wait(upTo: 8) { hub.faults(of: slot).contains { $0.name == "link_lost" && $0.status == .healed } })
        #expect(hub.linkStats()[slot].reconnects >= 1)
    }
}
