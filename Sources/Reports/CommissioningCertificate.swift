import Foundation
import LockDiagAPI
import LockJSON

/// The signed record of an installation commissioning run (docs/reports.md "Commissioning
/// certificates"): each step's measurements against the model's limits, the door-open and
/// door-closed motor-current traces, and the verdict. Signed and verified like a report.
public struct CommissioningCertificate: Codable, Sendable, Equatable {
    /// `lockdiag-commissioning/1`.
    public var format: String
    public var certificateID: String
    public var createdAt: String
    public var station: ReportStation
    public var device: ReportDevice
    /// `pass` when every step passed, else `fail`.
    public var verdict: CommissionVerdict
    /// One line: what failed, or that all passed.
    public var summary: String
    /// The limits entry used (the lock's model, or `default`) and its limits.
    public var limitsModel: String
    public var limits: JSONValue
    public var steps: [CommissionStepResult]
    /// The genuine-part check at the end of the run (ReportParts.swift), the same section a
    /// diagnostic report has; absent in certificates made before parts were checked.
    public var parts: ReportParts?
    /// The page renderer (`CommissioningHTML.version`) whose page shows this certificate.
    public var htmlRenderer: String

    public static let formatName = "lockdiag-commissioning/1"

    enum CodingKeys: String, CodingKey {
        case format, station, device, verdict, summary, limits, steps, parts
        case certificateID = "certificate_id"
        case createdAt = "created_at"
        case limitsModel = "limits_model"
        case htmlRenderer = "html_renderer"
    }

    public init(certificateID: String, createdAt: String, station: ReportStation, device: ReportDevice, limitsModel: String,
                limits: JSONValue, steps: [CommissionStepResult], parts: ReportParts? = nil) {
        format = Self.formatName
        self.certificateID = certificateID
        self.createdAt = createdAt
        self.station = station
        self.device = device
        let failed = steps.filter { $0.verdict == .fail }
        verdict = failed.isEmpty ? .pass : .fail
        let faults = Array(Set(failed.flatMap(\.faults))).sorted()
        summary = failed.isEmpty
            ? "all \(steps.count) steps passed"
            : "\(failed.map(\.step).joined(separator: ", ")) failed" + (faults.isEmpty ? "" : " (\(faults.joined(separator: ", ")))")
        self.limitsModel = limitsModel
        self.limits = limits
        self.steps = steps
        self.parts = parts
        htmlRenderer = CommissioningHTML.version
    }
}

/// A certificate with its signature: the file `lockdiag commission -o` writes.
public struct SignedCommissioningCertificate: Codable, Sendable, Equatable {
    public var report: CommissioningCertificate
    public var signature: ReportSignature

    public init(report: CommissioningCertificate, signature: ReportSignature) {
        self.report = report
        self.signature = signature
    }
}

extension ReportSigner {
    /// Signs a commissioning certificate exactly as a report: Ed25519 over its canonical JSON.
    public static func sign(_ certificate: CommissioningCertificate, with key: StationKey) throws -> SignedCommissioningCertificate {
        let signature = try signature(of: JSONValue(encoding: certificate), with: key)
        return SignedCommissioningCertificate(report: certificate, signature: signature)
    }

    /// The certificate file's bytes: canonical, one line.
    public static func fileBytes(_ signed: SignedCommissioningCertificate) throws -> [UInt8] {
        try CanonicalJSON.bytes(of: signed) + [0x0A]
    }
}
