import Crypto
import Foundation
import GenuineParts
import LockDiagTestSupport
import LockProtocol
import Testing

/// The genuine-part exchange of firmware-specs/vectors/frames.json (made by ldp.py's own Ed25519)
/// verified by the Swift codec and verifier, and every refusal of §6.9.2 at unit level.
@Suite struct GenuinePartsVectorTests {
    // Read-only after its one initialisation, so sharing it between test tasks is safe.
    nonisolated(unsafe) static let file: [String: Any] = {
        let data = try! Data(contentsOf: TestSupport.firmwareSpec("vectors/frames.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    static var parts: [String: Any] { file["genuine_parts"] as! [String: Any] }
    static func response(_ name: String) throws -> Response {
        let vectors = file["vectors"] as! [[String: Any]]
        let v = try #require(vectors.first { $0["name"] as? String == name })
        let frame = try #require(firstFrame([UInt8](hex: v["hex"] as! String)))
        guard case .response(let r) = try Message(frame) else { throw VectorError.notAResponse }
        return r
    }
    static func request(_ name: String) throws -> Request {
        let vectors = file["vectors"] as! [[String: Any]]
        let v = try #require(vectors.first { $0["name"] as? String == name })
        let frame = try #require(firstFrame([UInt8](hex: v["hex"] as! String)))
        guard case .request(let r) = try Message(frame) else { throw VectorError.notAResponse }
        return r
    }
    enum VectorError: Error { case notAResponse }

    static var demoTrust: TrustStore {
        let root = parts["demo_root"] as! [String: Any]
        return TrustStore(roots: [TrustedRoot(makerID: UInt16(root["maker_id"] as! Int), maker: "demo",
                                              publicKey: [UInt8](hex: root["public_key"] as! String), origin: "vectors")])
    }

    @Test func theSwiftDemoMakerIsThePythonOne() {
        let root = Self.parts["demo_root"] as! [String: Any]
        #expect(DemoMaker.root.publicKey.hexString == root["public_key"] as? String)
        #expect(PartKeys.hex(DemoMaker.root.keyID) == root["key_id"] as? String)
        #expect(Array(DemoMaker.intermediateKey.publicKey.rawRepresentation).hexString == Self.parts["intermediate_public_key"] as? String)
        for part in Self.parts["parts"] as! [[String: Any]] {
            let key = DemoMaker.partKey(serial: part["serial"] as! String)
            #expect(Array(key.publicKey.rawRepresentation).hexString == part["public_key"] as? String)
        }
    }

    @Test func certificateAndProofSignTheDocumentedBytes() throws {
        guard case .parts(let listing) = try Self.response("list-parts-response"), let part = listing.part else { Issue.record("no part"); return }
        let leaf = try PartCertificate(bytes: part.certificates[0])
        #expect(leaf.signedBytes.hexString == Self.parts["certificate_signed_bytes"] as? String)
        #expect(leaf.encoded == part.certificates[0])
        guard case .provePart(let challenge) = try Self.request("prove-part-request") else { Issue.record("no request"); return }
        let message = PartProof.signedMessage(kind: part.kind, partSerial: part.serial, lockSerial: Self.parts["lock_serial"] as! String,
                                              challenge: challenge.challenge)
        #expect(message.hexString == Self.parts["proof_signed_bytes"] as? String)
    }

    @Test func bothExamplePartsAreGenuine() throws {
        let verifier = PartVerifier(trust: Self.demoTrust)
        let now = Int64(Self.parts["checked_at"] as! Int)
        let lockSerial = Self.parts["lock_serial"] as! String
        guard case .parts(let fingerprint) = try Self.response("list-parts-response"),
              case .parts(let battery) = try Self.response("list-parts-response-root-signed"),
              case .provePart(let request) = try Self.request("prove-part-request"),
              case .partProof(let proof) = try Self.response("prove-part-response") else { Issue.record("vectors"); return }
        let check = verifier.check(fingerprint.part!, lockMakerID: fingerprint.makerID, lockSerial: lockSerial, challenge: request.challenge,
                                   answer: .answered(proof), nowSeconds: now)
        #expect(check.verdict == .genuine, "\(check.evidence)")
        // The battery's certificate is signed by the root itself (chain length 1).
        #expect(try verifier.checkChain(battery.part!, lockMakerID: battery.makerID, nowSeconds: now).get().serial == battery.part!.serial)
    }

    @Test func theShippedTrustDoesNotTrustTheDemoMaker() throws {
        guard case .parts(let listing) = try Self.response("list-parts-response") else { return }
        let check = PartVerifier(trust: .shipped).check(listing.part!, lockMakerID: listing.makerID, lockSerial: "LX3-000123", challenge: [],
                                                        answer: .noAnswer("-"), nowSeconds: 1_780_000_000)
        #expect(check.verdict == .counterfeit)
        #expect(check.evidence.contains("not a trusted maker root"))
    }

    @Test func shippedRootsAreTheFilesInFirmwareSpecs() throws {
        let dir = TestSupport.firmwareSpec("parts/roots")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        let fromFiles = try files.map { name in
            try TrustStore.root(json: [UInt8](try Data(contentsOf: dir.appendingPathComponent(name))), path: name)
        }
        #expect(fromFiles.map(\.publicKey) == TrustStore.shipped.roots.map(\.publicKey))
        #expect(fromFiles.map(\.makerID) == TrustStore.shipped.roots.map(\.makerID))
        #expect(!TrustStore.shipped.roots.contains { $0.publicKey == DemoMaker.root.publicKey })
        let demo = try TrustStore.root(json: [UInt8](try Data(contentsOf: TestSupport.firmwareSpec("parts/demo/demo-maker-root.json"))), path: "demo")
        #expect(demo.publicKey == DemoMaker.root.publicKey)
    }

    @Test func aBadRootFileSaysWhatIsWrong() {
        #expect(throws: TrustRootError.self) { try TrustStore.root(json: Array(#"{"maker_id": 1}"#.utf8), path: "x.json") }
        do {
            _ = try TrustStore.root(json: Array(#"{"maker_id": 1, "public_key": "abcd"}"#.utf8), path: "x.json")
        } catch {
            #expect(error.description.contains("x.json: public_key is missing or not 64 hex digits"))
        }
    }
}

/// §6.9.2's refusals, one at a time, on demo parts.
@Suite struct PartVerdictTests {
    let lockSerial = "LX3-000123"
    let serial = "FPM-TEST-1"
    let now: Int64 = 1_780_000_000
    var trust: TrustStore { TrustStore(roots: [DemoMaker.root]) }

    func answer(_ challenge: [UInt8], serial: String? = nil, key: Curve25519.Signing.PrivateKey? = nil) -> ProofAnswer {
        let signer = key ?? DemoMaker.partKey(serial: self.serial)
        let signed = serial ?? self.serial
        return .answered(PartProof(index: 0, partSerial: signed, challenge: challenge,
                                   signature: DemoMaker.prove(kind: .fingerprintModule, partSerial: signed, lockSerial: lockSerial,
                                                              challenge: challenge, key: signer)))
    }

    func verdict(_ certificates: [[UInt8]], _ answer: ProofAnswer? = nil, challenge: [UInt8] = Array(repeating: 7, count: 32),
                 maker: UInt16 = DemoMaker.makerID, trust: TrustStore? = nil) -> PartCheck {
        PartVerifier(trust: trust ?? self.trust).check(ListedPart(kind: .fingerprintModule, serial: serial, certificates: certificates),
                                                      lockMakerID: maker, lockSerial: lockSerial, challenge: challenge,
                                                      answer: answer ?? self.answer(challenge), nowSeconds: now)
    }

    @Test func aGenuinePartPasses() {
        #expect(verdict(DemoMaker.chain(kind: .fingerprintModule, serial: serial)).verdict == .genuine)
    }

    @Test func aReplayedAnswerIsRefused() {
        let fresh = Array(repeating: UInt8(9), count: 32)
        let old = Array(repeating: UInt8(1), count: 32)
        let check = verdict(DemoMaker.chain(kind: .fingerprintModule, serial: serial), answer(old), challenge: fresh)
        #expect(check.verdict == .replayed, "\(check.evidence)")
    }

    @Test func aSelfSignedCertificateIsCounterfeit() {
        let key = DemoMaker.key(from: "someone else")
        let cert = DemoMaker.issue(kind: .fingerprintModule, serial: serial, subject: key.publicKey, issuer: key)
        let check = verdict([cert], answer(Array(repeating: 7, count: 32), key: key))
        #expect(check.verdict == .counterfeit)
        #expect(check.evidence.contains("self-signed"))
    }

    @Test func anotherMakersRootIsRefused() {
        // Maker 2's root is trusted too (the station serves both makers), but this lock is maker 1's.
        let other = DemoMaker.key(from: "another maker's root")
        var trust = self.trust
        trust.add(TrustedRoot(makerID: 2, maker: "Other Locks", publicKey: Array(other.publicKey.rawRepresentation), origin: "test"))
        let cert = DemoMaker.issue(kind: .fingerprintModule, serial: serial, subject: DemoMaker.partKey(serial: serial).publicKey,
                                   issuer: other, makerID: 2)
        let check = verdict([cert], trust: trust)
        #expect(check.verdict == .counterfeit)
        #expect(check.evidence.contains("another maker's root"), "\(check.evidence)")
    }

    @Test func anExpiredCertificateIsRefused() {
        let cert = DemoMaker.issue(kind: .fingerprintModule, serial: serial, subject: DemoMaker.partKey(serial: serial).publicKey,
                                   issuer: DemoMaker.rootKey, notBeforeSeconds: 1_600_000_000, notAfterSeconds: 1_700_000_000)
        let check = verdict([cert])
        #expect(check.verdict == .expired)
        #expect(check.evidence.contains("expired: valid 2020-09-13 to 2023-11-14"), "\(check.evidence)")
    }

    @Test func aCertificateForAnotherSerialIsRefused() {
        let check = verdict(DemoMaker.chain(kind: .fingerprintModule, serial: "FPM-OTHER-9"))
        #expect(check.verdict == .wrongSerial)
        #expect(check.evidence.contains("issued for serial FPM-OTHER-9"))
    }

    @Test func anAnswerForAnotherSerialIsRefused() {
        let check = verdict(DemoMaker.chain(kind: .fingerprintModule, serial: serial), answer(Array(repeating: 7, count: 32), serial: "FPM-OTHER-9"))
        #expect(check.verdict == .wrongSerial)
    }

    @Test func anAnswerByAnotherKeyIsCounterfeit() {
        let check = verdict(DemoMaker.chain(kind: .fingerprintModule, serial: serial),
                            answer(Array(repeating: 7, count: 32), key: DemoMaker.key(from: "cloned part")))
        #expect(check.verdict == .counterfeit)
    }

    @Test func anAlteredCertificateIsCounterfeit() {
        var chain = DemoMaker.chain(kind: .fingerprintModule, serial: serial)
        chain[0][9] ^= 0x01   // not_after moved
        #expect(verdict(chain).verdict == .counterfeit)
        #expect(verdict([Array(chain[0].prefix(40))]).evidence.contains("malformed"))
    }

    @Test func noAnswerIsUnverified() {
        let check = verdict(DemoMaker.chain(kind: .fingerprintModule, serial: serial), .noAnswer("the lock answered NAK hardware_failure"))
        #expect(check.verdict == .unverified)
        #expect(check.verdict.faultCode == FaultCode.unverifiedPart)
    }
}

/// The one frame in `bytes`.
func firstFrame(_ bytes: [UInt8]) -> Frame? {
    var first: Frame?
    FrameDecoder().feed(bytes) { if case .frame(let f) = $0, first == nil { first = f.copied() } }
    return first
}

/// The reference tool itself: its Ed25519 (written from RFC 8032's description) reproduces the
/// RFC's TEST 1, and it regenerates the committed vectors byte for byte.
@Suite struct ReferenceToolTests {
    static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [TestSupport.firmwareSpec("tools/ldp.py").path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func itsEd25519MatchesRFC8032() throws {
        let run = try Self.python(["check"])
        #expect(run.status == 0)
        #expect(run.output.contains("Ed25519 RFC 8032 TEST 1 ok"))
    }

    @Test func itRegeneratesTheCommittedVectors() throws {
        let run = try Self.python(["vectors"])
        let committed = try String(contentsOf: TestSupport.firmwareSpec("vectors/frames.json"), encoding: .utf8)
        #expect(run.output == committed, "run `make vectors` after changing firmware-specs/tools/ldp.py")
    }
}
