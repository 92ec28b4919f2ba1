import HistoryStore
import LinuxIO
import LockDiagAPI
import LockProtocol

extension Hub {
    /// Applies one ring record to the state. Runs on the hub thread with the state lock held.
    func handle(_ header: RecordHeader, payload: UnsafeRawBufferPointer, state s: inout HubState, effects: inout Effects) {
        let index = Int(header.device)
        guard index < s.devices.count, var d = s.devices[index] else {
            if header.token != 0 { effects.commandOutcomes.append((header.token, .failed)) }
            return
        }
        defer { s.devices[index] = d }
        let now = clock.wallMilliseconds(monotonic: header.timestampNanoseconds)
        switch header.kind {
        case .linkUp:
            d.linkUp = true
            d.everUp = true
            d.problem = nil
            d.assembly = nil
            // A re-attached link counts from its own start: samples of the old one are not comparable.
            d.window.removeAll()
            effects.log.append("\(d.id): link up on \(d.path)")
        case .linkDown:
            d.linkUp = false
            d.assembly = nil
            // Whatever waited on this lock (a self-test's result) learns at once that it may never come.
            effects.events.append((d.index, .linkLost))
            // A lock udev reported unplugged keeps saying so; its link closing is expected.
            guard d.unpluggedAtNanoseconds == nil else { break }
            d.problem = payload.isEmpty ? "link lost: the device went away (unplugged, reset or hung up)"
                : "link lost: " + String(decoding: payload, as: UTF8.self)
            effects.log.append(payload.isEmpty ? "\(d.id): link lost on \(d.path); reconnecting" : "\(d.id): \(d.problem!); reconnecting")
            // For a lock udev watches, the once-a-second check raises link_lost unless udev
            // says it was unplugged meanwhile (the link fails before the uevent comes).
            if d.discoveryKey != nil {
                if d.linkDroppedAtNanoseconds == nil { d.linkDroppedAtNanoseconds = header.timestampNanoseconds }
            } else {
                let evidence = switch d.transport {
                case "ble": "the Bluetooth LE connection to \(d.path) dropped while polled"
                case "usb": "\(d.path) hung up (LIBUSB_ERROR_NO_DEVICE) while polled"
                default: "\(d.path) hung up (EIO/POLLHUP) while polled"
                }
                failCheck(FaultCode.linkLost, kind: .condition, fromDevice: false, at: now, evidence: evidence, device: &d, effects: &effects)
            }
        case .openFailed:
            guard d.unpluggedAtNanoseconds == nil else { break }
            d.problem = String(decoding: payload, as: UTF8.self)
            effects.log.append("\(d.id): \(d.problem!)")
        case .timeout:
            if header.token != 0 { effects.commandOutcomes.append((header.token, .timeout)) }
        case .commandFailed:
            effects.commandOutcomes.append((header.token, .failed))
        case .counters:
            if payload.count >= MemoryLayout<LinkCounters>.size {
                d.counters = payload.loadUnaligned(as: LinkCounters.self)
                // Counters that went backwards belong to a new link (a replug, a reopened port):
                // the window restarts there instead of reading the difference as millions of errors.
                if let last = d.window.last?.counters, !d.counters.continues(last) { d.window.removeAll() }
                d.window.append(CounterSample(atNanoseconds: header.timestampNanoseconds, counters: d.counters))
                // The window, the newest sample (not judged yet, see checkLink) and one of slack.
                let keep = UInt64(diagnosis.linkWindowSeconds + 2) * 1_000_000_000
                d.window.removeAll { header.timestampNanoseconds &- $0.atNanoseconds > keep }
            }
        case .frame:
            d.lastFrameNanoseconds = header.timestampNanoseconds
            d.lastFrameMilliseconds = now
            frame(header, payload: payload, at: now, device: &d, state: &s, effects: &effects)
        case .tuyaFrame:
            d.lastFrameNanoseconds = header.timestampNanoseconds
            d.lastFrameMilliseconds = now
            tuyaFrame(header, payload: payload, at: now, device: &d, effects: &effects)
        case .gattReading:
            gattReading(header, payload: payload, at: now, device: &d, state: &s, effects: &effects)
        }
    }

