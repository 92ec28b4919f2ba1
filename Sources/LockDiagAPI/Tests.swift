/// Outcome of a test or a whole run.
public enum Verdict: String, Codable, Sendable {
    case pass, fail
    /// The lock aborted the test (door opened, power dip) or it could not be run.
    case aborted
}

/// `tests.run` result.
public struct TestRun: Codable, Sendable, Equatable {
    public var device: String
    public var test: TestKind
    /// `pass` only if every test passed.
    public var verdict: Verdict
    public var results: [TestResult]
    public var startedAt: String
    public var durationMilliseconds: Int

    enum CodingKeys: String, CodingKey {
        case device, test, verdict, results
        case startedAt = "started_at"
        case durationMilliseconds = "duration_ms"
    }

    public init(device: String, test: TestKind, verdict: Verdict, results: [TestResult], startedAt: String, durationMilliseconds: Int) {
        self.device = device
        self.test = test
        self.verdict = verdict
        self.results = results
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
    }
}

/// One self-test's outcome with its measurements.
public struct TestResult: Codable, Sendable, Equatable {
    /// `motor`, `battery` or `fingerprint`.
    public var test: TestKind
    public var verdict: Verdict
    public var measurements: TestMeasurements
    /// Why it failed, in words, one line each.
    public var findings: [String]
    /// Catalog codes behind the failure.
    public var faults: [String]
    /// Motor test: each actuation of the cycle.
    public var actuations: [ActuationSummary]
    /// Motor test: the traces of those actuations.
    public var traces: [MotorTrace]
    /// Measurements under ids this lockdiag does not know (ldp-v1.md §7.3: kept as numbers), in
    /// the order the lock sent them; nil (absent in JSON) when there were none.
    public var otherMeasurements: [OtherMeasurement]?

    enum CodingKeys: String, CodingKey {
        case test, verdict, measurements, findings, faults, actuations, traces
        case otherMeasurements = "other_measurements"
    }

    public init(test: TestKind, verdict: Verdict, measurements: TestMeasurements, findings: [String], faults: [String],
                actuations: [ActuationSummary] = [], traces: [MotorTrace] = [], otherMeasurements: [OtherMeasurement]? = nil) {
        self.test = test
        self.verdict = verdict
        self.measurements = measurements
        self.findings = findings
        self.faults = faults
        self.actuations = actuations
        self.traces = traces
        self.otherMeasurements = otherMeasurements
    }
}

/// A self-test measurement under an id this lockdiag does not know: its unit and meaning are
/// unknown, so it is passed on as the lock sent it (a newer firmware's measurement, say).
public struct OtherMeasurement: Codable, Sendable, Equatable {
    /// The measurement id as the lock sent it (ldp-v1.md §7.3).
    public var id: Int
    /// The raw value (an i32 on the wire), in whatever unit the firmware uses.
    public var value: Int

    public init(id: Int, value: Int) {
        self.id = id
        self.value = value
    }
}

/// Measurements of a self-test; only those the test makes are present.
public struct TestMeasurements: Codable, Sendable, Equatable {
    public var durationMilliseconds: Int?
    public var peakCurrentMilliamps: Int?
    public var runningCurrentMilliamps: Int?
    public var batteryRestMillivolts: Int?
    public var batteryLoadedMillivolts: Int?
    public var batterySagMillivolts: Int?
    public var loadCurrentMilliamps: Int?
    public var internalResistanceMilliohms: Int?
    public var imageQuality: Int?
    public var endPositionReached: Bool?

    enum CodingKeys: String, CodingKey {
        case durationMilliseconds = "duration_ms"
        case peakCurrentMilliamps = "peak_current_ma"
        case runningCurrentMilliamps = "running_current_ma"
        case batteryRestMillivolts = "battery_rest_mv"
        case batteryLoadedMillivolts = "battery_loaded_mv"
        case batterySagMillivolts = "battery_sag_mv"
        case loadCurrentMilliamps = "load_current_ma"
        case internalResistanceMilliohms = "internal_resistance_mohm"
        case imageQuality = "image_quality"
        case endPositionReached = "end_position_reached"
    }

    public init(durationMilliseconds: Int? = nil, peakCurrentMilliamps: Int? = nil, runningCurrentMilliamps: Int? = nil,
                batteryRestMillivolts: Int? = nil, batteryLoadedMillivolts: Int? = nil, batterySagMillivolts: Int? = nil,
                loadCurrentMilliamps: Int? = nil, internalResistanceMilliohms: Int? = nil, imageQuality: Int? = nil,
                endPositionReached: Bool? = nil) {
        self.durationMilliseconds = durationMilliseconds
        self.peakCurrentMilliamps = peakCurrentMilliamps
        self.runningCurrentMilliamps = runningCurrentMilliamps
        self.batteryRestMillivolts = batteryRestMillivolts
        self.batteryLoadedMillivolts = batteryLoadedMillivolts
        self.batterySagMillivolts = batterySagMillivolts
        self.loadCurrentMilliamps = loadCurrentMilliamps
        self.internalResistanceMilliohms = internalResistanceMilliohms
        self.imageQuality = imageQuality
        self.endPositionReached = endPositionReached
    }
}

/// `telemetry.subscribe` result.
public struct Subscription: Codable, Sendable, Equatable {
    public var device: String
    /// Status notifications per second at most.
    public var statusHz: Int

    enum CodingKeys: String, CodingKey {
        case device
        case statusHz = "status_hz"
    }

    public init(device: String, statusHz: Int) {
        self.device = device
        self.statusHz = statusHz
    }
}

/// `telemetry.unsubscribe` result.
public struct Unsubscribed: Codable, Sendable, Equatable {
    public var device: String
    public var unsubscribed: Bool

    public init(device: String, unsubscribed: Bool) {
        self.device = device
        self.unsubscribed = unsubscribed
    }
}

/// Params of a `telemetry` notification. Exactly one of `status`, `trace`, `actuation` and
/// `fault` is present.
public struct TelemetryNotification: Codable, Sendable, Equatable {
    public var device: String
    /// Notifications for this subscription dropped since the previous one was delivered,
    /// because the client read too slowly.
    public var lost: Int
    public var status: DeviceStatus?
    /// Live motor-current samples during an actuation.
    public var trace: TraceSamples?
    /// An actuation that finished, with the daemon's analysis.
    public var actuation: ActuationSummary?
    /// A fault that changed status.
    public var fault: Fault?

    public init(device: String, lost: Int, status: DeviceStatus? = nil, trace: TraceSamples? = nil,
                actuation: ActuationSummary? = nil, fault: Fault? = nil) {
        self.device = device
        self.lost = lost
        self.status = status
        self.trace = trace
        self.actuation = actuation
        self.fault = fault
    }
}

/// A chunk of live trace samples.
public struct TraceSamples: Codable, Sendable, Equatable {
    public var actuation: Int
    public var firstIndex: Int
    public var sampleRateHz: Int
    public var samplesMilliamps: [Int]

    enum CodingKeys: String, CodingKey {
        case actuation
        case firstIndex = "first_index"
        case sampleRateHz = "sample_rate_hz"
        case samplesMilliamps = "samples_ma"
    }

    public init(actuation: Int, firstIndex: Int, sampleRateHz: Int, samplesMilliamps: [Int]) {
        self.actuation = actuation
        self.firstIndex = firstIndex
        self.sampleRateHz = sampleRateHz
        self.samplesMilliamps = samplesMilliamps
    }
}
