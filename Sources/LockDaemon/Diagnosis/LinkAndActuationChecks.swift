import LockDiagAPI
import LockProtocol

extension DiagnosisTable {
    /// Link quality over the diagnosis window: check-value errors against all frame candidates,
    /// unanswered requests against all requests. nil while the window is too short to judge.
    ///
    /// Judged over the samples the link outlived: the newest second may hold the timeouts and
    /// torn frames of an unplug the link has not reported yet. A lock stops answering the moment
    /// it is pulled, but libusb's NO_DEVICE or a tty's hang-up comes when the host's hub notices
    /// (the kernel lab saw 0.3 s and more under load), and that is no link fault. A link that is
    /// still up a second later owns its errors.
    static func link(window: [CounterSample], _ c: DiagnosisConfiguration) -> [CheckVerdict]? {
        guard window.count >= 3 else { return nil }
        let latest = window[window.count - 2], oldest = window[0]
        guard latest.atNanoseconds > oldest.atNanoseconds else { return nil }
        let a = oldest.counters, b = latest.counters
        let frames = b.decoder.frames &- a.decoder.frames
        let errors = b.checkErrors &- a.checkErrors
        let timeouts = b.timeouts &- a.timeouts
        let requests = b.requests &- a.requests
        let seconds = Int((latest.atNanoseconds - oldest.atNanoseconds + 500_000_000) / 1_000_000_000)
        let health = LinkHealth(windowSeconds: seconds, frames: frames, checkErrors: errors, timeouts: timeouts, requests: requests)
        var out: [CheckVerdict] = []
        // The window holds one link's samples only (the hub restarts it when counters go back), so
        // these cannot have wrapped; the sum still wraps rather than trap on counters near 2^64
        // (hub-records crash-d1dd6efe).
        let candidates = frames &+ errors
        if candidates > 0 {
            let ratio = Double(errors) / Double(candidates)
            out.append(errors >= c.checkErrorMinimum && ratio > c.checkErrorRatio
                ? .failed(FaultCode.commCrcErrors,
                          "\(errors) of \(candidates) frames failed their CRC in \(seconds) s (\(Int(ratio * 1000) / 10).\(Int(ratio * 1000) % 10) %)",
                          link: health)
                : .passed(FaultCode.commCrcErrors))
        }
        if requests > 0 {
            out.append(timeouts >= c.timeoutMinimum && Double(timeouts) > Double(requests) * c.timeoutRatio
                ? .failed(FaultCode.responseTimeout, "\(timeouts) of \(requests) requests unanswered in \(seconds) s", link: health)
                : .passed(FaultCode.responseTimeout))
        }
        return out
    }

    /// One finished actuation: the trace analysis's verdict against the motor faults, and the
    /// battery's sag against `wornResistanceMilliohms`. A normal trace clears the motor faults;
    /// an abnormal one says nothing about the motor faults it is not.
    static func actuation(_ summary: ActuationSummary, verdict: TraceAnalysis.Verdict, evidence: String,
                          _ c: DiagnosisConfiguration) -> [CheckVerdict] {
        let motorCodes: [(TraceAnalysis.Verdict, UInt16)] = [(.stall, FaultCode.motorStall), (.openCircuit, FaultCode.motorOpenCircuit),
                                                             (.clutchSlip, FaultCode.clutchFailure), (.overcurrent, FaultCode.motorOvercurrent)]
        var out: [CheckVerdict] = []
        for (motorVerdict, code) in motorCodes {
            if verdict == motorVerdict {
                out.append(.failed(code, evidence, kind: .event, actuation: summary))
            } else if verdict == .normal {
                out.append(.passed(code))
            }
        }
        if let resistance = summary.internalResistanceMilliohms {
            out.append(resistance > c.wornResistanceMilliohms
                ? .failed(FaultCode.batteryWorn,
                          "battery sagged from \(summary.batteryRestMillivolts ?? 0) to \(summary.batteryLoadedMillivolts ?? 0) mV at \(summary.runningCurrentMilliamps) mA: \(resistance) mΩ internal resistance (limit \(c.wornResistanceMilliohms) mΩ)",
                          kind: .event, actuation: summary)
                : .passed(FaultCode.batteryWorn))
        }
        return out
    }
}
