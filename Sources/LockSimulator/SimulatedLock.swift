import LockProtocol

/// Running totals of one simulated lock, for `status` and for tests.
public struct SimulatedLockCounters: Sendable, Equatable {
    public var bytesReceived: UInt64 = 0
    /// Intact frames of any kind.
    public var framesReceived: UInt64 = 0
    /// Candidate frames the decoder rejected (header CRC, CRC, oversized, other version).
    public var badFrames: UInt64 = 0
    /// Intact frames a device must discard: responses, events and NAKs from the host.
    public var framesIgnored: UInt64 = 0
    public var requests: UInt64 = 0
    /// Responses and NAKs put on the wire.
    public var responsesSent: UInt64 = 0
    /// Of `responsesSent`, NAKs.
    public var naksSent: UInt64 = 0
    /// Responses and NAKs a flaky link lost.
    public var responsesDropped: UInt64 = 0
    public var eventsSent: UInt64 = 0
    /// Events generated while the communication task was hung, never sent.
    public var eventsSuppressed: UInt64 = 0
    /// Bytes a noisy line damaged or added.
    public var bytesCorrupted: UInt64 = 0
    /// Bytes that arrived while hung and were never looked at.
    public var bytesIgnoredWhileHung: UInt64 = 0
    /// RUN_SELFTEST and ACTUATE requests the lock accepted (each moves or loads something).
    public var commandsAccepted: UInt64 = 0

    public init() {}
}

/// An emulated lock controller: a physical model of battery, motor, bolt and fingerprint
/// sensor under a firmware that speaks LDP/1. No I/O and no clock of its own: every call takes
/// (or acts at) a monotonic time in nanoseconds, so runs are reproducible from the seed and the
/// input schedule alone. Owned by one thread at a time.
public final class SimulatedLock {
    public let configuration: SimulatorConfiguration
    public private(set) var scenario: Scenario
    public private(set) var counters = SimulatedLockCounters()
    /// Whether the communication task is hung (`hang()`): nothing is answered or sent, the
    /// link stays up and the rest of the controller keeps running.
    public private(set) var isHung = false
    /// The time the lock has been advanced to; control calls act at this time.
    public private(set) var nowNanoseconds: UInt64

    // Model.
    var battery: BatteryPack
    var thermal: ControllerThermal
    var driveTrain: DriveTrain
    var fingerprint: FingerprintSensor
    var faults = FaultMemory()
    /// Accessories with their keys and certificates (PartCertificates.swift).
    var parts: SimulatedParts
    var wire: WireFaultInjector
    /// Faults injected by hand (`setBitErrorRate`, `hangMidFrame`, `flood`).
    var injected: InjectedFaults
    /// Noise and jitter of actuations and self-tests.
    var physicsRandom: SimulationRandom
    /// Noise of READ_STATUS readings, separate so polling does not change the physics.
    var sensorRandom: SimulationRandom
    /// Timing of usage activity and scenario events.
    var activityRandom: SimulationRandom

    // Firmware state.
    var run: ActuationRun?
    var trace = TraceBuffer()
    var brakeUntil: UInt64?
    var lastDirection: Direction = .lock
    var lifetimeActuations: UInt32
    var lastActuationNumber: UInt16
    var selfTest: SelfTestProgress?
    /// The second stroke of a motor self-test, after a short pause.
    var queuedStroke: (direction: Direction, source: ActuationSource, at: UInt64)?
    /// The battery self-test's resistor load.
    var testLoadAmps = 0.0
    var tamperActiveUntil: UInt64?
    /// The door as the lock's door sensor reports it (§6.2 `door`): `door I open` on locksim's
    /// console. While it is open the lock refuses the self-test that moves the bolt (§6.7).
    public var doorOpen = false
    var tamperDueAt: UInt64?
    var nextHousekeeping: UInt64
    var nextActivity: UInt64?
    var activityActuatesNext = true

    // Uptime: `uptimeBaseSeconds` at `uptimeBaseNanoseconds`.
    private var uptimeBaseSeconds: UInt64
    private var uptimeBaseNanoseconds: UInt64

    // Protocol.
    let decoder = FrameDecoder()
    private var output: [UInt8] = []
    var eventSeq: UInt8 = 0

