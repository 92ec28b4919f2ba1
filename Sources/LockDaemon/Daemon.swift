import BLETransport
import Foundation
import GenuineParts
import HistoryStore
import JSONRPC
import LinuxIO
import LockProtocol
import LockDiagAPI
import Logging
import Reports
import ServiceLifecycle

/// Everything `lockdiagd` is told on its command line.
public struct DaemonConfiguration: Sendable {
    public var socketPath: String
    public var serialPaths: [String] = []
    public var baudRate: UInt32 = LDP.defaultBaudRate
    /// Locks composed outside the core and served on serial devices (`--simulate`), polled like
    /// `serialPaths`; nil for none.
    public var embeddedLocks: (any EmbeddedLocks)?
    public var loop = PollLoopConfiguration()
    public var diagnosis = DiagnosisConfiguration()
    public var socketMode: UInt32 = 0o660
    /// Bytes of unread notifications a client may have queued before newer ones are dropped
    /// (and counted in the next one it gets as `lost`).
    public var subscriberBufferBytes = 256 * 1024
    /// `--metrics`: serve Prometheus metrics over HTTP here; nil for none.
    public var metrics: MetricsAddress?
    /// The history database (`--db`); nil: no history and no reports.
    public var historyPath: String?
    /// The station's signing key (`--key`); default `station.key` next to the database.
    public var keyPath: String?
    /// Commissioning limits (`--commissioning-limits`); nil: the built-in ones.
    public var commissioningLimits: CommissioningLimits?
    /// USB locks (`--usb`, `--usb-serial`), discovery (`--no-discovery`) and unplug retention.
    public var hotplug = HotplugConfiguration(baudRate: LDP.defaultBaudRate)
    /// BLE locks (`--ble ADDRESS`, `--ble-att-socket PATH`) and how their links behave.
    public var bleDevices: [BLEEndpoint] = []
    public var bleOptions = BLEOptions()
    /// `--dialect`, `--serial-rx`, `--tuya-schemas` (Drivers/Tuya/DaemonConfiguration+Tuya.swift).
    public var serialDialects: [DialectSpec] = []
    public var serialRxPaths: [String] = []
    public var tuyaSchemaDirectories: [String] = []
    /// `--part-roots`: folders of maker roots to trust besides the shipped ones (docs/genuine-parts.md);
    /// empty: /etc/lockdiag/part-roots when it exists. `trustDemoPartRoot`: the simulator's demo
    /// maker root too (only with embedded simulated locks: its private key is public).
    public var partRootDirectories: [String] = []
    public var trustDemoPartRoot = false
    /// Roles and limits (docs/security.md).
    public var security = SecurityConfiguration()
    /// `--fleet`: copies the history to the fleet database (docs/fleet.md); composed by lockdiagd. nil: none.
    public var fleet: (any HistoryCopier)?
    /// `--record FILE`: every link's bytes into pcapng files (Recording/); nil: not recording.
    public var recording: RecordingConfiguration?
    /// `--replay FILE`: a recording's LDP/1 locks played back through the same driver; nil: none.
    public var replay: ReplayConfiguration?

    public init(socketPath: String) { self.socketPath = socketPath }
}

/// Copies the station's history elsewhere on its own thread (the fleet link, docs/fleet.md), composed outside the
/// core like the simulated locks; the daemon starts and stops it and shows its `info()` in daemon.info.
public protocol HistoryCopier: Sendable {
    func start(history: HistoryDatabase)
    func stop()
    func info() -> FleetLinkInfo
}

