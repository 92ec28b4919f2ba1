import Foundation
import LockDiagTestSupport
import LockJSON
import Reports
import Testing

/// The signed bytes as other tools make them: ECMAScript itself (Node.js) for RFC 8785's
/// numbers, and the Python recipe of docs/reports.md, run as the docs print it.
@Suite struct IndependentCheckTests {
    /// RFC 8785 §3.2.2.3 writes every number as ECMAScript writes the IEEE double it reads as;
    /// Node's JSON.stringify is that very algorithm (ECMA-262 Number::toString).
    @Test func numbersAreWrittenAsECMAScriptWritesThem() throws {
        let numbers = "[0,-0,1,-1,2.5,1480,9007199254740991,9007199254740992,9007199254740993,-9007199254740993,"
            + "9223372036854775807,-9223372036854775808,12345678901234567890,1e16,1e21,1e-7,0.000001,333333333.33333329,5e-324,"
            + "1.7976931348623157e308,123456789012345680000,4.5e15,0.1]"
        let script = "process.stdout.write(JSON.stringify(JSON.parse(require('fs').readFileSync(0, 'utf8'))))"
        let node = try runTool("/usr/bin/node", ["-e", script], input: numbers)
        try #require(node.status == 0, "\(node.err)")
        #expect(CanonicalJSON.string(try JSONValue(parsingForCanonicalForm: numbers)) == node.out)
    }

    /// The Python block under "Independent check" in docs/reports.md, reading `file`.
    static func docsRecipe(reading file: String) throws -> String {
        let docs = try String(contentsOfFile: TestSupport.repositoryRoot.path + "/docs/reports.md", encoding: .utf8)
        let section = try #require(docs.range(of: "Independent check"))
        let start = try #require(docs.range(of: "```python\n", range: section.upperBound..<docs.endIndex))
        let end = try #require(docs.range(of: "```", range: start.upperBound..<docs.endIndex))
        let recipe = String(docs[start.upperBound..<end.lowerBound])
        #expect(recipe.contains("\"report.json\""))
        return recipe.replacingOccurrences(of: "\"report.json\"", with: "\"\(file)\"")
    }

    @Test func theDocsPythonCheckAndLockdiagAgreeOnEveryReport() throws {
        let dir = try TemporaryDirectory(prefix: "indep")
        defer { dir.remove() }
        let key = try StationKey.create(path: dir.path + "/station.key")
        func python(_ bytes: [UInt8]) throws -> Bool {
            let file = dir.path + "/report.json"
            _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
            return try runTool("/usr/bin/python3", ["-c", try Self.docsRecipe(reading: file)]).status == 0
        }

        // A genuine report: both say valid.
        let genuine = try ReportSigner.fileBytes(try ReportSigner.sign(sampleReport(fingerprint: key.publicKey.fingerprint), with: key))
        #expect(try python(genuine))
        #expect(ReportVerifier.verify(fileBytes: genuine).valid)
        // Changed: both say invalid.
        let text = String(decoding: genuine, as: UTF8.self)
        let changed = Array(text.replacingOccurrences(of: "\"peak_current_ma\":1480", with: "\"peak_current_ma\":1080").utf8)
        #expect(try !python(changed))
        #expect(!ReportVerifier.verify(fileBytes: changed).valid)

        // An integer beyond 2^53: lockdiag will not sign it…
        var report = sampleReport(fingerprint: key.publicKey.fingerprint)
        report.faultHistory[0].id = 9_007_199_254_740_993
        #expect(throws: ReportSigningError.self) { try ReportSigner.sign(report, with: key) }
        // …and a report someone else signed with it — over the RFC 8785 bytes (where it reads
        // as 9007199254740992) or over the exact integer — is refused by both.
        let node = try JSONValue(encoding: report)
        let exact = Array(CanonicalJSON.string(node).replacingOccurrences(of: "\"id\":9007199254740992", with: "\"id\":9007199254740993").utf8)
        #expect(exact != CanonicalJSON.bytes(node))
        for message in [CanonicalJSON.bytes(node), exact] {
            let signature = ReportSignature(algorithm: ReportSigner.algorithm, canonicalization: ReportSigner.canonicalization,
                                            publicKey: key.publicKey.base64, keyFingerprint: key.publicKey.fingerprint,
                                            value: Data(try key.sign(message)).base64EncodedString())
            let file = Array("{\"report\":".utf8) + exact + Array(",\"signature\":".utf8) + (try CanonicalJSON.bytes(of: signature)) + [0x7D, 0x0A]
            let verification = ReportVerifier.verify(fileBytes: file)
            let valid = verification.valid
            #expect(!valid, "\(verification.reason)")
            #expect(verification.reason.contains("9007199254740993 at report.fault_history[0].id"), "\(verification.reason)")
            #expect(try !python(file))
        }
    }
}
