import LockProtocol

/// A self-test in progress (§6.7).
enum SelfTestProgress {
    /// A full cycle: the strokes finished so far.
    case motor(strokes: [ActuationFinished])
    case battery(endsAt: UInt64, restMillivolts: UInt16)
    case fingerprint(endsAt: UInt64)

    /// When a timed test ends; the motor test ends with its second stroke instead.
    var deadline: UInt64? {
        switch self {
        case .motor: nil
        case .battery(let endsAt, _), .fingerprint(let endsAt): endsAt
        }
    }
}

/// The battery test of §6.7: the controller switches a resistor across the pack.
enum BatterySelfTest {
    /// A 10 Ω load draws ~0.6 A from a fresh pack: the order of the motor's running current, so
    /// the measured sag predicts the sag during an actuation, without moving the bolt.
    static let resistorOhms = 10.0
    static let durationNanoseconds: UInt64 = 500_000_000
    /// About 1.4× a fresh pack's resistance (0.3 Ω per cell): beyond it the stall current needed
    /// to detect the end stop is no longer guaranteed at low charge. lockdiagd uses the same limit.
    static let maxInternalMilliohms = 1200
    /// Below this under load the motor driver loses torque (the catalog's LOW_MOTOR_VOLTAGE).
    static let minLoadedMillivolts = 4600
}

/// The motor test of §6.7.
enum MotorSelfTest {
    /// Lets the gear train settle between the two strokes.
    static let pauseNanoseconds: UInt64 = 300_000_000
    /// Two strokes of up to 1 s each plus the pause, rounded up.
    static let expectedMilliseconds: UInt16 = 2500
}

extension SimulatedLock {
    /// RUN_SELFTEST's `expected_duration_ms`.
    func expectedMilliseconds(_ kind: SelfTestKind) -> UInt16 {
        switch kind {
        case .motor: MotorSelfTest.expectedMilliseconds
        case .battery: UInt16(BatterySelfTest.durationNanoseconds / 1_000_000)
        case .fingerprint: UInt16(FingerprintSensor.selfTestNanoseconds / 1_000_000)
        }
    }

    /// Starts a self-test; the caller has checked the lock is not busy.
    func startSelfTest(_ kind: SelfTestKind) {
        switch kind {
        case .motor:
            // To the opposite end first, then back, so the bolt ends where it started.
            let first: Direction = bolt == .unlocked ? .lock : .unlock
            selfTest = .motor(strokes: [])
            _ = startActuation(first, source: .selfTest)
        case .battery:
            let rest = measuredMillivolts(loadAmps: 0, &physicsRandom)
            testLoadAmps = battery.openCircuitVolts / (BatterySelfTest.resistorOhms + battery.internalOhms)
            selfTest = .battery(endsAt: nowNanoseconds + BatterySelfTest.durationNanoseconds, restMillivolts: rest)
        case .fingerprint:
            selfTest = .fingerprint(endsAt: nowNanoseconds + FingerprintSensor.selfTestNanoseconds)
        }
    }

    /// A stroke of the motor self-test ended: queue the way back, or report.
    func motorSelfTestStrokeFinished(_ stroke: ActuationFinished) {
        guard case .motor(var strokes) = selfTest else { return }
        strokes.append(stroke)
        if strokes.count == 1 {
            selfTest = .motor(strokes: strokes)
            queuedStroke = (stroke.direction.opposite, .selfTest, nowNanoseconds + MotorSelfTest.pauseNanoseconds)
            return
        }
        selfTest = nil
        let reached = strokes.allSatisfy { $0.result == .reached }
        var measurements = [
            Measurement(.durationMs, Int32(strokes.reduce(0) { $0 + Int($1.durationMilliseconds) })),
            Measurement(.peakCurrentMa, Int32(strokes.map(\.peakCurrentMilliamps).max() ?? 0)),
            Measurement(.runningCurrentMa, Int32(strokes.reduce(0) { $0 + Int($1.runningCurrentMilliamps) } / strokes.count)),
            Measurement(.batteryRestMv, Int32(strokes[0].batteryRestMillivolts)),
            Measurement(.batteryLoadedMv, Int32(strokes.map(\.batteryLoadedMillivolts).min() ?? 0)),
            Measurement(.endPositionReached, reached ? 1 : 0),
        ]
        if let code = strokes.lazy.compactMap({ $0.result.faultCode }).first {
            measurements.append(Measurement(.faultCode, Int32(code)))
        }
        sendEvent(.selfTestResult(SelfTestResult(test: .motor, verdict: reached ? .pass : .fail, measurements: measurements)))
    }

    /// The battery or fingerprint test's time is up: measure and report.
    func finishTimedSelfTest() {
        switch selfTest {
        case .battery(_, let rest):
            selfTest = nil
            // The loaded reading is a mean over the test, so its noise is small.
            let loadedVolts = battery.terminalVolts(loadAmps: testLoadAmps) + physicsRandom.gaussian() * 0.0005
            testLoadAmps = 0
            let loaded = Int((loadedVolts * 1000).rounded())
            // The controller knows the resistor, so the current follows from the voltage across it.
            let loadMilliamps = max(1, Int((loadedVolts / BatterySelfTest.resistorOhms * 1000).rounded()))
            let milliohms = max(0, (Int(rest) - loaded) * 1000 / loadMilliamps)
            let lowVoltage = loaded < BatterySelfTest.minLoadedMillivolts
            let pass = milliohms <= BatterySelfTest.maxInternalMilliohms && !lowVoltage
            var measurements = [
                Measurement(.durationMs, Int32(BatterySelfTest.durationNanoseconds / 1_000_000)),
                Measurement(.batteryRestMv, Int32(rest)),
                Measurement(.batteryLoadedMv, Int32(loaded)),
                Measurement(.loadCurrentMa, Int32(loadMilliamps)),
                Measurement(.internalResistanceMohm, Int32(milliohms)),
            ]
            // A high resistance alone has no device code (BATTERY_WORN is the host's to derive).
            if lowVoltage { measurements.append(Measurement(.faultCode, Int32(FaultCode.lowMotorVoltage))) }
            sendEvent(.selfTestResult(SelfTestResult(test: .battery, verdict: pass ? .pass : .fail, measurements: measurements)))
        case .fingerprint:
            selfTest = nil
            var measurements = [Measurement(.durationMs, Int32(FingerprintSensor.selfTestNanoseconds / 1_000_000))]
            let pass: Bool
            if fingerprint.isResponding {
                let quality = fingerprint.drawQuality(&physicsRandom)
                fingerprint.lastImageQuality = quality
                measurements.append(Measurement(.imageQuality, Int32(quality)))
                pass = quality >= FingerprintSensor.matchThresholdQuality
            } else {
                fingerprint.linkOK = false
                check(FaultCode.fingerprintNotResponding, failing: true)
                measurements.append(Measurement(.faultCode, Int32(FaultCode.fingerprintNotResponding)))
                pass = false
            }
            fingerprint.lastSelfTest = pass ? .passed : .failed
            sendEvent(.selfTestResult(SelfTestResult(test: .fingerprint, verdict: pass ? .pass : .fail, measurements: measurements)))
        case .motor, nil:
            break
        }
    }
}
