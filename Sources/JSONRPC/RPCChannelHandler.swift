import NIOCore

/// One connection's protocol state on its event loop: splits lines, validates requests, starts
/// a task per request (or batch), and writes each reply as one whole line.
///
/// At `maxConcurrentRequestsPerConnection` requests in flight it stops reading the socket
/// (it holds back NIO's `read`), and the few lines already read wait in `waiting`; a client that
/// pipelines thousands of requests is slowed down, never refused.
final class RPCChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: ServerCore
    private let connection: RPCConnection
    private let maxInFlight: Int
    private var framer: LineFramer
    private var context: ChannelHandlerContext?
    /// Requests and batches whose handlers have not finished.
    private var inFlight = 0
    /// Lines read while at the in-flight limit, in arrival order; at most one read's worth,
    /// since no more is read until they are taken.
    private var waiting = CircularBuffer<LineFramer.Event>()
    /// NIO asked to read while we were holding back.
    private var readHeldBack = false
    /// The client shut down its sending side: close once the replies are out.
    private var inputClosed = false
    /// The server is stopping: read nothing more, close once the replies are out.
    private var draining = false

    init(core: ServerCore, connection: RPCConnection) {
        self.core = core
        self.connection = connection
        self.maxInFlight = core.configuration.maxConcurrentRequestsPerConnection
        self.framer = LineFramer(maxLineBytes: core.configuration.maxRequestBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    private var atLimit: Bool { inFlight >= maxInFlight || !waiting.isEmpty }

    func read(context: ChannelHandlerContext) {
        if atLimit && !draining {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !draining else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            framer.feed(bytes) { event in accept(event) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            if !draining { framer.finish { event in accept(event) } }
            inputClosed = true
            closeIfIdle()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Read errors (ECONNRESET from a client that vanished) end the connection; there is
        // nobody to tell.
        context.close(promise: nil)
    }

    /// Called on the loop by `stop()`: lines not yet started are dropped, running ones finish.
    func beginDrain() {
        draining = true
        waiting.removeAll(keepingCapacity: false)
        closeIfIdle()
    }

    private func closeIfIdle() {
        if (draining || inputClosed) && inFlight == 0 && waiting.isEmpty {
            context?.close(promise: nil)
        }
    }

    /// A framed line: handled now, or queued behind earlier ones while at the limit.
    private func accept(_ event: LineFramer.Event) {
        if atLimit {
            waiting.append(event)
        } else {
            handle(event)
        }
    }

    /// After a request finished: start what waited, then read again if we held back.
    private func resume() {
        while inFlight < maxInFlight, let next = waiting.popFirst() {
            handle(next)
        }
        if readHeldBack && !atLimit, let context {
            readHeldBack = false
            context.read()
        }
    }

    // MARK: - Requests

    private func handle(_ event: LineFramer.Event) {
        switch event {
        case .oversized:
            core.counters.oversizedRequests.add(1, ordering: .relaxed)
            sendError(.requestTooLarge(limitBytes: core.configuration.maxRequestBytes), id: .null)
        case .line(let bytes):
            handleLine(bytes)
        }
    }

    private func handleLine(_ bytes: [UInt8]) {
        // Blank lines (and a lone "\r" from CRLF senders) are not requests.
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes)
        } catch {
            core.counters.parseErrors.add(1, ordering: .relaxed)
            sendError(.parseError(error.description), id: .null)
            return
        }
        if case .array(let elements) = value {
            core.counters.requests.add(max(1, elements.count), ordering: .relaxed)
            // §6: an empty array is an invalid request, answered with one error, not an array.
            guard !elements.isEmpty else {
                sendError(.invalidRequest("empty batch"), id: .null)
                return
            }
            startBatch(elements.map(RPCRequest.validate))
            return
        }
        core.counters.requests.add(1, ordering: .relaxed)
        switch RPCRequest.validate(value) {
        case .failure(let invalid):
            sendError(invalid.error, id: invalid.id)
        case .success(let request):
            start(request)
        }
    }

    private func start(_ request: RPCRequest) {
        guard let context else { return }
        inFlight += 1
        let core = self.core
        let connection = self.connection
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Task {
            let outcome = await core.run(request, on: connection)
            var line: [UInt8]?
            if let id = request.id {
                var bytes: [UInt8] = []
                EnvelopeWriter.writeResponse(id: id, outcome: outcome, to: &bytes)
                line = bytes
            }
            let reply = line
            // A client that has gone gets nothing, and its loop is not touched.
            connection.onEventLoopIfOpen { bound.value.finish(reply: reply) }
        }
    }

    private func startBatch(_ elements: [Result<RPCRequest, RPCRequest.Invalid>]) {
        // A batch answers with an array or, if it held only notifications, with nothing (§6).
        guard let context else { return }
        inFlight += 1
        let core = self.core
        let connection = self.connection
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Task {
            let outcomes = await withTaskGroup(of: (Int, RPCOutcome).self) { group in
                for (index, element) in elements.enumerated() {
                    if case .success(let request) = element {
                        group.addTask { (index, await core.run(request, on: connection)) }
                    }
                }
                var outcomes: [Int: RPCOutcome] = [:]
                for await (index, outcome) in group { outcomes[index] = outcome }
                return outcomes
            }
            var responses: [(RPCRequestID, RPCOutcome)] = []
            for (index, element) in elements.enumerated() {
                switch element {
                case .failure(let invalid):
                    responses.append((invalid.id, .error(invalid.error)))
                case .success(let request):
                    if let id = request.id, let outcome = outcomes[index] { responses.append((id, outcome)) }
                }
            }
            var line: [UInt8]?
            if !responses.isEmpty {
                var bytes: [UInt8] = []
                EnvelopeWriter.writeBatch(responses, to: &bytes)
                line = bytes
            }
            let reply = line
            connection.onEventLoopIfOpen { bound.value.finish(reply: reply) }
        }
    }

    /// On the loop: a request or batch is done.
    private func finish(reply: [UInt8]?) {
        inFlight -= 1
        if let reply { write(reply) }
        if !draining { resume() }
        closeIfIdle()
    }

    private func sendError(_ error: RPCError, id: RPCRequestID) {
        var bytes: [UInt8] = []
        EnvelopeWriter.writeResponse(id: id, outcome: .error(error), to: &bytes)
        write(bytes)
    }

    /// Writes one line as one buffer: NIO never splits or interleaves a single write, so replies
    /// from concurrent handlers cannot mix their bytes.
    private func write(_ line: [UInt8]) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: line.count + 1)
        buffer.writeBytes(line)
        buffer.writeInteger(UInt8(0x0A))
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
