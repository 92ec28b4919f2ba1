/// A JSON-RPC 2.0 error object (spec §5.1): what a handler throws and what a client receives.
///
/// `message` is written for the person at the terminal: it says what went wrong and what to do.
/// `data`, when present, carries the same facts for programs (`{"device": "front-door"}`).
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "\(message) (JSON-RPC error \(code))" }

    /// The error codes. The -32768…-32000 range is reserved by the spec (§5.1); -32099…-32000
    /// is left to servers, and lockdiag's application errors live there so daemon and CLI agree.
    public enum Code {
        // Standard codes, JSON-RPC 2.0 §5.1.
        public static let parseError = -32700
        public static let invalidRequest = -32600
        public static let methodNotFound = -32601
        public static let invalidParams = -32602
        public static let internalError = -32603

        // lockdiag's application codes.
        public static let unknownDevice = -32001
        public static let deviceOffline = -32002
        public static let busy = -32003
        public static let permissionDenied = -32004
        public static let timeout = -32005
        public static let limitExceeded = -32006
        public static let deviceRefused = -32007
        /// A device name that more than one lock answers to; `data.candidates` lists them.
        public static let ambiguousDevice = -32008

        /// The range the spec leaves to implementations for server errors.
        public static let serverErrorRange = -32099 ... -32000
    }
}

// MARK: - Standard errors (JSON-RPC 2.0 §5.1)

extension RPCError {
    /// -32700: the line was not valid JSON (or not UTF-8).
    public static func parseError(_ detail: String) -> RPCError {
        RPCError(
            code: Code.parseError,
            message: "Parse error: \(detail) — send one complete JSON text per line, UTF-8, ending in a newline"
        )
    }

    /// -32600: valid JSON, but not a JSON-RPC 2.0 request.
    public static func invalidRequest(_ detail: String) -> RPCError {
        RPCError(
            code: Code.invalidRequest,
            message: "Invalid Request: \(detail) — a request is {\"jsonrpc\": \"2.0\", \"method\": \"…\", \"params\": […] or {…}, \"id\": …}"
        )
    }

    /// -32601: no such method.
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(
            code: Code.methodNotFound,
            message: "Method not found: '\(method)' — check the spelling; client and daemon may be different versions",
            data: ["method": .string(method)]
        )
    }

    /// -32602: the method exists but its params do not fit.
    public static func invalidParams(_ detail: String) -> RPCError {
        RPCError(code: Code.invalidParams, message: "Invalid params: \(detail)")
    }

    /// -32603: the server failed. The detail should never carry internals (paths, stack, SQL);
    /// those go to the daemon's log.
    public static func internalError(_ detail: String = "the server failed while handling the request") -> RPCError {
        RPCError(code: Code.internalError, message: "Internal error: \(detail) — see the daemon's log (journalctl -u lockdiagd)")
    }
}

// MARK: - lockdiag's application errors (-32001…-32006)

extension RPCError {
    /// -32001: no device by that name or id.
    public static func unknownDevice(_ device: String) -> RPCError {
        RPCError(
            code: Code.unknownDevice,
            message: "unknown device '\(device)' — `lockdiag list` shows the known ones",
            data: ["device": .string(device)]
        )
    }

    /// -32002: the device is known but not connected now.
    public static func deviceOffline(_ device: String) -> RPCError {
        RPCError(
            code: Code.deviceOffline,
            message: "device '\(device)' is offline — check its cable or radio link, then `lockdiag status \(device)`",
            data: ["device": .string(device)]
        )
    }

    /// -32003: the device (or the daemon) is doing something that excludes this request.
    public static func busy(_ device: String, doing activity: String) -> RPCError {
        RPCError(
            code: Code.busy,
            message: "device '\(device)' is busy (\(activity)) — retry when it finishes",
            data: ["device": .string(device), "activity": .string(activity)]
        )
    }

    /// -32005: something the request waited on did not answer in time.
    public static func timeout(_ what: String, seconds: Double) -> RPCError {
        RPCError(
            code: Code.timeout,
            message: "timed out after \(seconds) s waiting for \(what) — check the device with `lockdiag status`, then retry",
            data: ["seconds": .double(seconds)]
        )
    }

    /// -32007: the lock itself refused the request (an LDP/1 NAK) or answered unusably.
    public static func deviceRefused(_ device: String, reason: String) -> RPCError {
        RPCError(code: Code.deviceRefused, message: reason, data: ["device": .string(device)])
    }

    /// -32006: a limit was hit. `detail` names the limit; `advice` says what to do.
    public static func limitExceeded(_ detail: String, limit: Int, advice: String) -> RPCError {
        RPCError(
            code: Code.limitExceeded,
            message: "limit exceeded: \(detail) — \(advice)",
            data: ["limit": .integer(Int64(limit))]
        )
    }

    /// -32006 for a request line longer than the server accepts.
    public static func requestTooLarge(limitBytes: Int) -> RPCError {
        limitExceeded(
            "request line longer than \(limitBytes) bytes", limit: limitBytes,
            advice: "send smaller requests (split a large batch)"
        )
    }

