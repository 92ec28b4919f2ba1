import LinuxIO
import LockDiagAPI
import LockProtocol
import Synchronization

extension Hub {
    /// Moves the bolt once (`device.actuate`): LDP/1 ACTUATE, then waits for that actuation to
    /// end and be analysed. Whether the caller may move the bolt is the socket layer's decision.
    /// The motor stops by itself at the end stop, a jam or the lock's 3 s timeout (LDP/1 has no
    /// abort), so a caller that gives up only stops sending new actuations.
    public func actuate(_ direction: ActuationDirection, on index: Int) async throws(HubError) -> ActuateResult {
        let id = deviceID(index)
        if let reason = tuyaRefusal(index, "device.actuate") { throw .refused(reason) }
        guard isOnline(index) else { throw .offline(id) }
        // LDP/1 §4.3: no request for a capability the lock lacks.
        if let capabilities = state.read({ $0.devices[index]?.identity?.capabilities }), !capabilities.contains(.motor) {
            throw .refused("\(id) has no motor to move: its IDENTIFY does not list the MOTOR capability — nothing was sent")
        }
        // The number the lock gives this actuation, known once it accepts; its conclusion may
        // be offered before that (a fast lock), so until then any host actuation matches.
        let accepted = Mutex<Int?>(nil)
        let conclusion = ticket(for: index) { event in
            guard case .concluded(let summary, _) = event, summary.source == ActuationSource.host.name else { return false }
            return accepted.withLock { $0 == nil || $0 == summary.actuation }
        }
        defer { discard(conclusion) }
        let wire: Direction = direction == .lock ? .lock : .unlock
        // A lock in use answers BUSY for about a second; wait that out as self-tests do.
        let busyDeadline = MonotonicClock.nanoseconds() + 8_000_000_000
        var number: Int?
        while number == nil {
            switch await command(.actuate(wire), to: index) {
            case .response(.actuationAccepted(let actuation)):
                number = Int(actuation)
                accepted.withLock { $0 = Int(actuation) }
            case .nak(.busy):
                guard MonotonicClock.nanoseconds() < busyDeadline else {
                    throw .busy("\(id) stayed busy for 8 s (an actuation or a self-test is running) — try again when it is idle")
                }
                try? await Task.sleep(nanoseconds: 250_000_000)
            case .nak(.notAvailable), .nak(.unknownMessage): throw .refused("\(id) cannot be actuated by the host (no ACTUATE)")
            case .nak(.refused): throw .refused("\(id) refused to move the bolt now (door open or lockout?) — check the lock and retry")
            case .nak(let code): throw .refused("\(id) refused ACTUATE (\(code.name))")
            case .timeout: throw .timeout("\(id) did not answer ACTUATE — check the connection")
            case .failed: throw .offline(id)
            case .undecodable(let error): throw .refused("\(id): unusable answer to ACTUATE: \(error)")
            case .response: throw .refused("\(id): unexpected answer to ACTUATE")
            }
        }
        // The lock's own timeout is 3 s (firmware-specs/ldp-v1.md §7.2 result 2); re-reading
        // lost trace chunks adds a little. Past this the lock has reset or gone.
        let timeoutSeconds = 10.0
        guard case .concluded(let summary, let trace)? = await conclusion.wait(timeoutSeconds: timeoutSeconds).first,
              summary.actuation == number else {
            if !isOnline(index) { throw .offline(id) }
            throw .timeout("\(id): actuation \(number ?? 0) did not finish within \(Int(timeoutSeconds)) s — the lock may have reset; check it")
        }
        var findings: [String] = []
        if let result = summary.result, result != ActuationResult.reached.name {
            findings.append("the lock reports \(result.replacingOccurrences(of: "_", with: " ")) (bolt did not reach its end position)")
        }
        // The verdicts the diagnosis raises faults for; `no_end_stop` alone is not one (a bolt
        // already at its end runs the motor only briefly, LDP/1 §6.8).
        let faulty: [TraceAnalysis.Verdict] = [.stall, .openCircuit, .clutchSlip, .overcurrent]
        if faulty.map(\.rawValue).contains(summary.analysis) {
            findings.append("trace shows \(summary.analysis.replacingOccurrences(of: "_", with: " "))")
        }
        return ActuateResult(device: deviceID(index), direction: direction, actuation: summary, trace: trace,
                             verdict: findings.isEmpty ? .pass : .fail, findings: findings)
    }
}
