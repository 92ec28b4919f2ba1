import LockDiagAPI

// The signed diagnostic report (docs/reports.md). Field names in JSON are the snake_case ones
// in each CodingKeys; they, and the canonicalisation, are the contract a verifier relies on.

/// Everything a report states about one lock, at one time, from one station: the signed content.
public struct DiagnosticReport: Codable, Sendable, Equatable {
    /// `lockdiag-report/1`.
    public var format: String
    public var reportID: String
    public var createdAt: String
    public var station: ReportStation
    public var device: ReportDevice
    public var verdict: ReportVerdict
    /// The readings when the report was made; nil if the lock never answered READ_STATUS.
    public var status: DeviceStatus?
    /// `faults.list` for the device when the report was made.
    public var activeFaults: [Fault]
    /// `faults.history`, oldest first (the newest 1000 events).
    public var faultHistory: [FaultEvent]
    public var faultHistoryTruncated: Bool
    /// The latest self-test of each kind, newest first.
    public var selfTests: [ReportSelfTest]
    /// The most recent analysed actuations with their traces and the battery under that load, oldest first.
    public var actuations: [ReportActuation]
    /// The diagnosis thresholds the traces were judged against.
    public var thresholds: ReportThresholds
    /// The version of the HTML page renderer (`ReportHTML.version`) whose page shows this report;
    /// nil in reports made before pages were checked, whose pages cannot be checked.
    public var htmlRenderer: String?
    /// The genuine-part check (ReportParts.swift); nil in reports made before parts were checked.
    public var parts: ReportParts?

    public static let formatName = "lockdiag-report/1"

    enum CodingKeys: String, CodingKey {
        case format, station, device, verdict, status, thresholds, actuations, parts
        case reportID = "report_id"
        case createdAt = "created_at"
        case activeFaults = "active_faults"
        case faultHistory = "fault_history"
        case faultHistoryTruncated = "fault_history_truncated"
        case selfTests = "self_tests"
        case htmlRenderer = "html_renderer"
    }

    public init(reportID: String, createdAt: String, station: ReportStation, device: ReportDevice, verdict: ReportVerdict,
                status: DeviceStatus?, activeFaults: [Fault], faultHistory: [FaultEvent], faultHistoryTruncated: Bool,
                selfTests: [ReportSelfTest], actuations: [ReportActuation], thresholds: ReportThresholds,
                htmlRenderer: String? = ReportHTML.version, parts: ReportParts? = nil) {
        format = Self.formatName
        self.reportID = reportID
        self.createdAt = createdAt
        self.station = station
        self.device = device
        self.verdict = verdict
        self.status = status
        self.activeFaults = activeFaults
        self.faultHistory = faultHistory
        self.faultHistoryTruncated = faultHistoryTruncated
        self.selfTests = selfTests
        self.actuations = actuations
        self.thresholds = thresholds
        self.htmlRenderer = htmlRenderer
        self.parts = parts
    }
}

/// Who made the report.
public struct ReportStation: Codable, Sendable, Equatable {
    public var host: String
    /// `lockdiagd 0.1.0`.
    public var software: String
    /// The fingerprint of the key that signs it (also in the signature block; both must agree).
    public var keyFingerprint: String

    enum CodingKeys: String, CodingKey {
        case host, software
        case keyFingerprint = "key_fingerprint"
    }

    public init(host: String, software: String, keyFingerprint: String) {
        self.host = host
        self.software = software
        self.keyFingerprint = keyFingerprint
    }
}

/// The lock the report is about.
public struct ReportDevice: Codable, Sendable, Equatable {
    public var id: String
    public var serial: String?
    public var model: String?
    public var hardwareRevision: String?
    public var firmware: String?
    public var transport: String
    public var path: String
    /// `online`, `offline`, `connecting`, `unresponsive`.
    public var state: String
    /// When this station's history first saw the lock; nil if it never identified itself.
    public var firstSeen: String?
    /// Firmware versions this station has seen on the lock, oldest first.
    public var firmwareHistory: [FirmwareSeen]

