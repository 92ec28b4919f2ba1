import CLockDiagSys
import LinuxIO
import LockProtocol
import PcapNG
import TuyaProtocol
#if canImport(Glibc)
import Glibc
#endif

/// One LDP/1 or Tuya MCU link of a recording, played back to the poll loop as if the lock were
/// there (`lockdiagd --replay FILE`): the same driver polls it, the same hub diagnoses it.
///
/// The lock's events come at their recorded times (scaled by `--replay-speed`). Its answers come
/// when the driver asks: each request is answered with the answer the recorded lock gave to the
/// same request (type and payload) at that point of the recording — the latest one recorded at
/// or before the replay's clock, else the first — with the driver's own `seq`, so the driver's
/// schedule need not match the recorded one frame for frame. A request the recording never saw
/// answered gets no answer (a timeout, as the live lock's would have been). Once the recording's
/// time has passed, no more events come and requests are answered as the lock last answered.
/// Bytes outside frames and frames with bad CRCs are not replayed (recordings.md says so).
///
/// A Tuya frame has no sequence number, so its answers are told from its events by command: the
/// MCU's frames with the command of the module's request in flight (and, to a DP query, the DP
/// reports within the reply deadline) answer it, verbatim; every other MCU frame is an event.
///
/// Loop-thread only after `open()`; its answers and events are built at init, and `read` and
/// `write` allocate nothing.
final class ReplayLink: DeviceLink {
    let transport: String
    let path: String
    private(set) var fileDescriptor: Int32 = -1

    /// An answer the recorded lock gave: when (ns from the recording's start), and the frame's parts.
    struct Answer {
        var time: UInt64
        var kind: FrameKind
        var payload: [UInt8]
        /// Tuya: the MCU's frames, whole (no seq to put in).
        var frames: [UInt8] = []
    }

    /// What the link carries.
    enum Wire {
        case ldp
        case tuya
    }

    private let wire: Wire

    private let events: [(time: UInt64, frame: [UInt8])]
    /// Keyed by the request's type byte then payload bytes.
    private let answers: [[UInt8]: [Answer]]
    private let speed: Double
    private var startedAt: UInt64 = 0
    private var nextEvent = 0
    private var timer: Int32 = -1
    private let output: UnsafeMutableRawBufferPointer
    private var outputStart = 0
    private var outputEnd = 0
    private let requests = FrameDecoder()
    private let tuyaRequests = TuyaFrameDecoder()
    private let key: UnsafeMutableRawBufferPointer

    /// Builds the link from one interface's packets (its inbound and outbound byte streams).
    init(transport: String, path: String, packets: [RecordedPacket], speed: Double, wire: Wire = .ldp) {
        self.transport = transport
        self.path = path
        self.speed = speed
        self.wire = wire
        output = .allocate(byteCount: 64 * 1024, alignment: 8)
        key = .allocate(byteCount: max(LDP.maxPayload, Tuya.maxDataLength) + 1, alignment: 1)
        (events, answers) = switch wire {
        case .ldp: Self.ldpExchanges(packets)
        case .tuya: Self.tuyaExchanges(packets)
        }
    }

    /// LDP/1: answers matched to requests by seq.
    private static func ldpExchanges(_ packets: [RecordedPacket]) -> ([(time: UInt64, frame: [UInt8])], [[UInt8]: [Answer]]) {
        // The earliest, not the first: a file whose packets are out of time order must not trap.
        let start = packets.map(\.timestampNanoseconds).min() ?? 0
        var events: [(UInt64, [UInt8])] = []
        var answers: [[UInt8]: [Answer]] = [:]
        var pending: [UInt8: [UInt8]] = [:] // seq → key of the request in flight
        let fromLock = FrameDecoder(), toLock = FrameDecoder()
        for packet in packets {
            let time = packet.timestampNanoseconds - start
            switch packet.direction {
            case .outbound:
                toLock.feed(packet.bytes) { output in
                    guard case .frame(let frame) = output, frame.header.kind == .request else { return }
                    pending[frame.header.seq] = [frame.header.type] + Array(frame.payload)
                }
            case .inbound, .unknown:
                fromLock.feed(packet.bytes) { output in
                    guard case .frame(let frame) = output else { return }
                    let kind = frame.header.kind
                    switch kind {
                    case .event: events.append((time, frame.copied().encoded))
                    case .response, .nak:
                        guard let request = pending.removeValue(forKey: frame.header.seq), request.first == frame.header.type else { return }
                        answers[request, default: []].append(Answer(time: time, kind: kind, payload: Array(frame.payload)))
                    case .request: break
                    }
                }
            }
        }
        return (events.sorted { $0.0 < $1.0 }, answers)
    }

