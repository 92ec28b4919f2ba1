import Foundation
import LockDiagTestSupport
import LockJSON
import Reports
import Testing

/// `lockdiag verify page.html` checks what a person sees: the page is rendered again from its
/// signed report and must be the same, byte for byte.
@Suite struct ReportPageTests {
    let dir: TemporaryDirectory
    let key: StationKey
    let page: String

    init() throws {
        dir = try TemporaryDirectory(prefix: "page")
        key = try StationKey.create(path: dir.path + "/station.key")
        page = try ReportHTML.render(try ReportSigner.sign(sampleReport(fingerprint: key.publicKey.fingerprint), with: key))
    }

    /// `page` with its first `old` replaced by `new` (which must be there).
    func edit(_ old: String, _ new: String) throws -> String {
        let range = try #require(page.range(of: old), "no \(old) in the page")
        return page.replacingCharacters(in: range, with: new)
    }

    @Test func theUntouchedPageIsValid() {
        defer { dir.remove() }
        #expect(ReportVerifier.verify(fileBytes: Array(page.utf8)).valid)
    }

    @Test(arguments: [
        ("the verdict heading", "<h2>Fault found</h2>", "<h2>No fault found — lock healthy</h2>"),
        ("a table cell", "<td>1526</td>", "<td>126</td>"),
        ("a point of the motor-current plot", " points=\"", " points=\"64.0,200.0 "),
        ("an added script", "</header>", "</header><script>document.title='ok'</script>"),
        ("an added space", "<h2>Faults</h2>", "<h2>Faults</h2> "),
        ("a removed newline", "</header>\n", "</header>"),
    ])
    func anEditToWhatAPersonSeesIsInvalid(_ what: String, _ old: String, _ new: String) throws {
        defer { dir.remove() }
        let edited = try edit(old, new)
        #expect(edited != page)
        let verification = ReportVerifier.verify(fileBytes: Array(edited.utf8))
        let valid = verification.valid
        #expect(!valid, "\(what): still valid")
        // It says where: the first differing byte, its line, and both texts there.
        let difference = try #require(verification.difference, "\(what): \(verification.reason)")
        let offset = page.utf8.distance(from: page.startIndex, to: try #require(page.range(of: old)).lowerBound)
        #expect(difference.offset >= offset && difference.offset <= offset + old.utf8.count + new.utf8.count, "\(what): \(difference)")
        #expect(difference.line == page.utf8.prefix(difference.offset).count { $0 == 0x0A } + 1)
        #expect(difference.found != difference.expected)
        #expect(verification.reason.contains("line \(difference.line), column \(difference.column) (byte \(difference.offset))"))
    }

    @Test func theHeadingEditIsShownWithBothTexts() throws {
        defer { dir.remove() }
        let verification = ReportVerifier.verify(fileBytes: Array(try edit("<h2>Fault found</h2>", "<h2>No fault found — lock healthy</h2>").utf8))
        let difference = try #require(verification.difference)
        #expect(difference.found.contains("<h2>No fault"), "\(difference)")
        #expect(difference.expected.contains("<h2>Fault found</h2>"), "\(difference)")
    }

    /// The renderer's version is signed; a page of a version this lockdiag does not render, or of
    /// a report that names none, is not vouched for.
    @Test func aPageOfAnUnknownOrMissingRendererIsInvalid() throws {
        defer { dir.remove() }
        for renderer in ["lockdiag-html/99", nil] {
            var report = sampleReport(fingerprint: key.publicKey.fingerprint)
            report.htmlRenderer = renderer
            let signed = try ReportSigner.sign(report, with: key)
            #expect(throws: ReportPageError.self) { try ReportHTML.render(signed) }
            // The same page as this renderer would make it, claiming the other version.
            var current = signed
            current.report.htmlRenderer = ReportHTML.version
            let page = try ReportHTML.render(current).replacingOccurrences(
                of: String(decoding: try CanonicalJSON.bytes(of: current), as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c"),
                with: String(decoding: try CanonicalJSON.bytes(of: signed), as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c"))
            let verification = ReportVerifier.verify(fileBytes: Array(page.utf8))
            let valid = verification.valid
            #expect(!valid)
            #expect(verification.reason.contains(renderer == nil ? "names no html_renderer" : "newer lockdiag"), "\(verification.reason)")
            // Its JSON file still verifies: the renderer is about the page only.
            #expect(ReportVerifier.verify(fileBytes: try ReportSigner.fileBytes(signed)).valid)
        }
    }

    /// Pages made by earlier builds keep verifying: the renderer of each version is kept exact.
    @Test func everyCommittedPageOfAKnownRendererStillVerifies() throws {
        defer { dir.remove() }
        let folder = TestSupport.repositoryRoot.path + "/Tests/ReportFixtures"
        for version in ReportHTML.versions {
            let name = "page-" + version.replacingOccurrences(of: "/", with: "-") + ".html"
            let bytes = [UInt8](try #require(FileManager.default.contents(atPath: folder + "/" + name), "no fixture \(name) for \(version)"))
            let verification = ReportVerifier.verify(fileBytes: bytes)
            #expect(verification.valid, "\(name): \(verification.reason) — a renderer change that alters pages needs a new version")
            #expect(verification.report?.htmlRenderer == version)
        }
    }
}
