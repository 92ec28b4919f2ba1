import LockDiagAPI

/// Turns the daemon's answers into measurements and failures against a step's limits. Pure
/// functions: the runner does the I/O, these decide.
public enum Evaluate {
    /// Where a value came from, for measurement rows and failure lines.
    public struct Origin: Sendable {
        public var lock: String
        public var step: Int
        public var stepKind: String
        public var cycle: Int?
        public var context: String?
        public var at: String

        public init(lock: String, step: Int, stepKind: String, cycle: Int? = nil, context: String? = nil, at: String) {
            self.lock = lock
            self.step = step
            self.stepKind = stepKind
            self.cycle = cycle
            self.context = context
            self.at = at
        }

        var label: String {
            [cycle.map { "cycle \($0)" }, context].compactMap { $0 }.joined(separator: " ")
        }
    }

    /// What one evaluation adds to a step.
    public struct Outcome: Sendable, Equatable {
        public var measurements: [BenchMeasurement] = []
        public var failures: [String] = []
        public var traces: [BenchTrace] = []

        public init() {}

        public mutating func add(_ other: Outcome) {
            measurements += other.measurements
            failures += other.failures
            traces += other.traces
        }
    }

    /// Records `value` of `quantity` and checks it against `limits`.
    static func measure(_ quantity: Quantity, _ value: Int, limits: Limits, origin: Origin, actuation: Int? = nil, into out: inout Outcome) {
        let limit = limits[quantity]
        let pass = limit.map { $0.contains(value) }
        out.measurements.append(BenchMeasurement(lock: origin.lock, step: origin.step, stepKind: origin.stepKind, cycle: origin.cycle,
                                                 context: origin.context, actuation: actuation, name: quantity.rawValue, value: value,
                                                 unit: quantity.unit, limit: limit, pass: pass, at: origin.at))
        if pass == false, let limit {
            let unit = quantity.unit.isEmpty ? "" : " " + quantity.unit
            let whereText = origin.label.isEmpty ? "" : " (\(origin.label)\(actuation.map { ", actuation \($0)" } ?? ""))"
            out.failures.append("\(quantity.label) \(value)\(unit) outside the limit \(limit.text(unit: quantity.unit))\(whereText)")
        }
    }

    /// Records an informational value that has no limit.
    static func record(_ name: String, _ value: Int, unit: String, origin: Origin, actuation: Int? = nil, into out: inout Outcome) {
        out.measurements.append(BenchMeasurement(lock: origin.lock, step: origin.step, stepKind: origin.stepKind, cycle: origin.cycle,
                                                 context: origin.context, actuation: actuation, name: name, value: value, unit: unit,
                                                 at: origin.at))
    }

    /// One actuation: its currents, time and battery figures against the limits, plus the
    /// daemon's verdict (end position reached, normal trace).
    public static func actuation(_ summary: ActuationSummary, trace: MotorTrace?, findings: [String], limits: Limits, origin: Origin) -> Outcome {
        var out = Outcome()
        let number = summary.actuation
        measure(.motorPeakCurrent, summary.peakCurrentMilliamps, limits: limits, origin: origin, actuation: number, into: &out)
        measure(.motorRunningCurrent, summary.runningCurrentMilliamps, limits: limits, origin: origin, actuation: number, into: &out)
        measure(.actuationTime, summary.durationMilliseconds, limits: limits, origin: origin, actuation: number, into: &out)
        if let rest = summary.batteryRestMillivolts, let loaded = summary.batteryLoadedMillivolts {
            record("battery_rest_mv", rest, unit: "mV", origin: origin, actuation: number, into: &out)
            record("battery_loaded_mv", loaded, unit: "mV", origin: origin, actuation: number, into: &out)
            measure(.batterySag, rest - loaded, limits: limits, origin: origin, actuation: number, into: &out)
        }
        if let r = summary.internalResistanceMilliohms {
            measure(.internalResistance, r, limits: limits, origin: origin, actuation: number, into: &out)
        }
        let label = origin.label.isEmpty ? "actuation \(number)" : "\(origin.label), actuation \(number)"
        for finding in findings { out.failures.append("\(finding) (\(label))") }
        if let trace {
            out.traces.append(BenchTrace(lock: origin.lock, step: origin.step, cycle: origin.cycle, context: origin.context,
                                         actuation: trace.actuation, sampleRateHz: trace.sampleRateHz, samplesMilliamps: trace.samplesMilliamps))
        }
        return out
    }