    /// Tuya MCU: the MCU's frames with the command of the module's request in flight answer it
    /// (the DP reports within the reply deadline answer a DP query); the rest are events.
    private static func tuyaExchanges(_ packets: [RecordedPacket]) -> ([(time: UInt64, frame: [UInt8])], [[UInt8]: [Answer]]) {
        // The earliest, not the first: a file whose packets are out of time order must not trap.
        let start = packets.map(\.timestampNanoseconds).min() ?? 0
        var events: [(UInt64, [UInt8])] = []
        var answers: [[UInt8]: [Answer]] = [:]
        var pending: (key: [UInt8], command: UInt8, time: UInt64, answered: Bool)?
        var unacknowledged: UInt8?
        let fromMCU = TuyaFrameDecoder(), toMCU = TuyaFrameDecoder()
        let replyWindow = TuyaLinkConfiguration(role: .active, variant: .standard).replyTimeoutNanoseconds
        for packet in packets {
            let time = packet.timestampNanoseconds - start
            switch packet.direction {
            case .outbound:
                toMCU.feed(packet.bytes) { output in
                    guard case .frame(let frame) = output else { return }
                    // The module acknowledging what the MCU just sent (a low-power report) asks nothing.
                    let acknowledges = unacknowledged == frame.command
                    unacknowledged = nil
                    pending = acknowledges ? nil : ([frame.command] + Array(frame.data), frame.command, time, false)
                }
            case .inbound, .unknown:
                fromMCU.feed(packet.bytes) { output in
                    guard case .frame(let frame) = output, let encoded = frame.copied().encoded else { return }
                    guard var request = pending, request.time <= time,
                          frame.command == request.command
                            || (request.command == TuyaCommand.dpQuery && frame.command == TuyaCommand.dpReport && time - request.time <= replyWindow)
                    else {
                        events.append((time, encoded))
                        unacknowledged = frame.command
                        return
                    }
                    if request.answered, var recorded = answers[request.key], !recorded.isEmpty {
                        recorded[recorded.count - 1].frames += encoded
                        answers[request.key] = recorded
                    } else {
                        answers[request.key, default: []].append(Answer(time: time, kind: .response, payload: [], frames: encoded))
                    }
                    request.answered = true
                    pending = frame.command == request.command && request.command != TuyaCommand.dpQuery ? nil : request
                }
            }
        }
        return (events.sorted { $0.0 < $1.0 }, answers)
    }

    deinit {
        close()
        output.deallocate()
        key.deallocate()
    }

    /// Answers and events the recording holds (for the log).
    var counts: (answers: Int, events: Int) { (answers.values.reduce(0) { $0 + $1.count }, events.count) }

    func open() throws {
        guard timer < 0 else { return }
        let fd = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard fd >= 0 else { throw SystemError.last("timerfd_create", path: path) }
        timer = fd
        fileDescriptor = fd
        startedAt = MonotonicClock.nanoseconds()
        nextEvent = 0
        outputStart = 0
        outputEnd = 0
        requests.reset()
        tuyaRequests.reset()
        arm()
    }

    func close() {
        if timer >= 0 { Glibc.close(timer) }
        timer = -1
        fileDescriptor = -1
    }

