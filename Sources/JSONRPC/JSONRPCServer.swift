#if canImport(Glibc)
import Glibc
#endif
import LinuxIO
import NIOCore
import NIOPosix
import Dispatch
import Synchronization

/// Serves JSON-RPC 2.0 on a Unix stream socket, one JSON text per line (see docs/json-rpc.md).
public final class JSONRPCServer: Sendable {
    /// Where and how the server listens, and its limits.
    public struct Configuration: Sendable {
        public var socketPath: String
        /// Mode of the socket file; 0660 lets the owner and the socket's group connect.
        public var socketMode: UInt32 = 0o660
        /// Mode for directories created above the socket (existing ones are not changed).
        public var directoryMode: UInt32 = 0o750
        /// Longest request line accepted, in bytes, without its newline.
        public var maxRequestBytes: Int = 1 << 20
        /// Connections past this get one -32006 error line and are closed.
        public var maxConnections: Int = 64
        /// Of `maxConnections`, slots only a connection `admission` calls privileged may take:
        /// ordinary clients, together, hold at most `maxConnections - reservedPrivilegedConnections`.
        public var reservedPrivilegedConnections: Int = 0
        /// Ordinary (not privileged) connections one uid may hold at once; past it one -32006
        /// line and close. Privileged peers are bound only by `maxConnections`.
        public var maxConnectionsPerUser: Int = .max
        /// Elements one batch may hold; a longer batch gets one -32006 error (id null) and none
        /// of it runs.
        public var maxBatchElements: Int = 100
        /// Longest reply line sent, in bytes: a result that would make it longer is replaced by
        /// a -32006 error telling the client to page or narrow the call.
        public var maxReplyBytes: Int = 16 << 20
        /// Requests (a batch counts as one) running at once for one connection; past it the
        /// server stops reading that connection until one finishes (nothing is refused).
        public var maxConcurrentRequestsPerConnection: Int = 64
        /// Outbound bytes queued for one client above which notifications are dropped and the
        /// server stops reading that client's requests until it catches up.
        public var outboundHighWaterMarkBytes: Int = 256 * 1024
        /// How long `stop()` lets in-flight requests finish before closing their connections.
        public var shutdownGracePeriodSeconds: Double = 5
        /// Requests per second one connection may send on average (a token bucket; each batch
        /// element counts); past it a request gets a -32006 error instead of running. 0: no limit.
        public var maxRequestsPerSecondPerConnection: Double = 0
        /// Requests one connection may send at once before the rate applies (the bucket's size).
        public var requestBurstPerConnection: Int = 100
        /// A connection with no request for this long, none running and no notifications awaited
        /// (`RPCConnection.setReceivesNotifications`) gets a -32006 line and is closed. 0: never.
        public var idleTimeoutSeconds: Double = 0
        /// Decides at connect, from the peer's credentials, whether a client may stay and whether
        /// it may take a reserved slot; a refusal is sent as the only line (id null) and the
        /// connection closed. nil admits everyone as ordinary.
        public var admission: (@Sendable (PeerCredentials?) -> Admission)? = nil
        /// Runs once on each of the server's own event-loop threads as it starts, before any
        /// connection: for the thread's scheduling attributes (lockdiagd asks the fair scheduler
        /// for a short slice). Not run on a group passed to `init`.
        public var eventLoopThreadSetup: (@Sendable () -> Void)? = nil
        /// Group to give the socket file and the directories the server creates for it (chown),
        /// so that group's members may connect; nil keeps the process's own group.
        public var socketGroupID: UInt32? = nil

        public init(socketPath: String) {
            self.socketPath = socketPath
        }
    }

    /// `Configuration.admission`'s decision on a new connection.
    public enum Admission: Sendable, Equatable {
        /// It may stay; a privileged one may use the reserved slots and is not capped per uid.
        case admit(privileged: Bool)
        /// It is sent this error and closed.
        case refuse(RPCError)
    }

