import HistoryStore
import LinuxIO
import LockDiagAPI
import LockProtocol

extension Hub {
    /// Runs self-tests on a lock (`tests.run`): asks the lock to run each, waits for its result,
    /// and adds the daemon's own reading of the traces and measurements. Moving the motor is
    /// the caller's decision (the socket layer checks who may).
    /// The run is committed to the history (with `requester`, who asked) before it is returned.
    public func runTests(_ kind: TestKind, on index: Int, by requester: String? = nil) async throws(HubError) -> TestRun {
        let startedAt = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
        let id = deviceID(index)
        if let reason = tuyaRefusal(index, "tests.run") { throw .refused(reason) }
        guard isOnline(index) else { throw .offline(id) }
        let asked: [SelfTestKind] = switch kind {
        case .motor: [.motor]
        case .battery: [.battery]
        case .fingerprint: [.fingerprint]
        case .all: [.motor, .battery, .fingerprint]
        }
        // LDP/1 §4.3: no request for a capability the lock lacks. `all` runs the tests it has;
        // one it lacks, asked for alone, is refused before anything is sent.
        let capabilities = state.read { $0.devices[index]?.identity?.capabilities }
        let kinds = asked.filter { test in capabilities.map { Self.canRun(test, with: $0) } ?? true }
        guard !kinds.isEmpty else {
            let what = kind == .all ? "self-tests" : "\(kind.rawValue) self-test"
            throw .refused("\(id) has no \(what): its IDENTIFY does not list the "
                           + asked.map(Self.neededCapability).joined(separator: " / ") + " it needs — nothing was sent")
        }
        var results: [TestResult] = []
        for test in kinds {
            results.append(try await runSelfTest(test, on: index, id: id))
        }
        let verdict: Verdict = results.allSatisfy { $0.verdict == .pass } ? .pass : results.contains { $0.verdict == .fail } ? .fail : .aborted
        let ended = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
        let run = TestRun(device: id, test: kind, verdict: verdict, results: results,
                          startedAt: APITime.format(milliseconds: startedAt), durationMilliseconds: Int(ended - startedAt))
        history?.commit([.testRun(run, startedAtMilliseconds: startedAt, requestedBy: requester)])
        return run
    }

    /// Whether a lock with `capabilities` can run `test` (ldp-v1.md §6.7: the battery test loads
    /// the battery through the test resistor or the motor).
    static func canRun(_ test: SelfTestKind, with capabilities: Capabilities) -> Bool {
        switch test {
        case .motor: capabilities.contains(.motor)
        case .battery: !capabilities.isDisjoint(with: [.batteryLoadTest, .motor])
        case .fingerprint: capabilities.contains(.fingerprint)
        }
    }

    static func neededCapability(_ test: SelfTestKind) -> String {
        switch test {
        case .motor: "MOTOR capability"
        case .battery: "BATTERY_LOAD_TEST or MOTOR capability"
        case .fingerprint: "FINGERPRINT capability (a fingerprint sensor)"
        }
    }

