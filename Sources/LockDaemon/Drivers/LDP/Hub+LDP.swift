import LinuxIO
import LockDiagAPI
import LockProtocol

/// LDP/1's hub half (firmware-specs/ldp-v1.md): its frames become the lock's identity, status
/// (read as `Readings`, Drivers/LDP/LDPReadings.swift), fingerprint status, fault memory and
/// motor traces; command answers go to their waiters. The checks over them are the diagnosis
/// table's (Diagnosis/).
extension Hub {
    /// A `.frame` record: an LDP/1 response, NAK or event.
    func ldpFrame(_ header: RecordHeader, payload: UnsafeRawBufferPointer, at now: Int64, device d: inout DeviceState,
                       state s: inout HubState, effects: inout Effects) {
        switch header.frameKind {
        case .nak:
            let code = payload.first.map(NakCode.init(rawValue:)) ?? .malformed
            if header.token != 0 { effects.commandOutcomes.append((header.token, .nak(code))) }
        case .response:
            let response: Response
            do {
                response = try Response(type: header.type, payload: payload)
            } catch {
                d.decodeErrors += 1
                if header.token != 0 { effects.commandOutcomes.append((header.token, .undecodable(error))) }
                return
            }
            apply(response, at: now, device: &d, state: &s, effects: &effects)
            if header.token != 0 { effects.commandOutcomes.append((header.token, .response(response))) }
        case .event:
            let event: Event
            do {
                event = try Event(type: header.type, payload: payload)
            } catch {
                d.decodeErrors += 1
                return
            }
            apply(event, at: now, device: &d, state: &s, effects: &effects)
            effects.events.append((d.index, .lock(event)))
        case .request:
            break
        }
    }

    private func apply(_ response: Response, at now: Int64, device d: inout DeviceState, state s: inout HubState, effects: inout Effects) {
        switch response {
        case .identify(let identity):
            let firstTime = d.identity == nil
            // The id follows the serial number only when it changes (another lock on this port):
            // a lock answering again after a reconnect keeps its id, even if it could now have a
            // shorter one.
            if identity.serial != (d.identity?.serial ?? "") {
                d.id = s.uniqueID(identity.serial.isEmpty ? d.path : identity.serial, path: d.path, for: d.index)
            }
            d.identity = identity
            if firstTime {
                effects.log.append("\(d.id): \(identity.model) rev \(identity.hardwareRevision), firmware \(identity.firmwareVersion) on \(d.path)")
            }
            effects.history.append(deviceSighting(identity, device: d, at: now))
            if identity.capabilities.contains(.motorTrace) { effects.fetchLatestTrace.append(d.index) }
            if identity.capabilities.contains(.genuineParts) { effects.checkParts.append(d.index) }
        case .status(let status):
            d.status = status
            d.statusAtMilliseconds = now
            sampleReadings(at: now, device: &d, effects: &effects)
            let monotonic = MonotonicClock.nanoseconds()
            if monotonic &- d.lastStatusNotification >= 1_000_000_000 / UInt64(statusNotificationHz),
               s.subscriptions[d.index]?.isEmpty == false {
                d.lastStatusNotification = monotonic
                effects.notifications.append((d.index, TelemetryNotification(
                    device: d.id, lost: 0, status: d.apiStatus(now: monotonic, silenceNanoseconds: silenceNanoseconds))))
            }
        case .fingerprint(let fp):
            d.fingerprint = fp
            apply(DiagnosisTable.evaluate(DiagnosisTable.onFingerprint, d.readings, diagnosis), at: now, device: &d, effects: &effects)
        case .faults(let records):
            checkDeviceFaults(records, at: now, device: &d, effects: &effects)
        case .motorTrace(let chunk):
            if d.assembly?.actuation == chunk.actuation { d.assembly?.insert(chunk) }
        case .faultsCleared, .selfTestAccepted, .actuationAccepted, .parts, .partProof:
            break
        }
    }