    /// A snapshot of the server's counters.
    public struct Statistics: Sendable, Equatable {
        public var connectionsOpen: Int
        public var connectionsTotal: Int
        /// Refused at the connection limit.
        public var connectionsRejected: Int
        /// Requests and notifications received; each batch element counts.
        public var requests: Int
        /// Lines that were not JSON (-32700).
        public var parseErrors: Int
        /// Lines longer than `maxRequestBytes`.
        public var oversizedRequests: Int
        /// Handler failures that were not RPCError (-32603).
        public var internalErrors: Int
        public var notificationsSent: Int
        /// Notifications refused because the client was not reading or had gone.
        public var notificationsDropped: Int
        /// Refused at connect by `admission` (no role).
        public var connectionsRefused: Int = 0
        /// Requests refused, or notifications dropped, past the per-connection rate.
        public var rateLimited: Int = 0
        /// Connections closed by the idle timeout.
        public var idleClosed: Int = 0
        /// Requests answered on the event loop (`JSONRPCHandler.answerNow`).
        public var answeredOnLoop: Int = 0
    }

    public let configuration: Configuration
    private let core: ServerCore
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let state = Mutex(State.idle)

    private enum State {
        case idle
        case starting
        case running(serverChannel: any Channel, identity: SocketFile.Identity?)
        case stopping
        case stopped
    }

    /// - Parameters:
    ///   - group: the event loops to serve on; by default the server makes its own one-thread
    ///     group and shuts it down in `stop()`.
    public init(configuration: Configuration, handler: some JSONRPCHandler, group: (any EventLoopGroup)? = nil) {
        precondition(configuration.maxRequestBytes > 0 && configuration.maxConnections > 0)
        precondition(configuration.maxConcurrentRequestsPerConnection > 0 && configuration.outboundHighWaterMarkBytes > 0)
        precondition(configuration.maxRequestsPerSecondPerConnection >= 0 && configuration.requestBurstPerConnection > 0)
        precondition(configuration.idleTimeoutSeconds >= 0 && configuration.idleTimeoutSeconds <= 1e9)
        precondition((0..<configuration.maxConnections).contains(configuration.reservedPrivilegedConnections))
        precondition(configuration.maxConnectionsPerUser > 0 && configuration.maxBatchElements > 0 && configuration.maxReplyBytes > 0)
        self.configuration = configuration
        self.core = ServerCore(configuration: configuration, handler: handler)
        if let group {
            self.group = group
            self.ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            self.ownsGroup = true
        }
    }

    /// The path the server listens on.
    public var socketPath: String { configuration.socketPath }

    public var statistics: Statistics { core.counters.snapshot() }

    /// The connections open now.
    public var connections: [RPCConnection] { core.liveConnections() }

    /// Creates the socket's directory if needed, replaces a stale socket file, binds, sets the
    /// socket file's mode and starts accepting.
    public func start() async throws(JSONRPCServerError) {
        try state.withLock { (state) throws(JSONRPCServerError) in
            guard case .idle = state else { throw .alreadyStarted }
            state = .starting
        }
        if ownsGroup, let setup = configuration.eventLoopThreadSetup {
            for loop in group.makeIterator() { loop.execute(setup) }
        }
        do {
            let (channel, identity) = try await bind()
            state.withLock { $0 = .running(serverChannel: channel, identity: identity) }
        } catch {
            state.withLock { $0 = .stopped }
            if ownsGroup { try? await group.shutdownGracefully() }
            throw error
        }
    }

