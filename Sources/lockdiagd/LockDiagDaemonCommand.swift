import ArgumentParser
import LinuxIO
import LockDaemon
import LockDiagAPI
import LockSimulator
import Logging
import ServiceLifecycle

@main
struct LockDiagDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiagd",
        abstract: "The lockdiag daemon: polls smart door-lock controllers and diagnoses them.",
        discussion: """
        lockdiagd owns the locks' links and the timing. It polls each lock over LDP/1 (see
        firmware-specs/ldp-v1.md), turns what it sees into faults with advice, and serves it all
        as JSON-RPC on a Unix socket to `lockdiag`, scripts and bench rigs (docs/socket-api.md).

        Examples:
          lockdiagd --serial /dev/ttyACM0
          lockdiagd --simulate healthy,motor-stall,battery-worn --socket /tmp/lockdiag.sock
          sudo lockdiagd --serial /dev/lockdiag/LX3-000123 --realtime

        Simulated scenarios for --simulate:
        \(Scenario.allCases.map { "  \($0.rawValue)" }.joined(separator: "\n"))

        Access: root and members of --reader-group (default lockdiag) may read; root and members of
        --technician-group (default lockdiag-admin) may also clear faults and run self-tests; anyone
        else is refused at connect. Tests that move the bolt need "confirm": true. Under systemd
        (udev/lockdiagd.service) it reports READY, STATUS, WATCHDOG and STOPPING itself.
        See docs/security.md.

        SIGTERM or SIGINT stops the daemon gracefully.
        """)

    @Option(help: ArgumentHelp("Unix socket to serve the API on.", discussion: "Default: \(DefaultPaths.socket) (or $LOCKDIAG_SOCKET)."))
    var socket: String = DefaultPaths.effectiveSocket

    @Option(name: .customLong("serial"), help: ArgumentHelp("A lock's serial device (repeatable).", valueName: "path"))
    var serialPaths: [String] = []

    @Option(help: "Baud rate of the serial links (LDP/1 default 115200).")
    var baud: UInt32 = 115_200

    @Option(help: ArgumentHelp("Embedded simulated locks on ptys, one per scenario (comma list, repeatable).",
                               valueName: "scenario[,scenario…]"))
    var simulate: [String] = []

    @Option(help: "Seed of the simulated locks (same seed, same locks).")
    var simulateSeed: UInt64 = 1

    @Option(help: ArgumentHelp("Mean seconds between simulated uses (actuations, finger touches) of each simulated lock; 0 for none."))
    var simulateActivity: Double = 3

    @Option(help: "Status polls per second per lock.")
    var pollHz: Int = 50

    @Flag(help: "Ask for SCHED_FIFO, locked memory and a quiet CPU for the poll loop; the log says what could not be had.")
    var realtime = false

    @Option(help: ArgumentHelp("Pin the poll loop to this CPU (with --realtime; default: the last CPU).", valueName: "n"))
    var cpu: Int32?

    @Option(help: "Failed checks before a pending fault is confirmed.")
    var confirmAfter = 2

    @Option(help: "Clean checks before a fault is healed.")
    var healAfter = 3

    @Option(help: ArgumentHelp("Bytes of unread telemetry a client may have queued before newer notifications are dropped (it is told how many).",
                               valueName: "bytes"))
    var subscriberBuffer = 256 * 1024

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical."))
    var logLevel: String = "info"

    // Access and limits (docs/security.md).

    @Option(help: ArgumentHelp("Unix group (name or gid) whose members may read: status, faults, telemetry. The socket gets this group.",
                               valueName: "group"))
    var readerGroup = AccessPolicy.defaultReaderGroup

    @Option(help: ArgumentHelp("Unix group (name or gid) whose members may also clear faults and run self-tests.", valueName: "group"))
    var technicianGroup = AccessPolicy.defaultTechnicianGroup

    @Option(help: ArgumentHelp("Longest request line a client may send.", valueName: "bytes"))
    var maxRequestBytes = SecurityConfiguration().maxRequestBytes

    @Option(help: "Clients connected at once; more are refused with an error.")
    var maxConnections = SecurityConfiguration().maxConnections

    @Option(help: ArgumentHelp("Requests per second one connection may send on average (0: no limit); past it requests get an error.",
                               valueName: "n"))
    var rateLimit = SecurityConfiguration().requestsPerSecond

    @Option(help: ArgumentHelp("Requests one connection may send at once before --rate-limit applies.", valueName: "n"))
    var rateBurst = SecurityConfiguration().requestBurst

    @Option(help: ArgumentHelp("Seconds a connection may go without a request before it is closed (0: never); subscribers are exempt.",
                               valueName: "seconds"))
    var idleTimeout = SecurityConfiguration().idleTimeoutSeconds

    @Option(help: "Telemetry subscribers per device.")
    var maxSubscribers = SecurityConfiguration().maxSubscribersPerDevice

    func validate() throws {
        guard (1...1000).contains(pollHz) else { throw ValidationError("--poll-hz must be between 1 and 1000") }
        guard subscriberBuffer >= 4096 else { throw ValidationError("--subscriber-buffer must be at least 4096 bytes") }
        guard confirmAfter >= 1, healAfter >= 1 else { throw ValidationError("--confirm-after and --heal-after must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard maxRequestBytes >= 1024 else { throw ValidationError("--max-request-bytes must be at least 1024") }
        guard maxConnections >= 1, maxSubscribers >= 1, rateBurst >= 1 else {
            throw ValidationError("--max-connections, --max-subscribers and --rate-burst must be at least 1")
        }
        guard rateLimit >= 0, idleTimeout >= 0 else { throw ValidationError("--rate-limit and --idle-timeout cannot be negative") }
        guard !readerGroup.isEmpty, !technicianGroup.isEmpty else { throw ValidationError("--reader-group and --technician-group need a name") }
        guard !serialPaths.isEmpty || !simulate.isEmpty else {
            throw ValidationError("nothing to diagnose: give --serial PATH for a lock, or --simulate SCENARIO to try it without one")
        }
        _ = try scenarios()
    }

    func scenarios() throws -> [Scenario] {
        do {
            return try simulate.flatMap { text throws(SimulatorError) in try Scenario.list(text) }
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "lockdiagd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        var configuration = DaemonConfiguration(socketPath: socket)
        configuration.serialPaths = serialPaths
        configuration.baudRate = baud
        configuration.simulate = try scenarios()
        configuration.simulateSeed = simulateSeed
        configuration.simulateActivitySeconds = simulateActivity > 0 ? simulateActivity : nil
        configuration.loop.pollHz = pollHz
        if realtime {
            var request = RealtimeRequest()
            // The last CPU: the first usually takes most interrupts and housekeeping.
            request.cpu = cpu ?? Int32(max(0, Realtime.onlineCPUs - 1))
            configuration.loop.realtime = request
        }
        configuration.diagnosis.confirmAfter = confirmAfter
        configuration.diagnosis.healAfter = healAfter
        configuration.subscriberBufferBytes = subscriberBuffer
        configuration.security.readerGroup = readerGroup
        configuration.security.technicianGroup = technicianGroup
        configuration.security.maxRequestBytes = maxRequestBytes
        configuration.security.maxConnections = maxConnections
        configuration.security.requestsPerSecond = rateLimit
        configuration.security.requestBurst = rateBurst
        configuration.security.idleTimeoutSeconds = idleTimeout
        configuration.security.maxSubscribersPerDevice = maxSubscribers

        let daemon = Daemon(configuration: configuration, version: LockDiagVersion.current, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
