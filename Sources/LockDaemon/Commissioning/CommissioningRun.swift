import Foundation
import JSONRPC
import LinuxIO
import LockDiagAPI
import LockProtocol
import Synchronization

/// One commissioning run on one lock (docs/commissioning.md): the steps in order, what each
/// measured, and what later steps need from earlier ones (the free-running profile).
final class CommissioningSession: Sendable {
    let id: String
    let device: Int
    let deviceID: String
    /// The connection that opened it: the session ends when that connection closes.
    let connection: UInt64
    let limitsModel: String
    let limits: ModelCommissioningLimits
    let waitSeconds: Int
    let steps: [CommissionInstruction]
    let state: Mutex<Progress>

    struct Progress: Sendable {
        var next = 0
        /// A step is running: a second `commission.step` is refused until it ends.
        var running = false
        var results: [CommissionStepResult] = []
        /// The door-open lock throws' end-of-travel ratio (the lock's free-running profile).
        var freeRunningRatio: Double?
        /// The controller's uptime and the station's clock when the run began.
        var clockStart: (uptimeSeconds: UInt32, monotonicNanoseconds: UInt64)?
        /// The client went away (Ctrl-C, a closed connection): no further throw is started.
        var abandoned = false
    }

    init(id: String, device: Int, deviceID: String, connection: UInt64, limitsModel: String, limits: ModelCommissioningLimits,
         waitSeconds: Int, steps: [CommissionInstruction], clockStart: (UInt32, UInt64)?) {
        self.id = id
        self.device = device
        self.deviceID = deviceID
        self.connection = connection
        self.limitsModel = limitsModel
        self.limits = limits
        self.waitSeconds = waitSeconds
        self.steps = steps
        var progress = Progress()
        progress.clockStart = clockStart
        state = Mutex(progress)
    }

    var nextInstruction: CommissionInstruction? { state.withLock { $0.next < steps.count ? steps[$0.next] : nil } }
}

/// The open sessions, one per lock at most.
public final class CommissioningSessions: Sendable {
    private let sessions = Mutex<[String: CommissioningSession]>([:])

    public init() {}

    func open(_ session: CommissioningSession) throws(RPCError) {
        try sessions.withLock { (all) throws(RPCError) in
            if all.values.contains(where: { $0.device == session.device }) {
                throw RPCError(code: RPCError.Code.busy,
                               message: "\(session.deviceID) is being commissioned already — finish that run, or close its client, then start again",
                               data: ["device": .string(session.deviceID)])
            }
            all[session.id] = session
        }
    }

    func session(_ id: String) throws(RPCError) -> CommissioningSession {
        guard let session = sessions.withLock({ $0[id] }) else {
            throw RPCError.invalidParams("session: '\(id)' is no open commissioning session — start one with commission.start "
                                         + "(a session ends with commission.finish or when its connection closes)")
        }
        return session
    }

    func close(_ id: String) { sessions.withLock { _ = $0.removeValue(forKey: id) } }

    /// Ends the sessions a closed connection opened; a step still running starts no further throw.
    func connectionClosed(_ connection: UInt64) {
        let ended = sessions.withLock { all in
            let ended = all.values.filter { $0.connection == connection }
            for session in ended { all.removeValue(forKey: session.id) }
            return ended
        }
        for session in ended { session.state.withLock { $0.abandoned = true } }
    }
}

/// The steps of a run, and how each is measured and judged. Waits for the installer poll the
/// hub's readings (the poll loop reads READ_STATUS at 50 Hz); throws go through `Hub.actuate`,
/// so every throw is analysed, recorded and diagnosed like any other.
struct Commissioner {
    let hub: Hub
    let session: CommissioningSession