    private func runSelfTest(_ test: SelfTestKind, on index: Int, id: String) async throws(HubError) -> TestResult {
        let resultTicket = ticket(for: index) { event in
            if case .lock(.selfTestResult(let r)) = event { return r.test == test.rawValue }
            if case .linkLost = event { return true }
            return false
        }
        // The motor test's two actuations, analysed; collected as they conclude.
        let actuationTicket = ticket(for: index, count: test == .motor ? 2 : 1) { event in
            if case .concluded(let summary, _) = event { return test == .motor && summary.source == ActuationSource.selfTest.name }
            return false
        }
        defer {
            discard(resultTicket)
            discard(actuationTicket)
        }
        // A lock in use (someone just turned the key, the auto-lock ran) answers BUSY for a few
        // seconds; a technician would rather wait that out than retype the command.
        let busyDeadline = MonotonicClock.nanoseconds() + 8_000_000_000
        var expectedMilliseconds = 0
        while expectedMilliseconds == 0 {
            switch await command(.runSelfTest(test), to: index) {
            case .response(.selfTestAccepted(_, let ms)): expectedMilliseconds = max(1, Int(ms))
            case .nak(.busy):
                guard MonotonicClock.nanoseconds() < busyDeadline else {
                    throw .busy("\(id) stayed busy for 8 s (an actuation or another test is running) — try again when it is idle")
                }
                try? await Task.sleep(nanoseconds: 250_000_000)
            case .nak(.notAvailable): throw .refused("\(id) has no \(test) self-test")
            case .nak(.refused): throw .refused("\(id) refused the \(test) self-test now (door open or lockout?) — check the lock and retry")
            case .nak(let code): throw .refused("\(id) refused the \(test) self-test (\(code.name))")
            case .timeout where test == .motor:
                // Not resent: the request may have arrived and only its answer been lost.
                throw .timeout("\(id) did not answer RUN_SELFTEST for the motor test, which may have started anyway — "
                               + "check the bolt (`lockdiag status \(id)`) before running it again")
            case .timeout: throw .timeout("\(id) did not answer RUN_SELFTEST — check the connection")
            case .failed where test == .motor:
                throw .interrupted("\(id): the link went away while asking for the motor test, which may have started — "
                                   + "lockdiag does not repeat it by itself; check the bolt (`lockdiag status \(id)`) once the lock is back")
            case .failed: throw .offline(id)
            case .undecodable(let error): throw .refused("\(id): unusable answer to RUN_SELFTEST: \(error)")
            case .response: throw .refused("\(id): unexpected answer to RUN_SELFTEST")
            }
        }
        let deadline = Double(expectedMilliseconds) / 1000 + 10
        let outcome = await resultTicket.wait(timeoutSeconds: deadline).first
        if case .linkLost? = outcome {
            let state = test == .motor ? "the bolt may have stopped between its end positions" : "the test's result is lost"
            throw .interrupted("\(id): the link went away during the \(test) self-test; \(state). lockdiag does not repeat the test "
                               + "by itself — check the lock (`lockdiag status \(id)`) once it is back, then run it again if needed")
        }
        guard case .lock(.selfTestResult(let result))? = outcome else {
            throw .timeout("\(id): no \(test) self-test result within \(Int(deadline)) s — the lock may have reset; check it and retry")
        }
        var summaries: [ActuationSummary] = []
        var traces: [MotorTrace] = []
        if test == .motor {
            for case .concluded(let summary, let trace) in await actuationTicket.wait(timeoutSeconds: 5) {
                summaries.append(summary)
                if let trace { traces.append(trace) }
            }
        }
        return evaluate(result, test: test, actuations: summaries, traces: traces, on: index)
    }

