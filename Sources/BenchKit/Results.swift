import LockDiagAPI

/// How a step ended on one lock.
public enum StepVerdict: String, Sendable, Codable {
    /// Ran, and every check and limit held.
    case pass
    /// Ran, and a check or a limit did not hold (JUnit `failure`).
    case fail
    /// Could not run or finish: the lock went away, refused, timed out, or the run was stopped
    /// (JUnit `error`).
    case error
    /// Not run: an earlier step failed under `stop_on_failure`, or the run was stopped first.
    case skipped
}

/// One measured value, with the limit it was checked against.
public struct BenchMeasurement: Sendable, Equatable {
    public var lock: String
    public var step: Int
    public var stepKind: String
    /// 1-based cycle of an `actuate` step.
    public var cycle: Int?
    /// `lock` or `unlock` for actuation measurements; the self-test kind for self-test ones.
    public var context: String?
    /// The lock's actuation number, when the value comes from an actuation.
    public var actuation: Int?
    /// The quantity's key (`motor_peak_current_ma`) or another measurement's name (`battery_mv`).
    public var name: String
    public var value: Int
    public var unit: String
    public var limit: Limit?
    /// nil when no limit applies.
    public var pass: Bool?
    /// ISO 8601 UTC.
    public var at: String

    public init(lock: String, step: Int, stepKind: String, cycle: Int? = nil, context: String? = nil, actuation: Int? = nil, name: String,
                value: Int, unit: String, limit: Limit? = nil, pass: Bool? = nil, at: String) {
        self.lock = lock
        self.step = step
        self.stepKind = stepKind
        self.cycle = cycle
        self.context = context
        self.actuation = actuation
        self.name = name
        self.value = value
        self.unit = unit
        self.limit = limit
        self.pass = pass
        self.at = at
    }
}

/// A motor-current trace captured during a step.
public struct BenchTrace: Sendable, Equatable {
    public var lock: String
    public var step: Int
    public var cycle: Int?
    public var context: String?
    public var actuation: Int
    public var sampleRateHz: Int
    public var samplesMilliamps: [Int]

    public init(lock: String, step: Int, cycle: Int? = nil, context: String? = nil, actuation: Int, sampleRateHz: Int, samplesMilliamps: [Int]) {
        self.lock = lock
        self.step = step
        self.cycle = cycle
        self.context = context
        self.actuation = actuation
        self.sampleRateHz = sampleRateHz
        self.samplesMilliamps = samplesMilliamps
    }
}

/// One step's outcome on one lock.
public struct StepResult: Sendable, Equatable {
    /// 1-based position in the plan.
    public var index: Int
    public var kind: String
    public var title: String
    public var verdict: StepVerdict
    /// Each failed check in one line, with the measurement and the limit.
    public var failures: [String]
    /// Why the step errored or was skipped.
    public var reason: String?
    public var durationSeconds: Double
    public var measurements: [BenchMeasurement]
    public var traces: [BenchTrace]
    /// What happened, line by line (JUnit `system-out`).
    public var log: [String]

    public init(index: Int, kind: String, title: String, verdict: StepVerdict = .pass, failures: [String] = [], reason: String? = nil,
                durationSeconds: Double = 0, measurements: [BenchMeasurement] = [], traces: [BenchTrace] = [], log: [String] = []) {
        self.index = index
        self.kind = kind
        self.title = title
        self.verdict = verdict
        self.failures = failures
        self.reason = reason
        self.durationSeconds = durationSeconds
        self.measurements = measurements
        self.traces = traces
        self.log = log
    }

    /// The line the summary and progress show for a step that did not pass.
    public var headline: String {
        switch verdict {
        case .pass: "pass"
        case .fail: failures.first ?? "failed"
        case .error, .skipped: reason ?? verdict.rawValue
        }
    }
}

/// A lock's verdict over the whole plan.
public enum LockVerdict: String, Sendable {
    case pass, fail
    /// Stopped (Ctrl-C) before every step ran, with nothing failed so far.
    case incomplete
}

/// Everything one lock did in a run.
public struct LockResult: Sendable, Equatable {
    public var id: String
    public var path: String?
    public var model: String?
    public var hardwareRevision: String?
    public var firmware: String?
    public var serial: String?
    /// It came online after the run started and joined it (`join_late`).
    public var joinedLate: Bool
    public var startedAt: String
    public var durationSeconds: Double
    public var steps: [StepResult]

    public init(id: String, path: String? = nil, model: String? = nil, hardwareRevision: String? = nil, firmware: String? = nil,
                serial: String? = nil, joinedLate: Bool = false, startedAt: String, durationSeconds: Double = 0, steps: [StepResult] = []) {
        self.id = id
        self.path = path
        self.model = model
        self.hardwareRevision = hardwareRevision
        self.firmware = firmware
        self.serial = serial
        self.joinedLate = joinedLate
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.steps = steps
    }

    public var verdict: LockVerdict {
        let failed = steps.contains { step in
            step.verdict == .fail || (step.verdict == .error && step.reason?.hasPrefix(BenchReport.interruptedPrefix) != true)
        }
        if failed { return .fail }
        return steps.allSatisfy { $0.verdict == .pass } ? .pass : .incomplete
    }

    /// The first step that did not pass, for the summary.
    public var firstProblem: StepResult? { steps.first { $0.verdict == .fail || $0.verdict == .error } ?? steps.first { $0.verdict != .pass } }
}

/// A whole run: the plan, every lock, and whether it was stopped early.
public struct BenchReport: Sendable, Equatable {
    public var plan: String
    public var hostname: String
    public var startedAt: String
    public var durationSeconds: Double
    public var locks: [LockResult]
    /// Ctrl-C (SIGINT) or SIGTERM stopped the run: results are partial.
    public var interrupted: Bool

    /// How the reasons of steps cut short by a stop begin.
    public static let interruptedPrefix = "interrupted"

    public init(plan: String, hostname: String, startedAt: String, durationSeconds: Double, locks: [LockResult], interrupted: Bool) {
        self.plan = plan
        self.hostname = hostname
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.locks = locks
        self.interrupted = interrupted
    }

    /// Pass only if there was at least one lock and every lock passed every step.
    public var passed: Bool { !locks.isEmpty && !interrupted && locks.allSatisfy { $0.verdict == .pass } }
}