    /// A `tests.run` result: each self-test's verdict and findings, its measurements against the
    /// limits, and (motor) each of its actuations like an `actuate` step's.
    public static func selfTests(_ run: TestRun, limits: Limits, origin: Origin) -> Outcome {
        var out = Outcome()
        for result in run.results {
            var o = origin
            o.context = result.test.rawValue
            let m = result.measurements
            switch result.test {
            case .motor:
                for a in result.actuations {
                    var ao = o
                    ao.context = "motor \(a.direction ?? "")".trimmingSuffixSpace
                    let trace = result.traces.first { $0.actuation == a.actuation }
                    out.add(actuation(a, trace: trace, findings: [], limits: limits, origin: ao))
                }
                if result.actuations.isEmpty {
                    if let v = m.peakCurrentMilliamps { measure(.motorPeakCurrent, v, limits: limits, origin: o, into: &out) }
                    if let v = m.runningCurrentMilliamps { measure(.motorRunningCurrent, v, limits: limits, origin: o, into: &out) }
                }
            case .battery:
                if let v = m.batteryRestMillivolts { record("battery_rest_mv", v, unit: "mV", origin: o, into: &out) }
                if let v = m.batteryLoadedMillivolts { record("battery_loaded_mv", v, unit: "mV", origin: o, into: &out) }
                if let v = m.loadCurrentMilliamps { record("load_current_ma", v, unit: "mA", origin: o, into: &out) }
                if let v = m.batterySagMillivolts { measure(.batterySag, v, limits: limits, origin: o, into: &out) }
                if let v = m.internalResistanceMilliohms { measure(.internalResistance, v, limits: limits, origin: o, into: &out) }
            case .fingerprint:
                if let v = m.imageQuality { measure(.fingerprintImageQuality, v, limits: limits, origin: o, into: &out) }
            case .all:
                break
            }
            if result.verdict != .pass {
                let why = result.findings.isEmpty ? "" : ": " + result.findings.joined(separator: "; ")
                out.failures.append("\(result.test.rawValue) self-test \(result.verdict == .aborted ? "aborted" : "failed")\(why)")
            }
        }
        return out
    }

    /// The firmware the lock reported against the plan's minimum.
    public static func firmware(_ reported: String?, minimum: FirmwareVersion) -> [String] {
        guard let reported, !reported.isEmpty else { return ["the lock has not reported its firmware version (it has not identified itself)"] }
        guard let version = FirmwareVersion(reported) else { return ["firmware '\(reported)' is not a version lockdiag can compare with \(minimum)"] }
        return version < minimum ? ["firmware \(reported) is older than the required \(minimum) — update the lock's firmware"] : []
    }

    /// Confirmed faults, apart from those ignored by code (`0x0101`) or name (`motor_stall`).
    public static func confirmedFaults(_ faults: [Fault], ignore: [String]) -> [String] {
        let ignored = Set(ignore.map { $0.lowercased() })
        return faults.filter { $0.status == .confirmed && !ignored.contains($0.code.lowercased()) && !ignored.contains($0.name.lowercased()) }
            .map { "confirmed fault \($0.code) \($0.name): \($0.freezeFrame?.evidence ?? $0.title) → \($0.advice)" }
    }
}

extension String {
    var trimmingSuffixSpace: String { hasSuffix(" ") ? String(dropLast()) : self }
}
