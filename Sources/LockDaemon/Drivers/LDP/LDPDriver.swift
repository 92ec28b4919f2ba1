import LinuxIO
import LockProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The loop half of the LDP/1 driver (firmware-specs/ldp-v1.md). Each tick it sends the lock its
/// next request: a queued command, else the poll schedule (IDENTIFY once, READ_FAULTS and
/// READ_FINGERPRINT_STATUS at their cadence when IDENTIFY lists the capability, READ_STATUS
/// otherwise). One request is in flight at a time, with a deadline; a command is retried once,
/// except the ones that move or load something. Frames are decoded as soon as their bytes
/// arrive, so motor-trace chunks stream at the firmware's rate; events are held to a budget per
/// second. Every answer and event goes into the ring as a `.frame` record. Loop-thread only; it
/// allocates nothing after `init`.
final class LDPDriver: LinkDriver {
    unowned let slot: DeviceSlot
    private let configuration: PollLoopConfiguration
    private let readBuffer: UnsafeMutableRawBufferPointer
    let decoder = FrameDecoder()
    private let tx: UnsafeMutableRawBufferPointer
    private var txStart = 0
    private var txEnd = 0
    private var identified = false
    private var capabilities: Capabilities = []
    private var nextFaultPoll: UInt64 = 0
    private var nextFingerprintPoll: UInt64 = 0
    private var seq: UInt8 = 0
    private var inFlight = false
    private var inFlightSeq: UInt8 = 0
    private var inFlightType: UInt8 = 0
    private var inFlightToken: UInt32 = 0
    private var inFlightPayload = CommandPayload()
    private var inFlightLength: UInt8 = 0
    private var inFlightRetried = false
    private var inFlightDeadline: UInt64 = 0
    /// The link's response deadline (its own, or the loop's).
    private let responseTimeoutNanoseconds: UInt64
    private var commands = BoundedQueue<PendingCommand>(capacity: 32)
    /// The event budget's current one-second window.
    private var eventWindowStart: UInt64 = 0
    private var eventsInWindow = 0

    init(slot: DeviceSlot, context: DriverContext) {
        self.slot = slot
        configuration = context.configuration
        readBuffer = context.readBuffer
        responseTimeoutNanoseconds = slot.link.responseTimeoutNanoseconds ?? context.configuration.responseTimeoutNanoseconds
        tx = .allocate(byteCount: 2 * LDP.maxFrameSize, alignment: 16)
    }

    deinit { tx.deallocate() }

    // MARK: Link lifecycle

    func linkOpened(now: UInt64) {
        slot.recordLinkOpened(now: now)
        identified = false
        inFlight = false
        txStart = 0
        txEnd = 0
        decoder.reset()
        nextFaultPoll = now
        nextFingerprintPoll = now
        sendNext(now: now)
        flush()
    }

    func linkClosed(now: UInt64) {
        decoder.finish { _ in }
        slot.counters.decoder = decoder.counters
        // Commands in flight or queued cannot be answered any more.
        if inFlight && inFlightToken != 0 { slot.failCommand(token: inFlightToken, type: inFlightType, now: now) }
        inFlight = false
        while let command = commands.pop() { slot.failCommand(token: command.token, type: command.type, now: now) }
    }

    func updateCounters() { slot.counters.decoder = decoder.counters }

    // MARK: Tick

    func tick(now: UInt64) {
        // Woken late (a busy machine), the loop may see this tick before the lock's answer that
        // came in time and waits behind it in epoll's list: read it first.
        if inFlight && now >= inFlightDeadline && Self.hasInput(slot.link.fileDescriptor) {
            service(events: [], now: MonotonicClock.nanoseconds())
            if slot.failed { return }
        }
        checkDeadline(now: now)
        if !inFlight { sendNext(now: now) }
        flush()
    }

