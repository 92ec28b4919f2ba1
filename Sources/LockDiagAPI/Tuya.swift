// What `device.status` and `devices.list` show of a lock spoken to in the Tuya MCU dialect
// (firmware-specs/tuya-mcu.md, docs/socket-api.md).

/// `device.status` `tuya`: what a Tuya lock reports, and what it cannot.
public struct TuyaReading: Codable, Sendable, Equatable {
    /// `tuya` (lockdiag plays the module) or `tuya-sniff` (a tap, listen only).
    public var dialect: String
    /// `standard` or `lowpower`; nil while a tap has not yet told which.
    public var variant: String?
    /// The product layout in use (`firmware-specs/tuya/<product>.json`): the named or PID's one,
    /// else the category's standard one (`layoutAssumed` says why); nil when none is loaded.
    public var product: String?
    public var productName: String?
    /// The layout's Tuya product category (`ms`: residential lock).
    public var category: String?
    /// Set when the layout is the category's standard one, assumed because no layout is known
    /// for this lock: why (`product id … not known`). Absent when the PID or `:PRODUCT` chose it.
    public var layoutAssumed: String?
    /// With `layoutAssumed`: why the category is what it is (the protocol does not carry it).
    public var categoryAssumed: String?
    /// From the MCU's product-information reply.
    public var pid: String?
    public var mcuVersion: String?
    /// The lock's own battery level band (`high`, `medium`, `low`, `poweroff`), when it has one.
    public var batteryBand: String?
    /// Alarms the lock raised, newest first (at most 16).
    public var alarms: [TuyaAlarm]
    /// Unlocks and other events, newest first (at most 32).
    public var events: [TuyaEvent]
    /// Every DP last seen, by id.
    public var dps: [TuyaDPState]
    /// What this lock cannot report over Tuya, in words.
    public var notAvailable: [String]
    /// Reports the MCU sent (0x07/0x22 standard, 0x05 low-power) and record reports (0x08).
    public var reports: UInt64
    public var records: UInt64
    /// MCU restarts seen (a first heartbeat answer after later ones).
    public var mcuRestarts: UInt64

    enum CodingKeys: String, CodingKey {
        case dialect, variant, product, category, pid, alarms, events, dps, reports, records
        case productName = "product_name"
        case layoutAssumed = "layout_assumed"
        case categoryAssumed = "category_assumed"
        case mcuVersion = "mcu_version"
        case batteryBand = "battery_band"
        case notAvailable = "not_available"
        case mcuRestarts = "mcu_restarts"
    }

    public init(dialect: String, variant: String?, product: String?, productName: String?, category: String? = nil,
                layoutAssumed: String? = nil, categoryAssumed: String? = nil, pid: String?, mcuVersion: String?,
                batteryBand: String?, alarms: [TuyaAlarm], events: [TuyaEvent], dps: [TuyaDPState], notAvailable: [String],
                reports: UInt64, records: UInt64, mcuRestarts: UInt64) {
        self.dialect = dialect
        self.variant = variant
        self.product = product
        self.productName = productName
        self.category = category
        self.layoutAssumed = layoutAssumed
        self.categoryAssumed = categoryAssumed
        self.pid = pid
        self.mcuVersion = mcuVersion
        self.batteryBand = batteryBand
        self.alarms = alarms
        self.events = events
        self.dps = dps
        self.notAvailable = notAvailable
        self.reports = reports
        self.records = records
        self.mcuRestarts = mcuRestarts
    }
}

/// An alarm a Tuya lock raised.
public struct TuyaAlarm: Codable, Sendable, Equatable {
    /// The lock's name for it (`tongue_bad`, `pry`, `low_battery`…).
    public var alarm: String
    /// The catalog fault it raised, nil for alarms that are events only (`key_in`).
    public var fault: String?
    /// When lockdiag saw it (ISO 8601, UTC).
    public var at: String
    /// The lock's own time stamp, for a record report (its clock, zone unknown).
    public var recordedAt: String?

    enum CodingKeys: String, CodingKey {
        case alarm, fault, at
        case recordedAt = "recorded_at"
    }

    public init(alarm: String, fault: String?, at: String, recordedAt: String?) {
        self.alarm = alarm
        self.fault = fault
        self.at = at
        self.recordedAt = recordedAt
    }
}

/// An event a Tuya lock reported: an unlock, a duress (hijack) unlock, the doorbell.
public struct TuyaEvent: Codable, Sendable, Equatable {
    /// `unlock` or the DP's code (`hijack`, `doorbell`).
    public var kind: String
    /// For an unlock: `fingerprint`, `password`, `card`, `face`, `app`…
    public var method: String?
    /// For an unlock: the lock's number of the finger, code or card used.
    public var user: Int?
    public var at: String
    public var recordedAt: String?

    enum CodingKeys: String, CodingKey {
        case kind, method, user, at
        case recordedAt = "recorded_at"
    }

    public init(kind: String, method: String?, user: Int?, at: String, recordedAt: String?) {
        self.kind = kind
        self.method = method
        self.user = user
        self.at = at
        self.recordedAt = recordedAt
    }
}

/// A DP's last value.
public struct TuyaDPState: Codable, Sendable, Equatable {
    public var id: Int
    /// The layout's name for it; nil when the layout does not list it, or lists it with another
    /// type than the lock sent (an "unknown DP": shown raw, never interpreted).
    public var code: String?
    /// `raw`, `bool`, `value`, `string`, `enum`, `bitmap`.
    public var type: String
    /// The value as text (an enum's name when the layout has its range; raw as hex).
    public var value: String
    public var at: String

    public init(id: Int, code: String?, type: String, value: String, at: String) {
        self.id = id
        self.code = code
        self.type = type
        self.value = value
        self.at = at
    }
}
