import BLETransport
import Foundation
import LinuxIO
import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import LockSimulator
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// firmware-specs/ble-gatt.md §4 and the driver contract (docs/architecture.md): the response
/// deadline over BLE. The real GATT servers of the simulator, the real BLE link, poll loop and
/// hub; between them, a `RadioRelay` (the trace re-reads: BLEAirTests, with lockdiagd as a process).
@Suite(.serialized) struct BLEPromiseTests {
    final class Rig {
        let directory: TemporaryDirectory
        let simulator: SimulatorServer
        let relays: [RadioRelay]
        let loop: PollLoop
        let hub: Hub
        let slots: [Int]

        /// One healthy lock per entry of `options`, each behind its own relay.
        init(_ options: [BLEOptions]) throws {
            directory = try TemporaryDirectory(prefix: "bleair")
            let folder = directory.path
            simulator = try SimulatorServer(configurations: options.indices.map { index in
                SimulatorConfiguration(scenario: .healthy, seed: 7, index: index, activityIntervalNanoseconds: 3_600_000_000_000,
                                       ble: BLEServing(socketPath: "\(folder)/lock\(index)", services: .full, receiveMTU: 247))
            })
            try simulator.start()
            let lockPaths = simulator.devicePaths
            relays = try lockPaths.indices.map { try RadioRelay(lockPath: lockPaths[$0], hostPath: "\(folder)/air\($0)") }
            loop = try PollLoop(configuration: PollLoopConfiguration())
            hub = Hub(loop: loop, logger: Logger(label: "test.ble.air"))
            var added: [Int] = []
            for (relay, o) in zip(relays, options) {
                guard let slot = try hub.addBLEDevice(.attSocket(path: relay.hostPath), options: o) else { throw BLEDiagnosisTests.Rig.SlotsFull() }
                added.append(slot)
            }
            slots = added
            try loop.start()
            hub.start()
        }

        func stop() {
            hub.stop()
            loop.stop()
            for relay in relays { relay.stop() }
            simulator.stop()
            directory.remove()
        }

        func stats(_ slot: Int) -> LinkStats { hub.linkStats()[slots.firstIndex(of: slot)!] }
    }

    /// Answers 250 ms late (past serial's 100 ms, within BLE's 500 ms) are not timeouts over
    /// BLE; the same answers on a link held to 100 ms are. Unanswered requests are timeouts.
    @Test func theResponseDeadlineOverBLEIs500Milliseconds() async throws {
        var serialDeadline = BLEOptions()
        serialDeadline.ldpResponseTimeoutSeconds = 0.1
        let rig = try Rig([BLEOptions(), serialDeadline])
        defer { rig.stop() }
        let ble = rig.slots[0], strict = rig.slots[1]
        #expect(BLEOptions().ldpResponseTimeoutSeconds == 0.5)
        for slot in rig.slots { #expect(await TestSupport.wait(upTo: 10) { rig.hub.status(of: slot)?.updatedAt != nil }) }
        for relay in rig.relays { relay.air.withLock { $0.notificationDelayNanoseconds = 250_000_000 } }
        // Counters are published once a second: wait for a dozen late answers on the BLE deadline.
        let base = rig.stats(ble)
        #expect(await TestSupport.wait(upTo: 15) { rig.stats(ble).frames >= base.frames + 12 && rig.stats(strict).timeouts >= 3 })
        let late = rig.stats(ble)
        // Each answer 250 ms late: under the 100 ms deadline nearly every one is a timeout (the
        // strict link's); under 500 ms none is, bar one a heavily loaded machine stretched further.
        #expect(late.timeouts <= base.timeouts + 1, "late answers counted as timeouts under the 500 ms deadline: \(late)")
        #expect(rig.hub.devices().first { $0.id == "SIM-0007-000" }?.online == true)

        // No answer at all: timeouts.
        rig.relays[0].air.withLock { $0.dropAllNotifications = true }
        #expect(await TestSupport.wait(upTo: 10) { rig.stats(ble).timeouts >= late.timeouts + 2 }, "\(rig.stats(ble))")
    }
}