    private func apply(_ event: Event, at now: Int64, device d: inout DeviceState, state s: inout HubState, effects: inout Effects) {
        switch event {
        case .actuationStarted(let started):
            var assembly = TraceAssembly(actuation: started.actuation, sampleRateHz: Int(d.identity?.traceSampleRateHz ?? 1000),
                                         startedAtMilliseconds: now)
            assembly.started = started
            d.assembly = assembly
        case .traceChunk(let chunk):
            if d.assembly?.actuation != chunk.actuation {
                d.assembly = TraceAssembly(actuation: chunk.actuation, sampleRateHz: Int(chunk.sampleRateHz), startedAtMilliseconds: now)
            }
            d.assembly?.insert(chunk)
            if s.subscriptions[d.index]?.isEmpty == false {
                effects.notifications.append((d.index, TelemetryNotification(
                    device: d.id, lost: 0,
                    trace: TraceSamples(actuation: Int(chunk.actuation), firstIndex: Int(chunk.firstIndex),
                                        sampleRateHz: Int(chunk.sampleRateHz), samplesMilliamps: chunk.samplesMilliamps.map(Int.init)))))
            }
        case .actuationFinished(let finished):
            if d.assembly?.actuation != finished.actuation {
                d.assembly = TraceAssembly(actuation: finished.actuation, sampleRateHz: Int(d.identity?.traceSampleRateHz ?? 1000),
                                           startedAtMilliseconds: now)
            }
            d.assembly?.finished = finished
            d.assembly?.total = Int(finished.samples)
            if d.assembly!.isComplete {
                conclude(at: now, device: &d, state: &s, effects: &effects)
            } else {
                effects.fetchMissing.append((d.index, finished.actuation))
            }
        case .faultRaised(let record):
            checkDeviceFaults([record], at: now, device: &d, effects: &effects, complete: false)
        case .tamper(let tamper):
            failCheck(FaultCode.tamper, kind: .event, fromDevice: true, at: now,
                      evidence: "the lock reported tamper: \(tamper.cause.name.replacingOccurrences(of: "_", with: " "))",
                      device: &d, effects: &effects)
        case .selfTestResult:
            break
        }
    }

