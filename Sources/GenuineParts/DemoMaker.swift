import Crypto
import LockProtocol

/// The simulator's demo maker (docs/simulator.md): a root, an intermediate and a key per part, all
/// derived from public texts (the same as firmware-specs/tools/ldp.py), so the golden vectors and
/// the simulated locks agree. Anyone can sign with these keys: a station trusts `root` only when
/// told to (`lockdiagd --simulate`, tests), never by default.
public enum DemoMaker {
    public static let makerID: UInt16 = 1
    /// 2026-01-01 and 2036-01-01, 00:00 UTC.
    public static let notBeforeSeconds: UInt32 = 1_767_225_600
    public static let notAfterSeconds: UInt32 = 2_082_758_400

    public static var rootKey: Curve25519.Signing.PrivateKey { key(from: "lockdiag demo maker root - never trust in production") }
    public static var intermediateKey: Curve25519.Signing.PrivateKey { key(from: "lockdiag demo maker intermediate") }

    /// The demo root as a station would trust it.
    public static var root: TrustedRoot {
        TrustedRoot(makerID: makerID, maker: "lockdiag demo maker (simulator only)",
                    publicKey: Array(rootKey.publicKey.rawRepresentation), origin: "demo maker root (simulator only)")
    }

    /// An Ed25519 key whose 32-byte seed is SHA-256 of `text`.
    public static func key(from text: String) -> Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: Array(SHA256.hash(data: Array(text.utf8))))
    }

    /// A demo part's key, derived from its serial.
    public static func partKey(serial: String) -> Curve25519.Signing.PrivateKey { key(from: "lockdiag demo part " + serial) }

    /// A certificate for `subject`, signed by `issuer`.
    public static func issue(kind: PartKind, serial: String, subject: Curve25519.Signing.PublicKey,
                             issuer: Curve25519.Signing.PrivateKey, makerID: UInt16 = makerID,
                             notBeforeSeconds: UInt32 = notBeforeSeconds, notAfterSeconds: UInt32 = notAfterSeconds) -> [UInt8] {
        var certificate = PartCertificate(kind: kind, makerID: makerID, notBeforeSeconds: notBeforeSeconds, notAfterSeconds: notAfterSeconds,
                                          issuerKeyID: PartKeys.keyID(Array(issuer.publicKey.rawRepresentation)),
                                          publicKey: Array(subject.rawRepresentation), serial: serial)
        certificate.signature = Array(try! issuer.signature(for: certificate.signedBytes))
        return certificate.encoded
    }

    /// The demo intermediate's certificate, signed by the root.
    public static let intermediateCertificate = issue(kind: .intermediate, serial: "DEMO-CA-1", subject: intermediateKey.publicKey, issuer: rootKey)

    /// A genuine demo part's chain: its certificate from the intermediate, then the intermediate's.
    public static func chain(kind: PartKind, serial: String) -> [[UInt8]] {
        [issue(kind: kind, serial: serial, subject: partKey(serial: serial).publicKey, issuer: intermediateKey), intermediateCertificate]
    }

    /// A part's signature over a PROVE_PART challenge (§6.11).
    public static func prove(kind: PartKind, partSerial: String, lockSerial: String, challenge: [UInt8],
                             key: Curve25519.Signing.PrivateKey) -> [UInt8] {
        Array(try! key.signature(for: PartProof.signedMessage(kind: kind, partSerial: partSerial, lockSerial: lockSerial, challenge: challenge)))
    }
}
