import Foundation
import HistoryStore
import JSONRPC
import Logging
import Synchronization

extension AuditEntry {
    /// The log line: `audit: uid=1000 gid=1000 pid=4242 client=lockdiag role=technician
    /// connection=3 command=faults.clear {"device":"SIM-0001-004"} → succeeded`.
    public var line: String {
        func value<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "?" }
        let result = switch outcome {
        case "failed": "failed \(value(errorCode)): \(errorMessage ?? "")"
        case "denied": "DENIED"
        default: outcome
        }
        return "audit: uid=\(value(uid)) gid=\(value(gid)) pid=\(value(pid)) client=\(value(client)) role=\(role ?? "none") "
            + "connection=\(connection) command=\(method) \(params) → \(result)"
    }
}

/// Where privileged calls are recorded: the log, always, and every sink added with
/// `addSink` — the hook for a persistent history (the history store plugs in here).
public final class AuditTrail: Sendable {
    /// How a call went.
    public enum Outcome: Sendable, Equatable {
        /// Allowed and about to run.
        case started
        case succeeded
        /// Ran and failed with this JSON-RPC error.
        case failed(code: Int, message: String)
        /// Refused: the caller's role is below what the method needs.
        case denied
    }

    /// Params longer than this are cut in the record.
    public static let maxParamsBytes = 512

    /// Refused calls recorded one by one per connection: a burst of this many, then one a
    /// minute. The rest are counted and recorded as one summary entry (outcome `denied`, method
    /// `*`, params `{"suppressed": N}`) with the next refusal recorded, or when the connection
    /// closes: a reader looping on a refused call costs a few log lines and audit rows, not one
    /// per call.
    public static let refusalBurst = 5
    public static let refusalRefillSeconds = 60.0

    let logger: Logger
    private let sinks = Mutex<[@Sendable (AuditEntry) -> Void]>([])
    /// Per open connection that had a refusal: its budget of recorded refusals.
    private let refusals = Mutex<[UInt64: RefusalBudget]>([:])

    /// A token bucket of recorded refusals and the count of those left out since the last record.
    struct RefusalBudget {
        var tokens = Double(AuditTrail.refusalBurst)
        var refilledAt = Date()
        var suppressed = 0
        var lastSuppressed: AuditEntry?
    }

    public init(logger: Logger) { self.logger = logger }

    /// Adds a receiver of every record (called on the request's task; must not block for long).
    public func addSink(_ sink: @escaping @Sendable (AuditEntry) -> Void) {
        sinks.withLock { $0.append(sink) }
    }

    func record(_ call: RPCCall, role: Role?, outcome: Outcome) {
        let record = entry(call, role: role, outcome: outcome)
        guard outcome == .denied else { return emit(record) }
        let (recorded, summary) = refusals.withLock { all -> (Bool, AuditEntry?) in
            var budget = all[call.connection.id] ?? RefusalBudget()
            let now = Date()
            budget.tokens = min(Double(Self.refusalBurst), budget.tokens + now.timeIntervalSince(budget.refilledAt) / Self.refusalRefillSeconds)
            budget.refilledAt = now
            guard budget.tokens >= 1 else {
                budget.suppressed += 1
                budget.lastSuppressed = record
                all[call.connection.id] = budget
                return (false, nil)
            }
            budget.tokens -= 1
            let summary = Self.summary(of: budget)
            budget.suppressed = 0
            budget.lastSuppressed = nil
            all[call.connection.id] = budget
            return (true, summary)
        }
        if let summary { emit(summary) }
        if recorded { emit(record) }
    }

    /// Records what a closing connection's refusals left unrecorded, and forgets it.
    func connectionClosed(_ connection: RPCConnection) {
        let budget = refusals.withLock { $0.removeValue(forKey: connection.id) }
        if let budget, let summary = Self.summary(of: budget) { emit(summary) }
    }

    /// The entry standing for a budget's unrecorded refusals (the last one's peer and time).
    static func summary(of budget: RefusalBudget) -> AuditEntry? {
        guard budget.suppressed > 0, var entry = budget.lastSuppressed else { return nil }
        entry.method = "*"
        entry.params = "{\"suppressed\":\(budget.suppressed)}"
        return entry
    }

    private func emit(_ record: AuditEntry) {
        switch record.outcome {
        case "denied": logger.warning("\(record.line)")
        default: logger.notice("\(record.line)")
        }
        for sink in sinks.withLock({ $0 }) { sink(record) }
    }

    private func entry(_ call: RPCCall, role: Role?, outcome: Outcome) -> AuditEntry {
        let peer = call.connection.peer
        // A client chooses its params (and the error messages that quote them): escaped to one
        // inert line and cut, so nobody can forge or flood audit lines (docs/security.md).
        let params = Self.cut(TerminalText.inertJSON(call.params?.jsonText ?? "{}"))
        var record = AuditEntry(
            atMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), uid: peer?.uid, gid: peer?.gid, pid: peer?.pid,
            client: peer.flatMap { Self.programName(pid: $0.pid) }, connection: call.connection.id, role: role?.description,
            method: TerminalText.oneInertLine(call.method), params: params, outcome: "")
        switch outcome {
        case .started: record.outcome = "started"
        case .succeeded: record.outcome = "succeeded"
        case .denied: record.outcome = "denied"
        case .failed(let code, let message):
            record.outcome = "failed"
            record.errorCode = code
            record.errorMessage = Self.cut(TerminalText.oneInertLine(message))
        }
        return record
    }

    /// `text` cut to `maxParamsBytes` on a character boundary, with "…" where it was cut.
    static func cut(_ text: String) -> String {
        guard text.utf8.count > maxParamsBytes else { return text }
        var kept = Substring.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            bytes += UTF8.width(scalar)
            guard bytes <= maxParamsBytes else { break }
            kept.append(scalar)
        }
        return String(kept) + "…"
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

    /// Only for a caller whose role allows the method, and only for methods that need no more
    /// than a reader (nothing audited): a denial, and every technician call, take `handle`.
    public func answerNow(_ call: RPCCall) -> ImmediateAnswer? {
        guard registered.contains(call.method), policy.requiredRole(for: call.method) == .reader,
              policy.role(of: call.connection.peer) != nil else { return nil }
        return inner.answerNow(call)
    }

    public func connectionClosed(_ connection: RPCConnection) {
        audit.connectionClosed(connection)
        inner.connectionClosed(connection)
    }

    public func internalError(_ error: any Error, in call: RPCCall) { inner.internalError(error, in: call) }
}

extension AuditTrail {
    /// Keeps every record in the history too: a call that changes a lock is on disk before it
    /// runs (a crash mid-call still leaves who asked); outcomes and refusals follow with the
    /// recorder's next flush.
    public func record(into history: HistoryRecorder) {
        addSink { record in
            if record.outcome == "started" {
                history.commit([.audit(record)])
            } else {
                history.enqueue([.audit(record)])
            }
        }
    }
}
