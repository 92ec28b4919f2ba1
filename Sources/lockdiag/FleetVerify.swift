import FleetSync
import Foundation
import LockDiagCLI
import LockJSON
import Reports

/// `lockdiag verify --fleet URL FILE`: the fleet's key register says whether the report's key was enrolled,
/// approved and not revoked when the report was made.
enum FleetVerify {
    /// `verification` of a valid signature, judged by the register instead of local trusted keys (a key revoked in
    /// the fleet stays revoked whatever a local file says); throws when the register cannot be asked.
    ///
    /// Then asks whether the fleet holds the same report (same report id, same SHA-256 of its canonical signed JSON):
    /// a copy that differs makes the verdict UNTRUSTED; no copy (the station has not synced it yet) is only said.
    static func judge(_ verification: Verification, fileBytes: [UInt8], fleet: String) throws(CLIError) -> Verification {
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
        // The file verified, so it parses; its canonical form is the bytes the station kept and sent.
        guard let node = try? JSONValue(parsingForCanonicalForm: ReportHTML.embeddedJSON(in: fileBytes) ?? fileBytes) else { return judged }
        let signedJSON = String(decoding: CanonicalJSON.bytes(node), as: UTF8.self)
        let reportID = report.reportID
        let copies = try withFleet(url) { db throws(FleetError) in try await db.reportCopies(reportID: reportID, signedJSON: signedJSON) }
        if copies.isEmpty {
            judged.reason += "; the fleet holds no copy of this report (not synced yet, or not made by a fleet station)"
        } else if let other = copies.first(where: { !$0.same }) {
            judged.verdict = .unknownKey
            judged.reason += "; the fleet's copy of report \(report.reportID) from station \(other.station) DIFFERS from this file "
                + "(another report under the same id): ask that station's owner"
        } else {
            judged.reason += "; the fleet holds this report, byte for byte (from station \(copies.map(\.station).joined(separator: ", ")))"
        }
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
