import NIOCore

/// One connection's protocol state on its event loop: splits lines, validates requests, answers
/// at once those the handler can answer on the loop (`JSONRPCHandler.answerNow`), starts a task
/// per other request (or batch), and writes each reply as one whole line. Replies answered on the
/// loop are flushed together once the read that brought their requests is processed, so a
/// client that pipelines gets them in as few writes as the socket allows.
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
    /// The per-connection request rate (a token bucket refilled at `requestsPerSecond`).
    private var rate: RequestRate
    /// When the last request line arrived or the last request finished, for the idle timeout.
    private var lastActivity = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?
    /// The idle timeout closed this connection: read and start nothing more.
    private var closingIdle = false
    /// Replies written on the loop and not yet flushed.
    private var unflushed = false

    init(core: ServerCore, connection: RPCConnection) {
        self.core = core
        self.connection = connection
        self.maxInFlight = core.configuration.maxConcurrentRequestsPerConnection
        self.framer = LineFramer(maxLineBytes: core.configuration.maxRequestBytes)
        self.rate = RequestRate(perSecond: core.configuration.maxRequestsPerSecondPerConnection,
                                burst: core.configuration.requestBurstPerConnection)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleIdleCheck(after: core.configuration.idleTimeoutSeconds)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
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
        guard !draining, !closingIdle else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            framer.feed(bytes) { event in accept(event) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAnswers()
        context.fireChannelReadComplete()
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
            // Answers written on the loop go out first: close() would discard unflushed writes.
            flushAnswers()
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
        flushAnswers()
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
        let line = RequestLine(bytes)
        switch line {
        case .blank, .unparsable: break
        default: core.counters.requests.add(line.requestCount, ordering: .relaxed)
        }
        if case .blank = line { return }
        lastActivity = .now()
        guard rate.take(line.requestCount, now: lastActivity) else {
            core.counters.rateLimited.add(1, ordering: .relaxed)
            // A lone notification gets no reply, not even this one (§4.1).
            if case .single(.success(let request)) = line, request.id == nil { return }
            var id = RPCRequestID.null
            if case .single(.success(let request)) = line, let requestID = request.id { id = requestID }
            if case .single(.failure(let invalid)) = line { id = invalid.id }
            sendError(.rateLimited(requestsPerSecond: rate.perSecond, burst: rate.burst), id: id)
            return
        }
        switch line {
        case .blank:
            return
        case .unparsable(let error):
            core.counters.parseErrors.add(1, ordering: .relaxed)
            sendError(.parseError(error.description), id: .null)
        case .emptyBatch:
            sendError(.invalidRequest("empty batch"), id: .null)
        case .batch(let elements) where elements.count > core.configuration.maxBatchElements:
            sendError(.batchTooLarge(elements: elements.count, limit: core.configuration.maxBatchElements), id: .null)
        case .batch(let elements):
            startBatch(elements)
        case .single(.failure(let invalid)):
            sendError(invalid.error, id: invalid.id)
        case .single(.success(let request)):
            if !answerNow(request) { start(request) }
        }
    }

    /// Writes the reply of a request the handler answers on the loop, without a flush; false
    /// when the handler leaves it to the ordinary path.
    private func answerNow(_ request: RPCRequest) -> Bool {
        let call = RPCCall(method: request.method, params: request.params, id: request.id, connection: connection)
        guard let answer = core.handler.answerNow(call) else { return false }
        core.counters.answeredOnLoop.add(1, ordering: .relaxed)
        // A notification gets no reply (§4.1).
        guard let id = request.id else { return true }
        let outcome: RPCOutcome = switch answer {
        case .encodedResult(let result): .encoded(result)
        case .error(let error): .error(error)
        }
        let bytes = ReplyEncoder(limitBytes: core.configuration.maxReplyBytes).response(id: id, method: request.method, outcome: outcome)
        write(bytes, flush: false)
        return true
    }

    private func flushAnswers() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func start(_ request: RPCRequest) {
        guard let context else { return }
        inFlight += 1
        let core = self.core
        let connection = self.connection
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        Task {
            let outcome = await core.run(request, on: connection)
            let reply = request.id.map { id in
                ReplyEncoder(limitBytes: core.configuration.maxReplyBytes).response(id: id, method: request.method, outcome: outcome)
            }
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
            var responses: [ReplyEncoder.Response] = []
            for (index, element) in elements.enumerated() {
                switch element {
                case .failure(let invalid):
                    responses.append(.init(id: invalid.id, method: nil, outcome: .error(invalid.error)))
                case .success(let request):
                    if let id = request.id, let outcome = outcomes[index] {
                        responses.append(.init(id: id, method: request.method, outcome: outcome))
                    }
                }
            }
            let reply = responses.isEmpty ? nil : ReplyEncoder(limitBytes: core.configuration.maxReplyBytes).batch(responses)
            connection.onEventLoopIfOpen { bound.value.finish(reply: reply) }
        }
    }

    /// On the loop: a request or batch is done.
    private func finish(reply: [UInt8]?) {
        inFlight -= 1
        lastActivity = .now()
        if let reply { write(reply) }
        if !draining { resume() }
        closeIfIdle()
    }

    // MARK: - Idle timeout

    private func scheduleIdleCheck(after seconds: Double) {
        guard core.configuration.idleTimeoutSeconds > 0, let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(max(0.001, seconds) * 1e9))) {
            bound.value.checkIdle()
        }
    }

    /// Closes the connection if it has been idle for the whole timeout; otherwise looks again
    /// when it could next have been.
    private func checkIdle() {
        guard let context, !draining, !closingIdle else { return }
        let timeout = core.configuration.idleTimeoutSeconds
        let idleSeconds = Double((NIODeadline.now() - lastActivity).nanoseconds) / 1e9
        if inFlight > 0 || !waiting.isEmpty || connection.receivesNotifications || idleSeconds < timeout {
            scheduleIdleCheck(after: inFlight > 0 || connection.receivesNotifications ? timeout : timeout - idleSeconds)
            return
        }
        closingIdle = true
        core.counters.idleClosed.add(1, ordering: .relaxed)
        var bytes: [UInt8] = []
        EnvelopeWriter.writeResponse(id: .null, outcome: .error(.idleTimeout(seconds: timeout)), to: &bytes)
        var buffer = context.channel.allocator.buffer(capacity: bytes.count + 1)
        buffer.writeBytes(bytes)
        buffer.writeInteger(UInt8(0x0A))
        let channel = context.channel
        // Close only once the line is out; close() would discard a pending write.
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func sendError(_ error: RPCError, id: RPCRequestID) {
        var bytes: [UInt8] = []
        EnvelopeWriter.writeResponse(id: id, outcome: .error(error), to: &bytes)
        write(bytes)
    }

    /// Writes one line as one buffer: NIO never splits or interleaves a single write, so replies
    /// from concurrent handlers cannot mix their bytes.
    private func write(_ line: [UInt8], flush: Bool = true) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: line.count + 1)
        buffer.writeBytes(line)
        buffer.writeInteger(UInt8(0x0A))
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            unflushed = false
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
            unflushed = true
        }
    }
}

