import Foundation

/// What the server calls for each request; the daemon's API implements it.
///
/// `handle` runs in its own task, so requests on one connection may run concurrently. It returns
/// the `result`; it throws `RPCError` for an error the client should see. Any other error becomes
/// -32603 Internal error on the wire (with no detail, so nothing internal leaks) and is passed to
/// `internalError(_:in:)` for the log. For a notification (`call.isNotification`) the result or
/// error is discarded, as the spec requires. If the client disconnects mid-request the handler is
/// not cancelled (a command such as "clear faults" should not stop halfway); its result is dropped.
public protocol JSONRPCHandler: Sendable {
    func handle(_ call: RPCCall) async throws -> JSONValue

    /// Answers `call` at once, on the server's event loop, or returns nil to have it go to
    /// `handle` like any other. For read-only methods that can answer from what is at hand (an
    /// immutable snapshot): it must not block, wait or take a lock someone may hold for long,
    /// and it is not told about a failure, so anything it cannot answer it leaves to `handle`.
    /// Requests answered here skip the task hop and do not wait behind a connection's slower
    /// requests. The default answers nothing.
    func answerNow(_ call: RPCCall) -> ImmediateAnswer?

    /// The connection is gone (client closed it, server stopped, or `close()`); for dropping
    /// its subscriptions. Called once per connection on a server I/O thread: must not block.
    func connectionClosed(_ connection: RPCConnection)

    /// A handler failed with an error that is not an `RPCError`; the client got -32603.
    func internalError(_ error: any Error, in call: RPCCall)
}

extension JSONRPCHandler {
    public func answerNow(_ call: RPCCall) -> ImmediateAnswer? { nil }

    public func connectionClosed(_ connection: RPCConnection) {}

    public func internalError(_ error: any Error, in call: RPCCall) {
        logInternalErrorToStandardError(error, in: call)
    }

    /// The default report: one line on stderr, which is the journal under systemd; a daemon
    /// with a logger overrides `internalError` instead.
    public func logInternalErrorToStandardError(_ error: any Error, in call: RPCCall) {
        let line = "JSONRPC: method '\(call.method)' from connection \(call.connection.id) failed: \(error)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// What `JSONRPCHandler.answerNow` answers with.
public enum ImmediateAnswer: Sendable, Equatable {
    /// The result, already encoded as one JSON value (UTF-8, no newline), written as it is.
    case encodedResult([UInt8])
    case error(RPCError)
}

/// One request or notification as a handler sees it.
public struct RPCCall: Sendable {
    public let method: String
    /// An array or an object, or nil when the request had no `params`.
    public let params: JSONValue?
    /// nil for a notification.
    public let id: RPCRequestID?
    /// The connection it came on: peer credentials, and where to push notifications.
    public let connection: RPCConnection

    public init(method: String, params: JSONValue?, id: RPCRequestID?, connection: RPCConnection) {
        self.method = method
        self.params = params
        self.id = id
        self.connection = connection
    }

    /// A notification expects no reply.
    public var isNotification: Bool { id == nil }

    /// Decodes `params` into a Codable type, or throws -32602 Invalid params saying which
    /// field is wrong. Absent params decode as `{}`, so a type whose fields are all optional
    /// accepts a request without params.
    public func decodeParams<T: Decodable>(as type: T.Type = T.self, decoder: JSONValueDecoder = JSONValueDecoder()) throws(RPCError) -> T {
        try Self.decode(params, as: T.self, method: method, decoder: decoder)
    }

    /// `decodeParams` without a call: what it does with `params` of a request for `method`.
    static func decode<T: Decodable>(_ params: JSONValue?, as type: T.Type, method: String,
                                     decoder: JSONValueDecoder = JSONValueDecoder()) throws(RPCError) -> T {
        do {
            return try (params ?? .object([:])).decode(as: T.self, decoder: decoder)
        } catch let error as DecodingError {
            throw .invalidParams(Self.explain(error) + " (method '\(method)')")
        } catch {
            throw .invalidParams("\(error) (method '\(method)')")
        }
    }

    /// A DecodingError in one line a person can act on: which field, what was expected.
    static func explain(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let parts = codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return parts.isEmpty ? "params" : parts.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context):
            return "field '\(path(context.codingPath))' should be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "field '\(path(context.codingPath))' is null but should be \(describe(type))"
        case .dataCorrupted(let context):
            return "field '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type, is UInt64.Type, is UInt32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        default: "\(type)"
        }
    }
}

/// A handler that dispatches by method name to registered closures; unknown names get
/// -32601 Method not found.
public struct RPCMethodTable: JSONRPCHandler {
    public typealias Method = @Sendable (RPCCall) async throws -> JSONValue
    public typealias ImmediateMethod = @Sendable (RPCCall) -> ImmediateAnswer?

    private var methods: [String: Method] = [:]
    private var immediate: [String: ImmediateMethod] = [:]
    private var onClose: (@Sendable (RPCConnection) -> Void)?
    private var onInternal: (@Sendable (any Error, RPCCall) -> Void)?

    public init() {}

    /// Adds (or replaces) the method `name`.
    public mutating func register(_ name: String, _ body: @escaping Method) {
        methods[name] = body
    }

    /// Lets the registered method `name` answer on the event loop when `body` can (see
    /// `JSONRPCHandler.answerNow`); when it returns nil the method's ordinary body runs.
    public mutating func registerImmediate(_ name: String, _ body: @escaping ImmediateMethod) {
        precondition(methods[name] != nil, "register '\(name)' before its immediate answer")
        immediate[name] = body
    }

    /// Runs `body` when a connection closes (see `JSONRPCHandler.connectionClosed`).
    public mutating func onConnectionClosed(_ body: @escaping @Sendable (RPCConnection) -> Void) {
        onClose = body
    }

    /// Receives the errors that reached the client as -32603 (see
    /// `JSONRPCHandler.internalError`); without it they go to stderr.
    public mutating func onInternalError(_ body: @escaping @Sendable (any Error, RPCCall) -> Void) {
        onInternal = body
    }

    /// The registered method names, sorted.
    public var methodNames: [String] { methods.keys.sorted() }

    public func handle(_ call: RPCCall) async throws -> JSONValue {
        guard let method = methods[call.method] else { throw RPCError.methodNotFound(call.method) }
        return try await method(call)
    }

    public func answerNow(_ call: RPCCall) -> ImmediateAnswer? {
        immediate[call.method]?(call)
    }

    public func connectionClosed(_ connection: RPCConnection) {
        onClose?(connection)
    }

    public func internalError(_ error: any Error, in call: RPCCall) {
        guard let onInternal else {
            logInternalErrorToStandardError(error, in: call)
            return
        }
        onInternal(error, call)
    }
}
