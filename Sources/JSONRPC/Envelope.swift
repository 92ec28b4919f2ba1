// The JSON-RPC 2.0 envelopes (jsonrpc.org/specification, §4 request, §5 response, §6 batch):
// validating what arrives and writing what leaves. No I/O here.

/// A request id (JSON-RPC 2.0 §4): a string, a number, or null. A request without an `id`
/// member is a notification; that absence is `RPCRequestID?.none`, not `.null`.
public enum RPCRequestID: Sendable, Hashable, CustomStringConvertible {
    case number(Int64)
    case string(String)
    /// `"id": null`: allowed, discouraged by the spec, answered like any other request.
    case null
    /// A number with a fraction: the spec says ids SHOULD NOT have one, but it must still be echoed.
    case fractional(Double)

    /// The id from its JSON form; nil for a bool, array or object (not a valid id).
    public init?(_ value: JSONValue) {
        switch value {
        case .integer(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .null: self = .null
        case .double(let number): self = .fractional(number)
        case .bool, .array, .object: return nil
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .number(let number): .integer(number)
        case .string(let text): .string(text)
        case .null: .null
        case .fractional(let number): .double(number)
        }
    }

    public var description: String { jsonValue.jsonText }
}

/// A request that passed validation (§4); `id == nil` marks a notification.
struct RPCRequest: Sendable, Equatable {
    var method: String
    var params: JSONValue?
    var id: RPCRequestID?

    /// A request that failed validation, with the id to answer with (§5: the request's own id
    /// when it could be read, else null).
    struct Invalid: Error, Equatable {
        var error: RPCError
        var id: RPCRequestID
    }

