#if canImport(Glibc)
import Glibc
#endif
import LinuxIO

/// Why a client call failed; `description` says what to do.
public enum RPCClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection: nothing at the path, nothing listening, or no permission.
    case daemonUnreachable(path: String, reason: String)
    /// The server answered with an error.
    case remote(RPCError)
    /// No reply within the timeout. The client stays usable: a late reply is discarded (or,
    /// if the request could not even be written, the next call reconnects).
    case timeout
    /// The server sent something that is not JSON-RPC 2.0 as this client expects it.
    case protocolError(String)
    /// The server closed the connection (it stopped, or dropped this client).
    case connectionClosed

    public var description: String {
        switch self {
        case .daemonUnreachable(let path, let reason) where reason.hasPrefix("permission denied"):
            // It is running; starting another would not help.
            "cannot reach lockdiagd at \(path): \(reason)"
        case .daemonUnreachable(let path, let reason):
            "cannot reach lockdiagd at \(path): \(reason). If it is not running, start it with: lockdiagd "
                + "(or: sudo systemctl start lockdiagd); if it listens elsewhere, pass --socket PATH"
        case .remote(let error):
            error.message
        case .timeout:
            "no reply from lockdiagd in time — it may be busy or stuck; check `systemctl status lockdiagd`, or retry with a longer --timeout"
        case .protocolError(let detail):
            "unexpected data from lockdiagd: \(detail) — are client and daemon the same version?"
        case .connectionClosed:
            "lockdiagd closed the connection — it may have stopped or restarted; check `systemctl status lockdiagd` and retry"
        }
    }
}

/// One element of a batch sent with `JSONRPCClient.batch`.
public struct RPCBatchEntry: Sendable, Equatable {
    public var method: String
    public var params: JSONValue?
    /// A notification gets no reply and no place in the batch's results.
    public var isNotification: Bool

    public init(method: String, params: JSONValue? = nil, isNotification: Bool = false) {
        self.method = method
        self.params = params
        self.isNotification = isNotification
    }

    public static func call(_ method: String, params: JSONValue? = nil) -> RPCBatchEntry {
        RPCBatchEntry(method: method, params: params)
    }

    public static func notification(_ method: String, params: JSONValue? = nil) -> RPCBatchEntry {
        RPCBatchEntry(method: method, params: params, isNotification: true)
    }
}

/// What `JSONRPCClient.poll` hands back.
public enum RPCClientEvent: Sendable, Equatable {
    /// A server notification (absent params come back as `.null`).
    case notification(method: String, params: JSONValue)
    /// The reply to a request made with `JSONRPCClient.send`.
    case reply(id: RPCRequestID, result: Result<JSONValue, RPCError>)
}

/// A blocking JSON-RPC 2.0 client over a Unix stream socket, for the CLI, scripts and bench
/// rigs. Plain POSIX sockets and poll(2), no event loop. One thread at a time: it is not
/// Sendable. Notifications that arrive while a call waits for its reply are queued for
/// `nextNotification` (or `poll`), never lost. `send` + `poll` let a caller wait for a long
/// request's reply and the notifications in between together, to show progress.
public final class JSONRPCClient {
    public let socketPath: String
    /// A reply line longer than this is a protocol error rather than unbounded memory.
    public var maxResponseBytes: Int = 64 << 20

    private var fd: Int32 = -1
    /// Received bytes not yet split into lines; `inboxStart` is where unread bytes begin.
    private var inbox: [UInt8] = []
    private var inboxStart = 0
    /// Bytes from `inboxStart` up to here hold no newline: a long reply arriving in many
    /// chunks is scanned once, not once per chunk.
    private var scannedUpTo = 0
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    private var peerClosed = false
    private var queuedNotifications: [(method: String, params: JSONValue)] = []
    private var queuedNotificationsStart = 0
    private var nextID: Int64 = 1
    /// Ids of requests written by `send` whose replies `poll` has not handed out yet.
    private var awaitedIDs: Set<RPCRequestID> = []
    /// Replies to those requests that arrived while something else was reading.
    private var queuedReplies: [(id: RPCRequestID, outcome: RPCOutcome)] = []

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    deinit {
        if fd >= 0 { FileIO.close(fd) }
    }

    public var isConnected: Bool { fd >= 0 }