    /// Periodic checks (battery level, fingerprint link, tamper switch): often enough that a
    /// scenario change shows within a poll cycle of a host, rare enough to cost nothing.
    static let housekeepingNanoseconds: UInt64 = 1_000_000_000
    /// A tamper switch stays active this long after it trips.
    static let tamperActiveNanoseconds: UInt64 = 10_000_000_000
    /// Usage that finds the lock busy tries again this much later.
    static let busyRetryNanoseconds: UInt64 = 500_000_000

    public init(configuration: SimulatorConfiguration, now: UInt64) {
        self.configuration = configuration
        let seed = configuration.seed
        let index = configuration.index
        var setup = SimulationRandom(seed: seed, index: index, stream: 0)
        physicsRandom = SimulationRandom(seed: seed, index: index, stream: 1)
        sensorRandom = SimulationRandom(seed: seed, index: index, stream: 2)
        activityRandom = SimulationRandom(seed: seed, index: index, stream: 3)
        wire = WireFaultInjector(impairment: configuration.scenario.link, random: SimulationRandom(seed: seed, index: index, stream: 4))
        injected = InjectedFaults(random: SimulationRandom(seed: seed, index: index, stream: 5))

        let scenario = configuration.scenario
        self.scenario = scenario
        // Unit-to-unit spread, so two locks in one run are told apart by their numbers too.
        battery = BatteryPack(stateOfCharge: scenario.batteryStateOfCharge + setup.uniform(-0.02, 0.02),
                              internalOhms: scenario.batteryInternalOhms * setup.uniform(0.95, 1.05))
        thermal = ControllerThermal(ambientCelsius: ControllerThermal.nominalAmbientCelsius + setup.uniform(-0.5, 0.5))
        driveTrain = DriveTrain(fault: scenario.driveTrainFault, jamPosition: setup.uniform(0.40, 0.50),
                                torqueConstant: DriveTrain.nominalTorqueConstant * setup.uniform(0.97, 1.03),
                                boltLoadAmps: DriveTrain.nominalBoltLoadAmps * setup.uniform(0.9, 1.1),
                                boltPosition: configuration.startBolt == .locked ? 0 : 1)
        fingerprint = FingerprintSensor(condition: scenario.fingerprintCondition)
        parts = SimulatedParts(lockSerial: configuration.serial, scenario: scenario)
        // A lock in service for a while: up for days, a few thousand actuations behind it.
        let uptimeAtStart = UInt64(setup.uniform(2 * 86_400, 9 * 86_400))
        lifetimeActuations = 800 + UInt32(setup.next() % 3200)
        lastActuationNumber = UInt16(truncatingIfNeeded: lifetimeActuations)
        if lastActuationNumber == TraceRequest.latest { lastActuationNumber = 0 }
        nowNanoseconds = now
        nextHousekeeping = .max
        uptimeBaseSeconds = uptimeAtStart - 600
        uptimeBaseNanoseconds = now
        output.reserveCapacity(4096)

        replayPastActuation(now: now, uptimeAtStart: uptimeAtStart)
    }

    /// The state a host finds on connecting: one recorded actuation (so the latest trace is
    /// real), the fault memory holding the scenario's history, nothing pending on the wire.
    private func replayPastActuation(now: UInt64, uptimeAtStart: UInt64) {
        // Ten minutes before start, its user locked it from unlocked (or unlocked it, for a
        // lock told to start unlocked).
        _ = startActuation(configuration.startBolt == .locked ? .lock : .unlock, source: .user)
        advance(to: now + UInt64(ActuationRun.timeoutSamples + 100) * ActuationRun.samplePeriodNanoseconds)
        brakeUntil = nil
        thermal.relax(seconds: 600)
        nowNanoseconds = now
        uptimeBaseSeconds = uptimeAtStart
        uptimeBaseNanoseconds = now

        housekeeping()
        if let history = scenario.history {
            faults.install(history, uptimeSeconds: uptimeSeconds, freeze: freezeFrame(motorMilliamps: 0))
        }
        faults.resetRateLimit()
        output.removeAll(keepingCapacity: true)
        counters = SimulatedLockCounters()
        eventSeq = 0

        nextHousekeeping = now + Self.housekeepingNanoseconds
        if let interval = configuration.activityIntervalNanoseconds, interval > 0 {
            nextActivity = now + jittered(interval)
        }
        if scenario == .tamper { tamperDueAt = now + scenarioEventDelay() }
    }

    // MARK: Time

    /// Steps the model to `now`: 1 kHz motor samples during actuations, TRACE_CHUNKs every 32
    /// samples, self-tests, periodic checks, usage activity. Times before the last are ignored.
    public func advance(to now: UInt64) {
        while let due = nextDue(includingSamples: true), due <= now {
            passTime(to: due)
            runDueWork()
        }
        passTime(to: now)
        floodDue(until: now)
    }

