import LockProtocol
@testable import LockSimulator
import Testing

/// The physical model, seen the way a host sees it: through events and traces.
@Suite struct PhysicsTests {
    @Test func aHealthyActuationShowsInrushRunningAndTheEndStop() throws {
        let host = LockHarness(.healthy)
        let finished = try #require(host.actuate(.unlock))
        #expect(finished.result == .reached)
        #expect(finished.bolt == .unlocked)
        #expect((600...1000).contains(finished.durationMilliseconds))
        #expect((200...300).contains(finished.runningCurrentMilliamps))
        let samples = try #require(host.readLatestTrace())
        #expect(samples.count == Int(finished.samples))
        // The streamed chunks and the trace read back afterwards are the same curve.
        #expect(host.streamedSamples(of: finished.actuation) == samples)
        let inrushPeak = samples.prefix(10).max() ?? 0
        #expect((1300...1700).contains(inrushPeak))
        #expect(inrushPeak > 4 * finished.runningCurrentMilliamps)
        // Inrush has decayed to running current within ~40 ms.
        let settled = samples[60..<120]
        #expect(settled.allSatisfy { $0 < 450 })
        // The run ends on the end-stop spike that stopped the motor.
        #expect(samples.suffix(15).allSatisfy { $0 > 1000 })
        #expect(finished.peakCurrentMilliamps == samples.max())
        #expect(host.lock.bolt == .unlocked)
    }

    @Test func actuatingTowardsTheEndItIsAtRunsBrieflyIntoTheStop() throws {
        let host = LockHarness(.healthy)
        #expect(host.lock.bolt == .locked)
        let finished = try #require(host.actuate(.lock))
        #expect(finished.result == .reached)
        #expect(finished.bolt == .locked)
        // Inrush is already stall current; the firmware stops once the inrush window is over.
        #expect((60...100).contains(finished.durationMilliseconds))
    }

    @Test func eventsOfAnActuationComeInOrderWithChunksOf32() throws {
        let host = LockHarness(.healthy)
        guard case .actuationAccepted(let number)? = host.response(.actuate(.unlock)) else { Issue.record("refused"); return }
        _ = try #require(host.waitForFinish(number))
        let relevant = host.events.filter {
            switch $0 {
            case .actuationStarted(let e): e.actuation == number
            case .traceChunk(let c): c.actuation == number
            case .actuationFinished(let e): e.actuation == number
            default: false
            }
        }
        guard case .actuationStarted(let started)? = relevant.first, case .actuationFinished? = relevant.last else {
            Issue.record("STARTED … FINISHED expected, got \(relevant.count) events")
            return
        }
        #expect(started.source == .host)
        #expect(started.direction == .unlock)
        let chunks = relevant.compactMap { if case .traceChunk(let c) = $0 { c } else { nil } }
        #expect(chunks.dropLast().allSatisfy { $0.samplesMilliamps.count == 32 && !$0.complete })
        #expect(chunks.last?.complete == true)
        #expect(chunks.last.map { $0.samplesMilliamps.count < 32 } == true)
        #expect(zip(chunks, chunks.dropFirst()).allSatisfy { Int($0.firstIndex) + $0.samplesMilliamps.count == Int($1.firstIndex) })
    }

