// Field types of LDP/1 messages (ldp-v1.md §6–§7). Enumerations the wire may extend are
// structs over their raw byte, so an unknown value survives decoding and shows as a number.

/// Message types of §6.
public enum MessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case identify = 0x01
    case readStatus = 0x02
    case readMotorTrace = 0x03
    case readFingerprintStatus = 0x04
    case readFaults = 0x05
    case clearFaults = 0x06
    case runSelfTest = 0x07
    case actuate = 0x08
    /// LDP/1.1 (§6.10).
    case listParts = 0x09
    /// LDP/1.1 (§6.11).
    case provePart = 0x0A
    case actuationStarted = 0x81
    case actuationFinished = 0x82
    case traceChunk = 0x83
    case faultRaised = 0x84
    case selfTestResult = 0x85
    case tamper = 0x86

    public var isEvent: Bool { rawValue >= 0x80 }

    public var description: String {
        switch self {
        case .identify: "IDENTIFY"
        case .readStatus: "READ_STATUS"
        case .readMotorTrace: "READ_MOTOR_TRACE"
        case .readFingerprintStatus: "READ_FINGERPRINT_STATUS"
        case .readFaults: "READ_FAULTS"
        case .clearFaults: "CLEAR_FAULTS"
        case .runSelfTest: "RUN_SELFTEST"
        case .actuate: "ACTUATE"
        case .listParts: "LIST_PARTS"
        case .provePart: "PROVE_PART"
        case .actuationStarted: "ACTUATION_STARTED"
        case .actuationFinished: "ACTUATION_FINISHED"
        case .traceChunk: "TRACE_CHUNK"
        case .faultRaised: "FAULT_RAISED"
        case .selfTestResult: "SELFTEST_RESULT"
        case .tamper: "TAMPER"
        }
    }
}

/// Capability bits of IDENTIFY (§6.1).
public struct Capabilities: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let motor = Capabilities(rawValue: 1 << 0)
    public static let motorTrace = Capabilities(rawValue: 1 << 1)
    public static let batteryLoadTest = Capabilities(rawValue: 1 << 2)
    public static let fingerprint = Capabilities(rawValue: 1 << 3)
    public static let doorSensor = Capabilities(rawValue: 1 << 4)
    public static let temperature = Capabilities(rawValue: 1 << 5)
    public static let tamperSensor = Capabilities(rawValue: 1 << 6)
    public static let faultMemory = Capabilities(rawValue: 1 << 7)
    /// LDP/1.1: answers LIST_PARTS and PROVE_PART (§6.9).
    public static let genuineParts = Capabilities(rawValue: 1 << 8)

    /// Names of the bits set, in bit order (unknown bits as `bitN`).
    public var names: [String] {
        let known = ["motor", "motor_trace", "battery_load_test", "fingerprint", "door_sensor", "temperature", "tamper_sensor", "fault_memory", "genuine_parts"]
        return (0..<32).compactMap { bit in
            rawValue & (1 << UInt32(bit)) == 0 ? nil : (bit < known.count ? known[bit] : "bit\(bit)")
        }
    }
}

/// A raw byte with documented names; `name` falls back to `unknown(N)`.
public protocol NamedByte: RawRepresentable, Hashable, Sendable, CustomStringConvertible where RawValue == UInt8 {
    static var names: [UInt8: String] { get }
}

extension NamedByte {
    public var name: String { Self.names[rawValue] ?? "unknown(\(rawValue))" }
    public var description: String { name }
    public var isKnown: Bool { Self.names[rawValue] != nil }
}

/// `bolt` of §6.2.
public struct BoltState: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unknown = BoltState(rawValue: 0)
    public static let locked = BoltState(rawValue: 1)
    public static let unlocked = BoltState(rawValue: 2)
    public static let moving = BoltState(rawValue: 3)
    public static let intermediate = BoltState(rawValue: 4)
    public static let names: [UInt8: String] = [0: "unknown", 1: "locked", 2: "unlocked", 3: "moving", 4: "intermediate"]
}

/// `door` of §6.2.
public struct DoorState: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unknown = DoorState(rawValue: 0)
    public static let closed = DoorState(rawValue: 1)
    public static let open = DoorState(rawValue: 2)
    public static let names: [UInt8: String] = [0: "unknown", 1: "closed", 2: "open"]
}

/// `motor` of §6.2.
public struct MotorState: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let idle = MotorState(rawValue: 0)
    public static let lockingDrive = MotorState(rawValue: 1)
    public static let unlockingDrive = MotorState(rawValue: 2)
    public static let braking = MotorState(rawValue: 3)
    public static let disabled = MotorState(rawValue: 4)
    public static let names: [UInt8: String] = [0: "idle", 1: "locking", 2: "unlocking", 3: "braking", 4: "disabled"]
}

/// `flags` of §6.2.
public struct StatusFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let calibrated = StatusFlags(rawValue: 1 << 0)
    public static let tamperActive = StatusFlags(rawValue: 1 << 1)
    public static let fingerprintBusy = StatusFlags(rawValue: 1 << 2)
}

