import NIOCore
import Synchronization

/// Who is on the other end of a Unix socket connection, as the kernel vouches for it
/// (SO_PEERCRED, socket(7)): the client's pid, uid and gid when it connected, and its
/// supplementary groups (SO_PEERGROUPS).
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public let pid: Int32
    public let uid: UInt32
    public let gid: UInt32
    /// The connecting process's supplementary group ids at connect time (SO_PEERGROUPS,
    /// Linux 4.13+); nil when the kernel did not say: then only `gid` is known, and a caller
    /// deciding permissions must not guess the rest (the group database is not the process).
    public let groups: [UInt32]?

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32]? = nil) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}

/// `struct ucred` from <sys/socket.h>, which Swift's Glibc module leaves out (it needs
/// _GNU_SOURCE): pid_t, uid_t, gid_t, three 32-bit fields in this order on Linux.
struct KernelUcred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// SO_PEERGROUPS' answer: the peer's supplementary gids, as many as fit. NIO's socket-option
/// call zero-fills the buffer and does not return the length the kernel wrote; the kernel keeps a
/// process's groups sorted ascending (setgroups(2) sorts them), so trailing zeros are padding and
/// a gid 0 can only come first — so a process whose only supplementary group is 0 reads as one
/// with none (lockdiag never grants a role through gid 0). Over 1024 groups the call fails
/// (ERANGE) and `PeerCredentials.groups` is nil.
struct KernelPeerGroups: Sendable {
    /// SO_PEERGROUPS from <asm-generic/socket.h> (Linux 4.13), absent from Swift's Glibc module.
    static let option: Int32 = 59

    var gids = InlineArray<1024, UInt32>(repeating: 0)

    var groupIDs: [UInt32] {
        var result: [UInt32] = []
        var lastNonZero = -1
        for i in gids.indices where gids[i] != 0 { lastNonZero = i }
        guard lastNonZero >= 0 else { return [] }
        for i in 0...lastNonZero { result.append(gids[i]) }
        return result
    }
}

/// One client connection as handlers see it: its id, its peer credentials, and a way to push
/// notifications to it from any thread.
public final class RPCConnection: Sendable, CustomStringConvertible {
    /// Unique within one server's lifetime, counting from 1.
    public let id: UInt64
    /// From SO_PEERCRED at accept; nil only if the kernel refused to say (not seen on Linux).
    public let peer: PeerCredentials?

    let channel: any Channel
    private let counters: ServerCounters
    private let notificationHighWaterMark: Int
    /// Guards every hand-off to the channel's event loop: once the channel is inactive, `open`
    /// is false and nothing schedules work on its loop, so a server that shuts down its event
    /// loop group after its connections closed never sees a late task from a slow handler.
    private let open = Mutex(true)
    /// Bytes of notifications handed to the channel and not yet written to the socket. Kept
    /// here rather than read from NIO because writes from other threads reach NIO's count only
    /// after they hop to the event loop; this one is exact at the moment of the decision.
    private let queuedBytes = Atomic<Int>(0)
    /// Set by the handler while the client waits for server notifications (a subscription):
    /// such a connection is quiet on purpose and the idle timeout leaves it alone.
    private let awaitingNotifications = Atomic<Bool>(false)

    init(id: UInt64, peer: PeerCredentials?, channel: any Channel, counters: ServerCounters, notificationHighWaterMark: Int) {
        self.id = id
        self.peer = peer
        self.channel = channel
        self.counters = counters
        self.notificationHighWaterMark = notificationHighWaterMark
    }

    public var description: String {
        "connection \(id)" + (peer.map { " (\($0))" } ?? "")
    }

    /// False once the connection has closed (either side).
    public var isOpen: Bool { open.withLock { $0 } }

    /// Whether the client is waiting for notifications (see `setReceivesNotifications`).
    public var receivesNotifications: Bool { awaitingNotifications.load(ordering: .relaxed) }

    /// Tells the server the client now waits for server notifications (true) or no longer
    /// does (false): a connection that only listens is not idle, whatever the idle timeout says.
    public func setReceivesNotifications(_ receives: Bool) {
        awaitingNotifications.store(receives, ordering: .relaxed)
    }

