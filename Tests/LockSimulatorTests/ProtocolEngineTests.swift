import LockProtocol
import LockSimulator
import Testing

/// The LDP/1 device side, driven through the real codec in memory.
@Suite struct ProtocolEngineTests {
    @Test func identifyReportsTheSimulatedModel() throws {
        let host = LockHarness(.healthy, seed: 0x2A, index: 3)
        let identity = try #require({ if case .identify(let i)? = host.response(.identify) { i } else { nil } }())
        #expect(identity.model == "LX-300")
        #expect(identity.hardwareRevision == "SIM")
        #expect(identity.firmwareVersion == "2.4.1")
        #expect(identity.serial == "SIM-002A-003")
        #expect(identity.capabilities.rawValue == 0xFF)
        #expect(identity.traceSampleRateHz == 1000)
        #expect(identity.traceCapacity == 4096)
        #expect(identity.protocolMinor == 0)
    }

    @Test func serialsDifferPerLockAndFollowTheConfiguration() {
        #expect(SimulatorConfiguration(seed: 1, index: 0).serial != SimulatorConfiguration(seed: 1, index: 1).serial)
        #expect(SimulatorConfiguration(seed: 1, index: 0, serial: "BENCH-7").serial == "BENCH-7")
    }

    @Test func statusDescribesAnIdleLockedLock() throws {
        let host = LockHarness(.healthy)
        let status = try #require({ if case .status(let s)? = host.response(.readStatus) { s } else { nil } }())
        // The start-up history is one user lock from unlocked.
        #expect(status.bolt == .locked)
        #expect(status.door == .closed)
        #expect(status.motor == .idle)
        #expect(status.flags.contains(.calibrated))
        #expect((5900...6300).contains(status.batteryMillivolts))
        #expect((80...90).contains(status.batteryPercent))
        #expect(status.activeFaults == 0)
        #expect((200...235).contains(status.temperatureDecicelsius))
        #expect(status.motorCurrentMilliamps == 0)
        #expect(status.actuations > 0)
        #expect(status.uptimeSeconds > 86_400)
    }

    @Test func readsAnswerWhileTheMotorRuns() throws {
        let host = LockHarness(.healthy)
        guard case .actuationAccepted? = host.response(.actuate(.unlock)) else { Issue.record("not accepted"); return }
        host.run(milliseconds: 300)
        let status = try #require({ if case .status(let s)? = host.response(.readStatus) { s } else { nil } }())
        #expect(status.bolt == .moving)
        #expect(status.motor == .unlockingDrive)
        #expect((150...400).contains(status.motorCurrentMilliamps))
        // Under load the terminal voltage sags below the rest voltage.
        #expect(status.batteryMillivolts < host.finishedActuations.last.map { $0.batteryRestMillivolts } ?? 6500)
        // The in-progress trace is readable, not complete yet.
        let chunk = try #require({ if case .motorTrace(let c)? = host.response(.readMotorTrace(TraceRequest(firstIndex: 0))) { c } else { nil } }())
        #expect(!chunk.complete)
        #expect((250...350).contains(chunk.totalSamples))
    }

    @Test func fingerprintStatusOfAHealthySensor() throws {
        let host = LockHarness(.healthy)
        let fp = try #require({ if case .fingerprint(let f)? = host.response(.readFingerprintStatus) { f } else { nil } }())
        #expect(fp.state == .ready)
        #expect(fp.linkOK)
        #expect(fp.lastImageQuality == FingerprintStatus.noQuality)
        #expect(fp.lastSelfTest == .never)
        #expect(fp.templatesUsed == 12)
        #expect(fp.templatesCapacity == 100)
        #expect(fp.failedAttempts == 0)
        #expect(fp.lockoutRemainingSeconds == 0)
    }

