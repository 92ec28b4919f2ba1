import Crypto
import Foundation
import LockJSON

/// Signs reports with the station key and verifies report files, with no daemon involved.
public enum ReportSigner {
    public static let algorithm = "Ed25519"
    public static let canonicalization = "JCS (RFC 8785)"

    /// Signs `report`: Ed25519 over the canonical JSON bytes of the report object. A report
    /// holding a number that JSON tools write differently is refused, since other verifiers
    /// would not find the signed bytes (`CanonicalJSON.unportableNumber`).
    public static func sign(_ report: DiagnosticReport, with key: StationKey) throws -> SignedReport {
        SignedReport(report: report, signature: try signature(of: JSONValue(encoding: report), with: key))
    }

    /// The signature block over a signed document's `report` object (a report or a certificate).
    static func signature(of node: JSONValue, with key: StationKey) throws -> ReportSignature {
        if let number = CanonicalJSON.unportableNumber(in: node, at: "report") { throw ReportSigningError.unportableNumber(number) }
        let message = CanonicalJSON.bytes(node)
        let signature = try key.sign(message)
        let publicKey = key.publicKey
        return ReportSignature(algorithm: algorithm, canonicalization: canonicalization, publicKey: publicKey.base64,
                               keyFingerprint: publicKey.fingerprint, value: Data(signature).base64EncodedString())
    }

    /// The report file's bytes: the whole signed report in canonical form, one line, so every
    /// byte of it is covered by the signature or by the checks of the signature block.
    public static func fileBytes(_ signed: SignedReport) throws -> [UInt8] {
        try CanonicalJSON.bytes(of: signed) + [0x0A]
    }
}

/// Why a report cannot be signed.
public enum ReportSigningError: Error, Sendable, Equatable, CustomStringConvertible {
    case unportableNumber(String)

    public var description: String {
        switch self {
        case .unportableNumber(let number):
            "the report holds the number \(number), which RFC 8785 and other JSON tools write differently (beyond 2^53, or below 1e-4) "
                + "— report it as a bug: a report must not carry such numbers"
        }
    }
}

/// The outcome of checking a report file.
public struct Verification: Sendable, Equatable {
    /// What a check can prove (docs/reports.md, "What a verdict proves").
    public enum Verdict: String, Sendable {
        /// The signature is valid and made with a trusted station key: that station made this
        /// report (and page), and nothing in it changed since.
        case trusted
        /// The signature is valid, but made with a key that is not trusted: nothing changed since
        /// it was signed, but anyone can make a key, so it says nothing about who made it.
        case unknownKey = "unknown-key"
        /// Not a signed report, changed since it was signed, or a page that is not the one its
        /// signed report renders to.
        case invalid
    }

    public var verdict: Verdict
    /// Why it is invalid, or what the verdict covers.
    public var reason: String
    /// The signing key's fingerprint, when the signature block could be read.
    public var fingerprint: String?
    /// The trusted station's name, for a `trusted` verdict.
    public var station: String?
    /// The report, when it could be decoded.
    public var report: DiagnosticReport?
    /// For a page: where it differs from the page its signed report renders to.
    public var difference: PageDifference?
    /// The commissioning certificate, when the file holds one and it could be decoded.
    public var certificate: CommissioningCertificate? = nil

    /// The signature is valid and the content is as signed, whoever signed it.
    public var valid: Bool { verdict != .invalid }
    public var trusted: Bool { verdict == .trusted }

    static func invalid(_ reason: String, fingerprint: String? = nil, difference: PageDifference? = nil) -> Verification {
        Verification(verdict: .invalid, reason: reason, fingerprint: fingerprint, station: nil, report: nil, difference: difference)
    }
}

