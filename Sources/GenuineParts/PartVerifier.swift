import Crypto
import LockDiagAPI
import LockProtocol

/// What a station concludes about one part (ldp-v1.md §6.9.2).
public enum PartVerdict: String, Sendable, CaseIterable {
    case genuine
    case counterfeit
    case expired
    case wrongSerial = "wrong_serial"
    case replayed
    case unverified

    /// The catalog fault a failing verdict raises: unverified when nothing is known, counterfeit
    /// for the rest.
    public var faultCode: UInt16? {
        switch self {
        case .genuine: nil
        case .unverified: FaultCode.unverifiedPart
        case .counterfeit, .expired, .wrongSerial, .replayed: FaultCode.counterfeitPart
        }
    }
}

/// One part's verdict and the evidence behind it.
public struct PartCheck: Sendable, Equatable {
    public var kind: PartKind
    public var serial: String
    public var verdict: PartVerdict
    /// Why, in words a technician can quote.
    public var evidence: String
    /// The leaf certificate's validity end, when it could be read.
    public var notAfterSeconds: UInt32?
    /// The maker root the chain ended at, when trusted.
    public var root: String?

    public init(kind: PartKind, serial: String, verdict: PartVerdict, evidence: String, notAfterSeconds: UInt32? = nil, root: String? = nil) {
        self.kind = kind
        self.serial = serial
        self.verdict = verdict
        self.evidence = evidence
        self.notAfterSeconds = notAfterSeconds
        self.root = root
    }
}

/// How a part answered PROVE_PART.
public enum ProofAnswer: Sendable {
    case answered(PartProof)
    /// NAK, timeout or the link went away: what happened, in words.
    case noAnswer(String)
}

/// Checks a listed part's certificate chain and its answer to a fresh challenge against the
/// trusted roots (§6.9.2), first failure wins.
public struct PartVerifier: Sendable {
    public let trust: TrustStore

    public init(trust: TrustStore) { self.trust = trust }

    /// The chain's verdict: `.success` with the leaf when it is trusted, in date and for the
    /// listed part; otherwise the failing check.
    public func checkChain(_ part: ListedPart, lockMakerID: UInt16, nowSeconds: Int64) -> Result<PartCertificate, PartCheckFailure> {
        func fail(_ verdict: PartVerdict, _ evidence: String, _ leaf: PartCertificate? = nil) -> Result<PartCertificate, PartCheckFailure> {
            .failure(PartCheckFailure(check: PartCheck(kind: part.kind, serial: part.serial, verdict: verdict, evidence: evidence,
                                                       notAfterSeconds: leaf?.notAfterSeconds)))
        }
        guard let leafBytes = part.certificates.first else { return fail(.counterfeit, "the part has no certificate") }
        let leaf: PartCertificate
        do { leaf = try PartCertificate(bytes: leafBytes) } catch { return fail(.counterfeit, "its certificate is malformed: \(error)") }
        var chain = [leaf]
        var signer = leaf.issuerKeyID
        if part.certificates.count > 1 {
            let intermediate: PartCertificate
            do { intermediate = try PartCertificate(bytes: part.certificates[1]) } catch {
                return fail(.counterfeit, "its issuer's certificate is malformed: \(error)", leaf)
            }
            guard intermediate.kind == .intermediate else {
                return fail(.counterfeit, "its certificate was signed by a \(intermediate.kind.title), not a maker's issuing key", leaf)
            }
            guard leaf.issuerKeyID == PartKeys.keyID(intermediate.publicKey) else {
                return fail(.counterfeit, "its certificate names issuer \(PartKeys.hex(leaf.issuerKeyID)), not the intermediate sent with it", leaf)
            }
            guard Self.verify(leaf.signature, over: leaf.signedBytes, key: intermediate.publicKey) else {
                return fail(.counterfeit, "its certificate's signature does not verify with the intermediate \(intermediate.serial)", leaf)
            }
            chain.append(intermediate)
            signer = intermediate.issuerKeyID
        }
        let top = chain[chain.count - 1]
        guard let root = trust.root(keyID: signer) else {
            if signer == PartKeys.keyID(top.publicKey) {
                return fail(.counterfeit, "its certificate is self-signed (key \(PartKeys.hex(signer))): no maker root vouches for it", leaf)
            }
            return fail(.counterfeit, "its certificate chains to key \(PartKeys.hex(signer)), which is not a trusted maker root", leaf)
        }
        guard Self.verify(top.signature, over: top.signedBytes, key: root.publicKey) else {
            return fail(.counterfeit, "the signature of \(root.maker)'s root on its certificate does not verify (forged or altered)", leaf)
        }
        guard root.makerID == lockMakerID else {
            return fail(.counterfeit, "its certificate chains to another maker's root (\(root.maker), maker \(root.makerID)); this lock's maker is \(lockMakerID)", leaf)
        }
        if let foreign = chain.first(where: { $0.makerID != lockMakerID }) {
            return fail(.counterfeit, "a certificate in its chain is for maker \(foreign.makerID), not this lock's maker \(lockMakerID)", leaf)
        }
        guard leaf.kind == part.kind else {
            return fail(.counterfeit, "its certificate is for a \(leaf.kind.title), but it is fitted as the \(part.kind.title)", leaf)
        }
        for certificate in chain where nowSeconds < Int64(certificate.notBeforeSeconds) || nowSeconds > Int64(certificate.notAfterSeconds) {
            let which = certificate == leaf ? "its certificate" : "its issuer's certificate (\(certificate.serial))"
            let range = "\(Self.date(certificate.notBeforeSeconds)) to \(Self.date(certificate.notAfterSeconds))"
            return fail(.expired, nowSeconds > Int64(certificate.notAfterSeconds)
                        ? "\(which) expired: valid \(range), checked \(Self.date(nowSeconds))"
                        : "\(which) is not valid yet: valid \(range), checked \(Self.date(nowSeconds)) (check the station's clock)", leaf)
        }
        guard leaf.serial == part.serial else {
            return fail(.wrongSerial, "its certificate was issued for serial \(leaf.serial), but the lock reads \(part.serial) from the part", leaf)
        }
        return .success(leaf)
    }

