import Foundation
import LockDiagAPI
import LockDiagTestSupport
import Reports
import Testing

/// The `parts` section of signed reports (Sources/Reports/ReportParts.swift).
@Suite struct ReportPartsTests {
    let dir: TemporaryDirectory
    let key: StationKey

    init() throws {
        dir = try TemporaryDirectory(prefix: "parts")
        key = try StationKey.create(path: dir.path + "/station.key")
    }

    static let checked = PartsResult(device: "LX3-1", checkedAt: "2026-12-05T09:00:00.000Z", parts: [
        PartStatus(kind: "fingerprint_module", serial: "FPM-1", verdict: "counterfeit", evidence: "its certificate is self-signed"),
        PartStatus(kind: "battery_pack", serial: "BAT-1", verdict: "genuine", evidence: "ok", validUntil: "2036-01-01", root: "LX"),
    ])

    @Test func aReportListsEachPartAndFailsWhenAVerdictIsAltered() throws {
        defer { dir.remove() }
        var report = sampleReport(fingerprint: key.publicKey.fingerprint)
        report.parts = ReportParts(Self.checked, notCheckedBecause: "-")
        #expect(report.parts?.result == "not_genuine")
        let signed = try ReportSigner.sign(report, with: key)
        let file = try ReportSigner.fileBytes(signed)
        #expect(ReportVerifier.verify(fileBytes: file).valid)
        let page = try ReportHTML.render(signed)
        #expect(page.contains("<section id=\"parts\"><h2>Genuine parts</h2>"))
        #expect(page.contains("<span class=\"badge fail\">counterfeit</span>"))
        #expect(ReportVerifier.verify(fileBytes: Array(page.utf8)).valid)
        // Turning the counterfeit into a genuine part breaks the signature.
        let altered = String(decoding: file, as: UTF8.self).replacingOccurrences(of: "\"counterfeit\"", with: "\"genuine\"")
        #expect(altered != String(decoding: file, as: UTF8.self))
        #expect(!ReportVerifier.verify(fileBytes: Array(altered.utf8)).valid)
    }

    @Test func aReportWithoutPartsKeepsItsOldShape() throws {
        defer { dir.remove() }
        let report = sampleReport(fingerprint: key.publicKey.fingerprint)
        let file = String(decoding: try ReportSigner.fileBytes(try ReportSigner.sign(report, with: key)), as: UTF8.self)
        #expect(!file.contains("\"parts\""), "a report made before parts were checked must keep verifying")
    }

    @Test func aLockNeverCheckedSaysWhy() {
        let section = ReportParts(nil, notCheckedBecause: "the lock is not connected to this station")
        #expect(section.result == "not_checked")
        #expect(section.htmlSection(device: "x").contains("Not checked: the lock is not connected to this station"))
    }
}