    static func steps(capabilities: [String], waitSeconds: Int, limits: ModelCommissioningLimits) -> [CommissionInstruction] {
        var steps = [
            CommissionInstruction(step: "door_open", instruction: "Open the door fully and leave it open", waitSeconds: waitSeconds, movesBolt: false),
            CommissionInstruction(step: "throws_door_open",
                                  instruction: "Keep the door open and clear of the bolt: it will lock and unlock \(limits.throwCycles) times (free-running profile)",
                                  waitSeconds: nil, movesBolt: true),
            CommissionInstruction(step: "door_closed", instruction: "Close the door", waitSeconds: waitSeconds, movesBolt: false),
            CommissionInstruction(step: "throws_door_closed",
                                  instruction: "Keep the door closed: the bolt will lock and unlock \(limits.throwCycles) times into the strike plate",
                                  waitSeconds: nil, movesBolt: true),
        ]
        if capabilities.contains("fingerprint") {
            steps.append(CommissionInstruction(step: "fingerprint", instruction: "Present a finger \(limits.presentations) times, lifting it between presentations",
                                               waitSeconds: waitSeconds, movesBolt: false))
        }
        steps.append(CommissionInstruction(step: "controller", instruction: "Checking the controller's firmware and clock", waitSeconds: nil, movesBolt: false))
        return steps
    }

    func run(_ step: String) async throws(RPCError) -> CommissionStepResult {
        switch step {
        case "door_open": return try await waitForDoor(open: true)
        case "door_closed": return try await waitForDoor(open: false)
        case "throws_door_open": return try await throwsStep(doorOpen: true)
        case "throws_door_closed": return try await throwsStep(doorOpen: false)
        case "fingerprint": return try await fingerprintStep()
        default: return controllerStep()
        }
    }

    /// How long a lock may look offline during a wait before the run gives up: the bench's
    /// grace for an unresponsive lock (docs/bench.md), as a lock that answers late is not gone.
    static let offlineGraceNanoseconds: UInt64 = 5_000_000_000

    private var limits: ModelCommissioningLimits { session.limits }
    private var id: String { session.deviceID }

    // MARK: Waiting for the installer