/// lockdiagd as one service: the embedded locks, the poll loop, the hub and the socket server,
/// started in that order and stopped in reverse on graceful shutdown.
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
        let policy = accessPolicy()
        var serverConfiguration = JSONRPCServer.Configuration(socketPath: c.socketPath)
        serverConfiguration.socketMode = c.socketMode
        serverConfiguration.outboundHighWaterMarkBytes = c.subscriberBufferBytes
        // The query path's thread, like the hub's and the poll loop's, asks for a short fair
        // slice, so a request is answered when it comes, not after a build's time slice.
        serverConfiguration.eventLoopThreadSetup = { _ = Realtime.setFairSlice(nanoseconds: PollLoopConfiguration.fairSliceNanoseconds) }
        serverConfiguration.apply(c.security, policy: policy)
        // Embedded locks' links go into the socket's directory: it must exist with the server's
        // mode and group first, not theirs.
        try serverConfiguration.prepareSocketDirectory()
        var devicePaths = c.serialPaths
        if let embedded = c.embeddedLocks {
            devicePaths += try embedded.start(directory: (c.socketPath as NSString).deletingLastPathComponent)
        }
        defer { c.embeddedLocks?.stop() }

        // History and key first: a database the daemon cannot use stops it before any lock is touched.
        let station = try c.historyPath.map { path in try Station.open(database: path, key: c.keyPath, version: version, logger: logger) }
        station?.history.start()
        defer { station?.history.stop() }
        if let station { audit.record(into: station.history) }
        if let station { c.fleet?.start(history: station.history.database) }
        defer { c.fleet?.stop() }

        // Declared before the loop's stop: runs after it, so the loop's last bytes are recorded.
        let recorder = try startRecording()
        defer { recorder?.stop() }
        var loopConfiguration = c.loop
        loopConfiguration.traffic = recorder?.ring
        // Socket recordings (record.start); its thread starts with the first one.
        let taps = TrafficTaps(version: version)
        defer { taps.stop() }
        loopConfiguration.taps = taps.ring
        let loop = try PollLoop(configuration: loopConfiguration)
        let hub = Hub(loop: loop, diagnosis: c.diagnosis, logger: logger, history: station?.history)
        for directory in c.tuyaSchemaDirectories { try hub.tuyaSchemas.withLock { try $0.load(directory: directory) } }
        try hub.partTrust.withLock { trust throws(TrustRootError) in
            if c.partRootDirectories.isEmpty { try trust.load(directory: TrustStore.defaultDirectory, mustExist: false) }
            for directory in c.partRootDirectories { try trust.load(directory: directory) }
            if c.trustDemoPartRoot { trust.add(DemoMaker.root) }
        }
        for (i, path) in devicePaths.enumerated() {
            if i < c.serialPaths.count, c.dialect(forSerial: i).kind != .ldp {
                guard try hub.addTuyaDevice(path: path, modulePath: c.modulePath(forSerial: i), baudRate: c.baudRate,
                                            dialect: c.dialect(forSerial: i)) != nil else {
                    logger.error("no free device slot for \(path) (at most \(c.loop.maxDevices) devices)")
                    continue
                }
                continue
            }
            guard hub.addSerialDevice(path: path, baudRate: c.baudRate) != nil else {
                logger.error("no free device slot for \(path) (at most \(c.loop.maxDevices) devices)")
                continue
            }
        }
        for endpoint in c.bleDevices {
            guard try hub.addBLEDevice(endpoint, options: c.bleOptions) != nil else {
                logger.error("no free device slot for \(endpoint) (at most \(c.loop.maxDevices) devices)")
                continue
            }
        }
        try addReplayedLocks(hub: hub)
        var hotplugConfiguration = c.hotplug
        hotplugConfiguration.baudRate = c.baudRate
        hotplugConfiguration.usbFIFOPriority = c.loop.realtime.map { max(1, $0.fifoPriority - 1) }
        let hotplug = Hotplug(hub: hub, configuration: hotplugConfiguration, logger: logger)
        hotplug.start()
        // Declared before the loop's: runs after loop.stop() has closed the USB links.
        defer { hotplug.stop() }
        try loop.start()
        defer { loop.stop() }
        if let report = loop.realtime {
            for line in report.granted { logger.info("real-time: \(line)") }
            for line in report.missing { logger.warning("real-time: could not get \(line)") }
        }
        hub.start()
        defer { hub.stop() }

        var api = APIService(hub: hub, socketPath: c.socketPath, version: version, logger: logger)
        api.station = station
        api.fleet = c.fleet
        api.trafficTaps = taps
        if let limits = c.commissioningLimits { api.commissioningLimits = limits }
        api.limits.maxSubscribersPerDevice = c.security.maxSubscribersPerDevice
        let server = JSONRPCServer(configuration: serverConfiguration,
                                   handler: AccessControlledHandler(api.methodTable(), policy: policy, audit: audit))
        api.clientStatistics.provide(server)
        // Metrics first: a port already taken stops the daemon before it serves anything.
        let metrics = try await startMetrics(hub: hub)
        try await server.start()
        logger.notice("lockdiagd \(version) ready: \(hub.deviceCount().total) device(s), \(c.loop.pollHz) Hz, socket \(c.socketPath)")
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
        await metrics?.stop()
    }
}

extension Daemon {
    /// Starts `--metrics`, if asked for; a scrape renders from the hub's state at that moment.
    func startMetrics(hub: Hub) async throws -> MetricsServer? {
        guard let address = configuration.metrics else { return nil }
        let version = self.version
        let started = MonotonicClock.nanoseconds()
        let server: MetricsServer
        do {
            var limits = MetricsServer.Limits()
            limits.idleTimeoutSeconds = configuration.security.idleTimeoutSeconds
            limits.maxRequestBytes = configuration.security.maxRequestBytes
            server = try await MetricsServer(address: address, limits: limits) {
                MetricsExposition.render(hub.metricsSnapshot(version: version, uptimeSeconds: Double(MonotonicClock.nanoseconds() - started) / 1e9))
            }
        } catch {
            throw DaemonError.metricsUnavailable(address: address.description, reason: "\(error)")
        }
        logger.notice("metrics: http://\(server.boundAddress)/metrics")
        if !address.isLoopback {
            logger.warning("metrics are served on \(address), reachable from other machines: firewall the port or use 127.0.0.1")
        }
        return server
    }
}

/// Why the daemon could not start a part of itself.
public enum DaemonError: Error, CustomStringConvertible {
    case metricsUnavailable(address: String, reason: String)

    public var description: String {
        switch self {
        case .metricsUnavailable(let address, let reason):
            "cannot serve metrics on \(address): \(reason) — pick another port with --metrics HOST:PORT, or stop what uses it"
        }
    }
}