    private func frame(_ header: RecordHeader, payload: UnsafeRawBufferPointer, at now: Int64, device d: inout DeviceState,
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
        case .status(let status):
            d.status = status
            d.statusAtMilliseconds = now
            sampleStatus(status, at: now, device: &d, effects: &effects)
            let monotonic = MonotonicClock.nanoseconds()
            if monotonic &- d.lastStatusNotification >= 1_000_000_000 / UInt64(statusNotificationHz),
               s.subscriptions[d.index]?.isEmpty == false {
                d.lastStatusNotification = monotonic
                effects.notifications.append((d.index, TelemetryNotification(
                    device: d.id, lost: 0, status: d.apiStatus(now: monotonic, silenceNanoseconds: silenceNanoseconds))))
            }
        case .fingerprint(let fp):
            d.fingerprint = fp
            checkFingerprint(fp, at: now, device: &d, effects: &effects)
        case .faults(let records):
            checkDeviceFaults(records, at: now, device: &d, effects: &effects)
        case .motorTrace(let chunk):
            if d.assembly?.actuation == chunk.actuation { d.assembly?.insert(chunk) }
        case .faultsCleared, .selfTestAccepted, .actuationAccepted:
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

        let motorCodes: [(TraceAnalysis.Verdict, UInt16)] = [(.stall, FaultCode.motorStall), (.openCircuit, FaultCode.motorOpenCircuit),
                                                             (.clutchSlip, FaultCode.clutchFailure), (.overcurrent, FaultCode.motorOvercurrent)]
        for (verdict, code) in motorCodes {
            if analysis.verdict == verdict {
                failCheck(code, kind: .event, fromDevice: false, at: now, evidence: analysis.evidence, actuation: summary, device: &d, effects: &effects)
            } else if analysis.verdict == .normal {
                passCheck(code, device: &d, effects: &effects)
            }
        }
        if analysis.verdict == .normal, let direction, let at = analysis.endStopAtMilliseconds {
            // Learn this lock's travel time; a slow moving average so one odd run does not move it.
            let previous = d.usualTravelMilliseconds[direction] ?? at
            d.usualTravelMilliseconds[direction] = (previous * 3 + at) / 4
        }
        if let resistance {
            if resistance > diagnosis.wornResistanceMilliohms {
                failCheck(FaultCode.batteryWorn, kind: .event, fromDevice: false, at: now,
                          evidence: "battery sagged from \(summary.batteryRestMillivolts ?? 0) to \(summary.batteryLoadedMillivolts ?? 0) mV at \(summary.runningCurrentMilliamps) mA: \(resistance) mΩ internal resistance (limit \(diagnosis.wornResistanceMilliohms) mΩ)",
                          actuation: summary, device: &d, effects: &effects)
            } else {
                passCheck(FaultCode.batteryWorn, device: &d, effects: &effects)
            }
        }
        effects.telemetry.append(.actuation(device: d.id, summary: summary, trace: trace, atMilliseconds: assembly.startedAtMilliseconds))
        if s.subscriptions[d.index]?.isEmpty == false {
            effects.notifications.append((d.index, TelemetryNotification(device: d.id, lost: 0, actuation: summary)))
        }
        effects.events.append((d.index, .concluded(summary, trace)))
    }

    // MARK: Checks

    func failCheck(_ code: UInt16, kind: CheckKind, fromDevice: Bool, at now: Int64, evidence: String, confirmed: Bool = false,
                   occurrences: Int? = nil, actuation: ActuationSummary? = nil, link: LinkHealth? = nil,
                   freezeFrame: FreezeFrame? = nil, device d: inout DeviceState, effects: inout Effects) {
        let snapshot = d
        let transition = d.faults.fail(code, kind: kind, fromDevice: fromDevice, at: now, evidence: evidence, confirmed: confirmed,
                                       occurrences: occurrences) {
            freezeFrame ?? snapshot.freezeFrame(at: now, evidence: evidence, actuation: actuation, link: link)
        }
        if let transition { report(transition, code: code, device: d, effects: &effects) }
    }

    func passCheck(_ code: UInt16, device d: inout DeviceState, effects: inout Effects) {
        if let transition = d.faults.pass(code) { report(transition, code: code, device: d, effects: &effects) }
    }

