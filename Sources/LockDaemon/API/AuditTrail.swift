import Foundation
import HistoryStore
import JSONRPC
import Logging
import Synchronization

/// One privileged call (or a refused one), with who made it as the kernel reported at connect.
public struct AuditRecord: Sendable, Equatable {
    /// How the call went.
    public enum Outcome: Sendable, Equatable {
        /// Allowed and about to run.
        case started
        case succeeded
        /// Ran and failed with this JSON-RPC error.
        case failed(code: Int, message: String)
        /// Refused: the caller's role is below what the method needs.
        case denied
    }

    /// Wall-clock time, milliseconds since 1970.
    public var atMilliseconds: Int64
    public var uid: UInt32?
    public var gid: UInt32?
    public var pid: Int32?
    /// The client's program name (/proc/PID/comm), best effort: the process may be gone.
    public var client: String?
    public var connection: UInt64
    /// The caller's role; nil for none.
    public var role: Role?
    public var method: String
    /// The params as JSON text, at most `AuditTrail.maxParamsBytes` (longer ones end in "…").
    public var params: String
    public var outcome: Outcome

    /// The log line: `audit: uid=1000 gid=1000 pid=4242 client=lockdiag role=technician
    /// connection=3 command=faults.clear {"device":"SIM-0001-004"} → succeeded`.
    public var line: String {
        func value<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "?" }
        let result: String = switch outcome {
        case .started: "started"
        case .succeeded: "succeeded"
        case .failed(let code, let message): "failed \(code): \(message)"
        case .denied: "DENIED"
        }
        return "audit: uid=\(value(uid)) gid=\(value(gid)) pid=\(value(pid)) client=\(value(client)) role=\(role.map { "\($0)" } ?? "none") "
            + "connection=\(connection) command=\(method) \(params) → \(result)"
    }
}

/// Where privileged calls are recorded: the log, always, and every sink added with
/// `addSink` — the hook for a persistent history (the history store plugs in here).
public final class AuditTrail: Sendable {
    /// Params longer than this are cut in the record.
    public static let maxParamsBytes = 512

    let logger: Logger
    private let sinks = Mutex<[@Sendable (AuditRecord) -> Void]>([])

    public init(logger: Logger) { self.logger = logger }

    /// Adds a receiver of every record (called on the request's task; must not block for long).
    public func addSink(_ sink: @escaping @Sendable (AuditRecord) -> Void) {
        sinks.withLock { $0.append(sink) }
    }

    func record(_ call: RPCCall, role: Role?, outcome: AuditRecord.Outcome) {
        let peer = call.connection.peer
        var params = call.params?.jsonText ?? "{}"
        if params.utf8.count > Self.maxParamsBytes {
            params = String(decoding: params.utf8.prefix(Self.maxParamsBytes), as: UTF8.self) + "…"
        }
        let record = AuditRecord(
            atMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), uid: peer?.uid, gid: peer?.gid, pid: peer?.pid,
            client: peer.flatMap { Self.programName(pid: $0.pid) }, connection: call.connection.id, role: role,
            method: call.method, params: params, outcome: outcome)
        switch outcome {
        case .denied: logger.warning("\(record.line)")
        default: logger.notice("\(record.line)")
        }
        for sink in sinks.withLock({ $0 }) { sink(record) }
    }

    /// /proc/PID/comm, the kernel's 15-character program name; control characters dropped, so
    /// a client cannot forge log lines with its own name.
    static func programName(pid: Int32) -> String? {
        guard pid > 0, let data = FileManager.default.contents(atPath: "/proc/\(pid)/comm") else { return nil }
        let name = String(decoding: data, as: UTF8.self).unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F && $0 != " " }
        return name.isEmpty ? nil : String(String.UnicodeScalarView(name))
    }
}

/// The API's method table behind the access policy: a call below its method's role gets
/// -32004 naming the group to join; every call that needs the technician role is recorded in
/// the audit trail before it runs and with its outcome.
public struct AccessControlledHandler: JSONRPCHandler {
    public let inner: RPCMethodTable
    public let policy: AccessPolicy
    public let audit: AuditTrail
    private let registered: Set<String>

    public init(_ inner: RPCMethodTable, policy: AccessPolicy, audit: AuditTrail) {
        self.inner = inner
        self.policy = policy
        self.audit = audit
        registered = Set(inner.methodNames)
    }

    public func handle(_ call: RPCCall) async throws -> JSONValue {
        // An unknown method is reported as such whoever asks: nothing to protect there.
        guard registered.contains(call.method) else { return try await inner.handle(call) }
        let role = policy.role(of: call.connection.peer)
        let needed = policy.requiredRole(for: call.method)
        guard let role, role >= needed else {
            audit.record(call, role: role, outcome: .denied)
            throw policy.denial(of: call.method)
        }
        guard needed == .technician else { return try await inner.handle(call) }
        audit.record(call, role: role, outcome: .started)
        do {
            let result = try await inner.handle(call)
            audit.record(call, role: role, outcome: .succeeded)
            return result
        } catch let error as RPCError {
            audit.record(call, role: role, outcome: .failed(code: error.code, message: error.message))
            throw error
        } catch {
            audit.record(call, role: role, outcome: .failed(code: RPCError.Code.internalError, message: "internal error"))
            throw error
        }
    }

    public func connectionClosed(_ connection: RPCConnection) { inner.connectionClosed(connection) }

    public func internalError(_ error: any Error, in call: RPCCall) { inner.internalError(error, in: call) }
}

extension AuditRecord {
    /// The record as the history's audit table keeps it.
    var historyEntry: AuditEntry {
        var entry = AuditEntry(atMilliseconds: atMilliseconds, uid: uid, gid: gid, pid: pid, client: client, connection: connection,
                               role: role?.description, method: method, params: params, outcome: "")
        switch outcome {
        case .started: entry.outcome = "started"
        case .succeeded: entry.outcome = "succeeded"
        case .denied: entry.outcome = "denied"
        case .failed(let code, let message):
            entry.outcome = "failed"
            entry.errorCode = code
            entry.errorMessage = message
        }
        return entry
    }
}

extension AuditTrail {
    /// Keeps every record in the history too: a call that changes a lock is on disk before it
    /// runs (a crash mid-call still leaves who asked); outcomes and refusals follow with the
    /// recorder's next flush.
    public func record(into history: HistoryRecorder) {
        addSink { record in
            if record.outcome == .started {
                history.commit([.audit(record.historyEntry)])
            } else {
                history.enqueue([.audit(record.historyEntry)])
            }
        }
    }
}