/// Encodes replies within the server's reply-size limit: a result that would make its line
/// longer is replaced by a -32006 error saying to page or narrow the call, so no client ever
/// gets an unbounded line (and the server never queues one).
struct ReplyEncoder {
    let limitBytes: Int

    struct Response {
        let id: RPCRequestID
        /// nil for an element that was not a valid request (its reply is an error already).
        let method: String?
        let outcome: RPCOutcome
    }

    func response(id: RPCRequestID, method: String, outcome: RPCOutcome) -> [UInt8] {
        var bytes: [UInt8] = []
        EnvelopeWriter.writeResponse(id: id, outcome: outcome, to: &bytes)
        guard bytes.count > limitBytes, outcome.isResult else { return bytes }
        let error = RPCError.replyTooLarge(method: method, bytes: bytes.count, limit: limitBytes)
        bytes.removeAll(keepingCapacity: false)
        EnvelopeWriter.writeResponse(id: id, outcome: .error(error), to: &bytes)
        return bytes
    }

    /// A batch's reply array; while it is over the limit, the largest remaining result is
    /// replaced by the error (each element's error counts the whole line it would have made).
    func batch(_ responses: [Response]) -> [UInt8] {
        var encoded = responses.map { response -> [UInt8] in
            var bytes: [UInt8] = []
            EnvelopeWriter.writeResponse(id: response.id, outcome: response.outcome, to: &bytes)
            return bytes
        }
        var replaced = Set<Int>()
        func total() -> Int { encoded.reduce(2 + max(0, encoded.count - 1)) { $0 + $1.count } }
        var size = total()
        while size > limitBytes {
            let candidates = encoded.indices.filter { index in
                if replaced.contains(index) { return false }
                return responses[index].outcome.isResult
            }
            guard let largest = candidates.max(by: { encoded[$0].count < encoded[$1].count }) else { break }
            let response = responses[largest]
            let error = RPCError.replyTooLarge(method: response.method ?? "", bytes: size, limit: limitBytes)
            var bytes: [UInt8] = []
            EnvelopeWriter.writeResponse(id: response.id, outcome: .error(error), to: &bytes)
            encoded[largest] = bytes
            replaced.insert(largest)
            size = total()
        }
        return EnvelopeWriter.batch(encoded)
    }
}
