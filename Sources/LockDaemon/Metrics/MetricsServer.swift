import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Where `--metrics` listens: `HOST:PORT`, `[IPv6]:PORT`, or a bare `PORT` (loopback).
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// The Prometheus exporter port registered for lockdiag's kind of exporter is not ours to
    /// claim; 9464 is the one the issue and docs/bench.md use.
    public static let defaultPort = 9464

    public init(host: String = "127.0.0.1", port: Int = MetricsAddress.defaultPort) {
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`, `:9464` or `9464`.
    public init(parsing text: String) throws(MetricsAddressError) {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw .invalid(text) }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            if colon != text.startIndex { host = String(text[..<colon]) }
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(":") || text.hasPrefix("["), let port = Int(portText), (0...65535).contains(port) else {
            throw .invalid(text)
        }
        self.init(host: host, port: port)
    }

    /// Loopback addresses only reach programs on this machine.
    public var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A `--metrics` value that is not an address.
public enum MetricsAddressError: Error, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let text):
            "'\(text)' is not an address to serve metrics on — give HOST:PORT (127.0.0.1:9464), [::1]:9464, or a port for loopback"
        }
    }
}

/// Serves `GET /metrics` over HTTP/1.1 for Prometheus (swift-nio's NIOHTTP1). Every scrape
/// renders the exposition afresh from `render`, on the event loop: it reads what the hub and
/// the poll loop already hold, and never waits for either. Bounded like the API socket
/// (docs/security.md): connections at once, idle time, request size.
public final class MetricsServer: Sendable {
    /// What one scraper, or anyone else who can reach the port, may cost the daemon.
    public struct Limits: Sendable, Equatable {
        /// Connections at once; past it a connection gets 503 and is closed. Prometheus keeps
        /// one per target.
        public var maxConnections = 8
        /// A connection that sends no request for this long is closed (Prometheus reconnects
        /// by itself); 0: never. lockdiagd uses its --idle-timeout.
        public var idleTimeoutSeconds = 300.0
        /// Bytes of one request (head and body); past it 431 and close. A scrape's head is a
        /// few hundred bytes. lockdiagd uses its --max-request-bytes.
        public var maxRequestBytes = 64 * 1024

        public init() {}
    }

    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    /// Connections open now (a class, so the channel initializer can share it).
    private final class OpenCount: Sendable { let value = Atomic<Int>(0) }
    private let open = OpenCount()
    public let limits: Limits

    /// The address actually bound (the port is the real one when 0 was asked for).
    public let boundAddress: MetricsAddress

    /// Binds and starts serving; throws if the address cannot be had (in use, not local).
    public init(address: MetricsAddress, limits: Limits = Limits(), render: @escaping @Sendable () -> String) async throws {
        precondition(limits.idleTimeoutSeconds >= 0 && limits.idleTimeoutSeconds <= 1e9, "a timeout that fits in nanoseconds")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        self.limits = limits
        let open = self.open
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    guard open.value.add(1, ordering: .relaxed).newValue <= limits.maxConnections else {
                        open.value.subtract(1, ordering: .relaxed)
                        try sync.addHandler(MetricsRefusal(status: "503 Service Unavailable",
                                                           reason: "too many connections to the metrics endpoint (\(limits.maxConnections)); retry later"))
                        return
                    }
                    channel.closeFuture.whenComplete { _ in open.value.subtract(1, ordering: .relaxed) }
                    let budget = RequestBudget(limitBytes: limits.maxRequestBytes)
                    if limits.idleTimeoutSeconds > 0 {
                        try sync.addHandler(IdleStateHandler(readTimeout: .nanoseconds(Int64(limits.idleTimeoutSeconds * 1e9))))
                    }
                    try sync.addHandler(RequestSizeGuard(budget: budget))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(MetricsHTTPHandler(render: render, budget: budget))
                }
            }
        do {
            channel = try await bootstrap.bind(host: address.host, port: address.port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        boundAddress = MetricsAddress(host: address.host, port: channel.localAddress?.port ?? address.port)
    }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// One HTTP connection: answers each request when its end arrives.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> String
    private let budget: RequestBudget
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> String, budget: RequestBudget) {
        self.render = render
        self.budget = budget
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The idle timeout: nothing read for `idleTimeoutSeconds`.
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break  // a scrape has no body; anything sent is ignored
        case .end:
            guard let request = head else { return }
            head = nil
            budget.usedBytes = 0
            respond(to: request, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let status: HTTPResponseStatus
        let contentType: String
        var body: String
        var extra: [(String, String)] = []
        if request.method != .GET && request.method != .HEAD {
            status = .methodNotAllowed
            contentType = "text/plain; charset=utf-8"
            body = "only GET /metrics is served here\n"
            extra.append(("Allow", "GET, HEAD"))
        } else if path == "/metrics" {
            status = .ok
            contentType = MetricsExposition.contentType
            body = render()
        } else if path == "/" {
            status = .ok
            contentType = "text/plain; charset=utf-8"
            body = "lockdiagd: Prometheus metrics are at /metrics\n"
        } else {
            status = .notFound
            contentType = "text/plain; charset=utf-8"
            body = "not found: lockdiagd serves its metrics at /metrics\n"
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        for (name, value) in extra { headers.add(name: name, value: value) }
        let keepAlive = request.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        body = ""
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Bytes received of the request being read, shared by the size guard (which counts them)
/// and the HTTP handler (which starts a new count when a request is complete). Both live on
/// the connection's event loop.
final class RequestBudget {
    let limitBytes: Int
    var usedBytes = 0

    init(limitBytes: Int) { self.limitBytes = limitBytes }
}

/// Closes a connection whose request grows past the budget, with 431, before the HTTP decoder
/// has to hold it.
final class RequestSizeGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let budget: RequestBudget
    private var refused = false

    init(budget: RequestBudget) { self.budget = budget }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        budget.usedBytes += unwrapInboundIn(data).readableBytes
        guard budget.usedBytes <= budget.limitBytes else {
            refused = true
            MetricsRefusal.send("431 Request Header Fields Too Large",
                                reason: "request larger than \(budget.limitBytes) bytes; a scrape is GET /metrics", on: context)
            return
        }
        context.fireChannelRead(data)
    }
}

/// Answers with one plain-text HTTP error and closes: past the connection limit, or a request
/// too large. Written as raw bytes: no HTTP decoder is in the pipeline (or it is bypassed).
final class MetricsRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let status: String
    private let reason: String

    init(status: String, reason: String) {
        self.status = status
        self.reason = reason
    }

    func channelActive(context: ChannelHandlerContext) {
        Self.send(status, reason: reason, on: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    static func send(_ status: String, reason: String, on context: ChannelHandlerContext) {
        let body = "lockdiagd: \(reason)\n"
        let text = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
        let channel = context.channel
        // Close only once the answer is out; close() would discard a pending write.
        context.writeAndFlush(NIOAny(channel.allocator.buffer(string: text))).whenComplete { _ in channel.close(promise: nil) }
    }
}
