#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LockDiagTestSupport
import Synchronization
import Testing

@testable import JSONRPC

/// Runs blocking code (the POSIX client, raw sockets) on a thread of its own. The cooperative
/// pool has one thread per core, two here: a test blocking one of them while the server's
/// handler tasks need it would starve the very work it waits for.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Waits for `condition` with a deadline, polling from a task (never blocking a pool thread).
func eventually(upTo seconds: Double = 5, _ condition: @escaping () -> Bool) async -> Bool {
    await TestSupport.wait(upTo: seconds) { () async in condition() }
}

struct TestTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// A latch that slow test handlers wait on until the test opens it.
final class Gate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A counting semaphore: each `take` waits for one `release`.
final class Tickets: Sendable {
    private let state = Mutex<(available: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    func take() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func release(_ count: Int = 1) {
        let resumed = state.withLock { state in
            var resumed: [CheckedContinuation<Void, Never>] = []
            for _ in 0..<count {
                if state.waiters.isEmpty { state.available += 1 } else { resumed.append(state.waiters.removeFirst()) }
            }
            return resumed
        }
        for waiter in resumed { waiter.resume() }
    }
}

/// What the test handler records, for the tests to wait on.
final class Probe: Sendable {
    let gate = Gate()
    let slowStarted = Atomic<Int>(0)
    let slowFinished = Atomic<Int>(0)
    let subscribers = Mutex<[RPCConnection]>([])
    let closedConnections = Mutex<[UInt64]>([])
    let notificationsHandled = Atomic<Int>(0)
    let internalErrors = Mutex<[String]>([])
    let tickets = Tickets()
    /// For "ticketed": how many started, how many run now, and the most that ever ran at once.
    let ticketed = Mutex<(started: Int, running: Int, maxRunning: Int)>((0, 0, 0))
}

/// A failure whose text must never reach a client.
struct SecretFailure: Error, CustomStringConvertible {
    var description: String { "database at /var/lib/secret.db is corrupt" }
}

/// The methods the server tests call: the JSON-RPC 2.0 spec's examples plus probes.
func makeTestHandler(_ probe: Probe) -> RPCMethodTable {
    var table = RPCMethodTable()
    table.register("echo") { call in call.params ?? .null }
    table.register("sum") { call in
        guard let numbers = call.params?.arrayValue?.compactMap(\.int64Value) else {
            throw RPCError.invalidParams("sum takes an array of integers")
        }
        return .integer(numbers.reduce(0, +))
    }
    table.register("subtract") { call in
        struct Named: Decodable { var minuend: Int64; var subtrahend: Int64 }
        if let pair = call.params?.arrayValue, pair.count == 2, let a = pair[0].int64Value, let b = pair[1].int64Value {
            return .integer(a - b)
        }
        let named = try call.decodeParams(as: Named.self)
        return .integer(named.minuend - named.subtrahend)
    }
    table.register("update") { _ in
        probe.notificationsHandled.add(1, ordering: .relaxed)
        return .null
    }
    table.register("notify_hello") { _ in
        probe.notificationsHandled.add(1, ordering: .relaxed)
        return .null
    }
    table.register("get_data") { _ in ["hello", 5] }
    table.register("fail") { _ in throw SecretFailure() }
    table.register("unknown_device") { _ in throw RPCError.unknownDevice("front-door") }
    table.register("slow") { _ in
        probe.slowStarted.add(1, ordering: .relaxed)
        await probe.gate.wait()
        probe.slowFinished.add(1, ordering: .relaxed)
        return "done"
    }
    table.register("ticketed") { _ in
        probe.ticketed.withLock { state in
            state.started += 1
            state.running += 1
            state.maxRunning = max(state.maxRunning, state.running)
        }
        await probe.tickets.take()
        probe.ticketed.withLock { $0.running -= 1 }
        return "ticket"
    }
    table.register("whoami") { call in
        guard let peer = call.connection.peer else { throw RPCError.internalError("no peer credentials") }
        return ["pid": .integer(Int64(peer.pid)), "uid": .integer(Int64(peer.uid)), "gid": .integer(Int64(peer.gid)),
                "connection": .integer(Int64(call.connection.id))]
    }
    table.register("subscribe") { call in
        probe.subscribers.withLock { $0.append(call.connection) }
        return true
    }
    table.register("notify_then_reply") { call in
        call.connection.trySendNotification(method: "event", params: ["n": 1])
        call.connection.trySendNotification(method: "event", params: ["n": 2])
        return "replied"
    }
    // Answered on the event loop when its params say `now`, by its ordinary body otherwise.
    table.register("peek") { _ in "ordinary" }
    table.registerImmediate("peek") { call in
        switch call.params?["now"] {
        case .bool(true)?: .encodedResult(Array(#"{"answered":"now"}"#.utf8))
        case .integer(let size)?: .encodedResult(Array("\"\(String(repeating: "x", count: Int(size)))\"".utf8))
        case .string(let message)?: .error(.invalidParams(message))
        default: nil
        }
    }
    table.onInternalError { error, call in
        probe.internalErrors.withLock { $0.append("\(call.method): \(error)") }
    }
    table.onConnectionClosed { connection in
        probe.closedConnections.withLock { $0.append(connection.id) }
    }
    return table
}

/// Starts a real server on a socket in a temporary directory, runs `body`, stops the server.
func withServer(
    configure: (inout JSONRPCServer.Configuration) -> Void = { _ in },
    _ body: (JSONRPCServer, Probe) async throws -> Void
) async throws {
    let directory = try TemporaryDirectory(prefix: "jrpc")
    defer { directory.remove() }
    var configuration = JSONRPCServer.Configuration(socketPath: directory.socketPath)
    configure(&configuration)
    let probe = Probe()
    let server = JSONRPCServer(configuration: configuration, handler: makeTestHandler(probe))
    try await server.start()
    do {
        try await body(server, probe)
    } catch {
        probe.gate.open()
        probe.tickets.release(1000)
        await server.stop()
        throw error
    }
    probe.gate.open()
    probe.tickets.release(1000)
    await server.stop()
}

/// A bare Unix stream socket for sending what a well-behaved client never would.
final class RawSocket: Sendable {
    private let descriptor: Atomic<Int32>
    private let pending = Mutex<[UInt8]>([])

    init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        let result = SocketFile.withUnixAddress(path) { Glibc.connect(fd, $0, $1) }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
        descriptor = Atomic(fd)
    }

    deinit { close() }

    var fd: Int32 { descriptor.load(ordering: .relaxed) }

    func close() {
        let fd = descriptor.exchange(-1, ordering: .relaxed)
        if fd >= 0 { Glibc.close(fd) }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            offset += sent
        }
    }

    func shutdownWrite() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// The next line without its newline; nil at end of stream.
    func readLine(timeoutSeconds: Double = 10) throws -> String? {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            let line: [UInt8]? = pending.withLock { pending in
                guard let newline = pending.firstIndex(of: 0x0A) else { return nil }
                defer { pending.removeSubrange(0...newline) }
                return Array(pending[..<newline])
            }
            if let line { return String(decoding: line, as: UTF8.self) }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw TestTimeout(what: "a line from the server") }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(remaining * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return nil }  // EOF, or ECONNRESET after the server closed
            pending.withLock { $0.append(contentsOf: chunk[0..<count]) }
        }
    }

    /// The next line, parsed; fails at end of stream.
    func readJSON(timeoutSeconds: Double = 10) throws -> JSONValue {
        guard let line = try readLine(timeoutSeconds: timeoutSeconds) else { throw TestTimeout(what: "a reply (got end of stream)") }
        return try JSONValue(parsing: line)
    }

    /// Sends one line and reads one reply.
    func exchange(_ line: String) throws -> JSONValue {
        try send(line + "\n")
        return try readJSON()
    }

    /// True once the server has closed the connection (reads return end of stream).
    func readsEndOfStream(timeoutSeconds: Double = 10) throws -> Bool {
        while let _ = try readLine(timeoutSeconds: timeoutSeconds) {}
        return true
    }
}

extension JSONValue {
    /// The error code of an error response.
    var errorCode: Int? { self["error"]?["code"]?.intValue }
}