    @Test func faultMemoryHoldsTheScenarioHistoryAndClears() throws {
        let host = LockHarness(.motorStall)
        let faults = try #require({ if case .faults(let f)? = host.response(.readFaults) { f } else { nil } }())
        let stall = try #require(faults.first { $0.code == FaultCode.motorStall })
        #expect(stall.status.isSuperset(of: [.testFailed, .pending, .confirmed]))
        #expect(stall.occurrences == 3)
        #expect(stall.firstSeenSeconds < stall.lastSeenSeconds)
        #expect(stall.snapshotMotorCurrentMilliamps > 1000)
        #expect(stall.snapshotBolt == .intermediate)

        guard case .faultsCleared(let cleared)? = host.response(.clearFaults(code: Request.clearAllFaults)) else {
            Issue.record("no CLEAR_FAULTS answer")
            return
        }
        #expect(cleared == 1)
        #expect(host.response(.readFaults) == .faults([]))
        #expect(host.response(.clearFaults(code: FaultCode.motorStall)) == .faultsCleared(count: 0))
    }

    @Test func healthyLocksHaveNoHistory() {
        for scenario in [Scenario.healthy, .batteryWorn, .fingerprintDegraded, .noisyLine] {
            #expect(LockHarness(scenario).lock.faultRecords.isEmpty, "\(scenario)")
        }
    }

    @Test func malformedRequestsAreNAKedMalformed() {
        let host = LockHarness(.healthy)
        // READ_MOTOR_TRACE needs 5 bytes.
        host.send(bytes: Frame(kind: .request, seq: 9, type: MessageType.readMotorTrace.rawValue, payload: [0xFF, 0xFF]).encoded)
        #expect(lastNak(host, seq: 9) == .malformed)
        // max_count 0 and 65 are out of range.
        host.send(bytes: Frame(kind: .request, seq: 10, type: 0x03, payload: [0xFF, 0xFF, 0, 0, 0]).encoded)
        #expect(lastNak(host, seq: 10) == .malformed)
        host.send(bytes: Frame(kind: .request, seq: 11, type: 0x03, payload: [0xFF, 0xFF, 0, 0, 65]).encoded)
        #expect(lastNak(host, seq: 11) == .malformed)
        // Directions and tests outside their enumerations.
        host.send(bytes: Frame(kind: .request, seq: 12, type: MessageType.actuate.rawValue, payload: [3]).encoded)
        #expect(lastNak(host, seq: 12) == .malformed)
        host.send(bytes: Frame(kind: .request, seq: 13, type: MessageType.runSelfTest.rawValue, payload: [9]).encoded)
        #expect(lastNak(host, seq: 13) == .malformed)
        host.send(bytes: Frame(kind: .request, seq: 14, type: MessageType.clearFaults.rawValue, payload: []).encoded)
        #expect(lastNak(host, seq: 14) == .malformed)
    }

    @Test func unknownTypesAreNAKedUnknownMessage() {
        let host = LockHarness(.healthy)
        host.send(bytes: Frame(kind: .request, seq: 20, type: 0x20, payload: []).encoded)
        #expect(lastNak(host, seq: 20) == .unknownMessage)
        // An event type sent as a request.
        host.send(bytes: Frame(kind: .request, seq: 21, type: MessageType.tamper.rawValue, payload: [1, 0, 0, 0, 0, 0]).encoded)
        #expect(lastNak(host, seq: 21) == .unknownMessage)
        // The NAK echoes the request's type.
        #expect(host.frames.last?.header.type == MessageType.tamper.rawValue)
    }

    @Test func actuationsAndSelfTestsAreNAKedBusyWhileTheMotorRuns() {
        let host = LockHarness(.healthy)
        guard case .actuationAccepted? = host.response(.actuate(.unlock)) else { Issue.record("not accepted"); return }
        #expect(host.nak(.actuate(.lock)) == .busy)
        #expect(host.nak(.runSelfTest(.battery)) == .busy)
        // Reads still work.
        guard case .identify? = host.response(.identify) else { Issue.record("no identify while busy"); return }
        host.run(upTo: 2_000) { !host.finishedActuations.isEmpty }
        guard case .actuationAccepted? = host.response(.actuate(.lock)) else { Issue.record("still busy after finishing"); return }
    }

