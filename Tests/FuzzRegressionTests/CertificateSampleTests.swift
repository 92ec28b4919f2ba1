@testable import LockDiagFuzz
import Reports
import Testing

/// report-verify's certificate modes alter a genuine certificate: unaltered, it must verify (else
/// every mutation would be "invalid" and the modes would prove nothing).
@Suite struct CertificateSampleTests {
    @Test func theSampleCertificateThatReportVerifyAltersIsGenuine() throws {
        let sample = try #require(SignedCertificateSample.shared)
        for file in [sample.json, sample.html] {
            let verification = ReportVerifier.verify(fileBytes: file)
            #expect(verification.valid, "\(verification.reason)")
            #expect(verification.certificate == sample.certificate)
        }
    }
}
