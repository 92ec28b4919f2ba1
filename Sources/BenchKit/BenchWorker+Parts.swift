import LockDiagAPI

/// A bench connection that can run the genuine-part check (`device.parts`). Its own protocol, so
/// the plan step needs nothing more of a client that never runs it.
public protocol BenchPartsClient: BenchClient {
    func checkParts(device: String, timeoutSeconds: Double) throws(BenchCallError) -> PartsResult
}

extension BenchWorker {
    /// `genuine_parts`: every accessory must prove itself genuine; each part that does not is
    /// one failure line with its evidence.
    func checkParts(into out: inout StepResult) throws(StepAbort) {
        let device = id
        let result = try callRetryingBusy(APIMethod.deviceParts, timeout: timings.callTimeoutSeconds) { client, timeout throws(BenchCallError) in
            guard let parts = client as? any BenchPartsClient else { throw .refused("this bench connection cannot check parts") }
            return try parts.checkParts(device: device, timeoutSeconds: timeout)
        }
        out.failures += Evaluate.parts(result)
        for part in result.parts { out.log.append("\(part.kind) \(part.serial): \(part.verdict)") }
        if let problem = result.problem { out.log.append("parts not checked: \(problem)") }
    }
}

extension Evaluate {
    /// One failure line per part that is not genuine, and one when the lock could not list them.
    static func parts(_ result: PartsResult) -> [String] {
        var failures = result.parts.filter { !$0.isGenuine }.map { part in
            "\(part.kind.replacingOccurrences(of: "_", with: " ")) \(part.serial) is \(part.verdict.replacingOccurrences(of: "_", with: " ")): \(part.evidence)"
        }
        if let problem = result.problem { failures.append("parts could not be checked: \(problem)") }
        return failures
    }
}
