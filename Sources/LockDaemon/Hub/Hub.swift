import Foundation
import GenuineParts
import HistoryStore
import LinuxIO
import LockDiagAPI
import LockProtocol
import Logging
import SerialTransport
import Synchronization

/// Why a request about a device could not be served.
public enum HubError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownDevice(String)
    /// The name is no lock's id, and more than one lock has it as serial number or path.
    case ambiguousDevice(String, candidates: [DeviceCandidate])
    case offline(String)
    case busy(String)
    case timeout(String)
    /// The lock refused (NAK) or answered something unusable.
    case refused(String)
    /// The link went away while the lock was doing something for us; the message says what
    /// state it may be in.
    case interrupted(String)

    public var description: String {
        switch self {
        case .unknownDevice(let id): "unknown device '\(id)' — `lockdiag list` shows the known ones"
        case .ambiguousDevice(let name, let candidates): Self.ambiguity(name, candidates)
        case .offline(let id): "device '\(id)' is offline — check its cable and power; lockdiag reconnects by itself"
        case .busy(let message), .timeout(let message), .refused(let message), .interrupted(let message): message
        }
    }

    static func ambiguity(_ name: String, _ candidates: [DeviceCandidate]) -> String {
        let list = candidates.map { "\($0.id) (\($0.transport) \($0.path))" }.joined(separator: ", ")
        return "'\(name)' names \(candidates.count) locks: \(list) — give the id of the one you mean (`lockdiag list` shows them)"
    }
}

/// The consumer side of the poll loop: drains its ring on a thread of its own, decodes frames
/// into typed readings, keeps each device's state, runs the diagnosis and fans telemetry out to
/// subscribers. Everything here may allocate and take locks; none of it can slow the loop,
/// which only ever sees the ring.
public final class Hub: Sendable {
    public let loop: PollLoop
    public let diagnosis: DiagnosisConfiguration
    /// Status notifications per second per subscription, at most.
    public let statusNotificationHz: Int
    /// Where fault events, self-tests and telemetry are recorded; nil: nowhere (unit tests, benchmark).
    public let history: HistoryRecorder?
    let clock = ClockBridge()
    let logger: Logger
    let state: HubStateLock
    private let commandWaiters = Mutex<[UInt32: CheckedContinuation<CommandOutcome, Never>]>([:])
    private let tickets = Mutex<[ObjectIdentifier: EventTicket]>([:])
    private let running = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// `devices.subscribe` subscribers and how many changes each has missed (Hub+Devices.swift).
    let deviceWatchers = Mutex<[UInt64: DeviceWatcher]>([:])
    /// Tuya product layouts (Drivers/Tuya/TuyaSchema.swift): the built-in ones plus `--tuya-schemas`.
    public let tuyaSchemas = Mutex(TuyaSchemaSet.builtIn())
    /// The maker roots part certificates must chain to (Hub+Parts.swift): the shipped ones plus `--part-roots`.
    public let partTrust = Mutex(TrustStore.shipped)
    private let iterations = Atomic<UInt64>(0)

    /// Passes of the hub thread's loop (at least five a second while it runs): the service
    /// watchdog's sign that the hub is not stuck.
    public var loopIterations: UInt64 { iterations.load(ordering: .relaxed) }

    var silenceNanoseconds: UInt64 { UInt64(diagnosis.silenceSeconds * 1e9) }

    public init(loop: PollLoop, diagnosis: DiagnosisConfiguration = DiagnosisConfiguration(), statusNotificationHz: Int = 10,
                logger: Logger = Logger(label: "lockdiag.hub"), history: HistoryRecorder? = nil) {
        self.loop = loop
        self.history = history
        self.diagnosis = diagnosis
        self.statusNotificationHz = max(1, statusNotificationHz)
        self.logger = logger
        state = HubStateLock(HubState(devices: [DeviceState?](repeating: nil, count: loop.configuration.maxDevices)),
                             silenceNanoseconds: UInt64(diagnosis.silenceSeconds * 1e9))
    }

    // MARK: Devices

