import LockDiagAPI
import LockDiagCLI
import Testing

/// `lockdiag parts`' view (Sources/LockDiagCLI/RenderParts.swift).
@Suite struct PartsViewTests {
    static let genuine = PartStatus(kind: "battery_pack", serial: "BAT-1", verdict: "genuine", evidence: "ok", validUntil: "2036-01-01")

    @Test func allGenuineSaysSo() {
        let text = PartsRenderer.render(PartsResult(device: "LX3-1", checkedAt: "2026-12-05T09:00:00.000Z", parts: [Self.genuine]), style: .plain)
        #expect(text.contains("battery pack  BAT-1   genuine  2036-01-01"), "\(text)")
        #expect(text.hasSuffix("All 1 parts are genuine."))
    }

    @Test func aFailingPartShowsItsEvidenceAndWhatToDo() {
        let fake = PartStatus(kind: "fingerprint_module", serial: "FPM-1", verdict: "wrong_serial", evidence: "its certificate was issued for serial FPM-9")
        let text = PartsRenderer.render(PartsResult(device: "LX3-1", checkedAt: "t", parts: [fake, Self.genuine]), style: .plain)
        #expect(text.contains("wrong serial"))
        #expect(text.contains("fingerprint module FPM-1: its certificate was issued for serial FPM-9"))
        #expect(text.contains("Replace each part named above"))
    }

    @Test func aPartThatDidNotAnswerAsksForAReseat() {
        let silent = PartStatus(kind: "motor_unit", serial: "MOT-1", verdict: "unverified", evidence: "no answer in time")
        let text = PartsRenderer.render(PartsResult(device: "LX3-1", checkedAt: "t", parts: [silent]), style: .plain)
        #expect(text.contains("Reseat the named part's connector and run `lockdiag parts LX3-1` again"))
    }
}