    /// The recording's clock: nanoseconds of recorded time since it started.
    private func replayTime(now: UInt64) -> UInt64 {
        UInt64(Double(now &- startedAt) * speed)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult {
        var expirations: UInt64 = 0
        _ = Glibc.read(timer, &expirations, 8)
        let now = replayTime(now: MonotonicClock.nanoseconds())
        while nextEvent < events.count, events[nextEvent].time <= now {
            let frame = events[nextEvent].frame
            guard outputEnd + frame.count <= output.count else { break }
            frame.withUnsafeBytes { (output.baseAddress! + outputEnd).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            outputEnd += frame.count
            nextEvent += 1
        }
        let n = min(buffer.count, outputEnd - outputStart)
        if n > 0 {
            buffer.baseAddress!.copyMemory(from: output.baseAddress! + outputStart, byteCount: n)
            outputStart += n
            if outputStart == outputEnd {
                outputStart = 0
                outputEnd = 0
            }
        }
        arm()
        return n > 0 ? .bytes(n) : .wouldBlock
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult {
        let now = replayTime(now: MonotonicClock.nanoseconds())
        switch wire {
        case .ldp:
            requests.feed(bytes) { decoded in
                guard case .frame(let frame) = decoded, frame.header.kind == .request else { return }
                answer(frame, at: now)
            }
        case .tuya:
            tuyaRequests.feed(bytes) { decoded in
                guard case .frame(let frame) = decoded else { return }
                key[0] = frame.command
                if frame.data.count > 0 { UnsafeMutableRawBufferPointer(rebasing: key[1..<(1 + frame.data.count)]).copyMemory(from: frame.data) }
                guard let chosen = recordedAnswer(UnsafeRawBufferPointer(rebasing: key[0..<(1 + frame.data.count)]), at: now),
                      outputEnd + chosen.frames.count <= output.count else { return }
                chosen.frames.withUnsafeBytes { (output.baseAddress! + outputEnd).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                outputEnd += chosen.frames.count
            }
        }
        arm()
        return .bytes(bytes.count)
    }

    private func answer(_ request: FrameView, at now: UInt64) {
        // The key without an array: type byte then payload, compared against the recorded keys.
        key[0] = request.header.type
        if request.payload.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: key[1..<(1 + request.payload.count)]).copyMemory(from: request.payload)
        }
        guard let chosen = recordedAnswer(UnsafeRawBufferPointer(rebasing: key[0..<(1 + request.payload.count)]), at: now) else { return }
        let room = UnsafeMutableRawBufferPointer(rebasing: output[outputEnd...])
        let written = chosen.payload.withUnsafeBytes { payload in
            FrameEncoder.encode(kind: chosen.kind, seq: request.header.seq, type: request.header.type, payload: payload, into: room)
        }
        outputEnd += written ?? 0
    }

    /// The recorded answer to the request `keyBytes` (type or command, then payload): the latest
    /// recorded at or before `now`, else the first; nil when the recording never saw one.
    private func recordedAnswer(_ keyBytes: UnsafeRawBufferPointer, at now: UInt64) -> Answer? {
        guard let recorded = answers.first(where: { $0.key.elementsEqual(keyBytes) })?.value, let first = recorded.first else { return nil }
        var chosen = first
        for answer in recorded where answer.time <= now { chosen = answer }
        return chosen
    }

    /// Wakes the loop when bytes wait, else at the next event's time.
    private func arm() {
        guard timer >= 0 else { return }
        var due: UInt64 = 0
        if outputEnd > outputStart {
            due = MonotonicClock.nanoseconds()
        } else if nextEvent < events.count {
            due = startedAt &+ UInt64(Double(events[nextEvent].time) / speed)
        }
        var spec = itimerspec()
        if due > 0 {
            spec.it_value = timespec(tv_sec: Int(due / 1_000_000_000), tv_nsec: Int(due % 1_000_000_000))
            if spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { spec.it_value.tv_nsec = 1 }
        }
        timerfd_settime(timer, Int32(TFD_TIMER_ABSTIME), &spec, nil)
    }
}