    private func bind() async throws(JSONRPCServerError) -> (any Channel, SocketFile.Identity?) {
        let path = configuration.socketPath
        try SocketFile.checkLength(path)
        try SocketFile.ensureParentDirectory(of: path, mode: configuration.directoryMode, groupID: configuration.socketGroupID)
        try SocketFile.clearStale(at: path)

        let core = self.core
        let waterMark = ChannelOptions.Types.WriteBufferWaterMark(
            low: configuration.outboundHighWaterMarkBytes / 2, high: configuration.outboundHighWaterMarkBytes)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            // Half-closure lets `printf '…\n' | socat - UNIX-CONNECT:…` get its reply: the
            // client's end of input is not the end of the conversation.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: waterMark)
            .childChannelInitializer { channel in core.accept(channel) }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: path).get()
        } catch let error as IOError {
            // A server that started between our probe and our bind.
            if error.errnoCode == EADDRINUSE { throw .anotherServerIsListening(path: path) }
            throw .system(SystemError("bind", errno: error.errnoCode, path: path))
        } catch {
            throw .bindFailed(path: path, reason: "\(error)")
        }
        // bind(2) created the file with the process umask applied; set the mode we were asked for.
        do {
            try SocketFile.setAttributes(of: path, type: S_IFSOCK, mode: configuration.socketMode, groupID: configuration.socketGroupID)
        } catch {
            try? await channel.close()
            throw error
        }
        return (channel, SocketFile.identity(of: path))
    }

    /// Whether the server's event loop runs a task within `seconds`: false when it is blocked or
    /// swamped, nil when the server is not running. For a service watchdog; blocks the caller,
    /// so call it from a thread of its own, never from the event loop.
    public func eventLoopResponds(within seconds: Double) -> Bool? {
        let answered = DispatchSemaphore(value: 0)
        // Scheduling happens under the state lock, so it never races `stop()` shutting the loop down.
        let scheduled = state.withLock { state -> Bool in
            guard case .running = state else { return false }
            group.next().execute { answered.signal() }
            return true
        }
        guard scheduled else { return nil }
        return answered.wait(timeout: .now() + max(0, seconds)) == .success
    }

    /// Stops gracefully: stops accepting, lets in-flight requests finish (up to the grace
    /// period) and sends their replies, closes every connection, removes the socket file.
    /// Call it before dropping a started server: it also ends the server's own event loop
    /// thread. A second call, or one on a server that is stopping, returns at once.
    public func stop() async {
        let running: (any Channel, SocketFile.Identity?)? = state.withLock { state in
            guard case .running(let channel, let identity) = state else {
                if case .idle = state { state = .stopped }
                return nil
            }
            state = .stopping
            return (channel, identity)
        }
        guard let (serverChannel, identity) = running else { return }

        try? await serverChannel.close()
        let live = core.beginStopping()
        let closes = live.map { $0.channel.closeFuture }
        let grace = configuration.shutdownGracePeriodSeconds
        await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                for close in closes { try? await close.get() }
                return true
            }
            tasks.addTask {
                try? await Task.sleep(nanoseconds: UInt64(max(0, grace) * 1e9))
                return false
            }
            if await tasks.next() == false {
                // Grace period over: handlers still running lose their replies.
                for connection in live { connection.close() }
            }
            tasks.cancelAll()
        }
        SocketFile.remove(configuration.socketPath, ifStill: identity)
        if ownsGroup { try? await group.shutdownGracefully() }
        state.withLock { $0 = .stopped }
    }
}

/// Counters shared by the server, its connections and their handlers; relaxed atomics,
/// because each is an independent tally read only for reporting.
final class ServerCounters: Sendable {
    let connectionsOpen = Atomic<Int>(0)
    let connectionsTotal = Atomic<Int>(0)
    let connectionsRejected = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let parseErrors = Atomic<Int>(0)
    let oversizedRequests = Atomic<Int>(0)
    let internalErrors = Atomic<Int>(0)
    let notificationsSent = Atomic<Int>(0)
    let notificationsDropped = Atomic<Int>(0)
    let connectionsRefused = Atomic<Int>(0)
    let rateLimited = Atomic<Int>(0)
    let idleClosed = Atomic<Int>(0)
    let answeredOnLoop = Atomic<Int>(0)

