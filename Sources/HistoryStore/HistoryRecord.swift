import LockDiagAPI

/// One thing to remember, as the daemon hands it to the store. A batch of them is written in one
/// transaction.
public enum HistoryRecord: Sendable, Equatable {
    /// A device answered IDENTIFY.
    case device(DeviceSighting)
    /// A fault changed status or was cleared; `atMilliseconds` is `event.at` as a number, for queries.
    case fault(FaultEvent, atMilliseconds: Int64)
    /// A finished `tests.run`, with its traces and measurements.
    case testRun(TestRun, startedAtMilliseconds: Int64, requestedBy: String?)
    /// An actuation the daemon analysed, with its motor-current trace (telemetry log).
    case actuation(device: String, summary: ActuationSummary, trace: MotorTrace?, atMilliseconds: Int64)
    /// A status reading (telemetry log).
    case status(StatusSample)
    /// A privileged socket call (or a refused one) and who made it (docs/security.md#audit).
    case audit(AuditEntry)

    /// Fault events and clears must be durable before anyone hears of them; the rest may wait
    /// for the next flush.
    public var isFaultEvent: Bool {
        if case .fault = self { return true }
        return false
    }

    /// The table it goes to, as `daemon.info` names a quarantined record.
    public var kindName: String {
        switch self {
        case .device: "device"
        case .fault(let e, _): e.event == .lost ? "lost" : "fault_event"
        case .testRun: "test_run"
        case .actuation: "actuation"
        case .status: "status_sample"
        case .audit: "audit"
        }
    }

    /// The device it is about; nil for an audit entry.
    public var deviceID: String? {
        switch self {
        case .device(let s): s.id
        case .fault(let e, _): e.device
        case .testRun(let run, _, _): run.device
        case .actuation(let device, _, _, _): device
        case .status(let s): s.device
        case .audit: nil
        }
    }

    /// When it happened, ms since 1970.
    public var atMilliseconds: Int64 {
        switch self {
        case .device(let s): s.atMilliseconds
        case .fault(_, let at): at
        case .testRun(_, let at, _): at
        case .actuation(_, _, _, let at): at
        case .status(let s): s.atMilliseconds
        case .audit(let a): a.atMilliseconds
        }
    }
}

/// What a device said about itself on IDENTIFY.
public struct DeviceSighting: Sendable, Equatable {
    public var id: String
    public var serial: String?
    public var model: String?
    public var hardwareRevision: String?
    public var firmware: String?
    public var transport: String?
    public var path: String?
    public var atMilliseconds: Int64
    /// The id the daemon knew the device by before it identified itself (its path), when fault
    /// events were recorded under it from `formerIDSinceMilliseconds` to `atMilliseconds`: they
    /// are this device's, and are moved to `id`.
    public var formerID: String?
    public var formerIDSinceMilliseconds: Int64?

    public init(id: String, serial: String?, model: String?, hardwareRevision: String?, firmware: String?, transport: String?,
                path: String?, atMilliseconds: Int64, formerID: String? = nil, formerIDSinceMilliseconds: Int64? = nil) {
        self.formerID = formerID
        self.formerIDSinceMilliseconds = formerIDSinceMilliseconds
        self.id = id
        self.serial = serial
        self.model = model
        self.hardwareRevision = hardwareRevision
        self.firmware = firmware
        self.transport = transport
        self.path = path
        self.atMilliseconds = atMilliseconds
    }
}

/// One reading of a lock in the telemetry log: a view of its `Readings`, nil for what it did not report.
public struct StatusSample: Sendable, Equatable, Codable {
    public var device: String
    public var atMilliseconds: Int64
    public var batteryMillivolts: Int?
    public var batteryPercent: Int?
    /// `high`, `medium`, `low`, `critical`, from a lock that reports a band instead of a number.
    public var batteryBand: String?
    /// `idle`, `locking`, `unlocking`, `braking`, `disabled`.
    public var motorState: String?
    public var motorCurrentMilliamps: Int?
    public var bolt: String?
    public var temperatureCelsius: Double?

    public init(device: String, atMilliseconds: Int64, batteryMillivolts: Int?, batteryPercent: Int?, batteryBand: String? = nil,
                motorState: String?, motorCurrentMilliamps: Int?, bolt: String?, temperatureCelsius: Double?) {
        self.device = device
        self.atMilliseconds = atMilliseconds
        self.batteryMillivolts = batteryMillivolts
        self.batteryPercent = batteryPercent
        self.batteryBand = batteryBand
        self.motorState = motorState
        self.motorCurrentMilliamps = motorCurrentMilliamps
        self.bolt = bolt
        self.temperatureCelsius = temperatureCelsius
    }
}

/// An actuation read back from the telemetry log.
public struct StoredActuation: Sendable, Equatable {
    public var device: String
    public var atMilliseconds: Int64
    public var summary: ActuationSummary
    public var trace: MotorTrace?
}

/// How long the telemetry log keeps what it holds. Devices, fault events and self-test runs are
/// evidence and are never pruned; status samples and actuations are pruned by age and by count.
public struct RetentionPolicy: Sendable, Equatable {
    public var statusSampleMaxAgeDays = 30
    public var statusSamplesPerDevice = 50_000
    public var actuationMaxAgeDays = 90
    public var actuationsPerDevice = 500
    /// The newest audit entries kept: a year of a busy station's privileged calls, while a
    /// client hammering refused calls (at most the socket's rate limit) cannot fill the disk.
    public var auditEntries = 200_000

    public init() {}

    public var description: String {
        "status samples: \(statusSampleMaxAgeDays) days and at most \(statusSamplesPerDevice) per device; "
            + "actuations with their traces: \(actuationMaxAgeDays) days and at most \(actuationsPerDevice) per device; "
            + "audit entries: the newest \(auditEntries); devices, fault events and self-test runs: kept"
    }
}

/// One audit entry (AuditTrail in LockDaemon writes it to the log and here): a call that needs the technician role (started, then its outcome) or any
/// call refused for want of a role, with the caller's credentials as the kernel reported them.
public struct AuditEntry: Sendable, Equatable {
    public var atMilliseconds: Int64
    public var uid: UInt32?
    public var gid: UInt32?
    public var pid: Int32?
    /// /proc/PID/comm of the caller, when it could be read.
    public var client: String?
    public var connection: UInt64
    /// `reader`, `technician`, or nil for none.
    public var role: String?
    public var method: String
    /// The params as JSON text, cut to 512 bytes.
    public var params: String
    /// `started`, `succeeded`, `failed`, `denied`.
    public var outcome: String
    /// For `failed`: the JSON-RPC error code and message.
    public var errorCode: Int?
    public var errorMessage: String?

    public init(atMilliseconds: Int64, uid: UInt32?, gid: UInt32?, pid: Int32?, client: String?, connection: UInt64, role: String?,
                method: String, params: String, outcome: String, errorCode: Int? = nil, errorMessage: String? = nil) {
        self.atMilliseconds = atMilliseconds
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.client = client
        self.connection = connection
        self.role = role
        self.method = method
        self.params = params
        self.outcome = outcome
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}
