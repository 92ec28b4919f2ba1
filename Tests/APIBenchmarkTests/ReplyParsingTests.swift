import Testing
@testable import lockdiag_api_bench

@Suite struct ReplyParsingTests {
    @Test func jsonRPCResultWithItsID() {
        let line = JSONRPCLine(#"{"jsonrpc":"2.0","id":42,"result":{"device":"SIM-0001-000","id":7,"error":null}}"#)
        #expect(line == JSONRPCLine(id: 42, hasResult: true))
    }

    @Test func idAfterTheResultAndScalarResults() {
        #expect(JSONRPCLine(#"{"jsonrpc":"2.0","result":[{"id":3}],"id":9}"#) == JSONRPCLine(id: 9, hasResult: true))
        #expect(JSONRPCLine(#"{"jsonrpc":"2.0","id":1,"result":true}"#) == JSONRPCLine(id: 1, hasResult: true))
    }

    @Test func errorIsNotAResult() {
        let line = JSONRPCLine(#"{"jsonrpc":"2.0","id":3,"error":{"code":-32006,"message":"limit \"rate\" exceeded","data":{"result":1}}}"#)
        #expect(line == JSONRPCLine(id: 3, hasError: true))
    }

    @Test func notificationHasAMethodAndNoID() {
        let line = JSONRPCLine(#"{"jsonrpc":"2.0","method":"telemetry","params":{"device":"SIM-0001-000","lost":0,"id":5}}"#)
        #expect(line == JSONRPCLine(method: "telemetry"))
    }

    @Test func malformedLinesAreRefused() {
        #expect(JSONRPCLine(#"{"jsonrpc":"2.0","id":1,"result":{"a":1}"#) == nil)
        #expect(JSONRPCLine(#"{"jsonrpc":"2.0","id":1,"result":"unterminated}"#) == nil)
        #expect(JSONRPCLine("VAR bench battery.charge \"100\"") == nil)
        #expect(JSONRPCLine(#"{"id":1,"result":1}}"#) == nil)
    }

    @Test func nutVariable() {
        #expect(NUTReply(#"VAR bench battery.charge "100""#) == .variable(ups: "bench", name: "battery.charge", value: "100"))
        #expect(NUTReply(#"VAR ups ups.model "Smart \"X\" 1500""#) == .variable(ups: "ups", name: "ups.model", value: #"Smart "X" 1500"#))
        #expect(NUTReply("ERR VAR-NOT-SUPPORTED") == .error("VAR-NOT-SUPPORTED"))
        #expect(NUTReply("VAR bench battery.charge 100") == nil)
        #expect(NUTReply("OK") == nil)
    }

    @Test func updatedAtInANotification() {
        let line = #"{"jsonrpc":"2.0","method":"telemetry","params":{"device":"SIM-0001-000","lost":0,"status":{"last_actuation":{"at":"2020-01-01T00:00:00.000Z"},"updated_at":"2026-11-29T00:27:23.360Z"}}}"#
        // date -u -d 2026-11-29T00:27:23Z +%s → 1795912043
        #expect(UpdatedAt.milliseconds(in: line) == 1_795_912_043_360)
        #expect(UpdatedAt.milliseconds(in: #"{"updated_at":"2026-13-29T00:27:23.360Z"}"#) == nil)
        #expect(UpdatedAt.milliseconds(in: #"{"status":{}}"#) == nil)
    }
}