    /// Bytes of notifications queued for this client and not yet taken by the kernel.
    public var queuedNotificationBytes: Int { queuedBytes.load(ordering: .relaxed) }

    /// Sends a notification (a request without id) if the client is keeping up; never blocks,
    /// never waits, safe from any thread.
    ///
    /// Returns false, and drops the notification, when the connection is closed or when the
    /// client is not reading: more than the high-water mark of notifications is already queued,
    /// or the channel as a whole is over its write-buffer mark. The caller counts the losses
    /// and tells the client (for example with a `dropped` count in the next notification).
    /// `params` should be an array or an object (JSON-RPC 2.0 §4.2).
    @discardableResult
    public func trySendNotification(method: String, params: JSONValue? = nil) -> Bool {
        guard isOpen, channel.isWritable else {
            counters.notificationsDropped.add(1, ordering: .relaxed)
            return false
        }
        var line: [UInt8] = []
        EnvelopeWriter.writeRequest(method: method, params: params, id: nil, to: &line)
        return trySendNotification(NotificationLine(line))
    }

    /// `trySendNotification(method:params:)` for a line already made, which many connections
    /// may share (the same notification to every subscriber is encoded once).
    @discardableResult
    public func trySendNotification(_ line: NotificationLine) -> Bool {
        guard isOpen, channel.isWritable else {
            counters.notificationsDropped.add(1, ordering: .relaxed)
            return false
        }
        let size = line.buffer.readableBytes
        let before = queuedBytes.add(size, ordering: .relaxed).oldValue
        // One notification bigger than the mark may still go when nothing is queued, or it
        // could never be sent at all.
        guard before == 0 || before + size <= notificationHighWaterMark else {
            queuedBytes.subtract(size, ordering: .relaxed)
            counters.notificationsDropped.add(1, ordering: .relaxed)
            return false
        }
        // Built by the caller, so the event loop only has to write it.
        let buffer = line.buffer
        let channel = self.channel
        let scheduled = onEventLoopIfOpen {
            // Completes when the bytes reached the kernel, or failed because the channel closed.
            channel.writeAndFlush(buffer).whenComplete { _ in
                self.queuedBytes.subtract(size, ordering: .relaxed)
            }
        }
        guard scheduled else {
            queuedBytes.subtract(size, ordering: .relaxed)
            counters.notificationsDropped.add(1, ordering: .relaxed)
            return false
        }
        counters.notificationsSent.add(1, ordering: .relaxed)
        return true
    }

    /// Closes the connection; in-flight requests finish but their replies are dropped.
    public func close() {
        let channel = self.channel
        _ = onEventLoopIfOpen { channel.close(promise: nil) }
    }

    /// Schedules `body` on the channel's event loop unless the connection has closed; returns
    /// whether it was scheduled. `execute` only enqueues (it never runs `body` inline, even on
    /// the loop's own thread), so holding the lock across it cannot re-enter.
    @discardableResult
    func onEventLoopIfOpen(_ body: @escaping @Sendable () -> Void) -> Bool {
        open.withLock { isOpen in
            guard isOpen else { return false }
            channel.eventLoop.execute(body)
            return true
        }
    }

    /// Called on the event loop when the channel goes inactive.
    func markClosed() {
        open.withLock { $0 = false }
    }
}

/// One notification line, newline included, ready for any number of connections: its bytes are
/// shared, never copied per connection.
public struct NotificationLine: Sendable {
    let buffer: ByteBuffer

    /// A notification of `method` whose params are `encodedParams`, one JSON array or object.
    public init(method: String, encodedParams: [UInt8]) {
        var line: [UInt8] = []
        line.reserveCapacity(encodedParams.count + method.utf8.count + 48)
        EnvelopeWriter.writeNotification(method: method, encodedParams: encodedParams, to: &line)
        self.init(line)
    }

    init(_ lineWithoutNewline: [UInt8]) {
        var buffer = ByteBufferAllocator().buffer(capacity: lineWithoutNewline.count + 1)
        buffer.writeBytes(lineWithoutNewline)
        buffer.writeInteger(UInt8(0x0A))
        self.buffer = buffer
    }
}
