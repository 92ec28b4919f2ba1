/// `device.status` result.
public struct DeviceStatus: Codable, Sendable, Equatable {
    public var device: String
    public var online: Bool
    /// Bolt: `locked`, `unlocked`, `moving`, `intermediate`, `unknown`.
    public var lock: String
    /// `closed`, `open`, `unknown`.
    public var door: String
    public var battery: BatteryReading
    public var motor: MotorReading
    public var fingerprint: FingerprintReading?
    public var temperatureCelsius: Double?
    public var calibrated: Bool
    public var tamperActive: Bool
    /// Fault-memory records the lock says are failing now.
    public var activeFaults: Int
    public var actuations: UInt32
    public var uptimeSeconds: UInt32
    public var lastActuation: ActuationSummary?
    /// When the lock last answered READ_STATUS (ISO 8601, UTC); nil before the first answer.
    public var updatedAt: String?
    /// `LDP/1`, or `GATT` for a BLE lock with only the standard services: then only
    /// `battery.percent` is a reading (docs/socket-api.md). Absent from older daemons.
    public var wireProtocol: String?
    /// For a lock spoken to in the Tuya MCU dialect: what it reports (firmware-specs/tuya-mcu.md §6).
    public var tuya: TuyaReading?

    enum CodingKeys: String, CodingKey {
        case wireProtocol = "protocol"
        case device, online, lock, door, battery, motor, fingerprint, calibrated, actuations, tuya
        case temperatureCelsius = "temperature_c"
        case tamperActive = "tamper_active"
        case activeFaults = "active_faults"
        case uptimeSeconds = "uptime_s"
        case lastActuation = "last_actuation"
        case updatedAt = "updated_at"
    }

    public init(device: String, online: Bool, lock: String, door: String, battery: BatteryReading, motor: MotorReading,
                fingerprint: FingerprintReading?, temperatureCelsius: Double?, calibrated: Bool, tamperActive: Bool,
                activeFaults: Int, actuations: UInt32, uptimeSeconds: UInt32, lastActuation: ActuationSummary?, updatedAt: String?,
                wireProtocol: String? = nil, tuya: TuyaReading? = nil) {
        self.wireProtocol = wireProtocol
        self.device = device
        self.online = online
        self.lock = lock
        self.door = door
        self.battery = battery
        self.motor = motor
        self.fingerprint = fingerprint
        self.temperatureCelsius = temperatureCelsius
        self.calibrated = calibrated
        self.tamperActive = tamperActive
        self.activeFaults = activeFaults
        self.actuations = actuations
        self.uptimeSeconds = uptimeSeconds
        self.lastActuation = lastActuation
        self.updatedAt = updatedAt
        self.tuya = tuya
    }
}

/// Battery as the lock measures it.
public struct BatteryReading: Codable, Sendable, Equatable {
    public var voltageMillivolts: Int
    /// State of charge, nil when the lock does not know.
    public var percent: Int?

    enum CodingKeys: String, CodingKey {
        case percent
        case voltageMillivolts = "voltage_mv"
    }

    public init(voltageMillivolts: Int, percent: Int?) {
        self.voltageMillivolts = voltageMillivolts
        self.percent = percent
    }
}

/// Motor now.
public struct MotorReading: Codable, Sendable, Equatable {
    /// `idle`, `locking`, `unlocking`, `braking`, `disabled`.
    public var state: String
    public var currentMilliamps: Int

    enum CodingKeys: String, CodingKey {
        case state
        case currentMilliamps = "current_ma"
    }

    public init(state: String, currentMilliamps: Int) {
        self.state = state
        self.currentMilliamps = currentMilliamps
    }
}

/// Fingerprint sensor now.
public struct FingerprintReading: Codable, Sendable, Equatable {
    /// `absent`, `ready`, `capturing`, `error`, `not_responding`.
    public var state: String
    public var linkOK: Bool
    /// Last image quality 0–100, nil when no image since the lock started.
    public var imageQuality: Int?
    public var templatesUsed: Int
    public var templatesCapacity: Int
    public var failedAttempts: Int
    public var lockoutRemainingSeconds: Int
    /// `never`, `passed`, `failed`.
    public var lastSelfTest: String

