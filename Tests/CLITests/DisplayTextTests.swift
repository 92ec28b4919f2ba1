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

    @Test func jsonOutputEscapesWhatATerminalWouldActOnAndMeansTheSame() throws {
        let hostile = "a\u{7F}b\u{80}c\u{9B}2Jd\u{200E}\u{200F}\u{202A}\u{202E}e\u{2066}\u{2069}\u{61C}f\u{2028}g\u{1B}[31mh é→😀"
        let value: JSONValue = ["id": .string(hostile), hostile: [1, "x\u{85}"]]
        let text = JSONOutput.inert(value.jsonText)
        #expect(!text.unicodeScalars.contains { DisplayText.isUnsafe($0) || $0.value == 0x2028 }, "\(text)")
        for escape in ["\\u007f", "\\u0080", "\\u009b", "\\u200e", "\\u200f", "\\u202a", "\\u202e", "\\u2066", "\\u2069", "\\u061c",
                       "\\u2028", "\\u0085"] {
            #expect(text.contains(escape), "\(escape) missing from \(text)")
        }
        #expect(text.contains("é→😀"), "other characters stay as they are")
        #expect(try JSONValue(parsing: text) == value)
    }
}
