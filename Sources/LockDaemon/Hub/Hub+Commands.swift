import LinuxIO
import LockDiagAPI
import LockProtocol

extension Hub {
    /// Reads the lock's latest stored trace after it identified itself, so the last actuation
    /// before the technician arrived is analysed too.
    func fetchLatestTrace(device index: Int) async {
        var first: TraceChunk
        switch await command(.readMotorTrace(TraceRequest(actuation: TraceRequest.latest, firstIndex: 0)), to: index) {
        case .response(.motorTrace(let chunk)): first = chunk
        default: return
        }
        guard first.totalSamples > 0, first.complete else { return }
        var samples = first.samplesMilliamps
        while samples.count < Int(first.totalSamples) {
            let request = TraceRequest(actuation: first.actuation, firstIndex: UInt16(samples.count))
            guard case .response(.motorTrace(let chunk)) = await command(.readMotorTrace(request), to: index),
                  !chunk.samplesMilliamps.isEmpty else { return }
            samples += chunk.samplesMilliamps
        }
        first.samplesMilliamps = samples
        let chunk = first
        let now = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
        var effects = Effects()
        state.withLock { s in
            guard var d = s.devices[index], d.assembly == nil, d.lastActuation == nil else { return }
            var assembly = TraceAssembly(actuation: chunk.actuation, sampleRateHz: Int(chunk.sampleRateHz), startedAtMilliseconds: now)
            assembly.insert(TraceChunk(actuation: chunk.actuation, sampleRateHz: chunk.sampleRateHz, totalSamples: chunk.totalSamples,
                                       complete: true, firstIndex: 0, samplesMilliamps: chunk.samplesMilliamps))
            d.assembly = assembly
            conclude(at: now, device: &d, state: &s, effects: &effects)
            s.devices[index] = d
            commitHistory(&effects)
        }
        performAfterFetch(effects)
    }

    /// Re-reads the samples of `actuation` that were lost on the link, then analyses it.
    func completeTrace(device index: Int, actuation: UInt16) async {
        for _ in 0..<3 {
            let missing: [Range<Int>] = state.withLock { s in
                guard let a = s.devices[index]?.assembly, a.actuation == actuation else { return [] }
                return a.missing
            }
            guard !missing.isEmpty else { break }
            for range in missing {
                var next = range.lowerBound
                while next < range.upperBound {
                    let count = min(LDP.maxTraceSamplesPerFrame, range.upperBound - next)
                    let request = TraceRequest(actuation: actuation, firstIndex: UInt16(next), maxCount: UInt8(count))
                    guard case .response(.motorTrace(let chunk)) = await command(.readMotorTrace(request), to: index),
                          !chunk.samplesMilliamps.isEmpty else { break }
                    state.withLock { s in
                        if s.devices[index]?.assembly?.actuation == actuation { s.devices[index]?.assembly?.insert(chunk) }
                    }
                    next += chunk.samplesMilliamps.count
                }
            }
        }
        let now = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
        var effects = Effects()
        state.withLock { s in
            guard var d = s.devices[index], let a = d.assembly, a.actuation == actuation else { return }
            if a.isComplete {
                conclude(at: now, device: &d, state: &s, effects: &effects)
            } else {
                // Not analysed: a partial trace could look like a stall or a clutch slip.
                effects.log.append("\(d.id): actuation \(actuation) trace incomplete (\(a.missing.count) gaps the lock could not resend); not analysed")
                d.assembly = nil
            }
            s.devices[index] = d
            commitHistory(&effects)
        }
        performAfterFetch(effects)
    }

    private func performAfterFetch(_ effects: Effects) {
        for line in effects.log { logger.info("\(line)") }
        for (device, event) in effects.events { offer(event, device: device) }
        for (device, notification) in effects.notifications { deliver(notification, device: device) }
    }

    /// Clears the lock's fault memory and the daemon's faults for it (a technician action);
    /// `requester` (who asked) goes into the history's `cleared` events.
    public func clearFaults(of index: Int, by requester: String? = nil) async throws(HubError) -> FaultsCleared {
        let id = deviceID(index)
        guard isOnline(index) else { throw .offline(id) }
        var onDevice = 0
        // A Tuya lock keeps no fault memory: only the daemon's faults are cleared.
        let tuya = state.read { $0.devices[index]?.tuya != nil }
        switch tuya ? .response(.faultsCleared(count: 0)) : await command(.clearFaults(code: Request.clearAllFaults), to: index) {
        case .response(.faultsCleared(let count)): onDevice = Int(count)
        case .nak(let code): throw .refused("\(id): the lock refused to clear its faults (\(code.name))")
        case .timeout: throw .timeout("\(id): the lock did not answer CLEAR_FAULTS — check the connection and try again")
        case .failed: throw .offline(id)
        case .undecodable(let error): throw .refused("\(id): unusable answer to CLEAR_FAULTS: \(error)")
        case .response: throw .refused("\(id): unexpected answer to CLEAR_FAULTS")
        }
        let now = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
        let cleared = state.withLock { s -> Int in
            guard var d = s.devices[index] else { return 0 }
            var effects = Effects()
            effects.history = clearedEvents(device: d, by: requester, at: now)
            let n = d.faults.clear()
            d.deviceFaultCodes.removeAll()
            s.devices[index] = d
            commitHistory(&effects)
            return n
        }
        logger.notice("\(id): \(cleared) fault(s) cleared, \(onDevice) record(s) removed from the lock's memory")
        return FaultsCleared(device: id, cleared: cleared, clearedOnDevice: onDevice)
    }
}
