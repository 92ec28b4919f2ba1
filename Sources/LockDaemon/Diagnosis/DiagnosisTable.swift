import LockDiagAPI
import LockProtocol

/// One check's outcome for one fault code.
struct CheckVerdict: Sendable, Equatable {
    enum Outcome: Sendable, Equatable {
        /// The check failed; `reportedByLock` when the lock itself said so (a Tuya battery band),
        /// which confirms the fault at once.
        case failed(evidence: String, reportedByLock: Bool)
        case passed
    }

    var code: UInt16
    var outcome: Outcome
    /// An event fault (one actuation stalled) or a lasting condition (battery low).
    var kind: CheckKind = .condition
    /// The evidence's context, kept in the freeze frame.
    var actuation: ActuationSummary? = nil
    var link: LinkHealth? = nil
    /// Confirmed at the first failure: a deliberate measurement (commissioning's comparison of
    /// door-open and door-closed throws) that already repeated itself, not one reading.
    var confirmsAtOnce = false

    static func failed(_ code: UInt16, _ evidence: String, kind: CheckKind = .condition, actuation: ActuationSummary? = nil,
                       link: LinkHealth? = nil) -> CheckVerdict {
        CheckVerdict(code: code, outcome: .failed(evidence: evidence, reportedByLock: false), kind: kind, actuation: actuation, link: link)
    }

    static func passed(_ code: UInt16) -> CheckVerdict { CheckVerdict(code: code, outcome: .passed) }
}

/// The checks over `Readings` (docs/architecture.md "Diagnosis"): the same for every lock family,
/// the thresholds in `DiagnosisConfiguration`. A check returns nothing for a quantity the lock does
/// not report: unknown is neither a pass nor a fail.
enum DiagnosisTable {
    typealias Check = @Sendable (Readings, DiagnosisConfiguration) -> [CheckVerdict]

    /// Checked once a second over current readings (`Readings.isCurrent`).
    static let periodic: [Check] = [battery]
    /// Checked when the lock reports its fingerprint sensor.
    static let onFingerprint: [Check] = [fingerprint]

    static func evaluate(_ checks: [Check], _ readings: Readings, _ configuration: DiagnosisConfiguration) -> [CheckVerdict] {
        checks.flatMap { $0(readings, configuration) }
    }

    /// Battery level: a percentage at rest against `batteryLowPercent`/`batteryCriticalPercent`,
    /// else the band the lock reports. A percentage read while the motor runs is its sag, not its
    /// level (that is the internal-resistance check's evidence), so it is not judged here.
    static func battery(_ r: Readings, _ c: DiagnosisConfiguration) -> [CheckVerdict] {
        if let percent = r.batteryPercent {
            guard r.motorAtRest else { return [] }
            let level: BatteryBand = percent.value < c.batteryCriticalPercent ? .critical
                : percent.value < c.batteryLowPercent ? .low : .high
            let evidence = "battery at \(percent.value) %" + (r.batteryMillivolts.map { " (\($0.value) mV at rest)" } ?? "")
            return batteryVerdicts(level, evidence: evidence, reportedByLock: false)
        }
        if let band = r.batteryBand {
            return batteryVerdicts(band.value, evidence: "the lock reports its battery \(band.value.rawValue)", reportedByLock: true)
        }
        return []
    }

    /// Critical leaves `battery_low` as it was (a pack going flat passes through low first).
    private static func batteryVerdicts(_ level: BatteryBand, evidence: String, reportedByLock: Bool) -> [CheckVerdict] {
        let failed = CheckVerdict.Outcome.failed(evidence: evidence, reportedByLock: reportedByLock)
        switch level {
        case .critical: return [CheckVerdict(code: FaultCode.batteryCritical, outcome: failed)]
        case .low: return [CheckVerdict(code: FaultCode.batteryCritical, outcome: .passed), CheckVerdict(code: FaultCode.batteryLow, outcome: failed)]
        case .high, .medium:
            return [CheckVerdict(code: FaultCode.batteryCritical, outcome: .passed), CheckVerdict(code: FaultCode.batteryLow, outcome: .passed)]
        }
    }

    /// Fingerprint sensor: answering, and image quality against `imageQualityMinimum`.
    static func fingerprint(_ r: Readings, _ c: DiagnosisConfiguration) -> [CheckVerdict] {
        guard let fp = r.fingerprint, fp.state != "absent" else { return [] }
        var out: [CheckVerdict] = []
        if fp.state == "not_responding" || !fp.linkOK {
            out.append(CheckVerdict(code: FaultCode.fingerprintNotResponding, outcome: .failed(
                evidence: "fingerprint sensor state \(fp.state), link \(fp.linkOK ? "up" : "down")", reportedByLock: false)))
        } else {
            out.append(CheckVerdict(code: FaultCode.fingerprintNotResponding, outcome: .passed))
        }
        if let quality = fp.imageQuality {
            out.append(CheckVerdict(code: FaultCode.fingerprintImageDegraded, outcome: quality < c.imageQualityMinimum
                ? .failed(evidence: "last fingerprint image quality \(quality) (minimum \(c.imageQualityMinimum))", reportedByLock: false)
                : .passed))
        }
        return out
    }
}
