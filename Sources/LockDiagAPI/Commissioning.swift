// Installation commissioning over the socket API (docs/socket-api.md "Commissioning"): the daemon
// runs the steps and judges them; a client only shows each instruction and calls the next step.

extension APIMethod {
    /// Opens a commissioning session on a lock (moves the bolt: needs `confirm: true`).
    public static let commissionStart = "commission.start"
    /// Runs the session's next step: waits for the lock's sensors, measures, judges.
    public static let commissionStep = "commission.step"
    /// Signs the session's commissioning certificate, keeps it in the history, closes the session.
    public static let commissionFinish = "commission.finish"
}

/// `commission.start` parameters.
public struct CommissionStartParams: Codable, Sendable, Equatable {
    public var device: String
    /// Must be `true`: commissioning throws the bolt (the same rule as `device.actuate`).
    public var confirm: Bool?
    /// How long each step waits for the installer (door open, door closed, finger presented)
    /// before it gives up: 5…900 s, default 120.
    public var waitSeconds: Int?

    public static let defaultWaitSeconds = 120
    public static let waitRange = 5...900

    enum CodingKeys: String, CodingKey {
        case device, confirm
        case waitSeconds = "wait_s"
    }

    public init(device: String, confirm: Bool? = true, waitSeconds: Int? = nil) {
        self.device = device
        self.confirm = confirm
        self.waitSeconds = waitSeconds
    }
}

/// `commission.step` and `commission.finish` parameters.
public struct CommissionSessionParams: Codable, Sendable, Equatable {
    /// The `session` `commission.start` returned.
    public var session: String

    public init(session: String) { self.session = session }
}

/// What the installer is asked to do next, and how long the daemon will wait for it.
public struct CommissionInstruction: Codable, Sendable, Equatable {
    /// `door_open`, `throws_door_open`, `door_closed`, `throws_door_closed`, `fingerprint`, `controller`.
    public var step: String
    /// One sentence for the terminal: "Open the door fully and leave it open".
    public var instruction: String
    /// How long the step waits for the lock's sensors to show it was done; nil: no waiting.
    public var waitSeconds: Int?
    /// Whether the step throws the bolt.
    public var movesBolt: Bool

    enum CodingKeys: String, CodingKey {
        case step, instruction
        case waitSeconds = "wait_s"
        case movesBolt = "moves_bolt"
    }

    public init(step: String, instruction: String, waitSeconds: Int?, movesBolt: Bool) {
        self.step = step
        self.instruction = instruction
        self.waitSeconds = waitSeconds
        self.movesBolt = movesBolt
    }
}

/// One measured quantity of a step against its limit.
public struct CommissionMeasurement: Codable, Sendable, Equatable {
    public enum Bound: String, Codable, Sendable { case max, min }

    /// `end_of_travel_rise`, `lock_throw_ms`, `battery_loaded_mv`, `image_quality_min`…
    public var name: String
    /// nil when it could not be measured (`verdict` `not_measured`).
    public var value: Double?
    public var unit: String
    public var limit: Double?
    /// Whether `limit` is an upper (`max`) or lower (`min`) bound.
    public var bound: Bound?
    public var verdict: CommissionVerdict
    /// A sentence an installer can read.
    public var evidence: String

    public init(name: String, value: Double?, unit: String, limit: Double?, bound: Bound?, verdict: CommissionVerdict, evidence: String) {
        self.name = name
        self.value = value
        self.unit = unit
        self.limit = limit
        self.bound = bound
        self.verdict = verdict
        self.evidence = evidence
    }
}

/// A commissioning verdict.
public enum CommissionVerdict: String, Codable, Sendable, Equatable {
    case pass, fail
    /// The lock does not report the quantity (no fingerprint sensor, no door sensor).
    case notMeasured = "not_measured"
}

/// A step's outcome.
public struct CommissionStepResult: Codable, Sendable, Equatable {
    public var step: String
    public var verdict: CommissionVerdict
    public var measurements: [CommissionMeasurement]
    /// The catalog names of the faults the step found (`strike_misaligned`, `bolt_short_throw`…).
    public var faults: [String]
    /// What to do about each of `faults`, in its order (the catalog's action).
    public var advice: [String]
    /// The actuations the step ran, with their traces (door open or closed in `door`).
    public var actuations: [CommissionActuation]

    public init(step: String, verdict: CommissionVerdict, measurements: [CommissionMeasurement], faults: [String] = [],
                advice: [String] = [], actuations: [CommissionActuation] = []) {
        self.step = step
        self.verdict = verdict
        self.measurements = measurements
        self.faults = faults
        self.advice = advice
        self.actuations = actuations
    }
}

/// One throw of a commissioning run: the door's state, the analysed actuation and its trace.
public struct CommissionActuation: Codable, Sendable, Equatable {
    /// `open` or `closed`.
    public var door: String
    public var summary: ActuationSummary
    public var trace: MotorTrace?
    /// Median current over the last part of the travel before the end stop, over the median
    /// running current (nil for an unlock, or a trace too short to tell).
    public var endOfTravelRatio: Double?

    enum CodingKeys: String, CodingKey {
        case door, summary, trace
        case endOfTravelRatio = "end_of_travel_ratio"
    }

    public init(door: String, summary: ActuationSummary, trace: MotorTrace?, endOfTravelRatio: Double?) {
        self.door = door
        self.summary = summary
        self.trace = trace
        self.endOfTravelRatio = endOfTravelRatio
    }
}

/// `commission.start` and `commission.step` result.
public struct CommissionProgress: Codable, Sendable, Equatable {
    public var session: String
    public var device: String
    /// The limits entry the run is judged against (the lock's model, or `default`).
    public var limitsModel: String
    /// The step just run; nil in `commission.start`'s answer.
    public var result: CommissionStepResult?
    /// The step `commission.step` runs next; nil when all are done (call `commission.finish`).
    public var next: CommissionInstruction?

    enum CodingKeys: String, CodingKey {
        case session, device, result, next
        case limitsModel = "limits_model"
    }

    public init(session: String, device: String, limitsModel: String, result: CommissionStepResult?, next: CommissionInstruction?) {
        self.session = session
        self.device = device
        self.limitsModel = limitsModel
        self.result = result
        self.next = next
    }
}

/// What a client without the Reports module reads of `commission.finish`'s signed certificate:
/// its id, verdict and summary (the bench runner's results).
public struct CommissionFinished: Decodable, Sendable, Equatable {
    public var certificateID: String
    public var verdict: CommissionVerdict
    public var summary: String

    enum Outer: String, CodingKey { case report }
    enum Inner: String, CodingKey {
        case verdict, summary
        case certificateID = "certificate_id"
    }

    public init(from decoder: any Decoder) throws {
        let report = try decoder.container(keyedBy: Outer.self).nestedContainer(keyedBy: Inner.self, forKey: .report)
        certificateID = try report.decode(String.self, forKey: .certificateID)
        verdict = try report.decode(CommissionVerdict.self, forKey: .verdict)
        summary = try report.decode(String.self, forKey: .summary)
    }
}
