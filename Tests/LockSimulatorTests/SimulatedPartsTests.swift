import GenuineParts
import LockProtocol
import LockSimulator
import Testing

/// The simulated lock's accessories over LDP/1.1 (LIST_PARTS, PROVE_PART), judged by the
/// station's verifier trusting the demo maker's root: healthy parts pass, each parts scenario
/// fails the way docs/simulator.md says.
@Suite struct SimulatedPartsTests {
    func checks(_ scenario: Scenario) throws -> [PartCheck] {
        let host = LockHarness(scenario, parts: scenario == .healthy)
        guard case .identify(let identity)? = host.response(.identify) else { throw Failure.noIdentity }
        #expect(identity.capabilities.contains(.genuineParts))
        guard case .parts(let first)? = host.response(.listParts(index: 0)) else { throw Failure.noListing }
        let verifier = PartVerifier(trust: TrustStore(roots: [DemoMaker.root]))
        var checks = [PartCheck]()
        for index in 0..<first.count {
            guard case .parts(let listing)? = host.response(.listParts(index: index)), let part = listing.part else { throw Failure.noListing }
            let challenge = (0..<32).map { _ in UInt8.random(in: 0...255) }
            let answer: ProofAnswer = switch host.response(.provePart(PartChallenge(index: index, challenge: challenge))) {
            case .partProof(let proof)?: .answered(proof)
            default: .noAnswer("no proof")
            }
            checks.append(verifier.check(part, lockMakerID: listing.makerID, lockSerial: identity.serial, challenge: challenge,
                                         answer: answer, nowSeconds: 1_780_000_000))
        }
        return checks
    }
    enum Failure: Error { case noIdentity, noListing }

    @Test func aHealthyLockHasThreeGenuineParts() throws {
        let checks = try checks(.healthy)
        #expect(checks.map(\.kind) == [.fingerprintModule, .batteryPack, .motorUnit])
        #expect(checks.allSatisfy { $0.verdict == .genuine }, "\(checks.map(\.evidence))")
    }

    @Test func theCounterfeitFingerprintScenarioFailsOnlyTheFingerprintModule() throws {
        let checks = try checks(.counterfeitFingerprint)
        #expect(checks.map(\.verdict) == [.counterfeit, .genuine, .genuine])
        #expect(checks[0].evidence.contains("self-signed"))
    }

    @Test func theWrongSerialScenarioFailsOnlyTheBatteryPack() throws {
        let checks = try checks(.wrongSerialPart)
        #expect(checks.map(\.verdict) == [.genuine, .wrongSerial, .genuine])
    }

    /// Without parts the simulated lock is an LDP/1.0 lock (§4.3): minor 0, no bit 8, the new
    /// types unknown.
    @Test func withoutPartsItIsAnLDP10Lock() {
        let host = LockHarness()
        guard case .identify(let identity)? = host.response(.identify) else { Issue.record("no identity"); return }
        #expect(identity.protocolMinor == 0 && !identity.capabilities.contains(.genuineParts))
        #expect(host.nak(.listParts(index: 0)) == .unknownMessage)
        #expect(host.nak(.provePart(PartChallenge(index: 0, challenge: Array(repeating: 1, count: 16)))) == .unknownMessage)
    }

    @Test func outOfRangeRequestsAreRefused() {
        let host = LockHarness(parts: true)
        guard case .parts(let listing)? = host.response(.listParts(index: 7)) else { Issue.record("no answer"); return }
        #expect(listing.part == nil && listing.count == 3)
        #expect(host.nak(.provePart(PartChallenge(index: 7, challenge: Array(repeating: 1, count: 16)))) == .notAvailable)
        // A 4-byte challenge is malformed (§6.11): sent raw, since the encoder would not shorten it.
        #expect(host.nak(.provePart(PartChallenge(index: 0, challenge: [1, 2, 3, 4]))) == .malformed)
    }
}
