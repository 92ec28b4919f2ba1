import Crypto
import GenuineParts
import LockProtocol

/// The simulated lock's accessories (ldp-v1.md §6.9): a fingerprint module, a battery pack and a
/// motor unit, each with a key and a certificate from the demo maker (GenuineParts.DemoMaker),
/// derived from the lock's serial so every run is the same. Scenarios fit a counterfeit
/// fingerprint module (self-signed certificate) or a battery pack whose certificate names another
/// pack's serial.
struct SimulatedParts {
    struct Part {
        let kind: PartKind
        /// What the controller reads from the part over its bus.
        let serial: String
        let certificates: [[UInt8]]
        /// The key the part signs with, and the serial it says it is.
        let key: Curve25519.Signing.PrivateKey
        let signsAs: String
    }

    let parts: [Part]

    init(lockSerial: String, scenario: Scenario) {
        func serial(_ prefix: String) -> String { String((prefix + lockSerial).utf8.prefix(32))! }
        var parts = [(PartKind.fingerprintModule, serial("FPM-")), (.batteryPack, serial("BAT-")), (.motorUnit, serial("MOT-"))].map { kind, serial in
            Part(kind: kind, serial: serial, certificates: DemoMaker.chain(kind: kind, serial: serial),
                 key: DemoMaker.partKey(serial: serial), signsAs: serial)
        }
        switch scenario {
        case .counterfeitFingerprint:
            // A clone: its own key, a certificate it signed itself, a plausible serial.
            let fake = parts[0]
            let key = DemoMaker.key(from: "counterfeit fingerprint module " + fake.serial)
            parts[0] = Part(kind: fake.kind, serial: fake.serial,
                            certificates: [DemoMaker.issue(kind: fake.kind, serial: fake.serial, subject: key.publicKey, issuer: key)],
                            key: key, signsAs: fake.serial)
        case .wrongSerialPart:
            // A genuine pack's certificate and key, on a pack whose bus serial is another.
            let pack = parts[1]
            let other = serial("BAT-X")
            parts[1] = Part(kind: pack.kind, serial: pack.serial, certificates: DemoMaker.chain(kind: pack.kind, serial: other),
                            key: DemoMaker.partKey(serial: other), signsAs: other)
        default:
            break
        }
        self.parts = parts
    }

    /// LIST_PARTS (§6.10).
    func listing(index: UInt8) -> PartListing {
        let part = Int(index) < parts.count ? parts[Int(index)] : nil
        return PartListing(count: UInt8(parts.count), index: index, makerID: DemoMaker.makerID,
                           part: part.map { ListedPart(kind: $0.kind, serial: $0.serial, certificates: $0.certificates) })
    }

    /// PROVE_PART (§6.11): an index not fitted is NOT_AVAILABLE.
    func prove(_ request: PartChallenge, lockSerial: String) -> Result<PartProof, NakCode> {
        guard Int(request.index) < parts.count else { return .failure(.notAvailable) }
        let part = parts[Int(request.index)]
        return .success(PartProof(index: request.index, partSerial: part.signsAs, challenge: request.challenge,
                                  signature: DemoMaker.prove(kind: part.kind, partSerial: part.signsAs, lockSerial: lockSerial,
                                                             challenge: request.challenge, key: part.key)))
    }
}