    func snapshot() -> JSONRPCServer.Statistics {
        JSONRPCServer.Statistics(
            connectionsOpen: connectionsOpen.load(ordering: .relaxed),
            connectionsTotal: connectionsTotal.load(ordering: .relaxed),
            connectionsRejected: connectionsRejected.load(ordering: .relaxed),
            requests: requests.load(ordering: .relaxed),
            parseErrors: parseErrors.load(ordering: .relaxed),
            oversizedRequests: oversizedRequests.load(ordering: .relaxed),
            internalErrors: internalErrors.load(ordering: .relaxed),
            notificationsSent: notificationsSent.load(ordering: .relaxed),
            notificationsDropped: notificationsDropped.load(ordering: .relaxed),
            connectionsRefused: connectionsRefused.load(ordering: .relaxed),
            rateLimited: rateLimited.load(ordering: .relaxed),
            idleClosed: idleClosed.load(ordering: .relaxed),
            answeredOnLoop: answeredOnLoop.load(ordering: .relaxed)
        )
    }
}

/// What every connection of one server shares: configuration, handler, counters and the
/// registry of live connections that `stop()` drains.
final class ServerCore: Sendable {
    let configuration: JSONRPCServer.Configuration
    let handler: any JSONRPCHandler
    let counters = ServerCounters()
    private let nextConnectionID = Atomic<UInt64>(0)
    private let registry = Mutex(Registry())

    private struct Registry {
        var connections: [UInt64: Entry] = [:]
        var stopping = false
        /// Connection slots held, all and ordinary ones, and ordinary ones per uid.
        var slotsTaken = 0
        var ordinaryTaken = 0
        var ordinaryPerUID: [UInt32: Int] = [:]
    }

    private struct Entry {
        var connection: RPCConnection
        /// Asks the connection's handler, on its loop, to finish in-flight work and close.
        var drain: @Sendable () -> Void
    }

    init(configuration: JSONRPCServer.Configuration, handler: some JSONRPCHandler) {
        self.configuration = configuration
        self.handler = handler
    }

    func liveConnections() -> [RPCConnection] {
        registry.withLock { $0.connections.values.map(\.connection).sorted { $0.id < $1.id } }
    }