    /// Registers a serial device and hands its port to the poll loop. Returns its slot.
    @discardableResult
    public func addSerialDevice(path: String, baudRate: UInt32 = LDP.defaultBaudRate) -> Int? {
        guard let slot = placeDevice(transport: "serial", path: path) else { return nil }
        loop.attach(SerialPort(path: path, baudRate: baudRate), slot: slot)
        return slot
    }

    /// Lists a new device in the first free slot, under an id no other device has; `configure`
    /// adds what its family knows from the start. Returns the slot, nil when every one is taken.
    /// Every way a lock is added (serial, USB, BLE, Tuya, replay) goes through here.
    func placeDevice(transport: String, path: String, _ configure: (inout DeviceState) -> Void = { _ in }) -> Int? {
        let diagnosis = self.diagnosis
        return state.withLock { s in
            guard let free = s.devices.firstIndex(where: { $0 == nil }) else { return nil }
            var d = DeviceState(index: free, transport: transport, path: path, diagnosis: diagnosis)
            configure(&d)
            s.place(d)
            return free
        }
    }

    /// Finds a device by name (DeviceName): its id names exactly that lock; a serial number or
    /// path names the one lock that has it, and is an error naming the candidates when several do.
    public func resolve(_ name: String) throws(HubError) -> Int {
        let listed: [(index: Int, candidate: DeviceCandidate)] = state.read { s in
            s.devices.compactMap { $0 }.map { ($0.index, $0.candidate) }
        }
        switch DeviceName.match(name, in: listed.map(\.candidate)) {
        case .one(let position): return listed[position].index
        case .none: throw .unknownDevice(name)
        case .several(let positions): throw .ambiguousDevice(name, candidates: positions.map { listed[$0].candidate })
        }
    }

    public func deviceCount() -> (total: Int, online: Int) {
        let now = MonotonicClock.nanoseconds()
        let views = snapshot.views
        return (views.count, views.filter { $0.state.isOnline(now: now, silenceNanoseconds: silenceNanoseconds) }.count)
    }

    public func devices() -> [DeviceSummary] {
        snapshot.devicesList(now: MonotonicClock.nanoseconds()).devices
    }

    public func status(of index: Int) -> DeviceStatus? {
        let now = MonotonicClock.nanoseconds()
        return state.read { $0.devices[index]?.apiStatus(now: now, silenceNanoseconds: silenceNanoseconds) }
    }

    /// Each marked with whether its events are on disk (Hub+History.swift).
    public func faults(of index: Int?) -> [Fault] {
        state.read { s in
            annotateSaved(s.devices.compactMap { $0 }.filter { index == nil || $0.index == index }
                .flatMap { d in d.faults.ordered.map { d.apiFault($0) } })
        }
    }

    public func linkStats() -> [LinkStats] { state.read { s in s.devices.compactMap { $0?.linkStats() } } }

    public func lastTrace(of index: Int) -> MotorTrace? { state.read { $0.devices[index]?.lastTrace } }

    func isOnline(_ index: Int) -> Bool {
        let now = MonotonicClock.nanoseconds()
        return state.read { $0.devices[index]?.isOnline(now: now, silenceNanoseconds: silenceNanoseconds) ?? false }
    }

    /// What the read-only API answers from (HubSnapshot.swift).
    var snapshot: HubSnapshot { state.snapshot }

    func deviceID(_ index: Int) -> String { state.read { $0.devices[index]?.id ?? "\(index)" } }

    // MARK: Subscriptions

    public func subscribe(_ sink: any TelemetrySink, to index: Int) {
        state.withLockKeepingViews { s in
            s.subscriptions[index, default: []].removeAll { $0.sink.sinkID == sink.sinkID }
            s.subscriptions[index, default: []].append(SubscriptionEntry(sink: sink))
        }
    }

    /// Returns whether the sink was subscribed.
    @discardableResult
    public func unsubscribe(_ sinkID: UInt64, from index: Int) -> Bool {
        state.withLockKeepingViews { s in
            let before = s.subscriptions[index]?.count ?? 0
            s.subscriptions[index]?.removeAll { $0.sink.sinkID == sinkID }
            return (s.subscriptions[index]?.count ?? 0) < before
        }
    }

