import ArgumentParser
import Foundation
import LockSimulator
import OptionRanges

/// `locksim`: emulated LDP/1 lock controllers on pseudo-terminals.
@main
struct LockSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locksim",
        abstract: "Emulated LX-300 lock controllers speaking LDP/1 on pseudo-terminals or over Bluetooth LE (GATT), with scenarios and fault injection.",
        discussion: """
            Each lock is a physical model (4xAA battery with internal resistance, brushed DC motor \
            and gearbox driving the bolt, fingerprint module, fault memory) under firmware that \
            speaks LDP/1 as firmware-specs/ldp-v1.md defines it. Motor-current traces, battery sag \
            and faults come out of the model, deterministically from --seed.

            With --parts (or a parts scenario) each lock is an LDP/1.1 lock with three parts \
            (fingerprint module, battery pack, motor unit), keys and certificates from the \
            simulator's demo maker, and answers LIST_PARTS and PROVE_PART. The demo maker's root \
            key is public: a lockdiagd trusts it only when given \
            firmware-specs/parts/demo/demo-maker-root.json with --part-roots \
            (docs/genuine-parts.md).

            On start, locksim prints one device path per lock on stdout, one per line, then serves \
            until SIGTERM or SIGINT (exit 0, ptys closed). With --link-dir, the paths are stable \
            symlinks DIR/lock<N> that follow a replug to its new pty.

            With --tty PATH (repeatable) each lock is served on an existing tty instead, one lock \
            per PATH: the firmware side of a real line, such as a USB gadget's /dev/ttyGS0 (the \
            kernel lab, docs/lab.md). When the tty hangs up (the gadget is unplugged) the lock \
            reopens it every 0.1 s until it is back; stdout lists the PATHs.

            With --functionfs DIR the lock is a vendor-bulk USB lock instead (firmware-specs/usb.md \
            §2): its firmware side on a USB gadget through FunctionFS mounted at DIR. locksim writes \
            the descriptors (one vendor interface, bulk OUT 0x01 and IN 0x81) and strings to \
            DIR/ep0 and prints "ready DIR"; bind the gadget to a UDC then. It answers each OUT \
            transfer on DIR/ep1 with one IN transfer on DIR/ep2 and prints "plugged commands=N" \
            and "unplugged commands=N" as the host configures and drops it, and "accepted \
            commands=N" as it accepts a command (N: commands it accepted, to see that a host \
            did not resend one).

            With --ble-att-socket the locks are Bluetooth LE locks instead: each serves a GATT \
            server (GAP, GATT, Battery, Device Information and the LDP service of \
            firmware-specs/ble-gatt.md; only Battery and Device Information with --gatt-services \
            standard) on a Unix SOCK_SEQPACKET socket, one ATT PDU per packet as on an L2CAP ATT \
            channel, for lockdiagd --ble-att-socket. One lock: PATH is its socket; more: PATH is \
            a directory holding lock0, lock1, … `unplug` takes a BLE lock out of range (its \
            connection drops, its socket goes), `hang` stops it answering ATT requests too.

            With --ble-adapter hciN (repeatable, one lock per controller) each lock is a BLE lock \
            on a real controller instead, as root: locksim powers the controller on if it is off, \
            advertises the lock through the kernel's management API (connectable; the LDP service \
            UUID unless --gatt-services standard, the Battery Service, the name in the scan \
            response) and serves the same GATT server on an L2CAP socket on the ATT channel of \
            the controller's LE public address, for lockdiagd --ble ADDRESS. stdout lists each \
            controller's address. `unplug` stops the advertising and the listening; on exit the \
            advertising is removed. The kernel lab runs it on btvirt's virtual controllers \
            (docs/lab.md).

            SCENARIOS (--scenario: one, or a comma list applied round-robin over --count):
            \(HelpText.scenarios)

            COMMANDS on stdin, one per line, each answered with lines starting "ok" or "error" \
            (end of input does not stop the simulator; only a signal does):
            \(HelpText.commands)

            TUYA (firmware-specs/tuya-mcu.md): --dialect tuya serves the same locks behind the head \
            of a Tuya lock MCU speaking the standard protocol (PID lockdiagsimstd01), tuya-lowpower \
            the low-power one (PID lockdiagsimlpw01), both in the wifi-lock DP layout; the host \
            plays the module (lockdiagd --dialect tuya). With --tap the simulator plays the module \
            too and mirrors each direction to a pty of its own: each line on stdout is then \
            "MCU_TX_PATH MODULE_TX_PATH" (with --link-dir, DIR/lock<N> and DIR/lock<N>.module), for \
            lockdiagd --serial MCU_TX_PATH --serial-rx MODULE_TX_PATH --dialect tuya-sniff. \
            --tuya-pid PID makes the MCU report another product id: one lockdiagd has no layout \
            for, whose DPs it then reads in Tuya's standard lock layout (standard-ms).

            Example:
              locksim --pty --count 2 --scenario motor-stall,healthy --link-dir /tmp/locks
              locksim --ble-att-socket /tmp/lock.att --scenario battery-worn --ble-mtu 23
              locksim --ble-adapter hci0 --scenario motor-stall
              locksim --tty /dev/ttyGS0 --scenario motor-stall
              locksim --pty --dialect tuya-lowpower --scenario battery-low --tap
            """)

    @Flag(help: "Serve each lock on a pseudo-terminal (USB serial).")
    var pty = false

    @Option(name: .customLong("tty"), help: ArgumentHelp("Serve one lock on this existing tty (e.g. a USB gadget's /dev/ttyGS0); repeat for more.", valueName: "path"))
    var ttys: [String] = []

    @Option(name: .customLong("functionfs"), help: ArgumentHelp("Serve one vendor-bulk USB lock through FunctionFS mounted at this directory.", valueName: "dir"))
    var functionFS: String?

    @Option(name: .customLong("ble-att-socket"),
            help: ArgumentHelp("Serve each lock as a BLE GATT server on a Unix SOCK_SEQPACKET socket (one ATT PDU per packet).", valueName: "path"))
    var bleATTSocket: String?

    @Option(name: .customLong("ble-adapter"),
            help: ArgumentHelp("Serve one lock as a BLE GATT server on this Bluetooth controller (hciN), advertised; repeat for more.", valueName: "hciN"))
    var bleAdapters: [String] = []

    @Option(name: .customLong("gatt-services"), help: ArgumentHelp("With a BLE lock: full (Battery, Device Information, LDP) or standard (no LDP)."))
    var gattServices = BLEServing.Services.full.rawValue

    @Option(name: .customLong("ble-mtu"), help: ArgumentHelp(Ranges.bleMTU.help("With a BLE lock: the ATT MTU the lock can receive"), valueName: "bytes"))
    var bleMTU = 247

    @Flag(name: .customLong("ble-indicate"),
          help: "With a BLE lock: the LDP response/event characteristic indicates (each value confirmed) instead of notifying.")
    var bleIndicate = false

    @Flag(name: .customLong("ble-require-pairing"),
          help: "With a BLE lock: refuse every value with Insufficient Authentication, as a lock that wants pairing.")
    var bleRequirePairing = false

    @Option(help: "Scenario name, or a comma list applied round-robin across the locks.")
    var scenario = Scenario.healthy.rawValue

    @Flag(help: ArgumentHelp("Serve LDP/1.1 genuine parts (LIST_PARTS, PROVE_PART); without it an LDP/1.0 lock, unless a parts scenario asks for them.",
                             discussion: "Its demo maker root is trusted by a lockdiagd only with --part-roots (docs/genuine-parts.md)."))
    var parts = false

    @Option(help: ArgumentHelp(Ranges.count.help("How many locks to serve")))
    var count = 1

    @Option(name: .customLong("serial-number"),
            help: ArgumentHelp("IDENTIFY's serial number: one for every lock, or a comma list applied round-robin (default SIM-<seed>-<index>, unique).",
                               valueName: "serial"))
    var serialNumber: String?

    @Option(help: ArgumentHelp("Where each bolt is at start: locked or unlocked, or a comma list applied round-robin.", valueName: "position"))
    var bolt = BoltStart.locked.rawValue

    @Option(help: ArgumentHelp(Ranges.seed.help("Seed for every random draw; the same seed and input give the same bytes")))
    var seed: UInt64 = 1

    @Option(name: .customLong("link-dir"), help: "Directory for stable lock<N> symlinks to the ptys.")
    var linkDirectory: String?

    @Option(help: ArgumentHelp(Ranges.activity.help("Mean seconds between simulated uses (actuation or finger touch, alternately; ±30 % jitter); 0 for none")))
    var activity = 4.0

    @Option(help: "The locks' wire protocol: ldp (LDP/1), tuya (Tuya MCU, standard) or tuya-lowpower.")
    var dialect = "ldp"

    @Flag(help: "With a Tuya dialect: play the module too and mirror both directions to two ptys (a passive tap).")
    var tap = false

    @Option(name: .customLong("tuya-pid"),
            help: ArgumentHelp("With a Tuya dialect: the product id the lock MCU reports (default lockdiagsimstd01 or lockdiagsimlpw01).",
                               valueName: "pid"))
    var tuyaPID: String?

    func validate() throws {
        guard [pty, bleATTSocket != nil, !ttys.isEmpty, functionFS != nil, !bleAdapters.isEmpty].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --pty (serial locks on ptys), --tty PATH (serial locks on existing ttys), --functionfs DIR (a USB gadget's vendor-bulk lock), --ble-att-socket PATH (Bluetooth LE locks on the test seam) or --ble-adapter hciN (a Bluetooth LE lock on a real controller)")
        }
        guard functionFS == nil || (count == 1 && dialect == "ldp") else { throw ValidationError("--functionfs serves one LDP/1 lock: leave out --count and --dialect") }
        guard ttys.isEmpty || count == 1 || count == ttys.count else {
            throw ValidationError("--tty serves one lock per PATH: leave out --count, or give it as \(ttys.count)")
        }
        guard bleAdapters.isEmpty || count == 1 || count == bleAdapters.count else {
            throw ValidationError("--ble-adapter serves one lock per controller: leave out --count, or give it as \(bleAdapters.count)")
        }
        guard Set(bleAdapters).count == bleAdapters.count else { throw ValidationError("--ble-adapter: each controller serves one lock; \(bleAdapters) names one twice") }
        guard BLEServing.Services(rawValue: gattServices) != nil else { throw ValidationError("--gatt-services must be full or standard") }
        try Ranges.bleMTU.check(bleMTU)
        try Ranges.count.check(count)
        try Ranges.seed.check(seed)
        try Ranges.activity.check(activity)
        do { _ = try Scenario.list(scenario) } catch { throw ValidationError(error.description) }
        guard boltStarts != nil else { throw ValidationError("--bolt takes locked or unlocked (or a comma list of them), not '\(bolt)'") }
        if let serialNumber {
            let serials = serialNumber.split(separator: ",", omittingEmptySubsequences: false)
            // IDENTIFY carries at most 32 bytes of serial (firmware-specs/ldp-v1.md §6.1).
            guard serials.allSatisfy({ (1...32).contains($0.utf8.count) }) else {
                throw ValidationError("--serial-number: each serial number is 1 to 32 bytes, not '\(serialNumber)'")
            }
        }
        guard ["ldp", "tuya", "tuya-lowpower"].contains(dialect) else {
            throw ValidationError("--dialect is ldp, tuya or tuya-lowpower, not '\(dialect)'")
        }
        if let tuyaPID {
            guard dialect != "ldp" else { throw ValidationError("--tuya-pid needs --dialect tuya or tuya-lowpower: an LDP/1 lock has no Tuya product id") }
            // Tuya PIDs are short ASCII ids; the product-information reply carries it in JSON.
            guard (1...32).contains(tuyaPID.utf8.count), tuyaPID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw ValidationError("--tuya-pid: 1 to 32 ASCII letters and digits, not '\(tuyaPID)'")
            }
        }
        guard !tap || dialect != "ldp" else { throw ValidationError("--tap needs --dialect tuya or tuya-lowpower: LDP/1 locks have no module to tap") }
        guard ttys.isEmpty || dialect == "ldp" else { throw ValidationError("--tty serves LDP/1 locks; Tuya locks are served on ptys (--pty --dialect \(dialect))") }
        guard (bleATTSocket == nil && bleAdapters.isEmpty) || dialect == "ldp" else {
            throw ValidationError("BLE locks serve LDP/1 over GATT; Tuya locks are served on ptys (--pty --dialect \(dialect))")
        }
    }

    /// The numeric options' documented ranges; seconds become nanoseconds in 64 bits.
    enum Ranges {
        static let bleMTU = OptionRange<Int>("--ble-mtu", 23...517, unit: "bytes")
        static let count = OptionRange<Int>("--count", 1...64)
        static let seed = OptionRange<UInt64>("--seed", 0...UInt64.max)
        static let activity = OptionRange<Double>("--activity", 0...86_400, unit: "seconds")
    }

    /// `--bolt` read, nil when it names something else.
    private var boltStarts: [BoltStart]? {
        let parts = bolt.split(separator: ",", omittingEmptySubsequences: false).map { BoltStart(rawValue: String($0)) }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    /// A BLE lock on `radio`, with the --gatt-services, --ble-mtu and --ble-* options.
    private func bleServing(_ radio: BLEServing.Radio) -> BLEServing {
        BLEServing(radio: radio, services: BLEServing.Services(rawValue: gattServices) ?? .full, receiveMTU: bleMTU,
                   requirePairing: bleRequirePairing, ldpIndicates: bleIndicate)
    }

    func run() throws {
        // Block the stop signals before any thread exists, so every thread inherits the mask
        // and the main thread alone takes them with sigwait (no async-signal-safety worries).
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        // A reader of our stdout going away must not kill the simulator.
        signal(SIGPIPE, SIG_IGN)

        let scenarios = try Scenario.list(scenario)
        var configurations = SimulatorConfiguration.fleet(
            count: !ttys.isEmpty ? ttys.count : !bleAdapters.isEmpty ? bleAdapters.count : count, scenarios: scenarios, seed: seed,
            activityIntervalNanoseconds: activity > 0 ? UInt64(activity * 1e9) : nil)
        let serials = serialNumber.map { $0.split(separator: ",").map(String.init) } ?? []
        let bolts = boltStarts ?? [.locked]
        for index in configurations.indices {
            configurations[index].tuya = dialect == "tuya" ? .standard : dialect == "tuya-lowpower" ? .lowPower : nil
            configurations[index].tuyaTap = tap
            configurations[index].tuyaPID = tuyaPID
            if !serials.isEmpty { configurations[index].serial = serials[index % serials.count] }
            configurations[index].startBolt = bolts[index % bolts.count]
            configurations[index].genuineParts = parts
            if !ttys.isEmpty { configurations[index].ttyPath = ttys[index] }
        }
        if let bleATTSocket {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: bleATTSocket, isDirectory: &isDirectory)
            let useDirectory = count > 1 || (exists && isDirectory.boolValue)
            if useDirectory { try FileManager.default.createDirectory(atPath: bleATTSocket, withIntermediateDirectories: true) }
            for index in configurations.indices {
                configurations[index].ble = bleServing(.seam(path: useDirectory ? bleATTSocket + "/lock\(index)" : bleATTSocket))
            }
        }
        for (index, adapter) in bleAdapters.enumerated() {
            configurations[index].ble = bleServing(.adapter(adapter))
        }
        if let functionFS {
            // Plug changes are printed as they happen; the lock's threads serve it until a stop signal.
            let usbLock = try FunctionFSLock(configuration: configurations[0], directory: functionFS) { line in
                print(line)
                fflush(nil)
            }
            try usbLock.start()
            print("ready \(functionFS)")
            fflush(nil)
            var received: Int32 = 0
            while sigwait(&stopSignals, &received) != 0 {}
            return
        }
        let server = try SimulatorServer(configurations: configurations, linkDirectory: linkDirectory)
        try server.start()
        for (path, module) in zip(server.devicePaths, server.modulePaths) { print(module.map { "\(path) \($0)" } ?? path) }
        fflush(nil)

        // End of input leaves the locks served; only a signal stops locksim.
        SimulatorConsole(server: server).serveStandardInput()

        var received: Int32 = 0
        while sigwait(&stopSignals, &received) != 0 {}
        server.stop()
    }
}
