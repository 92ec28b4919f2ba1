import Foundation
import LockDiagTestSupport
import Reports
import Testing

/// docs/reports.md "Commissioning certificates": a committed certificate page keeps verifying
/// byte for byte, so a change to CommissioningHTML that alters pages needs a new renderer
/// version; and an edit to what a person sees on it is INVALID.
@Suite struct CertificatePageTests {
    static let fixture = TestSupport.repositoryRoot.path + "/Tests/ReportFixtures/certificate-"
        + CommissioningHTML.version.replacingOccurrences(of: "/", with: "-") + ".html"

    @Test func theCommittedCertificatePageStillVerifies() throws {
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: Self.fixture), "no fixture for \(CommissioningHTML.version)"))
        let verification = ReportVerifier.verify(fileBytes: bytes)
        #expect(verification.valid, "\(verification.reason) — a renderer change that alters pages needs a new version")
        let certificate = try #require(verification.certificate)
        #expect(certificate.htmlRenderer == CommissioningHTML.version && certificate.verdict == .fail)
        #expect(certificate.steps.contains { $0.faults.contains("strike_misaligned") })
    }

    @Test(arguments: [("<h2>Not commissioned</h2>", "<h2>Commissioned</h2>"), ("<td>fail</td>", "<td>pass</td>"), (" points=\"", " points=\"1.0,1.0 ")])
    func anEditToWhatAPersonSeesIsInvalid(old: String, new: String) throws {
        let page = try String(contentsOfFile: Self.fixture, encoding: .utf8)
        let range = try #require(page.range(of: old), "\(old) not on the page")
        let edited = page.replacingCharacters(in: range, with: new)
        let verification = ReportVerifier.verify(fileBytes: Array(edited.utf8))
        #expect(!verification.valid && verification.difference != nil, "\(verification.reason)")
    }
}