    enum CodingKeys: String, CodingKey {
        case state
        case linkOK = "link_ok"
        case imageQuality = "image_quality"
        case templatesUsed = "templates_used"
        case templatesCapacity = "templates_capacity"
        case failedAttempts = "failed_attempts"
        case lockoutRemainingSeconds = "lockout_remaining_s"
        case lastSelfTest = "last_selftest"
    }

    public init(state: String, linkOK: Bool, imageQuality: Int?, templatesUsed: Int, templatesCapacity: Int,
                failedAttempts: Int, lockoutRemainingSeconds: Int, lastSelfTest: String) {
        self.state = state
        self.linkOK = linkOK
        self.imageQuality = imageQuality
        self.templatesUsed = templatesUsed
        self.templatesCapacity = templatesCapacity
        self.failedAttempts = failedAttempts
        self.lockoutRemainingSeconds = lockoutRemainingSeconds
        self.lastSelfTest = lastSelfTest
    }
}

/// One motor actuation as the daemon saw it: the lock's summary plus the daemon's analysis of
/// the motor-current trace.
public struct ActuationSummary: Codable, Sendable, Equatable {
    public var actuation: Int
    /// `lock` or `unlock`.
    public var direction: String?
    /// `host`, `selftest`, `user`, `automatic`, `manual`.
    public var source: String?
    /// The lock's verdict: `reached`, `stalled`, `timeout`, `open_circuit`, `overcurrent`.
    public var result: String?
    public var durationMilliseconds: Int
    public var peakCurrentMilliamps: Int
    public var runningCurrentMilliamps: Int
    public var batteryRestMillivolts: Int?
    public var batteryLoadedMillivolts: Int?
    /// (rest − loaded) / running current, when the current was high enough to tell.
    public var internalResistanceMilliohms: Int?
    /// Time from energising to the end-stop (or jam) current spike, when there was one.
    public var endStopAtMilliseconds: Int?
    /// The daemon's reading of the trace: `normal`, `stall`, `open_circuit`, `clutch_slip`,
    /// `overcurrent`, `no_end_stop`.
    public var analysis: String
    public var samples: Int
    public var sampleRateHz: Int
    public var at: String

    enum CodingKeys: String, CodingKey {
        case actuation, direction, source, result, analysis, samples, at
        case durationMilliseconds = "duration_ms"
        case peakCurrentMilliamps = "peak_current_ma"
        case runningCurrentMilliamps = "running_current_ma"
        case batteryRestMillivolts = "battery_rest_mv"
        case batteryLoadedMillivolts = "battery_loaded_mv"
        case internalResistanceMilliohms = "internal_resistance_mohm"
        case endStopAtMilliseconds = "end_stop_at_ms"
        case sampleRateHz = "sample_rate_hz"
    }

    public init(actuation: Int, direction: String?, source: String?, result: String?, durationMilliseconds: Int, peakCurrentMilliamps: Int,
                runningCurrentMilliamps: Int, batteryRestMillivolts: Int?, batteryLoadedMillivolts: Int?, internalResistanceMilliohms: Int?,
                endStopAtMilliseconds: Int?, analysis: String, samples: Int, sampleRateHz: Int, at: String) {
        self.actuation = actuation
        self.direction = direction
        self.source = source
        self.result = result
        self.durationMilliseconds = durationMilliseconds
        self.peakCurrentMilliamps = peakCurrentMilliamps
        self.runningCurrentMilliamps = runningCurrentMilliamps
        self.batteryRestMillivolts = batteryRestMillivolts
        self.batteryLoadedMillivolts = batteryLoadedMillivolts
        self.internalResistanceMilliohms = internalResistanceMilliohms
        self.endStopAtMilliseconds = endStopAtMilliseconds
        self.analysis = analysis
        self.samples = samples
        self.sampleRateHz = sampleRateHz
        self.at = at
    }
}

/// A motor-current trace.
public struct MotorTrace: Codable, Sendable, Equatable {
    public var actuation: Int
    public var sampleRateHz: Int
    public var samplesMilliamps: [Int]

    enum CodingKeys: String, CodingKey {
        case actuation
        case sampleRateHz = "sample_rate_hz"
        case samplesMilliamps = "samples_ma"
    }

    public init(actuation: Int, sampleRateHz: Int, samplesMilliamps: [Int]) {
        self.actuation = actuation
        self.sampleRateHz = sampleRateHz
        self.samplesMilliamps = samplesMilliamps
    }
}