    /// §6.7: a test that moves the bolt is refused while the door is open; the others run, and
    /// READ_STATUS reports the door.
    @Test func theMotorSelfTestIsRefusedWhileTheDoorIsOpen() {
        let host = LockHarness(.healthy)
        host.lock.doorOpen = true
        guard case .status(let open)? = host.response(.readStatus) else { Issue.record("no status"); return }
        #expect(open.door == .open)
        #expect(host.nak(.runSelfTest(.motor)) == .refused)
        #expect(host.lock.counters.commandsAccepted == 0)
        guard case .selfTestAccepted? = host.response(.runSelfTest(.fingerprint)) else { Issue.record("fingerprint test refused"); return }
        #expect(host.run(upTo: 5_000) { !host.lock.isBusy })
        host.lock.doorOpen = false
        guard case .status(let closed)? = host.response(.readStatus) else { Issue.record("no status"); return }
        #expect(closed.door == .closed)
        guard case .selfTestAccepted? = host.response(.runSelfTest(.motor)) else { Issue.record("motor test refused with the door closed"); return }
    }

    @Test func anotherMajorVersionIsNAKedUnsupportedVersion() throws {
        let host = LockHarness(.healthy)
        host.send(bytes: FrameEncoder.encode(version: 2, kind: .request, seq: 30, type: MessageType.identify.rawValue, payload: []))
        let nak = try #require(host.frames.last)
        #expect(nak.header.kind == .nak)
        #expect(nak.header.version == LDP.version)
        #expect(nak.header.seq == 30)
        #expect(nak.header.type == MessageType.identify.rawValue)
        #expect(try Message(nak) == .nak(.unsupportedVersion))
    }

    @Test func aTraceNoLongerHeldIsNotAvailable() throws {
        let host = LockHarness(.healthy)
        guard case .motorTrace(let latest)? = host.response(.readMotorTrace(TraceRequest(firstIndex: 0))) else {
            Issue.record("no latest trace at start-up")
            return
        }
        #expect(latest.complete)
        #expect(host.nak(.readMotorTrace(TraceRequest(actuation: latest.actuation &- 1, firstIndex: 0))) == .notAvailable)
        guard case .motorTrace(let same)? = host.response(.readMotorTrace(TraceRequest(actuation: latest.actuation, firstIndex: 0))) else {
            Issue.record("the latest trace by number")
            return
        }
        #expect(same == latest)
        // Past the end: an empty chunk.
        guard case .motorTrace(let past)? = host.response(.readMotorTrace(TraceRequest(firstIndex: 4000))) else {
            Issue.record("no answer past the end")
            return
        }
        #expect(past.samplesMilliamps.isEmpty)
        #expect(past.totalSamples == latest.totalSamples)
    }

    @Test func longerPayloadsAreAcceptedAndFramesOfOtherKindsIgnored() {
        let host = LockHarness(.healthy)
        host.send(bytes: Frame(kind: .request, seq: 40, type: MessageType.identify.rawValue, payload: [1, 2, 3]).encoded)
        #expect(host.frames.last?.header.kind == .response)
        let before = host.frames.count
        host.send(bytes: Frame(kind: .response, seq: 41, type: MessageType.identify.rawValue, payload: []).encoded)
        host.send(bytes: Frame(kind: .event, seq: 42, type: MessageType.tamper.rawValue, payload: [1, 0, 0, 0, 0, 0]).encoded)
        #expect(host.frames.count == before)
        #expect(host.lock.counters.framesIgnored == 2)
    }

    @Test func corruptedRequestsGetNoAnswer() {
        let host = LockHarness(.healthy)
        var bytes = Request.identify.frame(seq: 50).encoded
        bytes[bytes.count - 1] ^= 0x40
        let before = host.frames.count
        host.send(bytes: bytes)
        #expect(host.frames.count == before)
        #expect(host.lock.counters.badFrames == 1)
    }

    @Test func aHungLockAnswersNothingUntilResumed() {
        let host = LockHarness(.healthy, activitySeconds: 0.5)
        host.lock.hang()
        let before = host.frames.count
        host.send(.identify)
        host.run(milliseconds: 3_000)
        #expect(host.frames.count == before)
        #expect(host.lock.counters.eventsSuppressed > 0)
        host.lock.resume()
        guard case .identify? = host.response(.identify) else { Issue.record("no answer after resume"); return }
    }

    private func lastNak(_ host: LockHarness, seq: UInt8) -> NakCode? {
        guard let frame = host.frames.last, frame.header.seq == seq, case .nak(let code)? = try? Message(frame) else { return nil }
        return code
    }
}
