import Foundation
import JSONRPC
import LinuxIO
import LockProtocol
import LockSimulator
import Logging
import ServiceLifecycle

/// Everything `lockdiagd` is told on its command line.
public struct DaemonConfiguration: Sendable {
    public var socketPath: String
    public var serialPaths: [String] = []
    public var baudRate: UInt32 = LDP.defaultBaudRate
    /// `--simulate`: embedded simulated locks, one per scenario, served on ptys.
    public var simulate: [Scenario] = []
    public var simulateSeed: UInt64 = 1
    /// Mean seconds between simulated uses of each embedded lock; nil: never used by itself.
    public var simulateActivitySeconds: Double? = 3
    public var loop = PollLoopConfiguration()
    public var diagnosis = DiagnosisConfiguration()
    public var socketMode: UInt32 = 0o660
    /// Bytes of unread notifications a client may have queued before newer ones are dropped
    /// (and counted in the next one it gets as `lost`).
    public var subscriberBufferBytes = 256 * 1024
    /// Roles and limits (docs/security.md).
    public var security = SecurityConfiguration()

    public init(socketPath: String) { self.socketPath = socketPath }
}

/// lockdiagd as one service: the poll loop, the hub, the embedded simulators and the socket
/// server, started in that order and stopped in reverse on graceful shutdown.
public final class Daemon: Service {
    public let configuration: DaemonConfiguration
    public let version: String
    let logger: Logger

    /// Where privileged calls are recorded: the log, and any sink added (a history store).
    public let audit: AuditTrail

    public init(configuration: DaemonConfiguration, version: String, logger: Logger) {
        self.configuration = configuration
        self.version = version
        self.logger = logger
        audit = AuditTrail(logger: logger)
    }

    public func run() async throws {
        let c = configuration
        var simulator: SimulatorServer?
        var devicePaths = c.serialPaths
        if !c.simulate.isEmpty {
            let directory = (c.socketPath as NSString).deletingLastPathComponent + "/sim-\(getpid())"
            let interval = c.simulateActivitySeconds.map { UInt64($0 * 1e9) }
            let configurations = c.simulate.enumerated().map { index, scenario in
                SimulatorConfiguration(scenario: scenario, seed: c.simulateSeed, index: index, activityIntervalNanoseconds: interval)
            }
            let server = try SimulatorServer(configurations: configurations, linkDirectory: directory)
            try server.start()
            simulator = server
            devicePaths += server.devicePaths
            for (path, scenario) in zip(server.devicePaths, c.simulate) { logger.info("simulated lock '\(scenario)' on \(path)") }
        }
        defer {
            if let simulator {
                simulator.stop()
                if let directory = simulator.linkDirectory { try? FileManager.default.removeItem(atPath: directory) }
            }
        }

        let loop = try PollLoop(configuration: c.loop)
        let hub = Hub(loop: loop, diagnosis: c.diagnosis, logger: logger)
        for path in devicePaths {
            guard hub.addSerialDevice(path: path, baudRate: c.baudRate) != nil else {
                logger.error("no free device slot for \(path) (at most \(c.loop.maxDevices) devices)")
                continue
            }
        }
        try loop.start()
        defer { loop.stop() }
        if let report = loop.realtime {
            for line in report.granted { logger.info("real-time: \(line)") }
            for line in report.missing { logger.warning("real-time: could not get \(line)") }
        }
        hub.start()
        defer { hub.stop() }

        var api = APIService(hub: hub, socketPath: c.socketPath, version: version, logger: logger)
        api.limits.maxSubscribersPerDevice = c.security.maxSubscribersPerDevice
        let policy = accessPolicy()
        var serverConfiguration = JSONRPCServer.Configuration(socketPath: c.socketPath)
        serverConfiguration.socketMode = c.socketMode
        serverConfiguration.outboundHighWaterMarkBytes = c.subscriberBufferBytes
        serverConfiguration.apply(c.security, policy: policy)
        let server = JSONRPCServer(configuration: serverConfiguration,
                                   handler: AccessControlledHandler(api.methodTable(), policy: policy, audit: audit))
        api.clientStatistics.provide(server)
        try await server.start()
        logger.notice("lockdiagd \(version) ready: \(devicePaths.count) device(s), \(c.loop.pollHz) Hz, socket \(c.socketPath)")
        let systemd = ServiceManagerLink.fromEnvironment(logger: logger)
        systemd?.ready(status: Self.statusText(hub: hub, server: server))
        systemd?.startKeepAlive(progress: { [("poll loop", loop.statistics.cycles), ("hub", hub.loopIterations)] },
                                check: { server.eventLoopResponds(within: 1) == false ? "the socket server's event loop did not answer within 1 s" : nil },
                                status: { Self.statusText(hub: hub, server: server) })

        // Runs until SIGTERM/SIGINT (the ServiceGroup's graceful shutdown) or cancellation.
        try? await gracefulShutdown()
        logger.notice("shutting down")
        systemd?.stopping()
        systemd?.stopKeepAlive()
        await server.stop()
    }
}
