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
    /// nil (JSON null) for every quantity the lock did not report: unknown is never 0.
    public var calibrated: Bool?
    public var tamperActive: Bool?
    /// Fault-memory records the lock says are failing now.
    public var activeFaults: Int?
    public var actuations: UInt32?
    public var uptimeSeconds: UInt32?
    public var lastActuation: ActuationSummary?
    /// When the lock last reported its readings (ISO 8601, UTC); nil before the first report.
    public var updatedAt: String?
    /// `LDP/1`, `Tuya MCU`, or `GATT` for a BLE lock with only the standard services
    /// (docs/socket-api.md). Absent from older daemons.
    public var wireProtocol: String?
    /// Where each known quantity came from, by its JSON name (`battery.percent`: `measured`,
    /// `battery.band`: `band`); a quantity not listed is unknown. Absent from older daemons.
    public var sources: [String: ReadingSource]?
    /// For a lock spoken to in the Tuya MCU dialect: what it reports (firmware-specs/tuya-mcu.md §6).
    public var tuya: TuyaReading?

    enum CodingKeys: String, CodingKey {
        case wireProtocol = "protocol"
        case device, online, lock, door, battery, motor, fingerprint, calibrated, actuations, sources, tuya
        case temperatureCelsius = "temperature_c"
        case tamperActive = "tamper_active"
        case activeFaults = "active_faults"
        case uptimeSeconds = "uptime_s"
        case lastActuation = "last_actuation"
        case updatedAt = "updated_at"
    }

    public init(device: String, online: Bool, lock: String, door: String, battery: BatteryReading, motor: MotorReading,
                fingerprint: FingerprintReading?, temperatureCelsius: Double?, calibrated: Bool?, tamperActive: Bool?,
                activeFaults: Int?, actuations: UInt32?, uptimeSeconds: UInt32?, lastActuation: ActuationSummary?, updatedAt: String?,
                wireProtocol: String? = nil, sources: [String: ReadingSource]? = nil, tuya: TuyaReading? = nil) {
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
        self.sources = sources
        self.tuya = tuya
    }

    /// The status view of a lock's readings.
    public init(device: String, online: Bool, readings r: Readings, lastActuation: ActuationSummary?, updatedAt: String?,
                wireProtocol: String, tuya: TuyaReading? = nil) {
        self.init(device: device, online: online, lock: r.bolt ?? "unknown", door: r.door ?? "unknown",
                  battery: BatteryReading(voltageMillivolts: r.batteryMillivolts?.value, percent: r.batteryPercent?.value,
                                          band: r.batteryBand?.value.rawValue),
                  motor: MotorReading(state: r.motorState ?? "unknown", currentMilliamps: r.motorCurrentMilliamps?.value),
                  fingerprint: r.fingerprint, temperatureCelsius: r.temperatureCelsius?.value, calibrated: r.calibrated,
                  tamperActive: r.tamperActive, activeFaults: r.activeFaults, actuations: r.actuations, uptimeSeconds: r.uptimeSeconds,
                  lastActuation: lastActuation, updatedAt: updatedAt, wireProtocol: wireProtocol, sources: r.sources, tuya: tuya)
    }

    // Unknown quantities are written as null, not left out, so a reader sees they are unknown.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(device, forKey: .device)
        try c.encode(online, forKey: .online)
        try c.encode(lock, forKey: .lock)
        try c.encode(door, forKey: .door)
        try c.encode(battery, forKey: .battery)
        try c.encode(motor, forKey: .motor)
        try c.encodeIfPresent(fingerprint, forKey: .fingerprint)
        try c.encode(temperatureCelsius, forKey: .temperatureCelsius)
        try c.encode(calibrated, forKey: .calibrated)
        try c.encode(tamperActive, forKey: .tamperActive)
        try c.encode(activeFaults, forKey: .activeFaults)
        try c.encode(actuations, forKey: .actuations)
        try c.encode(uptimeSeconds, forKey: .uptimeSeconds)
        try c.encodeIfPresent(lastActuation, forKey: .lastActuation)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encodeIfPresent(wireProtocol, forKey: .wireProtocol)
        try c.encodeIfPresent(sources, forKey: .sources)
        try c.encodeIfPresent(tuya, forKey: .tuya)
    }
}

/// Battery as the lock reports it; nil (JSON null) for what it does not report.
public struct BatteryReading: Codable, Sendable, Equatable {
    public var voltageMillivolts: Int?
    /// State of charge.
    public var percent: Int?
    /// A level band (`high`, `medium`, `low`, `critical`) from a lock that reports no number.
    public var band: String?

    enum CodingKeys: String, CodingKey {
        case percent, band
        case voltageMillivolts = "voltage_mv"
    }

    public init(voltageMillivolts: Int?, percent: Int?, band: String? = nil) {
        self.voltageMillivolts = voltageMillivolts
        self.percent = percent
        self.band = band
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(voltageMillivolts, forKey: .voltageMillivolts)
        try c.encode(percent, forKey: .percent)
        try c.encodeIfPresent(band, forKey: .band)
    }
}

/// Motor now.
public struct MotorReading: Codable, Sendable, Equatable {
    /// `idle`, `locking`, `unlocking`, `braking`, `disabled`, `unknown`.
    public var state: String
    /// nil (JSON null) when the lock does not measure it.
    public var currentMilliamps: Int?

    enum CodingKeys: String, CodingKey {
        case state
        case currentMilliamps = "current_ma"
    }

    public init(state: String, currentMilliamps: Int?) {
        self.state = state
        self.currentMilliamps = currentMilliamps
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(currentMilliamps, forKey: .currentMilliamps)
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