    /// Connects; a no-op when already connected. `call`, `notify`, `batch` and
    /// `nextNotification` connect on first use, so calling this first is optional: it is where
    /// a CLI finds out early that the daemon is not there.
    public func connect() throws(RPCClientError) {
        guard fd < 0 else { return }
        guard !socketPath.isEmpty, socketPath.utf8.count <= SocketFile.maxPathBytes else {
            throw .daemonUnreachable(path: socketPath, reason: "the path is empty or longer than \(SocketFile.maxPathBytes) bytes")
        }
        // Non-blocking from the start: a Unix connect to a server whose backlog is full would
        // otherwise block with no timeout.
        let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socketFD >= 0 else {
            throw .daemonUnreachable(path: socketPath, reason: "cannot create a socket: \(String(cString: strerror(errno)))")
        }
        let result = SocketFile.withUnixAddress(socketPath) { address, length in
            retryingOnInterrupt { Glibc.connect(socketFD, address, length) }
        }
        if result != 0 {
            let error = errno
            FileIO.close(socketFD)
            throw .daemonUnreachable(path: socketPath, reason: Self.explainConnectFailure(error, path: socketPath))
        }
        fd = socketFD
        resetInbox()
        peerClosed = false
    }

    static func explainConnectFailure(_ error: Int32, path: String? = nil) -> String {
        switch error {
        case ENOENT: "no socket there (the daemon is not running, or listens at another path)"
        case ECONNREFUSED: "the socket file exists but nothing listens on it (the daemon stopped or crashed)"
        case EACCES, EPERM:
            { (group: String) in
                "permission denied — ask an administrator to add you to group '\(group)' (sudo usermod -aG \(group) $USER), "
                    + "then log in again; or use sudo"
            }(path.flatMap(socketGroupName) ?? "lockdiag")
        case EAGAIN: "the daemon is not accepting connections right now (its queue is full)"
        case ENOTDIR: "a part of the path is not a directory"
        default: String(cString: strerror(error))
        }
    }

    /// The group of the socket file (or of the first directory on its path we cannot enter),
    /// by name: the group whose members may connect.
    static func socketGroupName(_ path: String) -> String? {
        var candidate = path
        while !candidate.isEmpty {
            var info = stat()
            if stat(candidate, &info) == 0, access(candidate, candidate == path ? W_OK : X_OK) != 0 {
                var group = group()
                var result: UnsafeMutablePointer<group>?
                var buffer = [CChar](repeating: 0, count: 16384)
                if getgrgid_r(info.st_gid, &group, &buffer, buffer.count, &result) == 0, result != nil, let name = group.gr_name {
                    return String(cString: name)
                }
                return String(info.st_gid)
            }
            guard let slash = candidate.lastIndex(of: "/"), slash != candidate.startIndex else { break }
            candidate = String(candidate[..<slash])
        }
        return nil
    }

    /// Closes the connection; the next call reconnects. Queued notifications and replies are
    /// kept; replies to requests still outstanding on this connection will never come.
    public func close() {
        if fd >= 0 { FileIO.close(fd) }
        fd = -1
        resetInbox()
        awaitedIDs.removeAll()
    }

    private func resetInbox() {
        inbox = []
        inboxStart = 0
        scannedUpTo = 0
    }

    // MARK: - Calls

    /// Calls `method` and returns its result; a JSON-RPC error reply throws `.remote`.
    public func call(_ method: String, params: JSONValue? = nil, timeoutSeconds: Double = 30) throws(RPCClientError) -> JSONValue {
        let deadline = Self.deadline(after: timeoutSeconds)
        try connect()
        let id = RPCRequestID.number(nextID)
        nextID += 1
        var line: [UInt8] = []
        EnvelopeWriter.writeRequest(method: method, params: params, id: id, to: &line)
        try send(line, deadline: deadline)
        while true {
            guard let message = try receive(deadline: deadline) else { throw .timeout }
            switch message {
            case .response(id, let outcome):
                switch outcome.asResult {
                case .success(let result): return result
                case .failure(let error): throw .remote(error)
                }
            case .response(.null, .error(let error)):
                // The server could not read our request (parse error, too large, refused).
                throw .remote(error)
            case .response, .batch, .notification:
                keepIfAwaited(message)
                continue  // notifications were queued by receive; other replies are stale
            }
        }
    }

    // MARK: Requests without waiting

    /// Writes a request and returns at once with its id, without waiting for the reply: for a
    /// long call (a self-test) during which the caller shows progress. Collect the reply with
    /// `poll`; it is kept even if a `call` or `nextNotification` reads it first. The caller
    /// keeps its own deadline: a reply that never comes just never shows up in `poll`.
    public func send(_ method: String, params: JSONValue? = nil, timeoutSeconds: Double = 30) throws(RPCClientError) -> RPCRequestID {
        let deadline = Self.deadline(after: timeoutSeconds)
        try connect()
        let id = RPCRequestID.number(nextID)
        nextID += 1
        var line: [UInt8] = []
        EnvelopeWriter.writeRequest(method: method, params: params, id: id, to: &line)
        try send(line, deadline: deadline)
        awaitedIDs.insert(id)
        return id
    }