    private func report(_ transition: FaultTransition, code: UInt16, device d: DeviceState, effects: inout Effects) {
        guard let entry = d.faults.entry(code) else { return }
        let def = FaultCatalog.resolve(code)
        effects.log.append("\(d.id): fault \(def.codeText) \(def.name) \(transition.rawValue) — \(entry.evidence)")
        effects.history.append(faultEvent(transition, entry: entry, device: d))
        effects.notifications.append((d.index, TelemetryNotification(device: d.id, lost: 0, fault: d.apiFault(entry))))
    }

    /// The lock's fault memory is authoritative for its own codes: a failing record is a failed
    /// check (confirmed at once if the lock confirmed it), a record that is gone is a clean one,
    /// and a stored record that is not failing now says nothing either way.
    private func checkDeviceFaults(_ records: [DeviceFault], at now: Int64, device d: inout DeviceState, effects: inout Effects,
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
            freeze.temperatureCelsius = record.snapshotTemperatureDecicelsius == LockStatus.unknownTemperature
                ? nil : Double(record.snapshotTemperatureDecicelsius) / 10
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

    private func checkFingerprint(_ fp: FingerprintStatus, at now: Int64, device d: inout DeviceState, effects: inout Effects) {
        guard fp.state != .absent else { return }
        if fp.state == .notResponding || !fp.linkOK {
            failCheck(FaultCode.fingerprintNotResponding, kind: .condition, fromDevice: false, at: now,
                      evidence: "fingerprint sensor state \(fp.state.name), link \(fp.linkOK ? "up" : "down")", device: &d, effects: &effects)
        } else {
            passCheck(FaultCode.fingerprintNotResponding, device: &d, effects: &effects)
        }
        if fp.lastImageQuality != FingerprintStatus.noQuality {
            if Int(fp.lastImageQuality) < diagnosis.imageQualityMinimum {
                failCheck(FaultCode.fingerprintImageDegraded, kind: .condition, fromDevice: false, at: now,
                          evidence: "last fingerprint image quality \(fp.lastImageQuality) (minimum \(diagnosis.imageQualityMinimum))",
                          device: &d, effects: &effects)
            } else {
                passCheck(FaultCode.fingerprintImageDegraded, device: &d, effects: &effects)
            }
        }
    }

    /// How long after a udev-watched lock's link fails udev may still report it unplugged before
    /// the failure counts as a lost link (link_lost). The uevent goes through systemd-udevd's rules
    /// first; under load that took 2 s in the kernel lab (docs/lab.md).
    static let unplugReportGraceNanoseconds: UInt64 = 5_000_000_000

    /// Once a second: battery level at rest, link quality over the window, link presence.
    func periodicChecks(now monotonic: UInt64, state s: inout HubState, effects: inout Effects) {
        let now = clock.wallMilliseconds(monotonic: monotonic)
        for index in s.devices.indices {
            guard var d = s.devices[index] else { continue }
            defer { s.devices[index] = d }
            // udev's remove event comes after the link fails: on a loaded machine seconds after
            // (2 s was seen in the kernel lab). Until then a drop is not yet a lost link.
            // Likewise a lock plugged back in is not lost while its link is still reopening.
            let grace = Self.unplugReportGraceNanoseconds
            let awaitingUdev = d.unpluggedAtNanoseconds == nil
                && d.linkDroppedAtNanoseconds.map { monotonic &- $0 < grace } == true
            let reopening = !d.linkUp && d.pluggedBackAtNanoseconds.map { monotonic &- $0 < grace } == true
            if d.linkUp { d.pluggedBackAtNanoseconds = nil }
            if d.everUp && !awaitingUdev && !reopening {
                let dropped = d.unpluggedAtNanoseconds == nil && d.linkDroppedAtNanoseconds != nil
                d.linkDroppedAtNanoseconds = nil
                if dropped && d.linkUp {
                    // Down and up again with no unplug from udev: still a lost link.
                    failCheck(FaultCode.linkLost, kind: .condition, fromDevice: false, at: now,
                              evidence: "\(d.path) dropped its link and came back", device: &d, effects: &effects)
                } else if d.linkUp { passCheck(FaultCode.linkLost, device: &d, effects: &effects) } else if d.unpluggedAtNanoseconds == nil {
                    failCheck(FaultCode.linkLost, kind: .condition, fromDevice: false, at: now,
                              evidence: "\(d.path) is gone", device: &d, effects: &effects)
                }
            }
            guard d.linkUp else { continue }
            checkLink(monotonic: monotonic, at: now, device: &d, effects: &effects)
            tuyaPeriodic(at: now, device: &d, effects: &effects)
            gattPeriodic(at: now, device: &d, effects: &effects)
            if let status = d.status, let at = d.statusAtMilliseconds, now - at < 3000, status.motor == .idle,
               status.batteryPercent != LockStatus.unknownPercent {
                let percent = Int(status.batteryPercent)
                // 0 mV: a lock that reports only a percentage (the BLE Battery Service).
                let evidence = "battery at \(percent) %" + (status.batteryMillivolts > 0 ? " (\(status.batteryMillivolts) mV at rest)" : "")
                if percent < diagnosis.batteryCriticalPercent {
                    failCheck(FaultCode.batteryCritical, kind: .condition, fromDevice: false, at: now, evidence: evidence, device: &d, effects: &effects)
                } else {
                    passCheck(FaultCode.batteryCritical, device: &d, effects: &effects)
                    if percent < diagnosis.batteryLowPercent {
                        failCheck(FaultCode.batteryLow, kind: .condition, fromDevice: false, at: now, evidence: evidence, device: &d, effects: &effects)
                    } else {
                        passCheck(FaultCode.batteryLow, device: &d, effects: &effects)
                    }
                }
            }
        }
    }

    private func checkLink(monotonic: UInt64, at now: Int64, device d: inout DeviceState, effects: inout Effects) {
        // Judged over the samples the link outlived: the newest second may hold the timeouts and
        // torn frames of an unplug the link has not reported yet. A lock stops answering the
        // moment it is pulled, but libusb's NO_DEVICE or a tty's hang-up comes when the host's
        // hub notices (the kernel lab saw 0.3 s and more under load), and that is no link fault.
        // A link that is still up a second later owns its errors.
        guard d.window.count >= 3 else { return }
        let latest = d.window[d.window.count - 2], oldest = d.window[0]
        guard latest.atNanoseconds > oldest.atNanoseconds else { return }
        let a = oldest.counters, b = latest.counters
        let frames = b.decoder.frames &- a.decoder.frames
        let errors = b.checkErrors &- a.checkErrors
        let timeouts = b.timeouts &- a.timeouts
        let requests = b.requests &- a.requests
        let seconds = Int((latest.atNanoseconds - oldest.atNanoseconds + 500_000_000) / 1_000_000_000)
        let health = LinkHealth(windowSeconds: seconds, frames: frames, checkErrors: errors, timeouts: timeouts, requests: requests)
        // The window holds one link's samples only (see .counters), so these cannot have wrapped;
        // the sum still wraps rather than trap on counters near 2^64 (hub-records crash-d1dd6efe).
        let candidates = frames &+ errors
        if candidates > 0 {
            let ratio = Double(errors) / Double(candidates)
            if errors >= diagnosis.checkErrorMinimum && ratio > diagnosis.checkErrorRatio {
                failCheck(FaultCode.commCrcErrors, kind: .condition, fromDevice: false, at: now,
                          evidence: "\(errors) of \(candidates) frames failed their CRC in \(seconds) s (\(Int(ratio * 1000) / 10).\(Int(ratio * 1000) % 10) %)",
                          link: health, device: &d, effects: &effects)
            } else {
                passCheck(FaultCode.commCrcErrors, device: &d, effects: &effects)
            }
        }
        if requests > 0 {
            if timeouts >= diagnosis.timeoutMinimum && Double(timeouts) > Double(requests) * diagnosis.timeoutRatio {
                failCheck(FaultCode.responseTimeout, kind: .condition, fromDevice: false, at: now,
                          evidence: "\(timeouts) of \(requests) requests unanswered in \(seconds) s", link: health, device: &d, effects: &effects)
            } else {
                passCheck(FaultCode.responseTimeout, device: &d, effects: &effects)
            }
        }
    }
}