    /// Drops every subscription of a closed connection.
    public func removeSink(_ sinkID: UInt64) {
        state.withLockKeepingViews { s in
            for key in s.subscriptions.keys { s.subscriptions[key]?.removeAll { $0.sink.sinkID == sinkID } }
        }
        unwatchDevices(sinkID)
    }

    // MARK: Commands and events

    /// Sends a request through the poll loop and waits for its outcome (the loop guarantees
    /// one: an answer, a timeout after one retry, or a failure to send).
    public func command(_ request: Request, to index: Int) async -> CommandOutcome {
        if let refused = gattRefusal(index) { return refused }
        let token = loop.nextToken()
        return await withCheckedContinuation { continuation in
            commandWaiters.withLock { $0[token] = continuation }
            if !loop.send(request, to: index, token: token) || !running.load(ordering: .acquiring) {
                commandWaiters.withLock { $0.removeValue(forKey: token) }?.resume(returning: .failed)
            }
        }
    }

    /// A ticket for the next `count` hub events on `index` that `match` accepts; register it
    /// before causing them.
    public func ticket(for index: Int, count: Int = 1, match: @escaping @Sendable (HubEvent) -> Bool) -> EventTicket {
        let ticket = EventTicket(device: index, count: count, match: match)
        tickets.withLock { $0[ObjectIdentifier(ticket)] = ticket }
        return ticket
    }

    public func discard(_ ticket: EventTicket) {
        tickets.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(ticket)) }
        ticket.cancel()
    }

    func offer(_ event: HubEvent, device: Int) {
        let candidates = tickets.withLock { $0.values.filter { $0.device == device } }
        for ticket in candidates where ticket.offer(event) {
            tickets.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(ticket)) }
        }
    }

    // MARK: Thread

    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            Realtime.nameCurrentThread("lockdiag-hub")
            // Its wake-ups carry every reading to subscribers and the snapshot: like the poll
            // loop's, they should preempt batch work on a busy machine (PollLoop.applyRealtime).
            // Best effort: the loop's report already says when the scheduler refuses it.
            _ = Realtime.setFairSlice(nanoseconds: PollLoopConfiguration.fairSliceNanoseconds)
            run()
            finished.signal()
        }
        thread.start()
    }

    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        loop.consumerDoorbell.ring()
        finished.wait()
        for continuation in commandWaiters.withLock({ w in defer { w.removeAll() }; return Array(w.values) }) {
            continuation.resume(returning: .failed)
        }
        for ticket in tickets.withLock({ t in defer { t.removeAll() }; return Array(t.values) }) { ticket.cancel() }
    }

    private func run() {
        var payload = [UInt8](repeating: 0, count: RecordRing.slotPayload)
        var changed: [Int] = []
        changed.reserveCapacity(256)
        var nextPeriodic: UInt64 = 0
        while running.load(ordering: .acquiring) {
            iterations.add(1, ordering: .relaxed)
            _ = loop.consumerDoorbell.wait(timeoutMilliseconds: 200)
            var effects = Effects()
            payload.withUnsafeMutableBytes { raw in
                while true {
                    var batch = 0
                    let more: Bool = state.withLock(changed: &changed) { s, changed in
                        while batch < 256, let header = loop.ring.pop(into: raw) {
                            handle(header, payload: UnsafeRawBufferPointer(rebasing: raw[0..<Int(header.length)]), state: &s, effects: &effects)
                            changed.append(Int(header.device))
                            batch += 1
                        }
                        commitHistory(&effects)
                        return batch == 256
                    }
                    if !more { break }
                }
            }
            let now = MonotonicClock.nanoseconds()
            if now >= nextPeriodic {
                nextPeriodic = now + 1_000_000_000
                state.withLock {
                    periodicChecks(now: now, state: &$0, effects: &effects)
                    commitHistory(&effects)
                }
            }
            perform(effects)
        }
    }

    /// Runs what record handling decided, outside the state lock.
    private func perform(_ effects: Effects) {
        for (token, outcome) in effects.commandOutcomes {
            commandWaiters.withLock { $0.removeValue(forKey: token) }?.resume(returning: outcome)
        }
        for (device, event) in effects.events { offer(event, device: device) }
        for line in effects.log { logger.info("\(line)") }
        for (device, notification) in effects.notifications { deliver(notification, device: device) }
        for device in effects.fetchLatestTrace {
            Task { await self.fetchLatestTrace(device: device) }
        }
        for device in effects.checkParts {
            Task { await self.checkPartsOnAttach(device: device) }
        }
        for (device, actuation) in effects.fetchMissing {
            Task { await self.completeTrace(device: device, actuation: actuation) }
        }
    }

    /// Offers one notification to each of the device's subscribers, encoded once for all that
    /// missed nothing (TelemetryDelivery), and keeps count of what each missed.
    func deliver(_ notification: TelemetryNotification, device: Int) {
        let subscribers = state.read { $0.subscriptions[device] ?? [] }
        guard !subscribers.isEmpty else { return }
        let delivery = TelemetryDelivery(notification)
        let delivered = subscribers.map { $0.sink.offer(delivery, lost: $0.lost) }
        state.withLockKeepingViews { s in
            guard var current = s.subscriptions[device] else { return }
            for (entry, delivered) in zip(subscribers, delivered) {
                guard let i = current.firstIndex(where: { $0.sink.sinkID == entry.sink.sinkID }) else { continue }
                current[i].lost = delivered ? 0 : current[i].lost + 1
            }
            s.subscriptions[device] = current
        }
    }
}