    @Test func motorStallJamsWhenLockingAndRaisesTheFault() throws {
        let healthy = LockHarness(.healthy)
        _ = try #require(healthy.actuate(.unlock))
        let healthyLock = try #require(healthy.actuate(.lock))

        let host = LockHarness(.motorStall)
        let unlocked = try #require(host.actuate(.unlock))
        #expect(unlocked.result == .reached, "unlocking is fine")
        #expect(host.lock.faultRecords.first { $0.code == FaultCode.motorStall }.map { !$0.status.contains(.testFailed) } == true,
                "a run reaching its end clears TEST_FAILED")
        let stalled = try #require(host.actuate(.lock))
        #expect(stalled.result == .stalled)
        #expect(stalled.bolt == .intermediate)
        #expect(stalled.durationMilliseconds < healthyLock.durationMilliseconds * 7 / 10)
        #expect((0.38...0.52).contains(host.lock.boltPosition))
        let samples = try #require(host.readLatestTrace())
        // Late samples sit near stall current, V / (R_motor + R_internal).
        let stallMilliamps = Double(stalled.batteryRestMillivolts) / (DriveTrain.windingOhms + BatteryPack.healthyInternalOhms)
        let late = samples.suffix(15).map(Double.init)
        #expect(late.allSatisfy { abs($0 - stallMilliamps) < 0.25 * stallMilliamps })
        let raised = try #require(host.raisedFaults.last)
        #expect(raised.code == FaultCode.motorStall)
        #expect(raised.status.contains(.confirmed))
        #expect(raised.occurrences == 4)
    }

    @Test func anOpenMotorCircuitDrawsNoCurrent() throws {
        let host = LockHarness(.motorOpen)
        let finished = try #require(host.actuate(.lock))
        #expect(finished.result == .openCircuit)
        #expect(finished.durationMilliseconds == 100)
        let samples = try #require(host.readLatestTrace())
        #expect(samples.allSatisfy { $0 < 20 })
        #expect(host.raisedFaults.last?.code == FaultCode.motorOpenCircuit)
    }

    @Test func aSlippingClutchRunsAtNoLoadUntilTheTimeout() throws {
        let host = LockHarness(.clutchSlip)
        let before = host.lock.boltPosition
        let finished = try #require(host.actuate(.lock))
        #expect(finished.result == .timeout)
        #expect(finished.durationMilliseconds == 3000)
        #expect((80...100).contains(finished.runningCurrentMilliamps))
        #expect(host.lock.boltPosition == before)
        #expect(host.raisedFaults.last?.code == FaultCode.actuationTimeout)
    }

    @Test(arguments: [(Scenario.healthy, 0.85), (.batteryWorn, 2.0)])
    func theSagUnderLoadRevealsTheInternalResistance(scenario: Scenario, ohms: Double) throws {
        let host = LockHarness(scenario)
        let finished = try #require(host.actuate(.unlock))
        #expect(finished.result == .reached)
        let estimate = Double(Int(finished.batteryRestMillivolts) - Int(finished.batteryLoadedMillivolts))
            / Double(finished.runningCurrentMilliamps)
        #expect(abs(estimate - ohms) < 0.3 * ohms, "estimated \(estimate) Ω")
    }

    @Test func aWornBatteryLooksFineAtRestAndIsNotFlaggedByTheLock() throws {
        let host = LockHarness(.batteryWorn)
        guard case .status(let status)? = host.response(.readStatus) else { Issue.record("no status"); return }
        #expect((5700...6000).contains(status.batteryMillivolts))
        #expect((65...75).contains(status.batteryPercent))
        _ = try #require(host.actuate(.unlock))
        #expect(host.lock.faultRecords.isEmpty)
    }

    @Test func aLowBatteryIsInFaultMemoryAndSlowsTheMotor() throws {
        let host = LockHarness(.batteryLow)
        guard case .status(let status)? = host.response(.readStatus) else { Issue.record("no status"); return }
        #expect((10...14).contains(status.batteryPercent))
        #expect(status.activeFaults == 1)
        let low = try #require(host.lock.faultRecords.first { $0.code == FaultCode.batteryLow })
        #expect(low.status.isSuperset(of: [.testFailed, .confirmed]))
        let finished = try #require(host.actuate(.unlock))
        #expect(finished.result == .reached)
        #expect(finished.durationMilliseconds > 950)
    }

    @Test func aClearedConditionIsRaisedAgainByTheNextCheck() {
        let host = LockHarness(.batteryLow)
        #expect(host.response(.clearFaults(code: FaultCode.batteryLow)) == .faultsCleared(count: 1))
        #expect(host.run(upTo: 1_500) { host.raisedFaults.contains { $0.code == FaultCode.batteryLow } })
        let again = host.lock.faultRecords.first { $0.code == FaultCode.batteryLow }
        #expect(again?.occurrences == 1)
        #expect(again?.status.contains(.pending) == true)
        #expect(again?.status.contains(.confirmed) == false)
    }

    @Test func temperatureRisesSlightlyWithMotorUse() throws {
        let host = LockHarness(.healthy)
        let before = host.lock.temperatureDecicelsius
        for _ in 0..<3 {
            _ = try #require(host.actuate(.unlock))
            _ = try #require(host.actuate(.lock))
        }
        let after = host.lock.temperatureDecicelsius
        #expect(after > before)
        #expect(after - before < 30)
    }

    @Test func theBatteryDischargesByTheChargeDrawn() throws {
        var battery = BatteryPack(stateOfCharge: 0.5, internalOhms: 0.35)
        #expect(abs(battery.openCircuitVolts - 5.60) < 1e-9)
        battery.draw(amps: 0.25, seconds: 90)
        // 22.5 C of 9000 C is 0.25 % of charge.
        #expect(abs(battery.stateOfCharge - (0.5 - 0.0025)) < 1e-5)
        #expect(battery.terminalVolts(loadAmps: 1) < battery.terminalVolts(loadAmps: 0))
    }

    @Test func tamperScenarioSendsTheEventSoonAfterStart() throws {
        let host = LockHarness(.tamper)
        #expect(host.run(upTo: 3_500) { host.events.contains { if case .tamper = $0 { true } else { false } } })
        let tamper = try #require(host.lock.faultRecords.first { $0.code == FaultCode.tamper })
        #expect(tamper.occurrences == 2)
        #expect(tamper.status.isSuperset(of: [.testFailed, .confirmed]))
        #expect(host.raisedFaults.contains { $0.code == FaultCode.tamper })
        guard case .status(let status)? = host.response(.readStatus) else { Issue.record("no status"); return }
        #expect(status.flags.contains(.tamperActive))
    }

    @Test func usageActivityAlternatesActuationsAndTouches() {
        let host = LockHarness(.healthy, activitySeconds: 1)
        host.run(milliseconds: 8_000)
        let started = host.events.compactMap { if case .actuationStarted(let e) = $0 { e } else { nil } }
        #expect(started.count >= 2)
        #expect(started.allSatisfy { $0.source == .user })
        #expect(zip(started, started.dropFirst()).allSatisfy { $0.direction != $1.direction })
        guard case .fingerprint(let fp)? = host.response(.readFingerprintStatus) else { Issue.record("no status"); return }
        #expect((65...90).contains(fp.lastImageQuality))
    }

    @Test func aScenarioChangeChangesThePhysicsFromThenOn() throws {
        let host = LockHarness(.healthy)
        #expect(try #require(host.actuate(.unlock)).result == .reached)
        host.lock.setScenario(.motorOpen)
        #expect(try #require(host.actuate(.lock)).result == .openCircuit)
        host.lock.setScenario(.healthy)
        #expect(try #require(host.actuate(.lock)).result == .reached)
        host.lock.setScenario(.batteryWorn)
        guard case .status(let status)? = host.response(.readStatus) else { Issue.record("no status"); return }
        #expect((65...75).contains(status.batteryPercent))
    }

    @Test func fingerprintTouchesReportImageQualityByCondition() throws {
        for (scenario, range) in [(Scenario.healthy, UInt8(65)...UInt8(90)), (.fingerprintDegraded, 20...35)] {
            let host = LockHarness(scenario)
            #expect(host.lock.touchFinger())
            guard case .fingerprint(let capturing)? = host.response(.readFingerprintStatus) else { Issue.record("no status"); return }
            #expect(capturing.state == .capturing)
            host.run(milliseconds: 300)
            guard case .fingerprint(let fp)? = host.response(.readFingerprintStatus) else { Issue.record("no status"); return }
            #expect(fp.state == .ready)
            #expect(range.contains(fp.lastImageQuality), "\(scenario): \(fp.lastImageQuality)")
            #expect(fp.failedAttempts == (scenario == .healthy ? 0 : 1))
        }
    }

    @Test func aDeadFingerprintSensorIsReportedNotResponding() throws {
        let host = LockHarness(.fingerprintDead)
        guard case .fingerprint(let fp)? = host.response(.readFingerprintStatus) else { Issue.record("no status"); return }
        #expect(fp.state == .notResponding)
        #expect(!fp.linkOK)
        #expect(!host.lock.touchFinger())
        let record = try #require(host.lock.faultRecords.first { $0.code == FaultCode.fingerprintNotResponding })
        #expect(record.status.isSuperset(of: [.testFailed, .confirmed]))
        // Back to a working sensor: the next poll clears TEST_FAILED.
        host.lock.setScenario(.healthy)
        host.run(milliseconds: 1_100)
        #expect(host.lock.faultRecords.first { $0.code == FaultCode.fingerprintNotResponding }?.status.contains(.testFailed) == false)
    }
}