/// `state` of §6.4.
public struct FingerprintState: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let absent = FingerprintState(rawValue: 0)
    public static let ready = FingerprintState(rawValue: 1)
    public static let capturing = FingerprintState(rawValue: 2)
    public static let error = FingerprintState(rawValue: 3)
    public static let notResponding = FingerprintState(rawValue: 4)
    public static let names: [UInt8: String] = [0: "absent", 1: "ready", 2: "capturing", 3: "error", 4: "not_responding"]
}

/// `last_selftest` of §6.4.
public struct SelfTestOutcome: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let never = SelfTestOutcome(rawValue: 0)
    public static let passed = SelfTestOutcome(rawValue: 1)
    public static let failed = SelfTestOutcome(rawValue: 2)
    public static let names: [UInt8: String] = [0: "never", 1: "passed", 2: "failed"]
}

/// Fault-record `status` bits of §6.5 (after the UDS DTC status byte).
public struct FaultStatusBits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let testFailed = FaultStatusBits(rawValue: 1 << 0)
    public static let pending = FaultStatusBits(rawValue: 1 << 1)
    public static let confirmed = FaultStatusBits(rawValue: 1 << 2)
    public static let failedSinceClear = FaultStatusBits(rawValue: 1 << 3)
}

/// The test of RUN_SELFTEST (§6.7).
public enum SelfTestKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case motor = 1
    case battery = 2
    case fingerprint = 3

    public var description: String {
        switch self {
        case .motor: "motor"
        case .battery: "battery"
        case .fingerprint: "fingerprint"
        }
    }
}

/// `direction` of ACTUATE and the actuation events.
public enum Direction: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case lock = 1
    case unlock = 2

    public var opposite: Direction { self == .lock ? .unlock : .lock }
    public var description: String { self == .lock ? "lock" : "unlock" }
}

/// `source` of ACTUATION_STARTED (§7.1).
public struct ActuationSource: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let host = ActuationSource(rawValue: 0)
    public static let selfTest = ActuationSource(rawValue: 1)
    public static let user = ActuationSource(rawValue: 2)
    public static let automatic = ActuationSource(rawValue: 3)
    public static let manual = ActuationSource(rawValue: 4)
    public static let names: [UInt8: String] = [0: "host", 1: "selftest", 2: "user", 3: "automatic", 4: "manual"]
}

/// `result` of ACTUATION_FINISHED (§7.2).
public struct ActuationResult: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let reached = ActuationResult(rawValue: 0)
    public static let stalled = ActuationResult(rawValue: 1)
    public static let timeout = ActuationResult(rawValue: 2)
    public static let openCircuit = ActuationResult(rawValue: 3)
    public static let overcurrent = ActuationResult(rawValue: 4)
    public static let names: [UInt8: String] = [0: "reached", 1: "stalled", 2: "timeout", 3: "open_circuit", 4: "overcurrent"]
}

/// `result` of SELFTEST_RESULT (§7.3).
public struct SelfTestVerdict: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let pass = SelfTestVerdict(rawValue: 0)
    public static let fail = SelfTestVerdict(rawValue: 1)
    public static let aborted = SelfTestVerdict(rawValue: 2)
    public static let names: [UInt8: String] = [0: "pass", 1: "fail", 2: "aborted"]
}

/// Measurement ids of §7.3.
public struct MeasurementID: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let durationMs = MeasurementID(rawValue: 1)
    public static let peakCurrentMa = MeasurementID(rawValue: 2)
    public static let runningCurrentMa = MeasurementID(rawValue: 3)
    public static let batteryRestMv = MeasurementID(rawValue: 4)
    public static let batteryLoadedMv = MeasurementID(rawValue: 5)
    public static let loadCurrentMa = MeasurementID(rawValue: 6)
    public static let internalResistanceMohm = MeasurementID(rawValue: 7)
    public static let imageQuality = MeasurementID(rawValue: 8)
    public static let endPositionReached = MeasurementID(rawValue: 9)
    public static let faultCode = MeasurementID(rawValue: 10)
    public static let names: [UInt8: String] = [
        1: "duration_ms", 2: "peak_current_ma", 3: "running_current_ma", 4: "battery_rest_mv",
        5: "battery_loaded_mv", 6: "load_current_ma", 7: "internal_resistance_mohm",
        8: "image_quality", 9: "end_position_reached", 10: "fault_code",
    ]
}

/// `cause` of TAMPER (§7.4).
public struct TamperCause: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let forcedBolt = TamperCause(rawValue: 1)
    public static let shock = TamperCause(rawValue: 2)
    public static let caseOpened = TamperCause(rawValue: 3)
    public static let wrongCredentials = TamperCause(rawValue: 4)
    public static let names: [UInt8: String] = [1: "forced_bolt", 2: "shock", 3: "case_opened", 4: "wrong_credentials"]
}

/// NAK codes of §5.
public struct NakCode: NamedByte, Error {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unknownMessage = NakCode(rawValue: 1)
    public static let malformed = NakCode(rawValue: 2)
    public static let busy = NakCode(rawValue: 3)
    public static let unsupportedVersion = NakCode(rawValue: 4)
    public static let notAvailable = NakCode(rawValue: 5)
    public static let refused = NakCode(rawValue: 6)
    public static let hardwareFailure = NakCode(rawValue: 7)
    public static let names: [UInt8: String] = [
        1: "unknown_message", 2: "malformed", 3: "busy", 4: "unsupported_version",
        5: "not_available", 6: "refused", 7: "hardware_failure",
    ]
}