/// A subscriber and what it has missed.
struct SubscriptionEntry: Sendable {
    let sink: any TelemetrySink
    var lost = 0
}

/// The hub's mutable state, behind one mutex.
struct HubState: Sendable {
    var devices: [DeviceState?]
    var subscriptions: [Int: [SubscriptionEntry]] = [:]

    /// An id no other listed device has, so a name never means two locks: `preferred` (a serial
    /// number, else a path), else `preferred@path`, else that with `#2`, `#3`… An id in use,
    /// also by an unplugged lock still listed, is never given to another.
    func uniqueID(_ preferred: String, path: String, for index: Int) -> String {
        func taken(_ id: String) -> Bool { devices.contains { $0 != nil && $0!.index != index && $0!.id == id } }
        if !taken(preferred) { return preferred }
        let qualified = preferred == path ? preferred : "\(preferred)@\(path)"
        if !taken(qualified) { return qualified }
        var n = 2
        while taken("\(qualified)#\(n)") { n += 1 }
        return "\(qualified)#\(n)"
    }

    /// Lists a new device in its slot under an id no other device has.
    mutating func place(_ device: DeviceState) {
        var d = device
        d.id = uniqueID(d.id, path: d.path, for: d.index)
        devices[d.index] = d
    }
}

extension DeviceState {
    /// What a name is matched against (Hub.resolve) and what an ambiguity error lists.
    var candidate: DeviceCandidate {
        DeviceCandidate(id: id, path: path, transport: transport,
                        serial: nonEmpty(identity?.serial) ?? nonEmpty(ble?.snapshot().profile?.deviceInformation.serial))
    }
}

/// Side effects decided while the state lock is held, performed after it is released.
struct Effects {
    var commandOutcomes: [(UInt32, CommandOutcome)] = []
    var events: [(Int, HubEvent)] = []
    var notifications: [(Int, TelemetryNotification)] = []
    var fetchLatestTrace: [Int] = []
    var fetchMissing: [(Int, UInt16)] = []
    /// LDP/1.1 locks that just identified themselves: check their parts (Hub+Parts.swift).
    var checkParts: [Int] = []
    var log: [String] = []
    /// Fault events and device sightings: committed before the state lock is released (Hub+History.swift).
    var history: [HistoryRecord] = []
    /// Status samples and actuations: queued for the history's next flush.
    var telemetry: [HistoryRecord] = []
}