    /// Checks one request object against §4: `jsonrpc` exactly "2.0", `method` a string,
    /// `params` (if present) an array or object, `id` (if present) a string, number or null.
    static func validate(_ value: JSONValue) -> Result<RPCRequest, Invalid> {
        guard case .object(let members) = value else {
            return .failure(Invalid(error: .invalidRequest("expected a request object, got \(kind(of: value))"), id: .null))
        }
        var id: RPCRequestID?
        if let rawID = members["id"] {
            guard let valid = RPCRequestID(rawID) else {
                return .failure(Invalid(error: .invalidRequest("\"id\" must be a string, a number or null"), id: .null))
            }
            id = valid
        }
        let answerID = id ?? .null
        guard let version = members["jsonrpc"] else {
            return .failure(Invalid(error: .invalidRequest("missing \"jsonrpc\": \"2.0\""), id: answerID))
        }
        guard version == .string("2.0") else {
            return .failure(Invalid(error: .invalidRequest("\"jsonrpc\" must be exactly \"2.0\", got \(version.jsonText)"), id: answerID))
        }
        guard let rawMethod = members["method"] else {
            return .failure(Invalid(error: .invalidRequest("missing \"method\""), id: answerID))
        }
        guard case .string(let method) = rawMethod else {
            return .failure(Invalid(error: .invalidRequest("\"method\" must be a string, got \(kind(of: rawMethod))"), id: answerID))
        }
        let params = members["params"]
        if let params {
            switch params {
            case .array, .object: break
            default:
                return .failure(Invalid(
                    error: .invalidRequest("\"params\" must be an array or an object when present, got \(kind(of: params))"),
                    id: answerID))
            }
        }
        return .success(RPCRequest(method: method, params: params, id: id))
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// The two outcomes a response carries (§5): a result or an error. A result comes as a tree, or
/// as the JSON text `JSONBytesEncoder` already wrote for it (no tree built on the way out).
enum RPCOutcome: Sendable, Equatable {
    case result(JSONValue)
    /// A result already encoded as one compact JSON text; written verbatim, so it must be
    /// valid JSON without a line feed (what `JSONBytesEncoder` writes).
    case encoded([UInt8])
    case error(RPCError)

    /// A result of either form (what the reply-size limit may replace with an error).
    var isResult: Bool {
        if case .error = self { return false }
        return true
    }

    /// The result as a tree, or the error: an `.encoded` text that does not parse is a -32603
    /// (the server wrote it, so the fault is the server's).
    var asResult: Result<JSONValue, RPCError> {
        switch self {
        case .result(let value): return .success(value)
        case .error(let error): return .failure(error)
        case .encoded(let bytes):
            do { return .success(try JSONValue(parsing: bytes)) } catch {
                return .failure(.internalError("the server's encoded result is not JSON (\(error))"))
            }
        }
    }

    /// Encodes `value` with `JSONBytesEncoder` into an `.encoded` result.
    static func encoding(_ value: some Encodable) throws -> RPCOutcome {
        .encoded(try JSONBytesEncoder().encode(value))
    }
}

/// Writes response and notification lines. Members go in the order people expect to read
/// them (jsonrpc, id, result/error), which sorted keys would scramble.
enum EnvelopeWriter {
    static func writeResponse(id: RPCRequestID, outcome: RPCOutcome, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
        JSONWriter.write(id.jsonValue, to: &out)
        switch outcome {
        case .result(let value):
            out.append(contentsOf: #","result":"#.utf8)
            JSONWriter.write(value, to: &out)
        case .encoded(let bytes):
            out.append(contentsOf: #","result":"#.utf8)
            out.append(contentsOf: bytes)
        case .error(let error):
            out.append(contentsOf: #","error":"#.utf8)
            JSONWriter.write(error.jsonValue, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A batch response: the elements' encoded responses in one array (§6).
    static func batch(_ encodedResponses: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, response) in encodedResponses.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: response)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// A notification whose params are already encoded as one JSON array or object.
    static func writeNotification(method: String, encodedParams: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: #"{"jsonrpc":"2.0","method":"#.utf8)
        JSONWriter.writeString(method, to: &out)
        out.append(contentsOf: #","params":"#.utf8)
        out.append(contentsOf: encodedParams)
        out.append(UInt8(ascii: "}"))
    }

    /// A request (with id) or a notification (id nil).
    static func writeRequest(method: String, params: JSONValue?, id: RPCRequestID?, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"jsonrpc":"2.0","method":"#.utf8)
        JSONWriter.writeString(method, to: &out)
        if let params {
            out.append(contentsOf: #","params":"#.utf8)
            JSONWriter.write(params, to: &out)
        }
        if let id {
            out.append(contentsOf: #","id":"#.utf8)
            JSONWriter.write(id.jsonValue, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// What a client may receive on one line: a response, a server notification, or a batch.
enum IncomingMessage: Equatable {
    case response(id: RPCRequestID, outcome: RPCOutcome)
    case notification(method: String, params: JSONValue?)
    case batch([IncomingMessage])

    /// Reads a line's JSON value; nil when it is none of the above (a protocol error).
    init?(_ value: JSONValue) {
        if case .array(let elements) = value {
            var messages: [IncomingMessage] = []
            for element in elements {
                guard let message = IncomingMessage(element), case .response = message else { return nil }
                messages.append(message)
            }
            self = .batch(messages)
            return
        }
        guard case .object(let members) = value, members["jsonrpc"] == .string("2.0") else { return nil }
        if case .string(let method)? = members["method"] {
            // A request from the server to the client is not part of this protocol's use;
            // a method with no id is a notification.
            guard members["id"] == nil else { return nil }
            self = .notification(method: method, params: members["params"])
            return
        }
        guard let rawID = members["id"], let id = RPCRequestID(rawID) else { return nil }
        switch (members["result"], members["error"]) {
        case (let result?, nil):
            self = .response(id: id, outcome: .result(result))
        case (nil, let error?):
            guard let error = RPCError(error) else { return nil }
            self = .response(id: id, outcome: .error(error))
        default:
            return nil
        }
    }
}
