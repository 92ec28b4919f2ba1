// The daemon's one vocabulary for what is known about a lock (docs/architecture.md "Readings").
// Every lock family's hub half maps what its lock reports into `Readings`; status, devices.list,
// metrics, history samples, freeze frames and the CLI are views of it. Unknown is nil — never 0:
// a technician reads "0 mA" as "the motor draws nothing".

/// Where a reading came from.
public enum ReadingSource: String, Codable, Sendable, CaseIterable {
    /// Measured by the lock and reported as a number (LDP/1 READ_STATUS, the GATT Battery Level).
    case measured
    /// Reported by the lock as a band, not a number (a Tuya lock's `battery_state: low`).
    case band
    /// Worked out by lockdiag from other readings (a battery's internal resistance from its sag).
    case derived
}

/// One quantity and where it came from; its unit is in the name of the property holding it.
public struct Reading<Value: Sendable & Equatable>: Sendable, Equatable {
    public var value: Value
    public var source: ReadingSource

    public init(_ value: Value, _ source: ReadingSource) {
        self.value = value
        self.source = source
    }
}

/// A battery level as locks report it without a number, normalised over the families.
public enum BatteryBand: String, Codable, Sendable, CaseIterable {
    case high, medium, low
    /// Exhausted: the lock may not move its bolt any more.
    case critical
}

/// What is known about a lock now: each quantity optional (nil: the lock did not report it).
public struct Readings: Sendable, Equatable {
    /// When the lock last reported them (ms since the epoch); nil before it reported anything.
    public var atMilliseconds: Int64?
    /// How long they describe the lock: a polled lock's readings are current only while it
    /// answers (LDP/1: a few polls); nil for a lock that reports on change (Tuya, GATT).
    public var validForMilliseconds: Int64?

    /// Bolt: `locked`, `unlocked`, `moving`, `intermediate`.
    public var bolt: String?
    /// `closed`, `open`.
    public var door: String?
    /// `idle`, `locking`, `unlocking`, `braking`, `disabled`.
    public var motorState: String?
    public var motorCurrentMilliamps: Reading<Int>?
    public var batteryMillivolts: Reading<Int>?
    public var batteryPercent: Reading<Int>?
    public var batteryBand: Reading<BatteryBand>?
    public var temperatureCelsius: Reading<Double>?
    public var calibrated: Bool?
    public var tamperActive: Bool?
    /// Fault-memory records the lock says are failing now.
    public var activeFaults: Int?
    public var actuations: UInt32?
    public var uptimeSeconds: UInt32?
    public var fingerprint: FingerprintReading?

    public init() {}

    /// Whether the motor is at rest (or the lock does not say): battery levels read now are rest levels.
    public var motorAtRest: Bool { motorState.map { $0 == "idle" || $0 == "disabled" } ?? true }

    /// Whether they still describe the lock at `now` (ms since the epoch).
    public func isCurrent(at now: Int64) -> Bool {
        guard let at = atMilliseconds else { return false }
        guard let validFor = validForMilliseconds else { return true }
        return now - at < validFor
    }

    /// The API names of the quantities that are known, with where each came from (`device.status` `sources`).
    public var sources: [String: ReadingSource] {
        var out: [String: ReadingSource] = [:]
        if let r = batteryMillivolts { out["battery.voltage_mv"] = r.source }
        if let r = batteryPercent { out["battery.percent"] = r.source }
        if let r = batteryBand { out["battery.band"] = r.source }
        if let r = motorCurrentMilliamps { out["motor.current_ma"] = r.source }
        if let r = temperatureCelsius { out["temperature_c"] = r.source }
        return out
    }
}