    /// Sets up an accepted channel (runs on its event loop, before it becomes active): asks
    /// `admission`, then takes a slot, or refuses with one error line.
    func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        if registry.withLock({ $0.stopping }) {
            counters.connectionsRejected.add(1, ordering: .relaxed)
            return reject(channel, .internalError("the server is shutting down; retry once it is back"))
        }
        let id = nextConnectionID.add(1, ordering: .relaxed).newValue
        return peerCredentials(of: channel).flatMap { peer in
            let privileged: Bool
            switch self.configuration.admission?(peer) ?? .admit(privileged: false) {
            case .refuse(let refusal):
                self.counters.connectionsRefused.add(1, ordering: .relaxed)
                return self.reject(channel, refusal)
            case .admit(let isPrivileged):
                privileged = isPrivileged
            }
            if let refusal = self.takeSlot(uid: peer?.uid, privileged: privileged) {
                self.counters.connectionsRejected.add(1, ordering: .relaxed)
                return self.reject(channel, refusal)
            }
            self.counters.connectionsOpen.add(1, ordering: .relaxed)
            self.counters.connectionsTotal.add(1, ordering: .relaxed)
            return channel.eventLoop.makeCompletedFuture {
                let connection = RPCConnection(
                    id: id, peer: peer, channel: channel, counters: self.counters,
                    notificationHighWaterMark: self.configuration.outboundHighWaterMarkBytes)
                channel.closeFuture.whenComplete { _ in
                    self.counters.connectionsOpen.subtract(1, ordering: .relaxed)
                    self.releaseSlot(uid: peer?.uid, privileged: privileged)
                }
                let handler = RPCChannelHandler(core: self, connection: connection)
                try channel.pipeline.syncOperations.addHandlers([BackPressureHandler(), handler])
                let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                let drainNow = self.register(connection, drain: {
                    connection.onEventLoopIfOpen { bound.value.beginDrain() }
                })
                if drainNow { handler.beginDrain() }
                channel.closeFuture.whenComplete { _ in
                    connection.markClosed()
                    self.unregister(connection)
                    self.handler.connectionClosed(connection)
                }
            }
        }
    }

    /// Answers `channel` with `error` as its only line, then closes it.
    private func reject(_ channel: any Channel, _ error: RPCError) -> EventLoopFuture<Void> {
        var line: [UInt8] = []
        EnvelopeWriter.writeResponse(id: .null, outcome: .error(error), to: &line)
        line.append(0x0A)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RejectingHandler(line: line))
        }
    }

    /// Takes a connection slot for a peer, or says why there is none: the whole server is full,
    /// only reserved slots are left and the peer is ordinary, or its uid holds its share.
    private func takeSlot(uid: UInt32?, privileged: Bool) -> RPCError? {
        let c = configuration
        return registry.withLock { r -> RPCError? in
            if r.slotsTaken >= c.maxConnections { return .tooManyConnections(limit: c.maxConnections) }
            if !privileged {
                let ordinaryLimit = c.maxConnections - c.reservedPrivilegedConnections
                if r.ordinaryTaken >= ordinaryLimit {
                    return .onlyReservedConnectionsLeft(limit: ordinaryLimit, reserved: c.reservedPrivilegedConnections)
                }
                if let uid, r.ordinaryPerUID[uid, default: 0] >= c.maxConnectionsPerUser {
                    return .tooManyConnectionsForUser(uid: uid, limit: c.maxConnectionsPerUser)
                }
                r.ordinaryTaken += 1
                if let uid { r.ordinaryPerUID[uid, default: 0] += 1 }
            }
            r.slotsTaken += 1
            return nil
        }
    }

    private func releaseSlot(uid: UInt32?, privileged: Bool) {
        registry.withLock { r in
            r.slotsTaken -= 1
            guard !privileged else { return }
            r.ordinaryTaken -= 1
            if let uid {
                let left = r.ordinaryPerUID[uid, default: 1] - 1
                r.ordinaryPerUID[uid] = left > 0 ? left : nil
            }
        }
    }

    private func peerCredentials(of channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let future: EventLoopFuture<KernelUcred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        let groups: EventLoopFuture<KernelPeerGroups> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(KernelPeerGroups.option))
        let known = groups.map { Optional($0.groupIDs) }.recover { _ in nil }
        return future.and(known).map { ucred, groups in
            Optional(PeerCredentials(pid: ucred.pid, uid: ucred.uid, gid: ucred.gid, groups: groups))
        }.recover { _ in nil }
    }

    /// Adds a connection to the registry; true if the server is already stopping (the caller
    /// drains it at once: it was accepted just before the listening socket closed).
    private func register(_ connection: RPCConnection, drain: @escaping @Sendable () -> Void) -> Bool {
        registry.withLock { registry in
            registry.connections[connection.id] = Entry(connection: connection, drain: drain)
            return registry.stopping
        }
    }

    private func unregister(_ connection: RPCConnection) {
        registry.withLock { _ = $0.connections.removeValue(forKey: connection.id) }
    }

    /// Marks the server stopping, asks every connection to drain, and returns them.
    func beginStopping() -> [RPCConnection] {
        let entries = registry.withLock { registry in
            registry.stopping = true
            return Array(registry.connections.values)
        }
        for entry in entries { entry.drain() }
        return entries.map(\.connection)
    }

    /// Runs one request through the handler.
    func run(_ request: RPCRequest, on connection: RPCConnection) async -> RPCOutcome {
        let call = RPCCall(method: request.method, params: request.params, id: request.id, connection: connection)
        do {
            return .result(try await handler.handle(call))
        } catch let error as RPCError {
            return .error(error)
        } catch {
            counters.internalErrors.add(1, ordering: .relaxed)
            handler.internalError(error, in: call)
            return .error(.internalError())
        }
    }
}

/// Answers a connection past the limit with one error line, then closes it.
private final class RejectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let line: [UInt8]

    init(line: [UInt8]) { self.line = line }

    func channelActive(context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(bytes: line)
        let channel = context.channel
        // Close only after the line is written; close() would discard a pending write.
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Whatever the client sent is not going to be served.
    }
}