    private func waitForDoor(open: Bool) async throws(RPCError) -> CommissionStepResult {
        let wanted = open ? "open" : "closed"
        let started = MonotonicClock.nanoseconds()
        let deadline = started + UInt64(session.waitSeconds) * 1_000_000_000
        var silentSince: UInt64?
        while true {
            try stopIfAbandoned()
            guard let status = hub.status(of: session.device) else { throw RPCError.deviceOffline(id) }
            // A lock silent for 2 s shows offline; on a loaded machine that passes (Self.offlineGraceNanoseconds).
            if !status.online {
                let now = MonotonicClock.nanoseconds()
                if now - (silentSince ?? now) > Self.offlineGraceNanoseconds { throw RPCError.deviceOffline(id) }
                silentSince = silentSince ?? now
            } else {
                silentSince = nil
            }
            if status.online, status.door == wanted {
                let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
                return CommissionStepResult(step: open ? "door_open" : "door_closed", verdict: .pass, measurements: [
                    CommissionMeasurement(name: "door", value: nil, unit: "", limit: nil, bound: nil, verdict: .pass,
                                          evidence: "the lock's door sensor reads \(wanted) (after \(Int(seconds.rounded())) s)")])
            }
            guard MonotonicClock.nanoseconds() < deadline else {
                throw RPCError(code: RPCError.Code.timeout,
                               message: "\(id): the door was not seen \(wanted) within \(session.waitSeconds) s (its sensor reads \(status.door)) — "
                                   + (open ? "open the door fully" : "close the door until it latches") + ", check the door sensor's magnet, and run commissioning again",
                               data: ["device": .string(id), "step": .string(open ? "door_open" : "door_closed")])
            }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// Ends a step whose client went away: no further throw, no waiting on for nobody.
    private func stopIfAbandoned() throws(RPCError) {
        guard session.state.withLock({ $0.abandoned }) else { return }
        throw RPCError(code: RPCError.Code.deviceOffline, message: "commissioning \(session.id) of \(id) was abandoned by its client: no further throw",
                       data: ["device": .string(id)])
    }

    // MARK: Throws

    private func actuate(_ direction: ActuationDirection) async throws(RPCError) -> ActuateResult {
        // LDP/1 cannot stop a throw under way, but an installer's Ctrl-C must stop the next one.
        try stopIfAbandoned()
        do {
            return try await hub.actuate(direction, on: session.device)
        } catch {
            throw RPCError(hub: error, device: id)
        }
    }

    private func throwsStep(doorOpen: Bool) async throws(RPCError) -> CommissionStepResult {
        let door = doorOpen ? "open" : "closed"
        let step = doorOpen ? "throws_door_open" : "throws_door_closed"
        // Each measured lock throw starts from the unlocked end: a full stroke.
        if hub.status(of: session.device)?.lock != "unlocked" { _ = try await actuate(.unlock) }
        var throwsDone: [CommissionActuation] = []
        for _ in 0..<limits.throwCycles {
            for direction in [ActuationDirection.lock, .unlock] {
                let result = try await actuate(direction)
                let profile = direction == .lock ? result.trace.flatMap { trace in
                    EndOfTravelProfile.measure(samplesMilliamps: trace.samplesMilliamps, sampleRateHz: trace.sampleRateHz,
                                               endStopAtMilliseconds: result.actuation.endStopAtMilliseconds, configuration: hub.diagnosis)
                } : nil
                throwsDone.append(CommissionActuation(door: door, summary: result.actuation, trace: result.trace,
                                                      endOfTravelRatio: profile.map { CanonicalRounding.three($0.ratio) }))
            }
        }
        let locks = throwsDone.filter { $0.summary.direction == "lock" }
        let ratios = locks.filter { $0.summary.result == "reached" }.compactMap(\.endOfTravelRatio)
        let ratio = median(ratios.isEmpty ? locks.compactMap(\.endOfTravelRatio) : ratios)
        var measurements: [CommissionMeasurement] = []
        var verdicts: [CheckVerdict] = []

        let short = throwsDone.filter { $0.summary.result != "reached" }
        let reachedEvidence = short.isEmpty ? "all \(throwsDone.count) throws reached their end stop"
            : short.map { "\($0.summary.direction ?? "") throw \($0.summary.actuation): \($0.summary.result ?? "unknown") after \($0.summary.durationMilliseconds) ms" }
                .joined(separator: "; ")
        if doorOpen {
            session.state.withLock { $0.freeRunningRatio = ratio }
            measurements.append(CommissionMeasurement(
                name: "throws_not_reaching_end", value: Double(short.count), unit: "throws", limit: 0, bound: .max,
                verdict: short.isEmpty ? .pass : .fail,
                evidence: short.isEmpty ? reachedEvidence : reachedEvidence + " with the door open: the lock itself is at fault, not the strike — see lockdiag faults \(id)"))
            measurements.append(CommissionMeasurement(
                name: "free_running_end_of_travel", value: ratio.map(CanonicalRounding.three), unit: "× running", limit: nil, bound: nil,
                verdict: ratio == nil ? .notMeasured : .pass,
                evidence: ratio.map { "over the last \(Int(EndOfTravelProfile.endFraction * 100)) % of the lock throw the current is \(Int(($0 * 100).rounded())) % of the running current" }
                    ?? "no lock throw's trace could be read"))
        } else {
            let free = session.state.withLock { $0.freeRunningRatio }
            if let ratio, let free {
                let (rise, verdict) = DiagnosisTable.strikeAlignment(closedRatio: ratio, freeRatio: free, maxRise: limits.maxEndOfTravelRise)
                verdicts.append(verdict)
                measurements.append(CommissionMeasurement(
                    name: "end_of_travel_rise", value: CanonicalRounding.three(rise), unit: "× free-running", limit: limits.maxEndOfTravelRise, bound: .max,
                    verdict: verdict.outcome == .passed ? .pass : .fail, evidence: verdict.evidence ?? "the bolt runs into the keep as freely as with the door open"))
            } else {
                measurements.append(CommissionMeasurement(name: "end_of_travel_rise", value: nil, unit: "× free-running", limit: limits.maxEndOfTravelRise,
                                                          bound: .max, verdict: .notMeasured, evidence: "no lock throw's trace could be read"))
            }
            let shortLocks = short.filter { $0.summary.direction == "lock" }
            let shortEvidence = shortLocks.isEmpty ? reachedEvidence
                : reachedEvidence + ": the bolt stops short in the keep (it reached its end with the door open)"
            verdicts.append(shortLocks.isEmpty ? .passed(FaultCode.boltShortThrow) : .failed(FaultCode.boltShortThrow, shortEvidence, kind: .event))
            measurements.append(CommissionMeasurement(
                name: "throws_not_reaching_end", value: Double(short.count), unit: "throws", limit: 0, bound: .max,
                verdict: short.isEmpty ? .pass : .fail, evidence: shortEvidence))
        }
        let reached = throwsDone.filter { $0.summary.result == "reached" }
        if let slowest = reached.max(by: { $0.summary.durationMilliseconds < $1.summary.durationMilliseconds }) {
            let ms = slowest.summary.durationMilliseconds
            measurements.append(CommissionMeasurement(
                name: "throw_ms", value: Double(ms), unit: "ms", limit: Double(limits.maxThrowMilliseconds), bound: .max,
                verdict: ms <= limits.maxThrowMilliseconds ? .pass : .fail,
                evidence: "slowest full throw \(ms) ms (\(slowest.summary.direction ?? ""), actuation \(slowest.summary.actuation))"
                    + (ms <= limits.maxThrowMilliseconds ? "" : ": check the battery and for friction in the door's lock case")))
        }
        if let lowest = throwsDone.compactMap(\.summary.batteryLoadedMillivolts).min() {
            measurements.append(CommissionMeasurement(
                name: "battery_loaded_mv", value: Double(lowest), unit: "mV", limit: Double(limits.minBatteryLoadedMillivolts), bound: .min,
                verdict: lowest >= limits.minBatteryLoadedMillivolts ? .pass : .fail,
                evidence: "lowest battery voltage under the motor's load \(lowest) mV"
                    + (lowest >= limits.minBatteryLoadedMillivolts ? "" : ": fit fresh batteries before handover")))
        }
        hub.recordCommissioningChecks(verdicts.map { var v = $0; v.confirmsAtOnce = true; return v }, on: session.device)
        return Self.result(step, measurements, verdicts: verdicts, actuations: throwsDone)
    }

    // MARK: Fingerprint

    private func fingerprintStep() async throws(RPCError) -> CommissionStepResult {
        let wanted = limits.presentations
        let deadline = MonotonicClock.nanoseconds() + UInt64(session.waitSeconds) * 1_000_000_000
        var qualities: [Int] = []
        var wasCapturing = false
        // A capture shows as state `capturing` for a quarter second or so (LDP/1 §6.4 has no
        // capture counter): polled every 50 ms here, faster than the driver's 1 s, so none is missed.
        while qualities.count < wanted {
            try stopIfAbandoned()
            guard MonotonicClock.nanoseconds() < deadline else {
                throw RPCError(code: RPCError.Code.timeout,
                               message: "\(id): \(qualities.count) of \(wanted) finger presentations seen within \(session.waitSeconds) s — "
                                   + "present a finger flat on the sensor, lift it, and repeat; if nothing registers, check the sensor (lockdiag test \(id) fingerprint)",
                               data: ["device": .string(id), "step": "fingerprint", "captures": .integer(Int64(qualities.count))])
            }
            switch await hub.command(.readFingerprintStatus, to: session.device) {
            case .response(.fingerprint(let status)):
                let capturing = status.state == .capturing
                if wasCapturing, !capturing, status.lastImageQuality != FingerprintStatus.noQuality {
                    qualities.append(Int(status.lastImageQuality))
                }
                wasCapturing = capturing
            case .failed: throw RPCError.deviceOffline(id)
            default: break
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        let worst = qualities.min() ?? 0
        let mean = Double(qualities.reduce(0, +)) / Double(max(1, qualities.count))
        let pass = worst >= limits.minImageQuality
        let verdicts: [CheckVerdict] = pass ? [] : [.failed(FaultCode.fingerprintImageDegraded,
                                                            "commissioning: image qualities \(qualities.map(String.init).joined(separator: ", ")) (minimum \(limits.minImageQuality))")]
        return Self.result("fingerprint", [
            CommissionMeasurement(name: "image_quality_min", value: Double(worst), unit: "", limit: Double(limits.minImageQuality), bound: .min,
                                  verdict: pass ? .pass : .fail,
                                  evidence: "image qualities \(qualities.map(String.init).joined(separator: ", ")) over \(qualities.count) presentations"
                                      + (pass ? "" : ": clean the sensor and enrol again; if it stays low, replace the module")),
            CommissionMeasurement(name: "image_quality_mean", value: CanonicalRounding.three(mean), unit: "", limit: nil, bound: nil, verdict: .pass,
                                  evidence: "mean image quality over the presentations"),
        ], verdicts: verdicts)
    }

    // MARK: Controller

    private func controllerStep() -> CommissionStepResult {
        let summary = hub.devices().first { $0.id == id }
        var measurements = [CommissionMeasurement(
            name: "firmware", value: nil, unit: "", limit: nil, bound: nil, verdict: summary?.firmware == nil ? .notMeasured : .pass,
            evidence: summary?.firmware.map { "firmware \($0)" + (summary?.model.map { " on \($0)" } ?? "") } ?? "the lock did not report its firmware")]
        let now = MonotonicClock.nanoseconds()
        let uptime = hub.status(of: session.device)?.uptimeSeconds
        if let start = session.state.withLock({ $0.clockStart }), let uptime, now > start.monotonicNanoseconds {
            let hostSeconds = Double(now - start.monotonicNanoseconds) / 1e9
            let lockSeconds = Double(Int64(uptime) - Int64(start.uptimeSeconds))
            // uptime_s counts whole seconds: up to a second either way is its resolution, not drift.
            let drift = max(0, abs(lockSeconds - hostSeconds) - 1) / max(hostSeconds, 1) * 100
            let pass = drift <= limits.maxClockDriftPercent && lockSeconds >= 0
            measurements.append(CommissionMeasurement(
                name: "clock_drift_percent", value: CanonicalRounding.three(drift), unit: "%", limit: limits.maxClockDriftPercent, bound: .max,
                verdict: pass ? .pass : .fail,
                evidence: "the controller's uptime advanced \(Int(lockSeconds)) s while the station's clock advanced \(Int(hostSeconds.rounded())) s"
                    + (pass ? "" : lockSeconds < 0 ? ": the controller restarted during commissioning — check its supply" : ": the controller's clock is off — update its firmware")))
        } else {
            measurements.append(CommissionMeasurement(name: "clock_drift_percent", value: nil, unit: "%", limit: limits.maxClockDriftPercent, bound: .max,
                                                      verdict: .notMeasured, evidence: "the lock does not report its uptime"))
        }
        return Self.result("controller", measurements, verdicts: [])
    }

    // MARK: Verdicts

    static func result(_ step: String, _ measurements: [CommissionMeasurement], verdicts: [CheckVerdict],
                       actuations: [CommissionActuation] = []) -> CommissionStepResult {
        let failedCodes = verdicts.compactMap { $0.outcome == .passed ? nil : $0.code }
        let definitions = failedCodes.compactMap(FaultCatalog.definition(for:))
        return CommissionStepResult(step: step, verdict: measurements.contains { $0.verdict == .fail } ? .fail : .pass, measurements: measurements,
                                    faults: definitions.map(\.name), advice: definitions.map(\.action), actuations: actuations)
    }

    private func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        return values.sorted()[values.count / 2]
    }
}

extension CheckVerdict {
    /// The failure's evidence; nil for a pass.
    var evidence: String? {
        if case .failed(let evidence, _) = outcome { return evidence }
        return nil
    }
}

extension Hub {
    /// Records commissioning's verdicts as the diagnosis records its own: a failed check raises
    /// (or re-raises) the fault with its evidence, a passed one counts towards healing it.
    func recordCommissioningChecks(_ verdicts: [CheckVerdict], on index: Int) {
        guard !verdicts.isEmpty else { return }
        let now = clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds())
        var effects = Effects()
        state.withLock { s in
            guard var d = s.devices[index] else { return }
            apply(verdicts, at: now, device: &d, effects: &effects)
            s.devices[index] = d
            commitHistory(&effects)
        }
        for line in effects.log { logger.info("\(line)") }
        for (device, event) in effects.events { offer(event, device: device) }
        for (device, notification) in effects.notifications { deliver(notification, device: device) }
    }
}

extension RPCError {
    /// The documented error for a hub failure on `device`.
    init(hub error: HubError, device: String) {
        let data: JSONValue = ["device": .string(device)]
        switch error {
        case .unknownDevice, .ambiguousDevice: self.init(resolving: error)
        case .offline(let id): self = .deviceOffline(id)
        case .busy(let message): self.init(code: RPCError.Code.busy, message: message, data: data)
        case .timeout(let message): self.init(code: RPCError.Code.timeout, message: message, data: data)
        case .refused(let message): self = .deviceRefused(device, reason: message)
        case .interrupted(let message): self.init(code: RPCError.Code.deviceOffline, message: message, data: data)
        }
    }
}
