/// A quantity a plan can put limits on; the raw value is its key in the plan's `limits:`.
public enum Quantity: String, Sendable, CaseIterable, Comparable {
    case motorPeakCurrent = "motor_peak_current_ma"
    case motorRunningCurrent = "motor_running_current_ma"
    case actuationTime = "actuation_time_ms"
    case batterySag = "battery_sag_mv"
    case internalResistance = "internal_resistance_mohm"
    case fingerprintImageQuality = "fingerprint_image_quality"

    /// Unit as written in results (`mA`, `ms`, `mV`, `mΩ`, or empty for a score).
    public var unit: String {
        switch self {
        case .motorPeakCurrent, .motorRunningCurrent: "mA"
        case .actuationTime: "ms"
        case .batterySag: "mV"
        case .internalResistance: "mΩ"
        case .fingerprintImageQuality: ""
        }
    }

    /// In words, for failure messages.
    public var label: String {
        switch self {
        case .motorPeakCurrent: "peak motor current"
        case .motorRunningCurrent: "running motor current"
        case .actuationTime: "actuation time"
        case .batterySag: "battery sag under load"
        case .internalResistance: "battery internal resistance"
        case .fingerprintImageQuality: "fingerprint image quality"
        }
    }

    /// The range a value can sensibly have; a limit outside it is a typo in the plan.
    var plausible: ClosedRange<Int> {
        switch self {
        case .motorPeakCurrent, .motorRunningCurrent: 0...20_000
        case .actuationTime: 0...60_000
        case .batterySag: 0...20_000
        case .internalResistance: 0...100_000
        case .fingerprintImageQuality: 0...100
        }
    }

    public static func < (a: Quantity, b: Quantity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// An inclusive range a measurement must be in; either end may be open.
public struct Limit: Sendable, Equatable {
    public var min: Int?
    public var max: Int?

    public init(min: Int? = nil, max: Int? = nil) {
        self.min = min
        self.max = max
    }

    public func contains(_ value: Int) -> Bool {
        (min.map { value >= $0 } ?? true) && (max.map { value <= $0 } ?? true)
    }

    /// `≤ 1800 mA`, `100–400 mA`, `≥ 40`.
    public func text(unit: String) -> String {
        let u = unit.isEmpty ? "" : " " + unit
        switch (min, max) {
        case let (lo?, hi?): return "\(lo)–\(hi)\(u)"
        case let (lo?, nil): return "≥ \(lo)\(u)"
        case let (nil, hi?): return "≤ \(hi)\(u)"
        case (nil, nil): return "any"
        }
    }
}

/// The limits in force for a step.
public struct Limits: Sendable, Equatable {
    public var values: [Quantity: Limit]

    public init(_ values: [Quantity: Limit] = [:]) { self.values = values }

    public subscript(quantity: Quantity) -> Limit? { values[quantity] }

    /// These limits with `overrides` on top (a step's own limits over the plan's).
    public func merging(_ overrides: Limits) -> Limits {
        Limits(values.merging(overrides.values) { _, new in new })
    }

    /// Checks a measured value: nil when no limit applies.
    public func check(_ quantity: Quantity, _ value: Int) -> Bool? { values[quantity].map { $0.contains(value) } }
}