    /// Whether `fd` has input now (poll(2), no wait). Only then may `service` read outside an
    /// epoll event: a raw tty (VMIN 0) reads 0 bytes when empty, which looks like a hang-up.
    private static func hasInput(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) > 0 && request.revents & Int16(POLLIN) != 0
    }

    // MARK: Requests

    func queue(_ command: PendingCommand, now: UInt64) -> Bool {
        guard commands.push(command) else { return false }
        if !inFlight {
            sendNext(now: now)
            flush()
        }
        return true
    }

    private func sendNext(now: UInt64) {
        var token: UInt32 = 0
        var type: UInt8
        var payload = CommandPayload()
        var length: UInt8 = 0
        if let command = commands.pop() {
            token = command.token
            type = command.type
            payload = command.payload
            length = command.length
        } else if !identified {
            type = MessageType.identify.rawValue
        } else if now >= nextFaultPoll && capabilities.contains(.faultMemory) {
            nextFaultPoll = now &+ configuration.faultPollIntervalNanoseconds
            type = MessageType.readFaults.rawValue
        } else if now >= nextFingerprintPoll && capabilities.contains(.fingerprint) {
            nextFingerprintPoll = now &+ configuration.fingerprintPollIntervalNanoseconds
            type = MessageType.readFingerprintStatus.rawValue
        } else {
            type = MessageType.readStatus.rawValue
        }
        transmit(token: token, type: type, payload: payload, length: length, now: now, retried: false)
    }

    private func transmit(token: UInt32, type: UInt8, payload: CommandPayload, length: UInt8, now: UInt64, retried: Bool) {
        seq &+= 1
        let written = payload.withBytes(count: Int(length)) { raw in
            FrameEncoder.encode(kind: .request, seq: seq, type: type, payload: raw,
                                into: UnsafeMutableRawBufferPointer(rebasing: tx[txEnd...]))
        }
        guard let written else {
            // The transmit buffer is full of unsent bytes: the device is not draining its input.
            if token != 0 { slot.failCommand(token: token, type: type, now: now) }
            return
        }
        txEnd += written
        slot.counters.requests &+= 1
        inFlight = true
        inFlightSeq = seq
        inFlightType = type
        inFlightToken = token
        inFlightPayload = payload
        inFlightLength = length
        inFlightRetried = retried
        inFlightDeadline = now &+ responseTimeoutNanoseconds
    }

    private func checkDeadline(now: UInt64) {
        guard inFlight, now >= inFlightDeadline else { return }
        inFlight = false
        slot.counters.timeouts &+= 1
        var header = RecordHeader(.timeout, device: slot.index, at: now, type: inFlightType, token: inFlightToken)
        header.seq = inFlightSeq
        // LDP/1 §4.2: a host may retry once. Commands are retried, except the ones that move or
        // load something (ACTUATE, RUN_SELFTEST): a lost answer does not mean a lost request,
        // and a blind resend could run the motor twice. Polls simply come round again.
        if inFlightToken != 0 && !inFlightRetried && !Self.actuates(type: inFlightType) {
            transmit(token: inFlightToken, type: inFlightType, payload: inFlightPayload, length: inFlightLength, now: now, retried: true)
            header.token = 0
        }
        slot.publish(header)
    }

    /// Requests whose effect is physical, so a timeout is reported instead of retried.
    static func actuates(type: UInt8) -> Bool {
        type == MessageType.actuate.rawValue || type == MessageType.runSelfTest.rawValue
    }

    private func flush() {
        guard txEnd > txStart, !slot.failed else { return }
        if !slot.write(tx, start: &txStart, end: &txEnd) { slot.failed = true }
    }

    // MARK: Input

    func service(events: Epoll.Events, now: UInt64) {
        for _ in 0..<configuration.maxReadsPerWake {
            let result: IOResult
            do {
                result = try slot.link.read(into: readBuffer)
            } catch {
                slot.failed = true
                return
            }
            switch result {
            case .bytes(let n):
                slot.counters.bytesIn &+= UInt64(n)
                slot.recordTraffic(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), .fromLock)
                decoder.feed(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n])) { output in
                    if case .frame(let frame) = output { received(frame, now: now) }
                }
                if slot.failed || n < readBuffer.count { return }
            case .wouldBlock:
                if events.contains(.hangUp) || events.contains(.error) { slot.failed = true }
                return
            case .closed:
                slot.failed = true
                return
            }
        }
    }

    private func received(_ frame: FrameView, now: UInt64) {
        let h = frame.header
        var header = RecordHeader(.frame, device: slot.index, at: now, type: h.type)
        header.frameKind = h.kind
        header.seq = h.seq
        switch h.kind {
        case .response, .nak:
            guard inFlight, h.seq == inFlightSeq, h.type == inFlightType else {
                slot.counters.unexpected &+= 1
                return
            }
            inFlight = false
            header.token = inFlightToken
            if h.kind == .nak { slot.counters.naks &+= 1 }
            if h.kind == .response && h.type == MessageType.identify.rawValue && frame.payload.count >= 5 {
                identified = true
                // §6.1: IDENTIFY's bytes 1…4 are the capability bits, little-endian.
                capabilities = Capabilities(rawValue: UInt32(frame.payload[1]) | UInt32(frame.payload[2]) << 8
                                            | UInt32(frame.payload[3]) << 16 | UInt32(frame.payload[4]) << 24)
            }
            slot.publish(header, payload: frame.payload)
            // Answered early: use the rest of the period for the next request in line, which
            // keeps commands (trace reads, self-tests) from waiting a whole tick each.
            if !commands.isEmpty {
                sendNext(now: now)
                flush()
            }
        case .event:
            if now &- eventWindowStart >= 1_000_000_000 {
                eventWindowStart = now
                eventsInWindow = 0
            }
            guard eventsInWindow < configuration.maxEventsPerSecondPerDevice else {
                slot.counters.eventsDropped &+= 1
                return
            }
            eventsInWindow += 1
            slot.publish(header, payload: frame.payload)
        case .request:
            slot.counters.unexpected &+= 1
        }
    }
}