    /// -32006 for a connection past the server's connection limit.
    public static func tooManyConnections(limit: Int) -> RPCError {
        limitExceeded(
            "the server already has \(limit) clients connected", limit: limit,
            advice: "close an idle client (a forgotten `lockdiag watch`?) and retry"
        )
    }

    /// -32006 for a client sending more requests than an API-level rate limit allows (the
    /// transport itself slows a pipelining client down instead of refusing it).
    public static func tooManyRequests(limit: Int) -> RPCError {
        limitExceeded(
            "more than \(limit) requests", limit: limit,
            advice: "wait for replies before sending more"
        )
    }

    /// -32006 for a subscription past the subscriber limit.
    public static func tooManySubscribers(limit: Int) -> RPCError {
        limitExceeded(
            "already \(limit) subscribers", limit: limit,
            advice: "stop another subscriber (`lockdiag watch`) and retry"
        )
    }
}

// MARK: - Wire form

extension RPCError {
    /// The error object as it goes on the wire: `{"code": …, "message": …, "data": …}`.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["code": .integer(Int64(code)), "message": .string(message)]
        if let data { members["data"] = data }
        return .object(members)
    }

    /// Reads an error object; nil if `value` is not one (§5.1: integer code, string message).
    public init?(_ value: JSONValue) {
        guard case .object(let members) = value,
            case .integer(let code)? = members["code"], let intCode = Int(exactly: code),
            case .string(let message)? = members["message"]
        else { return nil }
        self.init(code: intCode, message: message, data: members["data"])
    }
}

// MARK: - Access control and per-connection limits

extension RPCError {
    /// -32004 naming what the caller must join: `role` is the role the action needs, `group` the
    /// Unix group that grants it. Group membership is read when the client connects, so after
    /// being added the user has to log in again (or use `newgrp`).
    public static func permissionDenied(_ action: String, role: String, group: String) -> RPCError {
        RPCError(
            code: Code.permissionDenied,
            message: "permission denied: \(action) needs the \(role) role — ask an administrator to add you to group '\(group)' "
                + "(sudo usermod -aG \(group) $USER), log in again, and retry; or run it with sudo",
            data: ["action": .string(action), "role": .string(role), "group": .string(group)]
        )
    }

    /// -32006 for a batch with more elements than the server runs at once.
    public static func batchTooLarge(elements: Int, limit: Int) -> RPCError {
        limitExceeded(
            "a batch of \(elements) requests; at most \(limit) are taken in one batch", limit: limit,
            advice: "split it into batches of at most \(limit) and send the next when the previous one is answered"
        )
    }

    /// -32006 in place of a result whose reply line would be longer than the server sends.
    public static func replyTooLarge(method: String, bytes: Int, limit: Int) -> RPCError {
        RPCError(
            code: Code.limitExceeded,
            message: "limit exceeded: the reply to '\(method)' would be \(bytes) bytes, over the \(limit)-byte limit — "
                + "ask for less: page the call (faults.history takes limit and cursor), or narrow it (one device, a later since)",
            data: ["limit": .integer(Int64(limit)), "reply_bytes": .integer(Int64(bytes)), "method": .string(method)]
        )
    }

    /// -32006 for a connection past the per-user connection limit.
    public static func tooManyConnectionsForUser(uid: UInt32, limit: Int) -> RPCError {
        RPCError(
            code: Code.limitExceeded,
            message: "limit exceeded: uid \(uid) already has \(limit) connections to the daemon — close one "
                + "(a forgotten `lockdiag watch` or `lockdiag list --follow`?) and retry",
            data: ["limit": .integer(Int64(limit)), "uid": .integer(Int64(uid))]
        )
    }

    /// -32006 for an ordinary client when only the slots kept for privileged ones are left.
    public static func onlyReservedConnectionsLeft(limit: Int, reserved: Int) -> RPCError {
        limitExceeded(
            "the server already has \(limit) clients connected (\(reserved) more slots are kept for technicians)", limit: limit,
            advice: "close an idle client (a forgotten `lockdiag watch`?) and retry"
        )
    }

    /// -32006 for a client past its connection's request rate.
    public static func rateLimited(requestsPerSecond: Double, burst: Int) -> RPCError {
        RPCError(
            code: Code.limitExceeded,
            message: "limit exceeded: more than \(Self.format(requestsPerSecond)) requests per second (bursts of \(burst)) on one connection "
                + "— slow down, wait for replies before sending more, or subscribe to telemetry instead of polling",
            data: ["limit": .double(requestsPerSecond), "burst": .integer(Int64(burst))]
        )
    }

    /// -32006 sent just before the server closes a connection that sent nothing for too long.
    public static func idleTimeout(seconds: Double) -> RPCError {
        RPCError(
            code: Code.limitExceeded,
            message: "limit exceeded: no request for \(Self.format(seconds)) s, so the daemon closed this connection — "
                + "reconnect when you need it (clients such as lockdiag do so by themselves)",
            data: ["limit": .double(seconds)]
        )
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