    /// When `advance` next has work: the next 32-sample chunk boundary during an actuation
    /// (so chunks stream on time), otherwise the next self-test step, check or activity.
    public var nextWakeNanoseconds: UInt64 {
        var wake = min(nextDue(includingSamples: false) ?? .max, injected.nextFloodNanoseconds)
        if let run {
            let boundary = run.startNanoseconds
                + UInt64(run.streamed + LDP.streamChunkSamples) * ActuationRun.samplePeriodNanoseconds
            wake = min(wake, boundary)
        }
        return max(wake, nowNanoseconds)
    }

    private func nextDue(includingSamples: Bool) -> UInt64? {
        var due: UInt64 = .max
        if includingSamples, let run { due = min(due, run.nextSampleNanoseconds) }
        if let brakeUntil { due = min(due, brakeUntil) }
        if let deadline = selfTest?.deadline { due = min(due, deadline) }
        if let queuedStroke { due = min(due, queuedStroke.at) }
        if let until = fingerprint.capturingUntil { due = min(due, until) }
        if let tamperDueAt { due = min(due, tamperDueAt) }
        if let nextActivity { due = min(due, nextActivity) }
        due = min(due, nextHousekeeping)
        return due == .max ? nil : due
    }

    /// Lets time pass: the sleep current and any test load drain the battery, the board cools.
    private func passTime(to t: UInt64) {
        guard t > nowNanoseconds else { return }
        let seconds = Double(t - nowNanoseconds) / 1e9
        battery.draw(amps: testLoadAmps, seconds: seconds)
        thermal.addHeat(joules: testLoadAmps * testLoadAmps * BatterySelfTest.resistorOhms * seconds)
        thermal.relax(seconds: seconds)
        nowNanoseconds = t
    }

    /// Everything due at `nowNanoseconds`, in a fixed order so equal times replay identically.
    private func runDueWork() {
        let now = nowNanoseconds
        if let run, run.nextSampleNanoseconds <= now { sampleTick() }
        if let until = brakeUntil, until <= now { brakeUntil = nil }
        if let deadline = selfTest?.deadline, deadline <= now { finishTimedSelfTest() }
        if let stroke = queuedStroke, stroke.at <= now {
            queuedStroke = nil
            _ = startActuation(stroke.direction, source: stroke.source)
        }
        if let until = fingerprint.capturingUntil, until <= now {
            fingerprint.finishCapture(quality: fingerprint.drawQuality(&activityRandom))
        }
        if let due = tamperDueAt, due <= now {
            tamperDueAt = nil
            raiseTamper(cause: .forcedBolt)
        }
        if nextHousekeeping <= now {
            nextHousekeeping += Self.housekeepingNanoseconds
            housekeeping()
        }
        if let due = nextActivity, due <= now { performActivity() }
    }

    public var uptimeSeconds: UInt32 {
        UInt32(truncatingIfNeeded: uptimeBaseSeconds + (nowNanoseconds - uptimeBaseNanoseconds) / 1_000_000_000)
    }

    func jittered(_ interval: UInt64) -> UInt64 { UInt64(Double(interval) * activityRandom.uniform(0.7, 1.3)) }

    /// How soon after start (or a scenario change) a scenario's own event happens.
    func scenarioEventDelay() -> UInt64 { UInt64(activityRandom.uniform(1.5, 3.0) * 1e9) }

    // MARK: Actuation

    /// Whether an actuation or a self-test holds the motor (requests for either are NAKed BUSY).
    public var isBusy: Bool { run != nil || selfTest != nil || queuedStroke != nil }

    /// The number the next actuation will carry (increments, wraps, skips `0xFFFF`).
    var nextActuationNumber: UInt16 {
        let next = lastActuationNumber &+ 1
        return next == TraceRequest.latest ? 0 : next
    }

