import LockProtocol
import TuyaProtocol

/// Where a simulated lock's bolt is when it starts (for a jamming lock: where its last move was headed).
public enum BoltStart: String, Sendable, CaseIterable {
    case locked, unlocked
}

/// Everything that makes one simulated lock what it is; two locks with equal configurations
/// given the same input schedule produce the same bytes.
public struct SimulatorConfiguration: Sendable, Equatable {
    public var scenario: Scenario
    /// Seeds every random draw of the lock (noise, jitter, wire faults).
    public var seed: UInt64
    /// The lock's position in a multi-lock run; part of the default serial and of the seed mix.
    public var index: Int
    /// IDENTIFY's serial; unique and stable per lock.
    public var serial: String
    /// Mean time between simulated uses (an actuation or a finger touch, alternately), ±30 %
    /// seeded jitter; nil means the lock is only used when told to.
    public var activityIntervalNanoseconds: UInt64?
    public var model: String
    public var hardwareRevision: String
    public var firmwareVersion: String
    /// Serve over Bluetooth LE (a GATT server on the seqpacket seam) instead of a pty.
    public var ble: BLEServing?
    /// Serve on this existing tty instead of a pty of our own: the lock's end of a real line, such
    /// as a USB gadget's `/dev/ttyGS0` (`locksim --tty`). A hang-up there (the gadget unplugged)
    /// closes it; the lock reopens it until it comes back, as firmware re-enumerates.
    public var ttyPath: String? = nil
    /// Speak Tuya (standard or low-power) instead of LDP/1 (`locksim --dialect`); nil: LDP/1.
    public var tuya: TuyaVariant? = nil
    /// With `tuya`: play the module too and mirror each direction to a pty of its own, a passive
    /// tap for `lockdiagd --dialect tuya-sniff` (`locksim --tap`).
    public var tuyaTap = false
    /// With `tuya`: the product id the MCU reports, nil for the variant's own (`locksim --tuya-pid`).
    public var tuyaPID: String? = nil
    /// Where the bolt is at start: the user's last actuation, ten minutes before, moved it there
    /// (`locksim --bolt`).
    public var startBolt = BoltStart.locked
    /// LDP/1.1 genuine parts (PartCertificates.swift): IDENTIFY says `protocol_minor` 1 with
    /// capability bit 8 and the lock answers LIST_PARTS and PROVE_PART; false: an LDP/1.0 lock,
    /// which NAKs them UNKNOWN_MESSAGE. A parts scenario has them whatever this says. Off unless
    /// asked for (`locksim --parts`, `lockdiagd --simulate`): the demo maker's parts are
    /// counterfeit to a host that does not trust its root, which is every host by default.
    public var genuineParts = false

    /// Whether the lock serves its parts: asked for, or needed by its scenario.
    var servesParts: Bool { genuineParts || scenario.isPartsScenario }

    public init(scenario: Scenario = .healthy, seed: UInt64 = 1, index: Int = 0, serial: String? = nil,
                activityIntervalNanoseconds: UInt64? = nil, model: String = "LX-300",
                hardwareRevision: String = "SIM", firmwareVersion: String = "2.4.1", ble: BLEServing? = nil) {
        self.ble = ble
        self.scenario = scenario
        self.seed = seed
        self.index = index
        self.serial = serial ?? Self.defaultSerial(seed: seed, index: index)
        self.activityIntervalNanoseconds = activityIntervalNanoseconds
        self.model = model
        self.hardwareRevision = hardwareRevision
        self.firmwareVersion = firmwareVersion
    }

    /// `SIM-<low 16 bits of the seed, 4 hex digits>-<index, 3 digits>`, e.g. `SIM-002A-001`.
    public static func defaultSerial(seed: UInt64, index: Int) -> String {
        let hexDigits = String(seed & 0xFFFF, radix: 16, uppercase: true)
        let decimal = String(index)
        return "SIM-" + String(repeating: "0", count: max(0, 4 - hexDigits.count)) + hexDigits
            + "-" + String(repeating: "0", count: max(0, 3 - decimal.count)) + decimal
    }

    /// One configuration per lock: scenarios applied round-robin, one seed, indices 0…count-1.
    public static func fleet(count: Int, scenarios: [Scenario], seed: UInt64,
                             activityIntervalNanoseconds: UInt64? = nil) -> [SimulatorConfiguration] {
        let pool = scenarios.isEmpty ? [Scenario.healthy] : scenarios
        return (0..<max(0, count)).map { index in
            SimulatorConfiguration(scenario: pool[index % pool.count], seed: seed, index: index,
                                   activityIntervalNanoseconds: activityIntervalNanoseconds)
        }
    }

    /// What the lock's GATT server shows in its GAP and Device Information services. The
    /// manufacturer name is longer than 22 bytes on purpose: at the default ATT_MTU of 23 a client
    /// must read it with Read Blob (a long read).
    var gattValues: GATTServer.Values {
        GATTServer.Values(deviceName: "\(model) \(serial)", manufacturer: "Lockdiag Simulated Lock Controllers", model: model,
                          serial: serial, hardwareRevision: hardwareRevision, firmwareRevision: firmwareVersion,
                          softwareRevision: "locksim")
    }

    var identity: Identity {
        Identity(protocolMinor: servesParts ? 1 : 0, capabilities: Capabilities(rawValue: servesParts ? 0x1FF : 0xFF), traceSampleRateHz: UInt16(ActuationRun.sampleRateHz),
                 traceCapacity: UInt16(TraceBuffer.capacity), model: model, hardwareRevision: hardwareRevision,
                 firmwareVersion: firmwareVersion, serial: serial)
    }
}
