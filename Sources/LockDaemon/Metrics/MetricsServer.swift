import NIOCore
import NIOHTTP1
import NIOPosix

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
/// the poll loop already hold, and never waits for either.
public final class MetricsServer: Sendable {
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup

    /// The address actually bound (the port is the real one when 0 was asked for).
    public let boundAddress: MetricsAddress

    /// Binds and starts serving; throws if the address cannot be had (in use, not local).
    public init(address: MetricsAddress, render: @escaping @Sendable () -> String) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
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
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> String) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break  // a scrape has no body; anything sent is ignored
        case .end:
            guard let request = head else { return }
            head = nil
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