    /// The lock's verdict and measurements, plus the daemon's own findings.
    private func evaluate(_ result: SelfTestResult, test: SelfTestKind, actuations: [ActuationSummary], traces: [MotorTrace],
                          on index: Int) -> TestResult {
        var m = TestMeasurements()
        var findings: [String] = []
        var faults: [String] = []
        func value(_ id: MeasurementID) -> Int? { result.value(id).map(Int.init) }
        if let code = value(.faultCode) {
            let def = FaultCatalog.resolve(UInt16(truncatingIfNeeded: code))
            faults.append(def.codeText)
            findings.append("the lock reports \(def.title.lowercased())")
        }
        switch test {
        case .motor:
            m.durationMilliseconds = value(.durationMs) ?? (actuations.isEmpty ? nil : actuations.map(\.durationMilliseconds).reduce(0, +))
            m.peakCurrentMilliamps = value(.peakCurrentMa) ?? actuations.map(\.peakCurrentMilliamps).max()
            m.runningCurrentMilliamps = value(.runningCurrentMa)
                ?? (actuations.isEmpty ? nil : actuations.map(\.runningCurrentMilliamps).reduce(0, +) / actuations.count)
            m.endPositionReached = value(.endPositionReached).map { $0 != 0 }
            if let rest = actuations.compactMap(\.batteryRestMillivolts).first {
                m.batteryRestMillivolts = rest
                if let loaded = actuations.compactMap(\.batteryLoadedMillivolts).min() {
                    m.batteryLoadedMillivolts = loaded
                    m.batterySagMillivolts = rest - loaded
                }
            }
            m.internalResistanceMilliohms = actuations.compactMap(\.internalResistanceMilliohms).max()
            for a in actuations where a.analysis != TraceAnalysis.Verdict.normal.rawValue {
                let code: UInt16? = switch a.analysis {
                case TraceAnalysis.Verdict.stall.rawValue: FaultCode.motorStall
                case TraceAnalysis.Verdict.openCircuit.rawValue: FaultCode.motorOpenCircuit
                case TraceAnalysis.Verdict.clutchSlip.rawValue: FaultCode.clutchFailure
                case TraceAnalysis.Verdict.overcurrent.rawValue: FaultCode.motorOvercurrent
                default: nil
                }
                findings.append("\(a.direction ?? "actuation") \(a.actuation): trace shows \(a.analysis.replacingOccurrences(of: "_", with: " "))")
                if let code, !faults.contains(FaultCatalog.format(code)) { faults.append(FaultCatalog.format(code)) }
            }
            if let r = m.internalResistanceMilliohms, r > diagnosis.wornResistanceMilliohms {
                findings.append("battery internal resistance \(r) mΩ under motor load (limit \(diagnosis.wornResistanceMilliohms) mΩ)")
                faults.append(FaultCatalog.format(FaultCode.batteryWorn))
            }
        case .battery:
            m.batteryRestMillivolts = value(.batteryRestMv)
            m.batteryLoadedMillivolts = value(.batteryLoadedMv)
            m.loadCurrentMilliamps = value(.loadCurrentMa)
            if let rest = m.batteryRestMillivolts, let loaded = m.batteryLoadedMillivolts { m.batterySagMillivolts = rest - loaded }
            var resistance = value(.internalResistanceMohm)
            if resistance == nil, let sag = m.batterySagMillivolts, let load = m.loadCurrentMilliamps, load > 0 { resistance = sag * 1000 / load }
            m.internalResistanceMilliohms = resistance
            let now = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
            var effects = Effects()
            state.withLock { s in
                guard var d = s.devices[index], let r = resistance else { return }
                if r > diagnosis.wornResistanceMilliohms {
                    let evidence = "battery self-test: \(m.batteryRestMillivolts ?? 0) mV at rest, \(m.batteryLoadedMillivolts ?? 0) mV under \(m.loadCurrentMilliamps ?? 0) mA: \(r) mΩ"
                    failCheck(FaultCode.batteryWorn, kind: .event, fromDevice: false, at: now, evidence: evidence, device: &d, effects: &effects)
                } else {
                    passCheck(FaultCode.batteryWorn, device: &d, effects: &effects)
                }
                s.devices[index] = d
                commitHistory(&effects)
            }
            for line in effects.log { logger.info("\(line)") }
            if let r = resistance, r > diagnosis.wornResistanceMilliohms {
                findings.append("battery internal resistance \(r) mΩ (limit \(diagnosis.wornResistanceMilliohms) mΩ): worn or cold cells, or corroded contacts")
                if !faults.contains(FaultCatalog.format(FaultCode.batteryWorn)) { faults.append(FaultCatalog.format(FaultCode.batteryWorn)) }
            }
        case .fingerprint:
            m.imageQuality = value(.imageQuality)
            if let q = m.imageQuality, q < diagnosis.imageQualityMinimum {
                findings.append("test image quality \(q) (minimum \(diagnosis.imageQualityMinimum)): clean or replace the sensor")
                faults.append(FaultCatalog.format(FaultCode.fingerprintImageDegraded))
            }
        }
        let verdict: Verdict = switch result.verdict {
        case .pass: findings.isEmpty ? .pass : .fail
        case .fail: .fail
        default: .aborted
        }
        if verdict == .fail && findings.isEmpty { findings.append("the lock reports the \(test) self-test failed") }
        let kind: TestKind = switch test {
        case .motor: .motor
        case .battery: .battery
        case .fingerprint: .fingerprint
        }
        // ldp-v1.md §7.3: unknown ids are kept and shown as numbers, not dropped.
        let other = result.measurements.filter { !$0.id.isKnown }.map { OtherMeasurement(id: Int($0.id.rawValue), value: Int($0.value)) }
        return TestResult(test: kind, verdict: verdict, measurements: m, findings: findings, faults: faults,
                          actuations: actuations, traces: traces, otherMeasurements: other.isEmpty ? nil : other)
    }
}
