import FleetSync
import Foundation
import LockDiagCLI
import Reports

/// `lockdiag verify --fleet URL FILE`: the fleet's key register says whether the report's key was enrolled,
/// approved and not revoked when the report was made.
enum FleetVerify {
    /// `verification` of a valid signature, judged by the register instead of local trusted keys (a key revoked in
    /// the fleet stays revoked whatever a local file says); throws when the register cannot be asked.
    static func judge(_ verification: Verification, fleet: String) throws(CLIError) -> Verification {
        guard verification.valid, let fingerprint = verification.fingerprint, let report = verification.report else { return verification }
        guard let madeAt = ISO8601DateFormatter.withFractions.date(from: report.createdAt)
                ?? ISO8601DateFormatter().date(from: report.createdAt) else {
            throw CLIError(status: .failure, message: "the report's created_at '\(DisplayText.safe(report.createdAt))' is not an ISO 8601 time")
        }
        let url = try fleetURL(fleet)
        let verdict = try withFleet(url) { db throws(FleetError) in try await db.keyVerdict(fingerprint: fingerprint, madeAt: madeAt) }
        var judged = verification
        judged.station = verdict?.station
        judged.verdict = verdict?.trusted == true ? .trusted : .unknownKey
        judged.reason = verdict.map { "fleet station \($0.station): \($0.detail)" }
            ?? "the key \(fingerprint) is not enrolled in the fleet (\(url))"
        return judged
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
