import LockProtocol
import LockSimulator

/// A host speaking LDP/1 to a `SimulatedLock` in memory, on simulated time: it advances the
/// lock the way `SimulatorServer` does (to each `nextWakeNanoseconds`), so tests wait for
/// events by simulated deadlines, never by sleeping.
final class LockHarness {
    let lock: SimulatedLock
    private(set) var now: UInt64
    let decoder = FrameDecoder()
    /// Every frame the host received, in order.
    private(set) var frames: [Frame] = []
    /// Every byte the host received, in order.
    private(set) var received: [UInt8] = []
    private var seq: UInt8 = 0

    static let millisecond: UInt64 = 1_000_000

    init(_ scenario: Scenario = .healthy, seed: UInt64 = 7, index: Int = 0, activitySeconds: Double? = nil,
         start: UInt64 = 1_000_000_000_000, parts: Bool = false) {
        now = start
        var configuration = SimulatorConfiguration(
            scenario: scenario, seed: seed, index: index,
            activityIntervalNanoseconds: activitySeconds.map { UInt64($0 * 1e9) })
        configuration.genuineParts = parts
        lock = SimulatedLock(configuration: configuration, now: start)
    }

    var events: [Event] {
        frames.compactMap { frame in
            guard frame.header.kind == .event, case .event(let event)? = try? Message(frame) else { return nil }
            return event
        }
    }

    var finishedActuations: [ActuationFinished] {
        events.compactMap { if case .actuationFinished(let e) = $0 { e } else { nil } }
    }

    var raisedFaults: [DeviceFault] {
        events.compactMap { if case .faultRaised(let f) = $0 { f } else { nil } }
    }

    var selfTestResults: [SelfTestResult] {
        events.compactMap { if case .selfTestResult(let r) = $0 { r } else { nil } }
    }

    var streamedChunks: [TraceChunk] {
        events.compactMap { if case .traceChunk(let c) = $0 { c } else { nil } }
    }

    /// Sends raw bytes as the host.
    func send(bytes: [UInt8]) {
        lock.receive(bytes, now: now)
        collect()
    }

    /// Sends a request; returns its seq.
    @discardableResult
    func send(_ request: Request) -> UInt8 {
        seq &+= 1
        send(bytes: request.frame(seq: seq).encoded)
        return seq
    }

    /// The answer (response or NAK) to `request`, which the lock gives at once.
    func ask(_ request: Request) -> Message? {
        let before = frames.count
        let s = send(request)
        for frame in frames[before...] where frame.header.seq == s && (frame.header.kind == .response || frame.header.kind == .nak) {
            return try? Message(frame)
        }
        return nil
    }

    func response(_ request: Request) -> Response? {
        if case .response(let r)? = ask(request) { r } else { nil }
    }

    func nak(_ request: Request) -> NakCode? {
        if case .nak(let code)? = ask(request) { code } else { nil }
    }

    /// Lets `milliseconds` of simulated time pass, waking the lock when it asks to be woken.
    func run(milliseconds: UInt64) {
        let end = now + milliseconds * Self.millisecond
        while now < end {
            now = min(end, max(now + 1, lock.nextWakeNanoseconds))
            lock.advance(to: now)
            collect()
        }
    }

    /// Runs simulated time until `condition` holds or `milliseconds` pass; returns whether it held.
    @discardableResult
    func run(upTo milliseconds: UInt64, until condition: () -> Bool) -> Bool {
        let end = now + milliseconds * Self.millisecond
        while !condition() {
            guard now < end else { return false }
            now = min(end, max(now + 1, lock.nextWakeNanoseconds))
            lock.advance(to: now)
            collect()
        }
        return true
    }

    /// Commands an actuation and waits (simulated) for its ACTUATION_FINISHED.
    func actuate(_ direction: Direction) -> ActuationFinished? {
        guard case .actuationAccepted(let number)? = response(.actuate(direction)) else { return nil }
        return waitForFinish(number)
    }

    /// The trace of actuation `number` as streamed in TRACE_CHUNK events, in order.
    func streamedSamples(of number: UInt16) -> [UInt16] {
        streamedChunks.filter { $0.actuation == number }.sorted { $0.firstIndex < $1.firstIndex }.flatMap(\.samplesMilliamps)
    }

    func waitForFinish(_ number: UInt16) -> ActuationFinished? {
        var found: ActuationFinished?
        run(upTo: 5_000) {
            found = finishedActuations.first { $0.actuation == number }
            return found != nil
        }
        return found
    }

    /// The whole latest trace, read back with READ_MOTOR_TRACE as a host does after the fact.
    func readLatestTrace() -> [UInt16]? {
        var samples = [UInt16]()
        while true {
            guard case .motorTrace(let chunk)? = response(.readMotorTrace(TraceRequest(firstIndex: UInt16(samples.count)))) else {
                return nil
            }
            samples += chunk.samplesMilliamps
            if chunk.samplesMilliamps.isEmpty || samples.count >= Int(chunk.totalSamples) { return samples }
        }
    }

    private func collect() {
        let bytes = lock.takeOutput()
        received += bytes
        decoder.feed(bytes) { output in
            if case .frame(let view) = output { frames.append(view.copied()) }
        }
    }
}