    /// The whole check: the chain, then the answer to `challenge` (§6.9.2).
    public func check(_ part: ListedPart, lockMakerID: UInt16, lockSerial: String, challenge: [UInt8], answer: ProofAnswer,
                      nowSeconds: Int64) -> PartCheck {
        let leaf: PartCertificate
        switch checkChain(part, lockMakerID: lockMakerID, nowSeconds: nowSeconds) {
        case .failure(let failure): return failure.check
        case .success(let certificate): leaf = certificate
        }
        let rootName = trust.root(keyID: part.certificates.count > 1
                                  ? ((try? PartCertificate(bytes: part.certificates[1]))?.issuerKeyID ?? []) : leaf.issuerKeyID)?.maker
        func verdict(_ v: PartVerdict, _ evidence: String) -> PartCheck {
            PartCheck(kind: part.kind, serial: part.serial, verdict: v, evidence: evidence, notAfterSeconds: leaf.notAfterSeconds, root: rootName)
        }
        let proof: PartProof
        switch answer {
        case .noAnswer(let why): return verdict(.unverified, "its certificate is in order, but it did not answer the challenge: \(why)")
        case .answered(let p): proof = p
        }
        guard proof.partSerial == part.serial else {
            return verdict(.wrongSerial, "it answered the challenge as serial \(proof.partSerial), but the lock reads \(part.serial) from the part")
        }
        let message = PartProof.signedMessage(kind: part.kind, partSerial: part.serial, lockSerial: lockSerial, challenge: challenge)
        if Self.verify(proof.signature, over: message, key: leaf.publicKey) {
            return verdict(.genuine, "certificate from \(rootName ?? "a trusted root"), valid until \(Self.date(leaf.notAfterSeconds)); signed a fresh challenge")
        }
        if proof.challenge != challenge {
            let old = PartProof.signedMessage(kind: part.kind, partSerial: part.serial, lockSerial: lockSerial, challenge: proof.challenge)
            if Self.verify(proof.signature, over: old, key: leaf.publicKey) {
                return verdict(.replayed, "its answer is a valid signature over an old challenge (\(PartKeys.hex(Array(proof.challenge.prefix(8))))…), not the one just sent: a recorded answer played back")
            }
        }
        return verdict(.counterfeit, "its answer to the challenge does not verify with its certificate's key: the part does not hold the certified key")
    }

    static func verify(_ signature: [UInt8], over message: [UInt8], key: [UInt8]) -> Bool {
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else { return false }
        return publicKey.isValidSignature(signature, for: message)
    }

    /// `2026-01-01` (UTC).
    static func date(_ seconds: some BinaryInteger) -> String { String(APITime.format(milliseconds: Int64(seconds) * 1000).prefix(10)) }
}

/// A failed chain check, as an Error so it can ride in a Result.
public struct PartCheckFailure: Error, Sendable {
    public let check: PartCheck
}