    enum CodingKeys: String, CodingKey {
        case id, serial, model, firmware, transport, path, state
        case hardwareRevision = "hardware_revision"
        case firstSeen = "first_seen"
        case firmwareHistory = "firmware_history"
    }

    public init(id: String, serial: String?, model: String?, hardwareRevision: String?, firmware: String?, transport: String, path: String,
                state: String, firstSeen: String?, firmwareHistory: [FirmwareSeen]) {
        self.id = id
        self.serial = serial
        self.model = model
        self.hardwareRevision = hardwareRevision
        self.firmware = firmware
        self.transport = transport
        self.path = path
        self.state = state
        self.firstSeen = firstSeen
        self.firmwareHistory = firmwareHistory
    }
}

/// The report's one-line answer.
public struct ReportVerdict: Codable, Sendable, Equatable {
    /// `fault` (a confirmed fault), `attention` (pending faults or a failed self-test), `ok`.
    public var result: String
    public var summary: String
    public var confirmedFaults: Int
    public var pendingFaults: Int

    enum CodingKeys: String, CodingKey {
        case result, summary
        case confirmedFaults = "confirmed_faults"
        case pendingFaults = "pending_faults"
    }

    public init(result: String, summary: String, confirmedFaults: Int, pendingFaults: Int) {
        self.result = result
        self.summary = summary
        self.confirmedFaults = confirmedFaults
        self.pendingFaults = pendingFaults
    }

    /// The verdict that follows from the active faults and the latest self-tests.
    public static func judge(faults: [Fault], selfTests: [ReportSelfTest]) -> ReportVerdict {
        let confirmed = faults.filter { $0.status == .confirmed }
        let pending = faults.filter { $0.status == .pending }
        let failedTests = selfTests.filter { $0.result.verdict != .pass }
        if !confirmed.isEmpty {
            let worst = confirmed.map(\.title).prefix(3).joined(separator: "; ")
            return ReportVerdict(result: "fault", summary: "\(confirmed.count) confirmed fault\(confirmed.count == 1 ? "" : "s"): \(worst)",
                                 confirmedFaults: confirmed.count, pendingFaults: pending.count)
        }
        if !pending.isEmpty || !failedTests.isEmpty {
            var parts: [String] = []
            if !pending.isEmpty { parts.append("\(pending.count) pending fault\(pending.count == 1 ? "" : "s") (seen, not yet repeated)") }
            if !failedTests.isEmpty { parts.append("self-test \(failedTests.map(\.test.rawValue).joined(separator: ", ")) not passed") }
            return ReportVerdict(result: "attention", summary: parts.joined(separator: "; "), confirmedFaults: 0, pendingFaults: pending.count)
        }
        return ReportVerdict(result: "ok", summary: "no active fault" + (selfTests.isEmpty ? "" : "; latest self-tests passed"),
                             confirmedFaults: 0, pendingFaults: 0)
    }
}

/// The latest result of one kind of self-test.
public struct ReportSelfTest: Codable, Sendable, Equatable {
    public var test: TestKind
    /// When its run started.
    public var startedAt: String
    public var result: TestResult

    enum CodingKeys: String, CodingKey {
        case test, result
        case startedAt = "started_at"
    }

    public init(test: TestKind, startedAt: String, result: TestResult) {
        self.test = test
        self.startedAt = startedAt
        self.result = result
    }
}

/// One actuation: the daemon's analysis, its motor-current trace, and the battery under the load.
public struct ReportActuation: Codable, Sendable, Equatable {
    public var summary: ActuationSummary
    public var trace: MotorTrace?
    /// Status readings from just before the motor started to just after it stopped.
    public var battery: [BatteryPoint]