    /// Energises the motor; returns the actuation number its events carry.
    func startActuation(_ direction: Direction, source: ActuationSource) -> UInt16 {
        lastActuationNumber = nextActuationNumber
        lifetimeActuations &+= 1
        lastDirection = direction
        brakeUntil = nil
        let rest = measuredMillivolts(loadAmps: testLoadAmps, &physicsRandom)
        // Drawn only for a misaligned keep, so other scenarios' seeded physics stay as they were.
        let shortThrow = driveTrain.fault == .strikeMisaligned && direction == .lock && !doorOpen
            && physicsRandom.chance(Scenario.strikeShortThrowChance)
        driveTrain.engage(direction, doorClosed: !doorOpen,
                          shortThrowAt: shortThrow ? physicsRandom.uniform(DriveTrain.shortThrowRange.lowerBound, DriveTrain.shortThrowRange.upperBound) : nil)
        run = ActuationRun(actuation: lastActuationNumber, direction: direction, source: source,
                           startNanoseconds: nowNanoseconds, restMillivolts: rest)
        trace.begin(actuation: lastActuationNumber)
        sendEvent(.actuationStarted(ActuationStarted(actuation: lastActuationNumber, direction: direction, source: source,
                                                     batteryMillivolts: rest)))
        return lastActuationNumber
    }

    /// One 1 ms period of an actuation: sample the shunt and the battery, let the firmware
    /// decide, then integrate the motor over the period.
    private func sampleTick() {
        guard let direction = run?.direction else { return }
        let volts = battery.openCircuitVolts
        let ohms = battery.internalOhms
        let trueAmps = max(0, driveTrain.current(direction: direction, volts: volts, sourceOhms: ohms))
        // Shunt amplifier: a few mA of noise floor plus 1 % of reading.
        let sensed = driveTrain.rippledCurrent(direction: direction, volts: volts, sourceOhms: ohms)
            + physicsRandom.gaussian() * (0.002 + 0.01 * trueAmps)
        let milliamps = UInt16(clamping: max(0, Int((sensed * 1000).rounded())))
        let terminal = measuredMillivolts(loadAmps: trueAmps + testLoadAmps, &physicsRandom)
        trace.append(milliamps: milliamps, millivolts: terminal)
        if let result = run!.record(milliamps: milliamps, boltPosition: driveTrain.boltPosition) {
            finishActuation(result)
            return
        }
        let coulombs = driveTrain.drive(direction, volts: volts, sourceOhms: ohms)
        battery.drain(coulombs: coulombs)
        thermal.addHeat(joules: coulombs * Double(terminal) / 1000)
        if let run, run.samples - run.streamed >= LDP.streamChunkSamples { streamChunk() }
    }

    /// Sends the samples not yet streamed (at most one chunk's worth) as a TRACE_CHUNK; its
    /// complete flag is the trace's.
    private func streamChunk() {
        guard let streamed = run?.streamed else { return }
        let chunk = trace.chunk(firstIndex: streamed, maxCount: LDP.streamChunkSamples)
        run!.streamed += chunk.samplesMilliamps.count
        sendEvent(.traceChunk(chunk))
    }

    private func finishActuation(_ result: ActuationResult) {
        guard let finished = run else { return }
        trace.finish()
        // The remainder (fewer than 32 samples, possibly none) with the complete flag.
        streamChunk()
        run = nil
        driveTrain.settle()
        brakeUntil = nowNanoseconds + ActuationRun.brakeNanoseconds
        let window = trace.means(over: finished.runningWindow)
        let event = ActuationFinished(
            actuation: finished.actuation, direction: finished.direction, result: result,
            durationMilliseconds: UInt16(clamping: finished.samples), peakCurrentMilliamps: finished.peakMilliamps,
            runningCurrentMilliamps: window.milliamps, batteryRestMillivolts: finished.restMillivolts,
            batteryLoadedMillivolts: window.millivolts, samples: UInt16(clamping: trace.count), bolt: bolt)
        sendEvent(.actuationFinished(event))
        if let code = result.faultCode {
            raise(code, freeze: freezeFrame(motorMilliamps: finished.lastMilliamps))
        } else {
            for code in ActuationResult.motorFaultCodes { faults.passed(code) }
        }
        if finished.source == .selfTest { motorSelfTestStrokeFinished(event) }
    }

    // MARK: Readings

    /// Terminal voltage as the controller's ADC reads it (a few mV of noise).
    func measuredMillivolts(loadAmps: Double, _ random: inout SimulationRandom) -> UInt16 {
        let volts = battery.terminalVolts(loadAmps: loadAmps) + random.gaussian() * 0.003
        return UInt16(clamping: max(0, Int((volts * 1000).rounded())))
    }

    /// The motor current flowing now, as READ_STATUS reports it.
    var motorMilliamps: UInt16 { run?.lastMilliamps ?? 0 }

