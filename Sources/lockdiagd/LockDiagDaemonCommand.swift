import ArgumentParser
import GenuineParts
import FleetSync
import BLEProtocol
import BLETransport
import Foundation
import LinuxIO
import LockDaemon
import LockDiagAPI
import LockSimulator
import Logging
import OptionRanges
import ServiceLifecycle
import USBTransport

@main
struct LockDiagDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiagd",
        abstract: "The lockdiag daemon: polls smart door locks and diagnoses them.",
        discussion: """
        lockdiagd owns the locks' links and the timing. It polls each lock over LDP/1
        (see firmware-specs/ldp-v1.md), turns what it sees into faults with advice, and
        serves it all as JSON-RPC on a Unix socket to `lockdiag`, scripts and bench
        rigs (docs/socket-api.md).

        Locks plugged in over USB are found by themselves (udev discovery, on by
        default): the vendor-bulk variant (USB 1209:0001) and the CDC-ACM variant
        (1209:0002, a /dev/ttyACM* port), and any device udev/70-lockdiag.rules or a
        local rule tags LOCKDIAG_TRANSPORT. They appear in `lockdiag list` as they are
        plugged in; an unplugged lock stays listed as offline under the same id until
        it is plugged back in or --forget-unplugged passes. USB-UART service cables
        (CH340, CP210x, FTDI, PL2303) are never probed by default: name one with
        --serial PATH or --usb-serial SERIAL. `lockdiagd --scan` shows what is
        connected. See firmware-specs/usb.md and udev/README.md.

        Examples:
          lockdiagd                              # every lock plugged in, now or later
          lockdiagd --serial /dev/ttyACM0 --no-discovery
          lockdiagd --usb 1-1.4 --usb LX3-000123 # bulk locks by port and by serial
          lockdiagd --usb-serial A10K3Z9Q        # a service cable, by its USB serial
          lockdiagd --simulate healthy,motor-stall --socket /tmp/lockdiag.sock
          sudo lockdiagd --serial /dev/lockdiag/LX3-000123 --realtime
          lockdiagd --serial /dev/ttyACM0 --metrics 127.0.0.1:9464 # Prometheus
          lockdiagd --scan
          lockdiagd --ble C4:7C:8D:6A:1B:2E/random     # `lockdiag scan` finds it
          lockdiagd --ble-att-socket /tmp/lock.att     # locksim --ble-att-socket
          lockdiagd --serial /dev/ttyACM0 --record lock.pcapng # open in Wireshark
          lockdiagd --replay lock.pcapng --no-discovery  # diagnose it again

        A Bluetooth LE lock is reached over the ATT channel (L2CAP, BlueZ). With
        the LDP GATT service it gets the same diagnosis as a serial lock; with
        only the Battery and Device Information services it is listed with those
        and its battery level is monitored. While it sleeps or is out of range
        it is shown offline and retried, 1 s doubling to 30 s apart.

          lockdiagd --serial /dev/ttyUSB0 --dialect tuya:wifi-lock --baud 9600
          lockdiagd --serial /dev/ttyUSB0 --serial-rx /dev/ttyUSB1 --dialect tuya-sniff

        Tuya locks (firmware-specs/tuya-mcu.md): --dialect tuya plays the Wi-Fi
        module for a lock MCU whose module is unplugged (standard protocol),
        tuya-lowpower does so for a battery lock's low-power protocol, and
        tuya-sniff only listens on a tap, never transmitting: --serial hears the
        MCU's TX, --serial-rx the module's TX. Add :PRODUCT to pick a DP layout
        (\(TuyaSchemaSet.builtIn().products.joined(separator: ", "))); without it,
        the layout is chosen by the PID the lock reports. A PID no layout lists
        is read with Tuya's standard lock layout (standard-ms: battery, alarms,
        unlocks; other DPs raw), shown as assumed (tuya-mcu.md §6.1).

        Simulated scenarios for --simulate:
        \(Scenario.allCases.map { "  \($0.rawValue)" }.joined(separator: "\n"))

        Access: root and members of --reader-group (default lockdiag) may read; root
        and members of --technician-group (default lockdiag-admin) may also clear
        faults, run self-tests, move the bolt and sign reports; anyone else is
        refused at connect. Calls that move the bolt need "confirm": true. Every
        technician call is audited in the log and the history. Under systemd
        (udev/lockdiagd.service) it reports READY, STATUS, WATCHDOG and STOPPING
        itself. See docs/security.md.

        SIGTERM or SIGINT stops the daemon gracefully.
        """)

    @Option(help: ArgumentHelp("Unix socket to serve the API on.", discussion: "Default: \(DefaultPaths.socket) (or $LOCKDIAG_SOCKET)."))
    var socket: String = DefaultPaths.effectiveSocket

    @Option(name: .customLong("serial"), help: ArgumentHelp("A lock's serial device (repeatable).", valueName: "path"))
    var serialPaths: [String] = []

    @Option(name: .customLong("dialect"), help: ArgumentHelp(
        "How --serial locks are spoken to: ldp (default), tuya, tuya-lowpower, tuya-sniff, each Tuya one with an optional :PRODUCT (one for all --serial, or one per --serial in order).",
        valueName: "dialect[:product]"))
    var dialects: [String] = []

    @Option(name: .customLong("serial-rx"), help: ArgumentHelp(
        "With --dialect tuya-sniff: the tap's second line, the module's TX (repeatable, in the order of the tuya-sniff --serial).",
        valueName: "path"))
    var serialRx: [String] = []

    @Option(name: .customLong("tuya-schemas"), help: ArgumentHelp(
        "A folder of Tuya product layouts (*.json, firmware-specs/tuya-mcu.md §6) to add to the built-in ones (repeatable).",
        valueName: "dir"))
    var tuyaSchemas: [String] = []

    @Option(name: .customLong("part-roots"), help: ArgumentHelp(
        "A folder of maker root keys (*.json) genuine parts may chain to, besides the shipped ones (repeatable). Default: /etc/lockdiag/part-roots if it exists.",
        valueName: "dir"))
    var partRoots: [String] = []

    @Option(help: ArgumentHelp(DaemonRanges.baud.help("Baud rate of the serial links (LDP/1 default 115200)")))
    var baud: UInt32 = 115_200

    @Option(name: .customLong("usb"), help: ArgumentHelp(
        "A vendor-bulk USB lock by port path (1-1.4) or USB serial number (repeatable); polled even with --no-discovery.",
        valueName: "port|serial"))
    var usbAddresses: [String] = []

    @Option(name: .customLong("usb-serial"), help: ArgumentHelp(
        "Use the USB-serial adapter (service cable) with this USB serial number as a lock when discovery finds it (repeatable).",
        valueName: "serial"))
    var usbSerials: [String] = []

    @Flag(name: .customLong("no-discovery"), help: "Do not look for locks with udev; poll only --serial, --usb and --simulate locks.")
    var noDiscovery = false

    @Option(help: ArgumentHelp(DaemonRanges.forgetUnplugged.help("Seconds an unplugged lock stays listed (offline, same id) before it is forgotten"), valueName: "seconds"))
    var forgetUnplugged: Double = 600

    @Flag(help: "Print the USB locks and service cables connected now, with whether lockdiagd may open them, and exit.")
    var scan = false

    @Option(name: .customLong("ble"), help: ArgumentHelp("A Bluetooth LE lock's address (repeatable); /random for a random address.",
                                                        valueName: "AA:BB:CC:DD:EE:FF[/random]"))
    var bleAddresses: [String] = []

    @Option(name: .customLong("ble-att-socket"),
            help: ArgumentHelp("A simulated BLE lock: a Unix SOCK_SEQPACKET socket carrying one ATT PDU per packet, as locksim --ble-att-socket serves (repeatable).",
                               valueName: "path"))
    var bleATTSockets: [String] = []

    @Option(name: .customLong("ble-adapter"),
            help: ArgumentHelp("The Bluetooth controller to reach --ble locks through (default: the kernel picks one that is up).", valueName: "hciN"))
    var bleAdapter: String?

    @Option(name: .customLong("ble-security"),
            help: ArgumentHelp("BLE link security: low (no encryption), medium (encrypted; pair first), high (encrypted and authenticated: passkey pairing).",
                               valueName: "level"))
    var bleSecurity = BLESecurityLevel.low.rawValue

    @Option(name: .customLong("ble-connect-timeout"), help: ArgumentHelp(DaemonRanges.bleConnectTimeout.help("Seconds one BLE connection attempt may take"), valueName: "seconds"))
    var bleConnectTimeout = 10.0

    @Option(name: .customLong("ble-mtu"), help: ArgumentHelp(DaemonRanges.bleMTU.help("The ATT MTU offered to BLE locks"), valueName: "bytes"))
    var bleMTU = 247

    @Option(name: .customLong("ble-att-timeout"),
            help: ArgumentHelp(DaemonRanges.bleATTTimeout.help("ATT transaction timeout (the ATT specification's 30 s; lower it only to test)"), valueName: "seconds"))
    var bleATTTimeout = 30.0

    @Option(help: ArgumentHelp("Embedded simulated locks on ptys, one per scenario (comma list, repeatable).",
                               valueName: "scenario[,scenario…]"))
    var simulate: [String] = []

    @Option(help: ArgumentHelp(DaemonRanges.simulateSeed.help("Seed of the simulated locks (same seed, same locks)")))
    var simulateSeed: UInt64 = 1

    @Option(help: ArgumentHelp(DaemonRanges.simulateActivity.help("Mean seconds between simulated uses (actuations, finger touches) of each simulated lock; 0 for none")))
    var simulateActivity: Double = 3

    @Option(help: ArgumentHelp(DaemonRanges.pollHz.help("Status polls per second per lock")))
    var pollHz: Int = 50

    @Flag(help: "Ask for SCHED_FIFO, locked memory and a quiet CPU for the poll loop (and SCHED_FIFO for the USB event thread); the log says what could not be had.")
    var realtime = false

    @Option(help: ArgumentHelp(DaemonRanges.cpu.help("Pin the poll loop to this CPU (with --realtime; default: the last CPU)"), valueName: "n"))
    var cpu: Int32?

    @Option(help: ArgumentHelp(DaemonRanges.confirmAfter.help("Failed checks before a pending fault is confirmed")))
    var confirmAfter = 2

    @Option(help: ArgumentHelp(DaemonRanges.healAfter.help("Clean checks before a fault is healed")))
    var healAfter = 3

    @Option(help: ArgumentHelp(DaemonRanges.subscriberBuffer.help("Bytes of unread telemetry a client may have queued before newer notifications are dropped (it is told how many)"),
                               valueName: "bytes"))
    var subscriberBuffer = 256 * 1024

    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://ADDRESS/metrics: HOST:PORT, [::1]:PORT, or a port (loopback). Off by default.",
                               valueName: "address"))
    var metrics: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical."))
    var logLevel: String = "info"

    @Option(help: ArgumentHelp("The history database (SQLite, WAL): devices, fault events, self-tests, telemetry.",
                               discussion: "Default: \(DefaultPaths.historyDatabase) (/var/lib/lockdiag as root, $XDG_STATE_HOME/lockdiag otherwise).",
                               valueName: "path"))
    var db: String = DefaultPaths.historyDatabase

    @Option(help: ArgumentHelp("The station's Ed25519 key that signs reports; created (mode 0600) on first start.",
                               discussion: "Default: station.key in the folder of --db.", valueName: "path"))
    var key: String?

    @Option(name: .customLong("commissioning-limits"),
            help: ArgumentHelp("Limits per lock model for lockdiag commission (JSON).",
                               discussion: "Default: the built-in copy of firmware-specs/commissioning.json.", valueName: "path"))
    var commissioningLimits: String?

    @Option(help: ArgumentHelp("Copy the history to the fleet's PostgreSQL database (docs/fleet.md).",
                               discussion: "A connection string: postgresql://STATION@HOST/DB?sslmode=verify-full. The password is read from $PGPASSWORD, not the command line.",
                               valueName: "url"))
    var fleet: String?
    // Access and limits (docs/security.md).

    @Option(help: ArgumentHelp("Unix group (name or gid) whose members may read: status, faults, telemetry. The socket gets this group.",
                               valueName: "group"))
    var readerGroup = AccessPolicy.defaultReaderGroup

    @Option(help: ArgumentHelp("Unix group (name or gid) whose members may also clear faults, run self-tests, move the bolt and sign reports.",
                               valueName: "group"))
    var technicianGroup = AccessPolicy.defaultTechnicianGroup

    @Option(help: ArgumentHelp(DaemonRanges.maxRequestBytes.help("Longest request line a client may send"), valueName: "bytes"))
    var maxRequestBytes = SecurityConfiguration().maxRequestBytes

    @Option(help: ArgumentHelp(DaemonRanges.maxConnections.help("Clients connected at once; more are refused with an error")))
    var maxConnections = SecurityConfiguration().maxConnections

    @Option(help: ArgumentHelp(DaemonRanges.technicianConnections.help(
        "Of --max-connections, slots only technicians may take, so readers can never lock them out (default: an eighth)"),
                               valueName: "n"))
    var technicianConnections: Int?

    /// --technician-connections, or an eighth of --max-connections (8 of the default 64).
    var reservedForTechnicians: Int { technicianConnections ?? maxConnections / 8 }

    @Option(help: ArgumentHelp(DaemonRanges.maxConnectionsPerReader.help("Connections one reader (uid) may hold at once"),
                               valueName: "n"))
    var maxConnectionsPerReader = SecurityConfiguration().maxConnectionsPerReader

    @Option(help: ArgumentHelp(DaemonRanges.maxBatch.help("Requests one JSON-RPC batch may hold"), valueName: "n"))
    var maxBatch = SecurityConfiguration().maxBatchRequests

    @Option(help: ArgumentHelp(DaemonRanges.maxReplyBytes.help(
        "Longest reply; a bigger result is an error telling the client to page or narrow the call"), valueName: "bytes"))
    var maxReplyBytes = SecurityConfiguration().maxReplyBytes

    @Option(help: ArgumentHelp(DaemonRanges.rateLimit.help("Requests per second one connection may send on average (0: no limit); past it requests get an error"),
                               valueName: "n"))
    var rateLimit = SecurityConfiguration().requestsPerSecond

    @Option(help: ArgumentHelp(DaemonRanges.rateBurst.help("Requests one connection may send at once before --rate-limit applies"), valueName: "n"))
    var rateBurst = SecurityConfiguration().requestBurst

    @Option(help: ArgumentHelp(DaemonRanges.idleTimeout.help("Seconds a connection may go without a request before it is closed (0: never); subscribers are exempt"),
                               valueName: "seconds"))
    var idleTimeout = SecurityConfiguration().idleTimeoutSeconds

    @Option(help: ArgumentHelp(DaemonRanges.maxSubscribers.help("Telemetry subscribers per device")))
    var maxSubscribers = SecurityConfiguration().maxSubscribersPerDevice

    @OptionGroup(title: "Recording") var recording: RecordingOptions

    func validate() throws {
        try DaemonRanges.baud.check(baud)
        try DaemonRanges.forgetUnplugged.check(forgetUnplugged)
        try DaemonRanges.bleConnectTimeout.check(bleConnectTimeout)
        try DaemonRanges.bleMTU.check(bleMTU)
        try DaemonRanges.bleATTTimeout.check(bleATTTimeout)
        try DaemonRanges.simulateSeed.check(simulateSeed)
        try DaemonRanges.simulateActivity.check(simulateActivity)
        try DaemonRanges.pollHz.check(pollHz)
        try DaemonRanges.cpu.check(cpu)
        try DaemonRanges.confirmAfter.check(confirmAfter)
        try DaemonRanges.healAfter.check(healAfter)
        try DaemonRanges.subscriberBuffer.check(subscriberBuffer)
        try DaemonRanges.maxRequestBytes.check(maxRequestBytes)
        try DaemonRanges.maxConnections.check(maxConnections)
        try DaemonRanges.rateLimit.check(rateLimit)
        try DaemonRanges.rateBurst.check(rateBurst)
        try DaemonRanges.idleTimeout.check(idleTimeout)
        try DaemonRanges.maxSubscribers.check(maxSubscribers)
        try DaemonRanges.technicianConnections.check(technicianConnections)
        try DaemonRanges.maxConnectionsPerReader.check(maxConnectionsPerReader)
        try DaemonRanges.maxBatch.check(maxBatch)
        try DaemonRanges.maxReplyBytes.check(maxReplyBytes)
        guard reservedForTechnicians < maxConnections else {
            throw ValidationError("--technician-connections (\(reservedForTechnicians)) must be less than --max-connections (\(maxConnections)), or readers could never connect")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard !readerGroup.isEmpty, !technicianGroup.isEmpty else { throw ValidationError("--reader-group and --technician-group need a name") }
        guard !noDiscovery || !serialPaths.isEmpty || !usbAddresses.isEmpty || !simulate.isEmpty || !bleAddresses.isEmpty
                || !bleATTSockets.isEmpty || scan || recording.replayPath != nil else {
            throw ValidationError("nothing to diagnose: with --no-discovery give --serial PATH, --usb PORT|SERIAL or --ble ADDRESS for a lock, or --simulate SCENARIO to try it without one")
        }
        _ = try bleEndpoints()
        if let bleAdapter, !(bleAdapter.hasPrefix("hci") && bleAdapter.count > 3 && bleAdapter.dropFirst(3).allSatisfy(\.isNumber)) {
            throw ValidationError("--ble-adapter takes a controller name such as hci0 (`btmgmt info` lists them), not '\(bleAdapter)'")
        }
        guard BLESecurityLevel(rawValue: bleSecurity) != nil else {
            throw ValidationError("--ble-security must be low, medium or high, not '\(bleSecurity)'")
        }
        _ = try scenarios()
        let specs = try dialectSpecs()
        var probe = DaemonConfiguration(socketPath: socket)
        probe.serialPaths = serialPaths
        probe.serialDialects = specs
        probe.serialRxPaths = serialRx
        if let problem = probe.dialectProblems().first { throw ValidationError(problem) }
        var schemas = TuyaSchemaSet.builtIn()
        do {
            for directory in tuyaSchemas { try schemas.load(directory: directory) }
        } catch {
            throw ValidationError("\(error)")
        }
        var trust = TrustStore.shipped
        do {
            for directory in partRoots { try trust.load(directory: directory) }
        } catch {
            throw ValidationError("--part-roots: \(error)")
        }
        for spec in specs {
            if let product = spec.product, schemas.schema(product: product) == nil {
                throw ValidationError(DialectError.unknownProduct(product, known: schemas.products).description)
            }
        }
        if let metrics {
            do { _ = try MetricsAddress(parsing: metrics) } catch { throw ValidationError("--metrics: \(error)") }
        }
    }

    func bleEndpoints() throws -> [BLEEndpoint] {
        var endpoints: [BLEEndpoint] = []
        for text in bleAddresses {
            do { endpoints.append(.address(try BluetoothAddress(parsing: text))) } catch { throw ValidationError("--ble: \(error)") }
        }
        return endpoints + bleATTSockets.map { .attSocket(path: $0) }
    }

    func dialectSpecs() throws -> [DialectSpec] {
        do {
            return try dialects.map { text throws(DialectError) in try DialectSpec.parse(text) }
        } catch {
            throw ValidationError("--dialect: \(error)")
        }
    }

    func scenarios() throws -> [Scenario] {
        do {
            return try simulate.flatMap { text throws(SimulatorError) in try Scenario.list(text) }
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        if scan { throw ExitCode(Scan.run(adapterSerials: usbSerials)) }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "lockdiagd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        var configuration = DaemonConfiguration(socketPath: socket)
        configuration.serialPaths = serialPaths
        configuration.serialDialects = try dialectSpecs()
        configuration.serialRxPaths = serialRx
        configuration.tuyaSchemaDirectories = tuyaSchemas
        configuration.partRootDirectories = partRoots
        configuration.baudRate = baud
        let scenarios = try scenarios()
        if !scenarios.isEmpty {
            // Only the embedded simulated locks bring the demo maker's root: its private key is public.
            configuration.trustDemoPartRoot = true
            configuration.embeddedLocks = SimulatedLocks(scenarios: scenarios, seed: simulateSeed,
                                                         activitySeconds: simulateActivity > 0 ? simulateActivity : nil, logger: logger)
        }
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
        configuration.metrics = try metrics.map { text in try MetricsAddress(parsing: text) }
        configuration.historyPath = db
        configuration.keyPath = key
        if let commissioningLimits {
            do { configuration.commissioningLimits = try CommissioningLimits.load(path: commissioningLimits) } catch { throw ValidationError("\(error)") }
        }
        if let fleet {
            let url: FleetURL
            do { url = try FleetURL(fleet) } catch { throw ValidationError("--fleet: \(error)") }
            configuration.fleet = FleetLink(configuration: FleetLink.Configuration(url: url), logger: logger)
        }
        configuration.hotplug.usbAddresses = usbAddresses.map(USBAddress.init)
        configuration.hotplug.adapterSerials = usbSerials
        configuration.hotplug.discovery = !noDiscovery
        configuration.hotplug.forgetUnpluggedSeconds = forgetUnplugged
        configuration.bleDevices = try bleEndpoints()
        configuration.bleOptions.security = BLESecurityLevel(rawValue: bleSecurity) ?? .low
        configuration.bleOptions.adapter = bleAdapter
        configuration.bleOptions.connectTimeoutSeconds = bleConnectTimeout
        configuration.bleOptions.receiveMTU = bleMTU
        configuration.bleOptions.transactionTimeoutSeconds = bleATTTimeout
        if !bleAddresses.isEmpty {
            // A host without Bluetooth cannot ever reach these locks: say so now, not in a retry loop.
            do { try BluetoothSupport.check() } catch {
                FileHandle.standardError.write(Data("lockdiagd: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
        configuration.security.readerGroup = readerGroup
        configuration.security.technicianGroup = technicianGroup
        configuration.security.maxRequestBytes = maxRequestBytes
        configuration.security.maxConnections = maxConnections
        configuration.security.technicianConnections = reservedForTechnicians
        configuration.security.maxConnectionsPerReader = maxConnectionsPerReader
        configuration.security.maxBatchRequests = maxBatch
        configuration.security.maxReplyBytes = maxReplyBytes
        configuration.security.requestsPerSecond = rateLimit
        configuration.security.requestBurst = rateBurst
        configuration.security.idleTimeoutSeconds = idleTimeout
        configuration.security.maxSubscribersPerDevice = maxSubscribers
        configuration.recording = recording.configuration
        configuration.replay = recording.replay

        let daemon = Daemon(configuration: configuration, version: LockDiagVersion.current, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