    /// Analyses the finished actuation in `d.assembly` and records its checks.
    func conclude(at now: Int64, device d: inout DeviceState, state s: inout HubState, effects: inout Effects) {
        guard let assembly = d.assembly else { return }
        d.assembly = nil
        let samples = assembly.completeSamples
        let finished = assembly.finished
        let boltAfter = finished?.bolt ?? d.status?.bolt
        let reachedEnd: Bool? = boltAfter.map { $0 == .locked || $0 == .unlocked }
        let direction = finished?.direction ?? assembly.started?.direction
        let analysis = TraceAnalysis.analyze(samplesMilliamps: samples, sampleRateHz: assembly.sampleRateHz, boltReachedEnd: reachedEnd,
                                             usualTravelMilliseconds: direction.flatMap { d.usualTravelMilliseconds[$0] },
                                             configuration: diagnosis)
        var resistance: Int?
        if let f = finished, analysis.runningMilliamps >= diagnosis.minCurrentForResistanceMilliamps,
           f.batteryRestMillivolts > f.batteryLoadedMillivolts, f.batteryLoadedMillivolts > 0 {
            let running = max(Int(f.runningCurrentMilliamps), analysis.runningMilliamps)
            resistance = (Int(f.batteryRestMillivolts) - Int(f.batteryLoadedMillivolts)) * 1000 / max(running, 1)
        }
        let summary = ActuationSummary(
            actuation: Int(assembly.actuation), direction: direction?.description, source: assembly.started?.source.name,
            result: finished?.result.name, durationMilliseconds: analysis.durationMilliseconds, peakCurrentMilliamps: analysis.peakMilliamps,
            runningCurrentMilliamps: analysis.runningMilliamps, batteryRestMillivolts: finished.map { Int($0.batteryRestMillivolts) },
            batteryLoadedMillivolts: finished.map { Int($0.batteryLoadedMillivolts) }, internalResistanceMilliohms: resistance,
            endStopAtMilliseconds: analysis.endStopAtMilliseconds, analysis: analysis.verdict.rawValue, samples: samples.count,
            sampleRateHz: assembly.sampleRateHz, at: APITime.format(milliseconds: assembly.startedAtMilliseconds))
        let trace = MotorTrace(actuation: Int(assembly.actuation), sampleRateHz: assembly.sampleRateHz, samplesMilliamps: samples.map(Int.init))
        d.lastActuation = summary
        d.lastTrace = trace
        d.recentActuations.append(summary)
        d.recentTraces.append(trace)
        if d.recentActuations.count > 16 {
            d.recentActuations.removeFirst()
            d.recentTraces.removeFirst()
        }

        apply(DiagnosisTable.actuation(summary, verdict: analysis.verdict, evidence: analysis.evidence, diagnosis), at: now,
              device: &d, effects: &effects)
        apply(DiagnosisTable.strikeAlignment(summary, samples: trace.samplesMilliamps, door: d.status?.door,
                                             freeRunning: &d.freeRunningEndRatio, diagnosis), at: now, device: &d, effects: &effects)
        if analysis.verdict == .normal, let direction, let at = analysis.endStopAtMilliseconds {
            // Learn this lock's travel time; a slow moving average so one odd run does not move it.
            let previous = d.usualTravelMilliseconds[direction] ?? at
            d.usualTravelMilliseconds[direction] = (previous * 3 + at) / 4
        }
        effects.telemetry.append(.actuation(device: d.id, summary: summary, trace: trace, atMilliseconds: assembly.startedAtMilliseconds))
        if s.subscriptions[d.index]?.isEmpty == false {
            effects.notifications.append((d.index, TelemetryNotification(device: d.id, lost: 0, actuation: summary)))
        }
        effects.events.append((d.index, .concluded(summary, trace)))
    }

    /// The lock's fault memory is authoritative for its own codes: a failing record is a failed
    /// check (confirmed at once if the lock confirmed it), a record that is gone is a clean one,
    /// and a stored record that is not failing now says nothing either way.
    func checkDeviceFaults(_ records: [DeviceFault], at now: Int64, device d: inout DeviceState, effects: inout Effects,
                                   complete: Bool = true) {
        var present = Set<UInt16>()
        for record in records {
            present.insert(record.code)
            guard record.status.contains(.testFailed) else { continue }
            let def = FaultCatalog.resolve(record.code)
            let evidence = "lock's fault memory: \(def.title.lowercased()), \(record.occurrences)× since it was cleared; at the last occurrence \(record.snapshotBatteryMillivolts) mV, \(record.snapshotMotorCurrentMilliamps) mA, bolt \(record.snapshotBolt.name)"
            // The lock's own freeze frame is the one taken when it happened.
            var freeze = d.freezeFrame(at: now, evidence: evidence)
            freeze.batteryMillivolts = Int(record.snapshotBatteryMillivolts)
            freeze.motorCurrentMilliamps = Int(record.snapshotMotorCurrentMilliamps)
            freeze.temperatureCelsius = Readings.celsius(decicelsius: record.snapshotTemperatureDecicelsius)
            freeze.lock = record.snapshotBolt.name
            failCheck(record.code, kind: .condition, fromDevice: true, at: now, evidence: evidence,
                      confirmed: record.status.contains(.confirmed), occurrences: Int(record.occurrences), freezeFrame: freeze,
                      device: &d, effects: &effects)
        }
        if complete {
            for code in d.deviceFaultCodes.subtracting(present) { passCheck(code, device: &d, effects: &effects) }
            d.deviceFaultCodes = present
        } else {
            d.deviceFaultCodes.formUnion(present)
        }
    }

}
