import Foundation
import Synchronization
import LockDaemon
import LockSimulator
import Logging

/// `--simulate`: simulated locks served on ptys in this process, handed to the daemon core as
/// embedded locks; the core itself never links the simulator.
final class SimulatedLocks: EmbeddedLocks {
    let scenarios: [Scenario]
    let seed: UInt64
    /// Mean nanoseconds between simulated uses of each lock; nil: never used by itself.
    let activityIntervalNanoseconds: UInt64?
    let logger: Logger
    private let server = Mutex<SimulatorServer?>(nil)

    init(scenarios: [Scenario], seed: UInt64, activitySeconds: Double?, logger: Logger) {
        self.scenarios = scenarios
        self.seed = seed
        activityIntervalNanoseconds = activitySeconds.map { UInt64($0 * 1e9) }
        self.logger = logger
    }

    func start(directory: String) throws -> [String] {
        let configurations = scenarios.enumerated().map { index, scenario in
            var configuration = SimulatorConfiguration(scenario: scenario, seed: seed, index: index, activityIntervalNanoseconds: activityIntervalNanoseconds)
            // This daemon trusts the demo maker's root for them (Daemon.trustDemoPartRoot).
            configuration.genuineParts = true
            return configuration
        }
        let started = try SimulatorServer(configurations: configurations, linkDirectory: directory + "/sim-\(getpid())")
        try started.start()
        server.withLock { $0 = started }
        for (path, scenario) in zip(started.devicePaths, scenarios) { logger.info("simulated lock '\(scenario)' on \(path)") }
        return started.devicePaths
    }

    func stop() {
        guard let stopping = server.withLock({ server in defer { server = nil }; return server }) else { return }
        stopping.stop()
        if let directory = stopping.linkDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }
}
