import Testing

@testable import JSONRPC

/// Bugs `make fuzz` found in this module, kept as tests (the inputs themselves are replayed from
/// Fuzz/regressions by FuzzRegressionTests).
@Suite struct JSONFuzzFoundTests {
    /// json-text crash-9dc8ff77: `554e555…` parsed as infinity, which is written back as null,
    /// so a value changed meaning on its way through. Numbers beyond a Double are refused now.
    @Test(arguments: ["1e999", "-1e400", "554e5555555555555555555555555555555555555555558", "[1, 2e308]"])
    func numbersBeyondADoubleAreAParseError(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
    }

    @Test func theLargestDoublesStillParse() throws {
        #expect(try JSONValue(parsing: "1.7976931348623157e308") == .double(.greatestFiniteMagnitude))
        #expect(try JSONValue(parsing: "-1.7976931348623157e308") == .double(-.greatestFiniteMagnitude))
        #expect(try JSONValue(parsing: "4.9e-324") == .double(.leastNonzeroMagnitude))
        #expect(try JSONValue(parsing: "1e-400") == .double(0), "underflow to zero keeps the meaning (tiny)")
    }
}