    public var bolt: BoltState {
        if run != nil { return .moving }
        let p = driveTrain.boltPosition
        if p >= 1 - ActuationRun.endZone { return .locked }
        if p <= ActuationRun.endZone { return .unlocked }
        return .intermediate
    }

    /// 0 (retracted) … 1 (extended).
    public var boltPosition: Double { driveTrain.boltPosition }

    var motorState: MotorState {
        if let run { return run.direction == .lock ? .lockingDrive : .unlockingDrive }
        return brakeUntil != nil ? .braking : .idle
    }

    /// Battery terminal voltage now, under whatever load there is now.
    public var batteryMillivolts: UInt16 {
        let amps = run.map { _ in max(0, driveTrain.current(direction: lastDirection, volts: battery.openCircuitVolts,
                                                             sourceOhms: battery.internalOhms)) } ?? 0
        return UInt16(clamping: Int((battery.terminalVolts(loadAmps: amps + testLoadAmps) * 1000).rounded()))
    }

    public var batteryPercent: UInt8 { battery.percent }
    public var temperatureDecicelsius: Int16 { thermal.decicelsius }
    public var faultRecords: [DeviceFault] { faults.records }
    public var identity: Identity { configuration.identity }

    /// READ_STATUS as the controller would answer it now.
    public var status: LockStatus {
        var flags: StatusFlags = .calibrated
        if let until = tamperActiveUntil, until > nowNanoseconds { flags.insert(.tamperActive) }
        if let until = fingerprint.capturingUntil, until > nowNanoseconds { flags.insert(.fingerprintBusy) }
        let amps = run.map { _ in max(0, driveTrain.current(direction: lastDirection, volts: battery.openCircuitVolts,
                                                             sourceOhms: battery.internalOhms)) } ?? 0
        return LockStatus(bolt: bolt, door: doorOpen ? .open : .closed, motor: motorState, flags: flags,
                          batteryMillivolts: measuredMillivolts(loadAmps: amps + testLoadAmps, &sensorRandom),
                          batteryPercent: battery.percent, activeFaults: faults.activeCount,
                          temperatureDecicelsius: thermal.decicelsius, motorCurrentMilliamps: motorMilliamps,
                          actuations: lifetimeActuations, uptimeSeconds: uptimeSeconds)
    }

    func freezeFrame(motorMilliamps: UInt16) -> FreezeFrame {
        FreezeFrame(batteryMillivolts: batteryMillivolts, motorCurrentMilliamps: motorMilliamps,
                    temperatureDecicelsius: thermal.decicelsius, bolt: bolt)
    }

    // MARK: Faults and periodic checks

    /// An occurrence of an event-like fault; announced with FAULT_RAISED unless rate-limited.
    func raise(_ code: UInt16, freeze: FreezeFrame) {
        if let record = faults.occurred(code, uptimeSeconds: uptimeSeconds, freeze: freeze, now: nowNanoseconds) {
            sendEvent(.faultRaised(record))
        }
    }

    /// The result of checking a lasting condition.
    func check(_ code: UInt16, failing: Bool) {
        if let record = faults.check(code, failing: failing, uptimeSeconds: uptimeSeconds,
                                     freeze: self.freezeFrame(motorMilliamps: self.motorMilliamps), now: nowNanoseconds) {
            sendEvent(.faultRaised(record))
        }
    }

    /// Battery thresholds of the catalog (low < 20 %, critical < 5 %), the fingerprint module's
    /// poll, and the tamper switch returning to rest.
    private func housekeeping() {
        check(FaultCode.batteryLow, failing: battery.stateOfCharge < 0.20)
        check(FaultCode.batteryCritical, failing: battery.stateOfCharge < 0.05)
        fingerprint.linkOK = fingerprint.isResponding
        check(FaultCode.fingerprintNotResponding, failing: !fingerprint.isResponding)
        if let until = tamperActiveUntil, until <= nowNanoseconds {
            tamperActiveUntil = nil
            faults.passed(FaultCode.tamper)
        }
    }

    // MARK: Usage

    /// The direction a user turning the lock would choose now.
    private var userDirection: Direction { bolt == .unlocked ? .lock : .unlock }

    private func performActivity() {
        guard let interval = configuration.activityIntervalNanoseconds, interval > 0 else {
            nextActivity = nil
            return
        }
        if isBusy || fingerprint.capturingUntil != nil {
            nextActivity = nowNanoseconds + Self.busyRetryNanoseconds
            return
        }
        if activityActuatesNext {
            _ = startActuation(userDirection, source: .user)
        } else {
            _ = touchFinger()
        }
        activityActuatesNext.toggle()
        nextActivity = nowNanoseconds + jittered(interval)
    }

