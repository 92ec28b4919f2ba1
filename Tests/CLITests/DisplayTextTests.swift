import JSONRPC
import LockDiagCLI
import Testing

/// Strings from locks, the air and report files reach the terminal without anything it would act on.
@Suite struct DisplayTextTests {
    @Test func controlsAndBidiMarksBecomeReplacementCharacters() {
        #expect(DisplayText.safe("LX-300") == "LX-300")
        #expect(DisplayText.safe("Łódź 锁 ✓") == "Łódź 锁 ✓")
        #expect(DisplayText.safe("A\u{1B}]0;pwned\u{07}B") == "A\u{FFFD}]0;pwned\u{FFFD}B")
        #expect(DisplayText.safe("ok\rFAIL\n\t") == "ok\u{FFFD}FAIL\u{FFFD}\u{FFFD}")
        #expect(DisplayText.safe("\u{9B}31m\u{7F}") == "\u{FFFD}31m\u{FFFD}")
        #expect(DisplayText.safe("abc\u{202E}fed\u{2066}\u{2069}\u{200F}") == "abc\u{FFFD}fed\u{FFFD}\u{FFFD}\u{FFFD}")
    }

    @Test func everyStringOfAResultIsCleanedKeysIncluded() {
        let raw: JSONValue = ["devices": [["id": "SN\u{1B}[2J1", "model": "M\u{0}", "battery": 81]], "k\u{1B}": true]
        let safe = raw.displaySafe
        #expect(safe == ["devices": [["id": "SN\u{FFFD}[2J1", "model": "M\u{FFFD}", "battery": 81]], "k\u{FFFD}": true])
    }

    @Test func aReportFilesTextIsCleanedBeforeItIsShown() {
        let out = VerificationRenderer.render(outcome: .invalid, reason: "unsigned members next to the report: \u{1B}[1A\u{1B}[2Kvalid",
                                              fingerprint: nil, reportID: "r\u{1B}", device: "LX\u{202E}3", createdAt: nil, host: nil,
                                              verdict: nil, trustedKeys: "--key", style: .plain)
        #expect(!out.unicodeScalars.contains { $0 != "\n" && DisplayText.isUnsafe($0) }, "\(out)")
        #expect(out.hasPrefix("INVALID: "))
    }
}