    public init(summary: ActuationSummary, trace: MotorTrace?, battery: [BatteryPoint]) {
        self.summary = summary
        self.trace = trace
        self.battery = battery
    }
}

/// A battery reading during an actuation.
public struct BatteryPoint: Codable, Sendable, Equatable {
    /// Milliseconds from the actuation's start (negative: just before it).
    public var offsetMilliseconds: Int
    public var batteryMillivolts: Int
    public var motorCurrentMilliamps: Int

    enum CodingKeys: String, CodingKey {
        case offsetMilliseconds = "offset_ms"
        case batteryMillivolts = "battery_mv"
        case motorCurrentMilliamps = "motor_current_ma"
    }

    public init(offsetMilliseconds: Int, batteryMillivolts: Int, motorCurrentMilliamps: Int) {
        self.offsetMilliseconds = offsetMilliseconds
        self.batteryMillivolts = batteryMillivolts
        self.motorCurrentMilliamps = motorCurrentMilliamps
    }
}

/// The thresholds of the diagnosis, so a reader can see what "stall" meant.
public struct ReportThresholds: Codable, Sendable, Equatable {
    public var stallCurrentMilliamps: Int
    /// Stall also needs the current at least this many times the running current.
    public var stallToRunningRatio: Double
    public var overcurrentMilliamps: Int
    public var openCircuitMaxMilliamps: Int
    public var wornResistanceMilliohms: Int
    public var batteryLowPercent: Int
    public var batteryCriticalPercent: Int

    enum CodingKeys: String, CodingKey {
        case stallCurrentMilliamps = "stall_current_ma"
        case stallToRunningRatio = "stall_to_running_ratio"
        case overcurrentMilliamps = "overcurrent_ma"
        case openCircuitMaxMilliamps = "open_circuit_max_ma"
        case wornResistanceMilliohms = "worn_resistance_mohm"
        case batteryLowPercent = "battery_low_percent"
        case batteryCriticalPercent = "battery_critical_percent"
    }

    public init(stallCurrentMilliamps: Int, stallToRunningRatio: Double, overcurrentMilliamps: Int, openCircuitMaxMilliamps: Int,
                wornResistanceMilliohms: Int, batteryLowPercent: Int, batteryCriticalPercent: Int) {
        self.stallCurrentMilliamps = stallCurrentMilliamps
        self.stallToRunningRatio = stallToRunningRatio
        self.overcurrentMilliamps = overcurrentMilliamps
        self.openCircuitMaxMilliamps = openCircuitMaxMilliamps
        self.wornResistanceMilliohms = wornResistanceMilliohms
        self.batteryLowPercent = batteryLowPercent
        self.batteryCriticalPercent = batteryCriticalPercent
    }
}

/// The signature block: who signed, and the Ed25519 signature over the canonical `report`.
public struct ReportSignature: Codable, Sendable, Equatable {
    /// `Ed25519`.
    public var algorithm: String
    /// `JCS (RFC 8785)`: how `report` was turned into the signed bytes.
    public var canonicalization: String
    public var publicKey: String
    public var keyFingerprint: String
    /// base64 of the 64-byte signature.
    public var value: String

    enum CodingKeys: String, CodingKey {
        case algorithm, canonicalization, value
        case publicKey = "public_key"
        case keyFingerprint = "key_fingerprint"
    }

    public init(algorithm: String, canonicalization: String, publicKey: String, keyFingerprint: String, value: String) {
        self.algorithm = algorithm
        self.canonicalization = canonicalization
        self.publicKey = publicKey
        self.keyFingerprint = keyFingerprint
        self.value = value
    }
}

/// A report with its signature: the `report.create` result and the report file.
public struct SignedReport: Codable, Sendable, Equatable {
    public var report: DiagnosticReport
    public var signature: ReportSignature

    public init(report: DiagnosticReport, signature: ReportSignature) {
        self.report = report
        self.signature = signature
    }
}
