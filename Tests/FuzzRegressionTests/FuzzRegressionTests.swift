import Foundation
@testable import LockDiagFuzz
import Reports
import LockDiagTestSupport
import Testing

/// Every input committed under Fuzz/ — the seed corpora and every crash `make fuzz` ever found
/// (Fuzz/regressions/NAME) — replayed through its target on each `swift test`, so a fixed bug
/// stays fixed. The fuzzing itself is `make fuzz`, never part of the tests.
@Suite struct FuzzRegressionTests {
    static let fuzzDirectory = TestSupport.repositoryRoot.appendingPathComponent("Fuzz").path

    @Test(arguments: FuzzTarget.all.map(\.name))
    func committedInputsKeepEveryInvariant(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let files = FuzzCorpus.files(in: [Self.fuzzDirectory + "/corpus/" + name, Self.fuzzDirectory + "/regressions/" + name])
        #expect(!files.isEmpty, "Fuzz/corpus/\(name) holds the target's seeds (regenerate with `make fuzz-seeds`)")
        for path in files {
            let data = try #require(FileManager.default.contents(atPath: path))
            let findings = data.withUnsafeBytes(target.run)
            #expect(findings.isEmpty, "\(path): \(findings.joined(separator: "; "))")
        }
    }

    /// report-verify alters a genuine report: unaltered, it must verify (else every mutation
    /// would be "invalid" and the target would prove nothing).
    @Test func theSampleReportThatReportVerifyAltersIsGenuine() throws {
        let sample = try #require(SignedSample.shared)
        for file in [sample.json, sample.html] {
            let verification = ReportVerifier.verify(fileBytes: file, trusted: .key(sample.publicKey))
            #expect(verification.valid, "\(verification.reason)")
            #expect(verification.report == sample.report)
        }
    }

    @Test func everyTargetHasAnExecutableAndACorpusDirectory() {
        for target in FuzzTarget.all {
            let entry = Self.fuzzDirectory + "/Targets/fuzz-\(target.name)/FuzzEntry.swift"
            #expect(FileManager.default.fileExists(atPath: entry), "missing \(entry)")
            #expect(FileManager.default.fileExists(atPath: Self.fuzzDirectory + "/corpus/" + target.name))
        }
    }
}