/// Checks report files: the `.json` that `lockdiag report -o` writes, or the `.html` page, which
/// carries the same signed JSON in a `<script type="application/json">` element and must be,
/// byte for byte, the page that signed JSON renders to.
public enum ReportVerifier {
    /// Verifies the bytes of a report file; a valid signature is `trusted` only when its key is
    /// one of `trusted`.
    public static func verify(fileBytes bytes: [UInt8], trusted: TrustedKeys = .none) -> Verification {
        let embedded = ReportHTML.embeddedJSON(in: bytes)
        let json = embedded ?? bytes
        let node: JSONValue
        do { node = try JSONValue(parsingForCanonicalForm: json) } catch {
            return .invalid("the file is not a report: \(error)")
        }
        guard case .object(let top) = node else { return .invalid("the file is not a report: the top level is not an object") }
        let extra = Set(top.keys).subtracting(["report", "signature"])
        guard extra.isEmpty else { return .invalid("unsigned members next to the report: \(extra.sorted().joined(separator: ", "))") }
        guard let reportNode = top["report"], case .object = reportNode else { return .invalid("no \"report\" object") }
        guard let sig = top["signature"], case .object(let sigMembers) = sig else { return .invalid("no \"signature\" object: the report is not signed") }
        let known: Set<String> = ["algorithm", "canonicalization", "public_key", "key_fingerprint", "value"]
        let unknown = Set(sigMembers.keys).subtracting(known)
        guard unknown.isEmpty else { return .invalid("unknown members in the signature block: \(unknown.sorted().joined(separator: ", "))") }
        guard sig["algorithm"]?.stringValue == ReportSigner.algorithm else {
            return .invalid("signature algorithm \(sig["algorithm"]?.stringValue ?? "missing"), expected \(ReportSigner.algorithm)")
        }
        guard sig["canonicalization"]?.stringValue == ReportSigner.canonicalization else {
            return .invalid("canonicalization \(sig["canonicalization"]?.stringValue ?? "missing"), expected \(ReportSigner.canonicalization)")
        }
        // Base64 must be the one spelling of its bytes: padding bits that decoders ignore would
        // otherwise let a changed byte pass.
        guard let keyText = sig["public_key"]?.stringValue, let publicKey = PublicKeyText(base64: keyText), publicKey.base64 == keyText,
              let curveKey = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey.raw) else {
            return .invalid("the signature block's public_key is not a 32-byte Ed25519 key in base64")
        }
        let fingerprint = publicKey.fingerprint
        guard sig["key_fingerprint"]?.stringValue == fingerprint else {
            return .invalid("key_fingerprint does not match public_key (\(fingerprint))", fingerprint: fingerprint)
        }
        guard let valueText = sig["value"]?.stringValue, let signature = Data(base64Encoded: valueText), signature.count == 64,
              signature.base64EncodedString() == valueText else {
            return .invalid("the signature value is not 64 bytes in base64", fingerprint: fingerprint)
        }
        let format = reportNode["format"]?.stringValue
        let isCertificate = format == CommissioningCertificate.formatName
        guard format == DiagnosticReport.formatName || isCertificate else {
            return .invalid("report format \(format ?? "missing"), expected \(DiagnosticReport.formatName) or \(CommissioningCertificate.formatName)",
                            fingerprint: fingerprint)
        }
        guard reportNode["station"]?["key_fingerprint"]?.stringValue == fingerprint else {
            return .invalid("the report names another station key than the one that signed it", fingerprint: fingerprint)
        }
        if let number = CanonicalJSON.unportableNumber(in: reportNode, at: "report") {
            return .invalid("the report holds the number \(number), which RFC 8785 and other JSON tools write differently (beyond 2^53, "
                            + "or below 1e-4), so other verifiers would disagree; lockdiag never signs such a number", fingerprint: fingerprint)
        }
        let message = CanonicalJSON.bytes(reportNode)
        guard curveKey.isValidSignature(signature, for: message) else {
            return .invalid("the signature does not match the content: the report was changed after it was signed, or signed by another key",
                            fingerprint: fingerprint)
        }
        let report = isCertificate ? nil : try? reportNode.decode(as: DiagnosticReport.self)
        let certificate = isCertificate ? try? reportNode.decode(as: CommissioningCertificate.self) : nil
        if embedded != nil {
            // What a person sees is the page, not the JSON inside it: the page must be the one
            // the signed report renders to, or anything outside the JSON could have been edited.
            let page: String?
            do {
                page = isCertificate ? try (try? node.decode(as: SignedCommissioningCertificate.self)).map(CommissioningHTML.render)
                    : try (try? node.decode(as: SignedReport.self)).map(ReportHTML.render)
            } catch { return .invalid("\(error)", fingerprint: fingerprint) }
            guard let page else {
                return .invalid("the signed \(isCertificate ? "certificate" : "report") cannot be read by this lockdiag, so its page cannot be checked — "
                                + "check it with a newer lockdiag", fingerprint: fingerprint)
            }
            if let difference = ReportHTML.difference(page: bytes, expected: Array(page.utf8)) {
                return .invalid("\(difference) — the page was changed after it was made, or was not made by lockdiag", fingerprint: fingerprint, difference: difference)
            }
        }
        guard let station = trusted.station(for: fingerprint) else {
            return Verification(verdict: .unknownKey, reason: "the signature is valid, but its key \(fingerprint) is not a trusted station key: "
                                + "nothing was changed since it was signed, but anyone can make a key, so this says nothing about who made it",
                                fingerprint: fingerprint, station: nil, report: report, difference: nil, certificate: certificate)
        }
        return Verification(verdict: .trusted, reason: "signed with a trusted station key: \(station) (\(fingerprint)); nothing was changed since",
                            fingerprint: fingerprint, station: station, report: report, difference: nil, certificate: certificate)
    }
}