    /// The next thing from the server: a queued notification or reply at once, else waits up
    /// to `timeoutSeconds` for either; nil on timeout. Replies are only those to requests made
    /// with `send` (a JSON-RPC error reply comes back as `.reply(id, .failure)`); notifications
    /// come in the order they arrived, before a reply that arrived after them.
    public func poll(timeoutSeconds: Double) throws(RPCClientError) -> RPCClientEvent? {
        if let event = popQueuedEvent() { return event }
        let deadline = Self.deadline(after: timeoutSeconds)
        try connect()
        while true {
            guard let message = try receive(deadline: deadline) else { return nil }
            if case .response(.null, .error(let error)) = message, !awaitedIDs.isEmpty {
                // The server could not read a request of ours; which one it cannot say.
                throw .remote(error)
            }
            keepIfAwaited(message)
            if let event = popQueuedEvent() { return event }
        }
    }

    /// Queues a reply to a request made with `send`; other replies are stale and dropped.
    private func keepIfAwaited(_ message: IncomingMessage) {
        if case .response(let id, let outcome) = message, awaitedIDs.remove(id) != nil {
            queuedReplies.append((id, outcome))
        }
    }

    private func popQueuedEvent() -> RPCClientEvent? {
        if let notification = popNotification() {
            return .notification(method: notification.method, params: notification.params)
        }
        guard !queuedReplies.isEmpty else { return nil }
        let reply = queuedReplies.removeFirst()
        return .reply(id: reply.id, result: reply.outcome.asResult)
    }

    /// Sends a notification: no id, no reply. Returns once the bytes are written.
    public func notify(_ method: String, params: JSONValue? = nil, timeoutSeconds: Double = 30) throws(RPCClientError) {
        let deadline = Self.deadline(after: timeoutSeconds)
        try connect()
        var line: [UInt8] = []
        EnvelopeWriter.writeRequest(method: method, params: params, id: nil, to: &line)
        try send(line, deadline: deadline)
    }

