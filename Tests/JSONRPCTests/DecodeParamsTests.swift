import Testing

@testable import JSONRPC

/// The -32602 messages a client reads, made from the direct decoder's DecodingErrors.
@Suite struct DecodeParamsTests {
    struct Item: Decodable {
        var n: Int
    }

    struct Params: Decodable {
        var device: String
        var limit: Int?
        var items: [Item]?
        var ratio: Double?
        var confirm: Bool?
    }

    @Test(arguments: [
        (nil, "missing field 'device' (method 'm')"),
        (#"{"limit": 1}"#, "missing field 'device' (method 'm')"),
        (#"{"device": 3}"#, "field 'device' should be a string (method 'm')"),
        (#"{"device": null}"#, "field 'device' is null but should be a string (method 'm')"),
        (#"{"device": "d", "limit": "ten"}"#, "field 'limit' should be an integer (method 'm')"),
        (#"{"device": "d", "ratio": "x"}"#, "field 'ratio' should be a number (method 'm')"),
        (#"{"device": "d", "confirm": 1}"#, "field 'confirm' should be true or false (method 'm')"),
        (#"{"device": "d", "items": [{"n": 1}, {}]}"#, "missing field 'items[1].n' (method 'm')"),
        (#"{"device": "d", "items": [{"n": 1}, {"n": "x"}]}"#, "field 'items[1].n' should be an integer (method 'm')"),
        (#"{"device": "d", "limit": 1.5}"#, "field 'limit': Parsed JSON number <1.5> does not fit in Int. (method 'm')"),
        ("[1]", "field 'params' should be Dictionary<String, Any> (method 'm')"),
    ] as [(String?, String)])
    func paramsErrorsNameTheField(_ text: String?, _ message: String) throws {
        let params = try text.map { try JSONValue(parsing: $0) }
        do {
            let decoded = try RPCCall.decode(params, as: Params.self, method: "m")
            Issue.record("decoded \(decoded)")
        } catch {
            #expect(error.code == RPCError.Code.invalidParams)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
