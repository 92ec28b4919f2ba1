import LockProtocol

/// A named fault the simulated lock carries; the raw value is the `locksim --scenario` name.
public enum Scenario: String, Sendable, CaseIterable, CustomStringConvertible {
    case healthy
    case motorStall = "motor-stall"
    case motorOpen = "motor-open"
    case clutchSlip = "clutch-slip"
    case batteryLow = "battery-low"
    case batteryWorn = "battery-worn"
    case fingerprintDead = "fingerprint-dead"
    case fingerprintDegraded = "fingerprint-degraded"
    case noisyLine = "noisy-line"
    case flaky
    case tamper
    case counterfeitFingerprint = "counterfeit-fingerprint"
    case wrongSerialPart = "wrong-serial-part"
    case strikeMisaligned = "strike-misaligned"

    public var description: String { rawValue }

    /// One line for `locksim --help`, `help` and docs/simulator.md.
    public var summary: String {
        switch self {
        case .healthy: "everything works: ~0.8 s actuations, battery ~85 %, fingerprint quality 65–90"
        case .motorStall: "the bolt jams at 40–50 % travel when locking (misaligned strike plate); unlocking is fine"
        case .motorOpen: "the motor circuit is broken: energised, it draws no current (open_circuit)"
        case .clutchSlip: "the motor spins at no-load current (~90 mA) but the bolt never moves: timeout after 3 s"
        case .batteryLow: "battery at ~12 % state of charge: BATTERY_LOW in fault memory, slower actuations"
        case .batteryWorn: "battery at ~70 % but 2 Ω internal resistance: fine at rest, deep sag under load; the lock does not flag it"
        case .fingerprintDead: "the fingerprint sensor does not answer (link down): FINGERPRINT_NOT_RESPONDING"
        case .fingerprintDegraded: "the fingerprint sensor works but every image has quality 20–35 (dirty or worn sensor)"
        case .noisyLine: "device→host bytes corrupted: ~1 byte in 300 flipped plus short garbage bursts"
        case .flaky: "~15 % of responses are never sent (the host sees timeouts); the rest are answered"
        case .tamper: "a TAMPER event (forced bolt) a few seconds after start, and the tamper fault record"
        case .counterfeitFingerprint: "the fingerprint module's certificate is self-signed, not the maker's: a counterfeit part"
        case .wrongSerialPart: "the battery pack's certificate was issued for another pack's serial (a part moved between units)"
        case .strikeMisaligned:
            "door closed: the bolt rubs the keep over the last fifth of its travel (rising current), 1 lock throw in 4 stops short (stall, bolt intermediate); door open: runs free"
        }
    }

    /// Parses a comma list of scenario names (`motor-stall,healthy`).
    public static func list(_ text: String) throws(SimulatorError) -> [Scenario] {
        var scenarios = [Scenario]()
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingSpaces()
            guard let scenario = Scenario(rawValue: trimmed) else { throw .unknownScenario(trimmed) }
            scenarios.append(scenario)
        }
        return scenarios
    }

    // MARK: What the scenario does to the model

    /// Battery state of charge the scenario sets, 0…1.
    var batteryStateOfCharge: Double {
        switch self {
        case .batteryLow: 0.12
        case .batteryWorn: 0.70
        default: 0.85
        }
    }

    /// A scenario about the lock's parts: the lock serves them (LDP/1.1) whatever `--parts` says.
    var isPartsScenario: Bool { self == .counterfeitFingerprint || self == .wrongSerialPart }

    /// Battery internal resistance (cells plus contacts) the scenario sets.
    var batteryInternalOhms: Double { self == .batteryWorn ? 2.0 : BatteryPack.healthyInternalOhms }

    /// Whether switching to or from this scenario replaces the battery.
    var isBatteryScenario: Bool { self == .batteryLow || self == .batteryWorn }

    var driveTrainFault: DriveTrainFault {
        switch self {
        case .motorStall: .jamWhenLocking
        case .motorOpen: .openCircuit
        case .clutchSlip: .clutchSlip
        case .strikeMisaligned: .strikeMisaligned
        default: .none
        }
    }

    /// How often a lock throw with a misaligned keep meets its edge and stops short.
    static let strikeShortThrowChance = 0.25

    var fingerprintCondition: FingerprintCondition {
        switch self {
        case .fingerprintDead: .notResponding
        case .fingerprintDegraded: .degraded
        default: .good
        }
    }

    var link: LinkImpairment {
        switch self {
        case .noisyLine: LinkImpairment(byteFlipProbability: 1.0 / 300, burstProbability: 0.03, responseDropProbability: 0)
        case .flaky: LinkImpairment(byteFlipProbability: 0, burstProbability: 0, responseDropProbability: 0.15)
        default: .clean
        }
    }

    /// The fault-memory record a lock in this state plausibly already holds when it is first
    /// connected: the device-reported fault behind the scenario, seen before (host-derived faults
    /// such as a worn battery or a noisy line have none: the lock cannot know them).
    var history: FaultHistory? {
        switch self {
        case .motorStall: FaultHistory(code: FaultCode.motorStall, occurrences: 3, firstSeenAgoSeconds: 2 * 86_400 + 5_400)
        case .motorOpen: FaultHistory(code: FaultCode.motorOpenCircuit, occurrences: 3, firstSeenAgoSeconds: 7_200)
        case .clutchSlip: FaultHistory(code: FaultCode.actuationTimeout, occurrences: 3, firstSeenAgoSeconds: 86_400 + 3_600)
        case .batteryLow: FaultHistory(code: FaultCode.batteryLow, occurrences: 2, firstSeenAgoSeconds: 3 * 86_400)
        case .fingerprintDead: FaultHistory(code: FaultCode.fingerprintNotResponding, occurrences: 3, firstSeenAgoSeconds: 5 * 3_600)
        case .tamper: FaultHistory(code: FaultCode.tamper, occurrences: 1, firstSeenAgoSeconds: 4 * 86_400)
        default: nil
        }
    }
}

/// A fault-memory record installed at start-up (see `Scenario.history`).
struct FaultHistory {
    let code: UInt16
    let occurrences: UInt8
    let firstSeenAgoSeconds: UInt32
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