    /// Sends `entries` as one batch and returns one result per call entry, in order;
    /// notification entries have none. A batch of only notifications returns [] at once,
    /// since the server sends nothing back (§6).
    public func batch(_ entries: [RPCBatchEntry], timeoutSeconds: Double = 30) throws(RPCClientError) -> [Result<JSONValue, RPCError>] {
        guard !entries.isEmpty else { return [] }
        let deadline = Self.deadline(after: timeoutSeconds)
        try connect()
        var ids: [RPCRequestID] = []
        var line: [UInt8] = [UInt8(ascii: "[")]
        for (index, entry) in entries.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            var id: RPCRequestID?
            if !entry.isNotification {
                id = .number(nextID)
                nextID += 1
                ids.append(id!)
            }
            EnvelopeWriter.writeRequest(method: entry.method, params: entry.params, id: id, to: &line)
        }
        line.append(UInt8(ascii: "]"))
        try send(line, deadline: deadline)
        if ids.isEmpty { return [] }
        let wanted = Set(ids)
        while true {
            guard let message = try receive(deadline: deadline) else { throw .timeout }
            switch message {
            case .batch(let replies):
                var outcomes: [RPCRequestID: RPCOutcome] = [:]
                for case .response(let id, let outcome) in replies { outcomes[id] = outcome }
                // A batch reply about none of our ids is a late one for a batch that timed out.
                guard outcomes.keys.contains(where: wanted.contains) else { continue }
                return try ids.map { (id) throws(RPCClientError) -> Result<JSONValue, RPCError> in
                    guard let outcome = outcomes[id] else { throw .protocolError("the batch reply has no response for id \(id)") }
                    return outcome.asResult
                }
            case .response(.null, .error(let error)):
                throw .remote(error)
            case .response, .notification:
                keepIfAwaited(message)
                continue
            }
        }
    }

    /// The next notification from the server (for subscriptions): a queued one at once, else
    /// waits up to `timeoutSeconds`; nil on timeout. Absent params come back as `.null`.
    public func nextNotification(timeoutSeconds: Double) throws(RPCClientError) -> (method: String, params: JSONValue)? {
        if let queued = popNotification() { return queued }
        let deadline = Self.deadline(after: timeoutSeconds)
        try connect()
        while true {
            guard let message = try receive(deadline: deadline) else { return nil }
            keepIfAwaited(message)
            if let queued = popNotification() { return queued }
        }
    }

    private func popNotification() -> (method: String, params: JSONValue)? {
        guard queuedNotificationsStart < queuedNotifications.count else { return nil }
        let next = queuedNotifications[queuedNotificationsStart]
        queuedNotificationsStart += 1
        if queuedNotificationsStart == queuedNotifications.count {
            queuedNotifications.removeAll(keepingCapacity: true)
            queuedNotificationsStart = 0
        }
        return next
    }

    // MARK: - I/O

    private static func deadline(after seconds: Double) -> UInt64 {
        MonotonicClock.nanoseconds() &+ UInt64(max(0, min(seconds, 1e9)) * 1e9)
    }

    /// Writes the line and its newline, waiting for room until the deadline.
    private func send(_ line: [UInt8], deadline: UInt64) throws(RPCClientError) {
        var bytes = line
        bytes.append(0x0A)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                // MSG_NOSIGNAL: a daemon that went away is an error to report, not SIGPIPE.
                retryingOnInterrupt { Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EAGAIN:
                guard try waitFor(Int16(POLLOUT), deadline: deadline) else {
                    // Part of a line may be out: the next request would be glued to it, so this
                    // connection is done and the next call makes a new one.
                    close()
                    throw .timeout
                }
            case EPIPE, ECONNRESET:
                try failAfterPeerClosed()
            default:
                throw .protocolError("send failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The server closed on us while we were writing. If it said why first (connection limit,
    /// shutting down), that reply is in the inbox: report it rather than a bare close.
    private func failAfterPeerClosed() throws(RPCClientError) -> Never {
        while let message = try? receive(deadline: 0) {
            if case .response(.null, .error(let error)) = message {
                close()
                throw .remote(error)
            }
        }
        close()
        throw .connectionClosed
    }

    /// Polls for `events`; false on timeout.
    private func waitFor(_ events: Int16, deadline: UInt64) throws(RPCClientError) -> Bool {
        do {
            return try Poll.wait(fd, events: events, deadlineNanoseconds: deadline) != 0
        } catch {
            throw .protocolError("poll failed: \(error.message)")
        }
    }

    /// The next message from the server, or nil at the deadline. Notifications are queued
    /// here as well as returned, so every path that reads keeps them.
    private func receive(deadline: UInt64) throws(RPCClientError) -> IncomingMessage? {
        while true {
            if let line = takeLine() {
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                let value: JSONValue
                do {
                    value = try JSONValue(parsing: line)
                } catch {
                    throw .protocolError("a reply line is not JSON (\(error))")
                }
                guard let message = IncomingMessage(value) else {
                    throw .protocolError("not a JSON-RPC 2.0 response: \(Self.excerpt(value))")
                }
                if case .notification(let method, let params) = message {
                    queuedNotifications.append((method, params ?? .null))
                }
                return message
            }
            if peerClosed || fd < 0 {
                close()
                throw .connectionClosed
            }
            if inbox.count - inboxStart > maxResponseBytes {
                close()
                throw .protocolError("a reply line is longer than \(maxResponseBytes) bytes")
            }
            guard try fill(deadline: deadline) else { return nil }
        }
    }

    private static func excerpt(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// Splits off the next complete line from the inbox, without its newline.
    private func takeLine() -> ArraySlice<UInt8>? {
        guard let newline = inbox[max(inboxStart, scannedUpTo)...].firstIndex(of: 0x0A) else {
            // Reclaim the consumed prefix now and then, not on every line.
            if inboxStart > 0 && inboxStart >= inbox.count / 2 {
                inbox.removeSubrange(0..<inboxStart)
                inboxStart = 0
            }
            scannedUpTo = inbox.count
            return nil
        }
        let line = inbox[inboxStart..<newline]
        inboxStart = newline + 1
        scannedUpTo = inboxStart
        return line
    }

    /// Reads what the socket has, waiting until the deadline; false on timeout.
    private func fill(deadline: UInt64) throws(RPCClientError) -> Bool {
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in
                retryingOnInterrupt { recv(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT)) }
            }
            if count > 0 {
                inbox.append(contentsOf: chunk[0..<count])
                return true
            }
            if count == 0 {
                peerClosed = true
                return true
            }
            switch errno {
            case EAGAIN:
                guard try waitFor(Int16(POLLIN), deadline: deadline) else { return false }
            case ECONNRESET, EPIPE:
                // A server that closed with our unread request in its queue resets us (unix(7));
                // what it sent before is already in the inbox.
                peerClosed = true
                return true
            default:
                throw .protocolError("recv failed: \(String(cString: strerror(errno)))")
            }
        }
    }
}

@available(*, unavailable, message: "JSONRPCClient is for one thread at a time; give each thread its own")
extension JSONRPCClient: Sendable {}
