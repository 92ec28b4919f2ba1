import LockProtocol
import LockSimulator
import Testing

/// RUN_SELFTEST (§6.7) and SELFTEST_RESULT (§7.3).
@Suite struct SelfTestTests {
    @Test func batterySelfTestMeasuresAHealthyPack() throws {
        let host = LockHarness(.healthy)
        #expect(host.response(.runSelfTest(.battery)) == .selfTestAccepted(.battery, expectedDurationMilliseconds: 500))
        #expect(host.nak(.actuate(.unlock)) == .busy)
        // The test load shows in READ_STATUS while it runs.
        guard case .status(let loadedStatus)? = host.response(.readStatus) else { Issue.record("no status"); return }
        #expect(host.run(upTo: 1_000) { !host.selfTestResults.isEmpty })
        let result = try #require(host.selfTestResults.first)
        #expect(result.kind == .battery)
        #expect(result.verdict == .pass)
        let rest = try #require(result.value(.batteryRestMv))
        let loaded = try #require(result.value(.batteryLoadedMv))
        let current = try #require(result.value(.loadCurrentMa))
        let milliohms = try #require(result.value(.internalResistanceMohm))
        #expect(result.value(.durationMs) == 500)
        #expect(loaded < rest)
        #expect(Int32(loadedStatus.batteryMillivolts) < rest)
        // ~6.1 V across 10 Ω plus the pack.
        #expect((540...640).contains(current))
        #expect(abs(Double(milliohms) - 850) < 0.3 * 850)
        #expect(result.value(.faultCode) == nil)
    }

    @Test func batterySelfTestFailsAWornPack() throws {
        let host = LockHarness(.batteryWorn)
        _ = host.response(.runSelfTest(.battery))
        #expect(host.run(upTo: 1_000) { !host.selfTestResults.isEmpty })
        let result = try #require(host.selfTestResults.first)
        #expect(result.verdict == .fail)
        let milliohms = try #require(result.value(.internalResistanceMohm))
        #expect(abs(Double(milliohms) - 2000) < 0.3 * 2000)
    }

    @Test func motorSelfTestRunsAFullCycleAndReturnsTheBolt() throws {
        let host = LockHarness(.healthy)
        let startBolt = host.lock.bolt
        #expect(host.response(.runSelfTest(.motor)) == .selfTestAccepted(.motor, expectedDurationMilliseconds: 2500))
        #expect(host.nak(.actuate(.lock)) == .busy)
        #expect(host.run(upTo: 3_000) { !host.selfTestResults.isEmpty })
        let started = host.events.compactMap { if case .actuationStarted(let e) = $0 { e } else { nil } }
        #expect(started.map(\.source) == [.selfTest, .selfTest])
        #expect(started.map(\.direction) == [.unlock, .lock])
        let result = try #require(host.selfTestResults.first)
        #expect(result.verdict == .pass)
        #expect(result.value(.endPositionReached) == 1)
        #expect((1200...2000).contains(result.value(.durationMs) ?? 0))
        #expect((200...300).contains(result.value(.runningCurrentMa) ?? 0))
        #expect(host.lock.bolt == startBolt)
        guard case .actuationAccepted? = host.response(.actuate(.unlock)) else { Issue.record("still busy"); return }
    }

    @Test func motorSelfTestOfAJammedBoltFailsWithTheStallCode() throws {
        let host = LockHarness(.motorStall)
        _ = try #require(host.actuate(.unlock))
        _ = host.response(.runSelfTest(.motor))
        #expect(host.run(upTo: 3_000) { !host.selfTestResults.isEmpty })
        let result = try #require(host.selfTestResults.first)
        #expect(result.verdict == .fail)
        #expect(result.value(.endPositionReached) == 0)
        #expect(result.value(.faultCode) == Int32(FaultCode.motorStall))
        // Back where it started: the second stroke unlocked again.
        #expect(host.lock.bolt == .unlocked)
    }

    @Test func fingerprintSelfTestByCondition() throws {
        for (scenario, verdict) in [(Scenario.healthy, SelfTestVerdict.pass), (.fingerprintDegraded, .fail), (.fingerprintDead, .fail)] {
            let host = LockHarness(scenario)
            #expect(host.response(.runSelfTest(.fingerprint)) == .selfTestAccepted(.fingerprint, expectedDurationMilliseconds: 300))
            #expect(host.run(upTo: 1_000) { !host.selfTestResults.isEmpty })
            let result = try #require(host.selfTestResults.first)
            #expect(result.verdict == verdict, "\(scenario)")
            if scenario == .fingerprintDead {
                #expect(result.value(.faultCode) == Int32(FaultCode.fingerprintNotResponding))
                #expect(result.value(.imageQuality) == nil)
            } else {
                #expect(result.value(.imageQuality) != nil)
            }
            guard case .fingerprint(let fp)? = host.response(.readFingerprintStatus) else { Issue.record("no status"); return }
            #expect(fp.lastSelfTest == (verdict == .pass ? .passed : .failed))
        }
    }
}