    // MARK: Control (act at `nowNanoseconds`)

    /// Switches the scenario; the physics changes from now on. A battery scenario, or leaving
    /// one, fits a new battery pack; the motor, sensor and link take the new behaviour at once.
    public func setScenario(_ newScenario: Scenario) {
        let old = scenario
        scenario = newScenario
        if newScenario.isBatteryScenario || old.isBatteryScenario {
            battery = BatteryPack(stateOfCharge: newScenario.batteryStateOfCharge, internalOhms: newScenario.batteryInternalOhms)
        }
        driveTrain.fault = newScenario.driveTrainFault
        fingerprint.condition = newScenario.fingerprintCondition
        wire.impairment = newScenario.link
        parts = SimulatedParts(lockSerial: configuration.serial, scenario: newScenario)
        tamperDueAt = newScenario == .tamper ? nowNanoseconds + scenarioEventDelay() : nil
    }

    /// The communication task stops: requests go unanswered, events unsent, the link stays up.
    public func hang() { isHung = true }

    /// The communication task recovers; bytes half-received before the hang are forgotten.
    public func resume() {
        guard isHung else { return }
        isHung = false
        decoder.reset()
    }

    /// A user actuation (keypad, app, fingerprint). Returns its number, or nil when busy.
    @discardableResult
    public func trigger(actuation direction: Direction) -> UInt16? {
        guard !isBusy else { return nil }
        return startActuation(direction, source: .user)
    }

    /// A finger on the sensor: a capture whose image quality the condition decides. Returns
    /// false when the module does not answer (the controller then notes the fault).
    @discardableResult
    public func touchFinger() -> Bool {
        guard fingerprint.isResponding else {
            fingerprint.linkOK = false
            check(FaultCode.fingerprintNotResponding, failing: true)
            return false
        }
        if fingerprint.capturingUntil == nil {
            fingerprint.capturingUntil = nowNanoseconds + FingerprintSensor.captureNanoseconds
        }
        return true
    }

    /// The tamper switch trips: a TAMPER event and the tamper fault (§7.4).
    public func raiseTamper(cause: TamperCause = .forcedBolt) {
        tamperActiveUntil = nowNanoseconds + Self.tamperActiveNanoseconds
        sendEvent(.tamper(TamperEvent(cause: cause, uptimeSeconds: uptimeSeconds)))
        raise(FaultCode.tamper, freeze: freezeFrame(motorMilliamps: motorMilliamps))
    }

    // MARK: Output

    /// Device→host bytes produced since the last call, after wire-fault injection.
    public func takeOutput() -> [UInt8] {
        let bytes = output
        output = []
        output.reserveCapacity(4096)
        return bytes
    }

    /// Bytes waiting for `takeOutput`.
    public var pendingOutputByteCount: Int { output.count }

    func sendEvent(_ event: Event) {
        let seq = eventSeq
        // The counter advances even when the event is lost, so the host can count the loss.
        eventSeq &+= 1
        guard !isHung else {
            counters.eventsSuppressed += 1
            return
        }
        counters.eventsSent += 1
        transmit(event.frame(seq: seq).encoded)
    }

    /// A response or NAK, subject to a flaky link.
    func sendAnswer(_ frame: Frame) {
        if wire.dropsResponse() {
            counters.responsesDropped += 1
            return
        }
        counters.responsesSent += 1
        if frame.header.kind == .nak { counters.naksSent += 1 }
        transmit(frame.encoded)
    }

    private func transmit(_ bytes: [UInt8]) {
        let start = output.count
        counters.bytesCorrupted += UInt64(wire.transmit(bytes, into: &output))
        impairTransmitted(&output, from: start)
    }

    func countBytesReceived(_ n: Int) { counters.bytesReceived += UInt64(n) }
    func countFrame() { counters.framesReceived += 1 }
    func countBadFrame() { counters.badFrames += 1 }
    func countIgnoredFrame() { counters.framesIgnored += 1 }
    func countRequest() { counters.requests += 1 }
    func countCommandAccepted() { counters.commandsAccepted += 1 }
    func countCorrupted(_ n: Int) { counters.bytesCorrupted += UInt64(n) }
    func countIgnoredWhileHung(_ n: Int) { counters.bytesIgnoredWhileHung += UInt64(n) }
}
