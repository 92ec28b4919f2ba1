import LockDiagTestSupport
import LockProtocol
import LockSimulator
import Testing

/// Same seed and input schedule, same bytes; and no input crashes the lock.
@Suite struct DeterminismTests {
    /// A session touching every part of the model, on simulated time.
    static func session(_ scenario: Scenario, seed: UInt64) -> [UInt8] {
        let host = LockHarness(scenario, seed: seed, activitySeconds: 1.5)
        host.send(.identify)
        host.send(.readFaults)
        host.send(.actuate(.unlock))
        for _ in 0..<20 {
            host.run(milliseconds: 50)
            host.send(.readStatus)
        }
        host.run(milliseconds: 1_500)
        host.send(.runSelfTest(.battery))
        host.run(milliseconds: 700)
        host.send(.runSelfTest(.motor))
        host.run(milliseconds: 3_000)
        host.send(.readMotorTrace(TraceRequest(firstIndex: 0)))
        host.send(.clearFaults(code: Request.clearAllFaults))
        host.run(milliseconds: 6_000)
        host.send(.readFingerprintStatus)
        return host.received
    }

    @Test(arguments: [Scenario.healthy, .motorStall, .noisyLine, .flaky, .tamper])
    func theSameSeedGivesTheSameBytes(scenario: Scenario) {
        let first = Self.session(scenario, seed: 99)
        let second = Self.session(scenario, seed: 99)
        #expect(first.count > 2_000)
        #expect(first == second)
    }

    @Test func anotherSeedGivesOtherBytes() {
        #expect(Self.session(.healthy, seed: 1) != Self.session(.healthy, seed: 2))
    }

    @Test func howOftenTheLockIsAdvancedDoesNotChangeWhatItSends() {
        // One lock stepped in 1 ms ticks, one only at its own wake-ups: same events.
        let coarse = LockHarness(.healthy, seed: 5)
        let fine = LockHarness(.healthy, seed: 5)
        coarse.send(.actuate(.unlock))
        fine.send(.actuate(.unlock))
        coarse.run(milliseconds: 2_000)
        for _ in 0..<2_000 { fine.run(milliseconds: 1) }
        #expect(coarse.received == fine.received)
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomBytesNeverCrashTheLock(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for scenario in [Scenario.healthy, .motorStall, .noisyLine] {
            let host = LockHarness(scenario, seed: seed)
            for _ in 0..<300 {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0:
                    // Plain garbage, heavy in sync bytes.
                    host.send(bytes: (0..<Int.random(in: 1...600, using: &rng)).map { _ in
                        [0xA5, 0x5A, 0x01, UInt8.random(in: 0...255, using: &rng)][Int.random(in: 0..<4, using: &rng)]
                    })
                case 1:
                    // Intact frames of any kind, type and payload: the message layer's turn.
                    let payload = (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    host.send(bytes: FrameEncoder.encode(
                        version: Bool.random(using: &rng) ? 1 : UInt8.random(in: 0...255, using: &rng),
                        kind: FrameKind(rawValue: UInt8.random(in: 0...3, using: &rng))!, seq: UInt8.random(in: 0...255, using: &rng),
                        type: UInt8.random(in: 0...255, using: &rng), payload: payload))
                case 2:
                    // A valid request cut short.
                    let frame = Request.readMotorTrace(TraceRequest(firstIndex: 0)).frame(seq: 1).encoded
                    host.send(bytes: Array(frame.prefix(Int.random(in: 1..<frame.count, using: &rng))))
                default:
                    host.run(milliseconds: UInt64.random(in: 1...200, using: &rng))
                }
            }
            host.run(upTo: 4_000) { !host.lock.isBusy }
            // Flush any half frame out of the lock's decoder, then it must still answer.
            host.send(bytes: [UInt8](repeating: 0, count: LDP.maxFrameSize))
            host.lock.setScenario(.healthy)
            guard case .identify? = host.response(.identify) else {
                Issue.record("\(scenario): no IDENTIFY answer after garbage")
                continue
            }
        }
    }
}
