/// The parsers of this module that read bytes from the other end of a socket, reachable without
/// a socket, for the libFuzzer targets (Sources/LockDiagFuzz, `make fuzz`). Not an API for
/// anything else: behind `@_spi(Fuzzing)` so ordinary clients never see it.
@_spi(Fuzzing) public enum JSONRPCFuzzing {
    /// A request as the server would hand it to its handler.
    public struct ValidRequest: Sendable {
        public var method: String
        public var params: JSONValue?
        /// nil for a notification.
        public var id: RPCRequestID?
    }

    /// What the server makes of a byte stream from one client, without running any method: the
    /// requests it would start, and the reply lines it would send by itself (parse errors,
    /// invalid requests, oversized lines), each without its newline.
    public struct ServerReading: Sendable {
        public var requests: [ValidRequest] = []
        public var errorLines: [[UInt8]] = []
    }

    /// Frames `stream` the way a connection does (lines of at most `maxLineBytes`, the
    /// unterminated tail read at end of input) and interprets every line.
    public static func serverReading(_ stream: UnsafeRawBufferPointer, maxLineBytes: Int) -> ServerReading {
        var reading = ServerReading()
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        func interpret(_ event: LineFramer.Event) {
            func error(_ error: RPCError, _ id: RPCRequestID) {
                var line: [UInt8] = []
                EnvelopeWriter.writeResponse(id: id, outcome: .error(error), to: &line)
                reading.errorLines.append(line)
            }
            func take(_ result: Result<RPCRequest, RPCRequest.Invalid>) {
                switch result {
                case .success(let r): reading.requests.append(ValidRequest(method: r.method, params: r.params, id: r.id))
                case .failure(let invalid): error(invalid.error, invalid.id)
                }
            }
            switch event {
            case .oversized:
                error(.requestTooLarge(limitBytes: maxLineBytes), .null)
            case .line(let bytes):
                switch RequestLine(bytes) {
                case .blank: break
                case .unparsable(let parse): error(.parseError(parse.description), .null)
                case .emptyBatch: error(.invalidRequest("empty batch"), .null)
                case .batch(let elements): elements.forEach(take)
                case .single(let result): take(result)
                }
            }
        }
        framer.feed(stream, interpret)
        framer.finish(interpret)
        return reading
    }

    /// What a client makes of one line from the server: a response (result or error), a
    /// notification, a batch of responses, or nil for a protocol error.
    public enum ClientReading: Sendable, Equatable {
        case response(id: RPCRequestID, result: JSONValue?, error: RPCError?)
        case notification(method: String, params: JSONValue?)
        case batch(count: Int)
    }

    /// What `RPCCall.decodeParams` makes of a request's `params`: the value, or the -32602 error
    /// the client would get.
    public static func decodeParams<T: Decodable>(_ params: JSONValue?, as type: T.Type, method: String) -> Result<T, RPCError> {
        Result { () throws(RPCError) -> T in try RPCCall.decode(params, as: T.self, method: method) }
    }

    /// Reads one reply line as `JSONRPCClient` does; nil when the client would report a protocol error.
    public static func clientReading(_ line: UnsafeRawBufferPointer) -> ClientReading? {
        guard let value = try? JSONValue(parsing: line), let message = IncomingMessage(value) else { return nil }
        switch message {
        case .response(let id, let outcome):
            switch outcome.asResult {
            case .success(let result): return .response(id: id, result: result, error: nil)
            case .failure(let error): return .response(id: id, result: nil, error: error)
            }
        case .notification(let method, let params): return .notification(method: method, params: params)
        case .batch(let messages): return .batch(count: messages.count)
        }
    }
}
