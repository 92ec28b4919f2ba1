import Testing

@testable import JSONRPC

@Suite struct EnvelopeTests {
    static func validate(_ text: String) throws -> Result<RPCRequest, RPCRequest.Invalid> {
        RPCRequest.validate(try JSONValue(parsing: text))
    }

    @Test func acceptsWellFormedRequests() throws {
        #expect(try Self.validate(#"{"jsonrpc":"2.0","method":"m","params":[1],"id":1}"#)
            == .success(RPCRequest(method: "m", params: [1], id: .number(1))))
        #expect(try Self.validate(#"{"jsonrpc":"2.0","method":"m","params":{"a":1},"id":"x"}"#)
            == .success(RPCRequest(method: "m", params: ["a": 1], id: .string("x"))))
        #expect(try Self.validate(#"{"jsonrpc":"2.0","method":"m","id":null}"#)
            == .success(RPCRequest(method: "m", params: nil, id: .null)))
        #expect(try Self.validate(#"{"jsonrpc":"2.0","method":"m","id":1.5}"#)
            == .success(RPCRequest(method: "m", params: nil, id: .fractional(1.5))))
        // No id at all: a notification, which is not the same as id null.
        #expect(try Self.validate(#"{"jsonrpc":"2.0","method":"m"}"#)
            == .success(RPCRequest(method: "m", params: nil, id: nil)))
        // Unknown members are ignored.
        #expect(try Self.validate(#"{"jsonrpc":"2.0","method":"m","id":2,"extra":true}"#)
            == .success(RPCRequest(method: "m", params: nil, id: .number(2))))
    }

    @Test(arguments: [
        // (request, id the error must carry)
        (#"1"#, RPCRequestID.null),
        (#""text""#, .null),
        (#"{}"#, .null),
        (#"{"jsonrpc":"2.0","id":1}"#, .number(1)),
        (#"{"method":"m","id":1}"#, .number(1)),
        (#"{"jsonrpc":"1.0","method":"m","id":1}"#, .number(1)),
        (#"{"jsonrpc":2.0,"method":"m","id":1}"#, .number(1)),
        (#"{"jsonrpc":"2.0","method":1,"id":"a"}"#, .string("a")),
        (#"{"jsonrpc":"2.0","method":"m","params":"bar","id":3}"#, .number(3)),
        (#"{"jsonrpc":"2.0","method":"m","params":null,"id":3}"#, .number(3)),
        (#"{"jsonrpc":"2.0","method":"m","params":7}"#, .null),
        (#"{"jsonrpc":"2.0","method":"m","id":true}"#, .null),
        (#"{"jsonrpc":"2.0","method":"m","id":[1]}"#, .null),
        (#"{"jsonrpc":"2.0","method":"m","id":{"a":1}}"#, .null),
    ])
    func rejectsInvalidRequests(_ text: String, answerID: RPCRequestID) throws {
        guard case .failure(let invalid) = try Self.validate(text) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(invalid.error.code == RPCError.Code.invalidRequest)
        #expect(invalid.id == answerID)
    }

    @Test func writesResponsesInReadingOrder() {
        var bytes: [UInt8] = []
        EnvelopeWriter.writeResponse(id: .string("7"), outcome: .result(["ok": true]), to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"jsonrpc":"2.0","id":"7","result":{"ok":true}}"#)
        bytes = []
        EnvelopeWriter.writeResponse(id: .null, outcome: .error(RPCError(code: -32000, message: "m\nx")), to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"m\nx"}}"#)
        bytes = []
        EnvelopeWriter.writeRequest(method: "event", params: [1], id: nil, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"jsonrpc":"2.0","method":"event","params":[1]}"#)
    }

    @Test func readsIncomingMessages() throws {
        #expect(IncomingMessage(try JSONValue(parsing: #"{"jsonrpc":"2.0","id":1,"result":null}"#))
            == .response(id: .number(1), outcome: .result(nil)))
        #expect(IncomingMessage(try JSONValue(parsing: #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#))
            == .response(id: .null, outcome: .error(RPCError(code: -32700, message: "x"))))
        #expect(IncomingMessage(try JSONValue(parsing: #"{"jsonrpc":"2.0","method":"tick"}"#))
            == .notification(method: "tick", params: nil))
        #expect(IncomingMessage(try JSONValue(parsing: #"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}}"#)) == nil)
        #expect(IncomingMessage(try JSONValue(parsing: #"{"jsonrpc":"2.0","id":1}"#)) == nil)
        #expect(IncomingMessage(try JSONValue(parsing: #"{"id":1,"result":1}"#)) == nil)
        #expect(IncomingMessage(try JSONValue(parsing: #"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":""}}"#)) == nil)
    }

    @Test func errorCodesAreTheDocumentedOnes() {
        #expect(RPCError.parseError("x").code == -32700)
        #expect(RPCError.invalidRequest("x").code == -32600)
        #expect(RPCError.methodNotFound("x").code == -32601)
        #expect(RPCError.invalidParams("x").code == -32602)
        #expect(RPCError.internalError().code == -32603)
        #expect(RPCError.unknownDevice("d").code == -32001)
        #expect(RPCError.deviceOffline("d").code == -32002)
        #expect(RPCError.busy("d", doing: "self-test").code == -32003)
        #expect(RPCError.permissionDenied("faults.clear", role: "technician", group: "lockdiag-admin").code == -32004)
        #expect(RPCError.timeout("the device", seconds: 2).code == -32005)
        #expect(RPCError.requestTooLarge(limitBytes: 10).code == -32006)
        #expect(RPCError.tooManyConnections(limit: 1).code == -32006)
        #expect(RPCError.tooManyRequests(limit: 1).code == -32006)
        #expect(RPCError.tooManySubscribers(limit: 1).code == -32006)
        for code in [RPCError.Code.unknownDevice, RPCError.Code.limitExceeded] {
            #expect(RPCError.Code.serverErrorRange.contains(code))
        }
    }

    @Test func errorMessagesSayWhatToDo() {
        #expect(RPCError.unknownDevice("front-door").message == "unknown device 'front-door' — `lockdiag list` shows the known ones")
        #expect(RPCError.unknownDevice("front-door").data == ["device": "front-door"])
        #expect(RPCError.deviceOffline("d").message.contains("lockdiag status d"))
        #expect(RPCError.tooManyConnections(limit: 3).message.contains("close"))
        #expect(RPCError.requestTooLarge(limitBytes: 1024).data == ["limit": 1024])
        let roundTrip = RPCError(RPCError.busy("d", doing: "firmware read").jsonValue)
        #expect(roundTrip == RPCError.busy("d", doing: "firmware read"))
    }
}

/// A result already encoded by JSONBytesEncoder goes out as it is, and reads back as the tree
/// the same value would have given.
@Suite struct EncodedResultTests {
    struct Reply: Encodable {
        var device: String
        var currentMilliamps: Int?
        var ratio: Double
        enum CodingKeys: String, CodingKey {
            case device, ratio
            case currentMilliamps = "current_ma"
        }
    }

    @Test func anEncodedResultIsWrittenVerbatim() throws {
        let reply = Reply(device: "front \"door\"\n", currentMilliamps: nil, ratio: 2.5)
        let outcome = try RPCOutcome.encoding(reply)
        var line: [UInt8] = []
        EnvelopeWriter.writeResponse(id: .number(7), outcome: outcome, to: &line)
        #expect(String(decoding: line, as: UTF8.self) == #"{"jsonrpc":"2.0","id":7,"result":{"device":"front \"door\"\n","ratio":2.5}}"#)
        #expect(!line.contains(0x0A))
        // The client reads it as it reads a tree's reply.
        var fromTree: [UInt8] = []
        EnvelopeWriter.writeResponse(id: .number(7), outcome: .result(try JSONValue(encoding: reply)), to: &fromTree)
        let read = IncomingMessage(try JSONValue(parsing: line))
        #expect(read != nil)
        #expect(read == IncomingMessage(try JSONValue(parsing: fromTree)))
        #expect(outcome.isResult)
        #expect(!RPCOutcome.error(.internalError()).isResult)
        #expect(outcome.asResult == .success(["device": "front \"door\"\n", "ratio": 2.5]))
        #expect(RPCOutcome.encoded(Array("{oops".utf8)).asResult.map { _ in 0 } != .success(0))
    }
}
