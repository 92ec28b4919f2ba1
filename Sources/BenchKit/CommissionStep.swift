import Foundation
import LockDiagAPI
import LockDiagCLI
import Yams

// The bench plan's `commission` step (docs/bench.md): lockdiagd runs and judges the
// commissioning steps; the bench records each measurement with its limit for JUnit and CSV,
// and shows each instruction to the operator (or the rig's fixture) as it comes.

extension Reader {
    /// `- commission` or `- commission: {wait: 2m}`: how long each step waits for the door or
    /// the finger.
    mutating func commissionWait(_ node: Node?, _ path: String) -> Int {
        guard let node else { return CommissionStartParams.defaultWaitSeconds }
        guard let seconds = duration(node, path) else { return CommissionStartParams.defaultWaitSeconds }
        let range = CommissionStartParams.waitRange
        guard range.contains(Int(seconds.rounded())) else {
            fail(node, "'\(path)' must be \(range.lowerBound) s to \(range.upperBound / 60) min")
            return CommissionStartParams.defaultWaitSeconds
        }
        return Int(seconds.rounded())
    }
}

extension BenchWorker {
    func commission(waitSeconds: Int, into out: inout StepResult) throws(StepAbort) {
        let start = CommissionStartParams(device: id, waitSeconds: waitSeconds)
        var progress = try call(APIMethod.commissionStart) { client, timeout throws(BenchCallError) in
            try client.commissionStart(start, timeoutSeconds: timeout)
        }
        out.log.append("commissioning \(progress.device) against the \(progress.limitsModel) limits")
        while let next = progress.next {
            runner.note(id, "commission: \(next.instruction)")
            out.log.append("\(next.step): \(next.instruction)")
            let params = CommissionSessionParams(session: progress.session)
            // A wait for the operator lasts up to its deadline; throws about a second each.
            progress = try call(APIMethod.commissionStep, timeout: Double(next.waitSeconds ?? 0) + timings.testTimeoutSeconds) { client, timeout throws(BenchCallError) in
                try client.commissionStep(params, timeoutSeconds: timeout)
            }
            guard let result = progress.result else { continue }
            record(result, into: &out)
        }
        let params = CommissionSessionParams(session: progress.session)
        let certificate = try call(APIMethod.commissionFinish) { client, timeout throws(BenchCallError) in
            try client.commissionFinish(params, timeoutSeconds: timeout)
        }
        out.log.append("certificate \(certificate.certificateID): \(certificate.verdict.rawValue) — \(certificate.summary)")
    }

    /// Each measured value as a bench measurement (ratios in per cent: measurements are whole
    /// numbers); each failed one as a failure line with its evidence.
    private func record(_ result: CommissionStepResult, into out: inout StepResult) {
        for m in result.measurements {
            out.log.append("\(result.step) \(m.name): \(m.verdict.rawValue) — \(m.evidence)")
            if m.verdict == .fail {
                out.failures.append("\(result.step) \(m.name) \(m.value.map(CommissionStepFormat.number) ?? "?") \(m.unit)"
                                    + (m.limit.map { " (limit \(m.bound == .min ? "≥" : "≤") \(CommissionStepFormat.number($0)))" } ?? "") + ": \(m.evidence)")
            }
            guard let value = m.value else { continue }
            let ratio = m.unit.hasPrefix("×")
            let scale = ratio ? 100.0 : 1.0
            let limit = m.limit.map { l in
                m.bound == .min ? Limit(min: Int((l * scale).rounded())) : Limit(max: Int((l * scale).rounded()))
            }
            out.measurements.append(BenchMeasurement(lock: id, step: out.index, stepKind: out.kind, context: result.step, name: m.name,
                                                     value: Int((value * scale).rounded()), unit: ratio ? "%" : m.unit, limit: limit,
                                                     pass: m.verdict == .notMeasured ? nil : m.verdict == .pass, at: isoTime(Date())))
        }
        for (fault, advice) in zip(result.faults, result.advice) { out.log.append("fault \(fault): \(advice)") }
    }
}

enum CommissionStepFormat {
    /// `1.372`, `804`: as JSON writes the number.
    static func number(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value) }
}
