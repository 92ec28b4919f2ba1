/// Where a fault is in its lifecycle (after the UDS DTC status byte): `pending` on the first
/// failed check, `confirmed` once it repeats, `healed` after enough clean checks.
public enum FaultStatus: String, Codable, Sendable, CaseIterable {
    case pending, confirmed, healed
}

/// One fault of `faults.list`.
public struct Fault: Codable, Sendable, Equatable {
    public var device: String
    /// Catalog code, `0x0101` style.
    public var code: String
    public var name: String
    public var title: String
    public var category: String
    /// `info`, `warning`, `error`, `critical`.
    public var severity: String
    public var status: FaultStatus
    /// Who saw it: `device` (the lock's fault memory), `host` (the daemon's analysis) or `both`.
    public var source: String
    /// Occurrences: failed actuations or checks for events, separate episodes for conditions.
    public var count: Int
    public var firstSeen: String
    public var lastSeen: String
    /// Telemetry when the fault was confirmed; nil while pending.
    public var freezeFrame: FreezeFrame?
    public var meaning: String
    /// The technician's next step.
    public var advice: String
    /// Whether every event of this fault is in the history database; false while some wait in
    /// memory for the disk (`unsaved_events`) or were lost (`lost_events`). Absent when the
    /// daemon keeps no history (docs/reports.md#durability).
    public var saved: Bool?
    /// Events of this fault waiting in memory to be written; absent when none.
    public var unsavedEvents: Int?
    /// Events of this fault that will never be written (the queue was full, or the database
    /// refused them); the history has a `lost` event in their place. Absent when none.
    public var lostEvents: Int?

    enum CodingKeys: String, CodingKey {
        case device, code, name, title, category, severity, status, source, count, meaning, advice, saved
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case freezeFrame = "freeze_frame"
        case unsavedEvents = "unsaved_events"
        case lostEvents = "lost_events"
    }

    public init(device: String, code: String, name: String, title: String, category: String, severity: String, status: FaultStatus,
                source: String, count: Int, firstSeen: String, lastSeen: String, freezeFrame: FreezeFrame?, meaning: String, advice: String,
                saved: Bool? = nil, unsavedEvents: Int? = nil, lostEvents: Int? = nil) {
        self.saved = saved
        self.unsavedEvents = unsavedEvents
        self.lostEvents = lostEvents
        self.device = device
        self.code = code
        self.name = name
        self.title = title
        self.category = category
        self.severity = severity
        self.status = status
        self.source = source
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.freezeFrame = freezeFrame
        self.meaning = meaning
        self.advice = advice
    }
}

/// The telemetry snapshot taken when a fault was confirmed.
public struct FreezeFrame: Codable, Sendable, Equatable {
    public var capturedAt: String
    /// Why the check failed, in words (e.g. "current 1480 mA for 35 ms at 312 ms, before the end position").
    public var evidence: String
    public var batteryMillivolts: Int?
    public var batteryPercent: Int?
    public var lock: String?
    public var door: String?
    public var motorState: String?
    public var motorCurrentMilliamps: Int?
    public var temperatureCelsius: Double?
    public var fingerprintState: String?
    public var imageQuality: Int?
    public var actuation: ActuationSummary?
    public var link: LinkHealth?

    enum CodingKeys: String, CodingKey {
        case evidence, lock, door, actuation, link
        case capturedAt = "captured_at"
        case batteryMillivolts = "battery_mv"
        case batteryPercent = "battery_percent"
        case motorState = "motor_state"
        case motorCurrentMilliamps = "motor_current_ma"
        case temperatureCelsius = "temperature_c"
        case fingerprintState = "fingerprint_state"
        case imageQuality = "image_quality"
    }

    public init(capturedAt: String, evidence: String, batteryMillivolts: Int? = nil, batteryPercent: Int? = nil, lock: String? = nil,
                door: String? = nil, motorState: String? = nil, motorCurrentMilliamps: Int? = nil, temperatureCelsius: Double? = nil,
                fingerprintState: String? = nil, imageQuality: Int? = nil, actuation: ActuationSummary? = nil, link: LinkHealth? = nil) {
        self.capturedAt = capturedAt
        self.evidence = evidence
        self.batteryMillivolts = batteryMillivolts
        self.batteryPercent = batteryPercent
        self.lock = lock
        self.door = door
        self.motorState = motorState
        self.motorCurrentMilliamps = motorCurrentMilliamps
        self.temperatureCelsius = temperatureCelsius
        self.fingerprintState = fingerprintState
        self.imageQuality = imageQuality
        self.actuation = actuation
        self.link = link
    }
}

/// Link quality over the diagnosis window.
public struct LinkHealth: Codable, Sendable, Equatable {
    public var windowSeconds: Int
    public var frames: UInt64
    public var checkErrors: UInt64
    public var timeouts: UInt64
    public var requests: UInt64

    enum CodingKeys: String, CodingKey {
        case frames, timeouts, requests
        case windowSeconds = "window_s"
        case checkErrors = "check_errors"
    }

    public init(windowSeconds: Int, frames: UInt64, checkErrors: UInt64, timeouts: UInt64, requests: UInt64) {
        self.windowSeconds = windowSeconds
        self.frames = frames
        self.checkErrors = checkErrors
        self.timeouts = timeouts
        self.requests = requests
    }
}

/// `faults.list` result.
public struct FaultsList: Codable, Sendable, Equatable {
    public var faults: [Fault]
    /// The history database's health (as in `daemon.info`), so a client can say why a fault is
    /// unsaved; absent when the daemon keeps no history.
    public var history: HistoryHealth?

    public init(faults: [Fault], history: HistoryHealth? = nil) {
        self.faults = faults
        self.history = history
    }
}

/// `faults.clear` result.
public struct FaultsCleared: Codable, Sendable, Equatable {
    public var device: String
    /// Faults removed from the daemon's list.
    public var cleared: Int
    /// Records the lock removed from its own fault memory.
    public var clearedOnDevice: Int

    enum CodingKeys: String, CodingKey {
        case device, cleared
        case clearedOnDevice = "cleared_on_device"
    }

    public init(device: String, cleared: Int, clearedOnDevice: Int) {
        self.device = device
        self.cleared = cleared
        self.clearedOnDevice = clearedOnDevice
    }
}
