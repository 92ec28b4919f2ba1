import CLockDiagSys
import Dispatch
import LinuxIO
import LockProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's one polling loop (the Network UPS Tools habit: exactly one, in the core).
///
/// It runs on a dedicated OS thread, not on a Swift-concurrency executor, wakes on absolute
/// deadlines from a timerfd so it does not drift, and multiplexes every device descriptor with
/// epoll. It knows timing, descriptors, slots, its inbox and the ring, never a dialect: each
/// device's driver (`LinkDriver`, one per lock family in Drivers/) gets a call each tick, when
/// the device's descriptor is readable, and when its link opens or closes; the loop reopens
/// vanished devices and publishes each device's counters.
///
/// Once running it does not allocate, lock, log or format strings per cycle: drivers, their
/// buffers, the histogram and the output ring are allocated at start; other threads reach it only
/// through an atomic counter plus a rarely-taken mutex for commands, and it publishes its
/// statistics with a try-lock that never waits.
///
/// `@unchecked Sendable`: the mutable state below `// Loop-thread state` is touched only by the
/// loop thread after `start()`; the other members are immutable, atomics, mutexes or the ring.
public final class PollLoop: @unchecked Sendable {
    public let configuration: PollLoopConfiguration
    /// Everything the loop observes, for the consumer thread.
    public let ring: RecordRing
    /// Rung (at most once per wake) when records were pushed.
    public let consumerDoorbell: EventDoorbell

    private let wakeDoorbell: EventDoorbell
    private let running = Atomic<Bool>(false)
    private let pendingInbox = Atomic<Int>(0)
    private let inbox: Mutex<Inbox>
    private let published = Mutex(LoopStatistics())
    private let realtimeReport = Mutex<RealtimeReport?>(nil)
    private let started = DispatchSemaphore(value: 0)
    private let tokens = Atomic<UInt32>(0)
    private let loopThreadID = Atomic<Int32>(0)
    /// Set by `start`, joined by `stop` (the caller's thread, never the loop's).
    private var thread: JoinableThread?

    // Loop-thread state.
    private var slots: [DeviceSlot?]
    private var epoll: Epoll
    private var timer: PeriodicTimer?
    private var histogram = LatenessHistogram()
    private var cycles: UInt64 = 0
    private var overruns: UInt64 = 0
    private var expirations: UInt64 = 0
    private var nextPublish: UInt64 = 0
    private let outbox: RecordOutbox
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var wakeLatencyFD: Int32 = -1
    private var drainedInbox: [InboxEntry]

    private static let timerToken: UInt64 = .max
    private static let doorbellToken: UInt64 = .max - 1

    public init(configuration: PollLoopConfiguration = PollLoopConfiguration()) throws(SystemError) {
        self.configuration = configuration
        ring = RecordRing(capacity: configuration.ringCapacity)
        consumerDoorbell = try EventDoorbell()
        wakeDoorbell = try EventDoorbell()
        epoll = try Epoll(capacity: configuration.maxDevices + 2)
        slots = [DeviceSlot?](repeating: nil, count: configuration.maxDevices)
        inbox = Mutex(Inbox(capacity: 1024))
        drainedInbox = []
        drainedInbox.reserveCapacity(1024)
        readBuffer = .allocate(byteCount: 4096, alignment: 16)
        outbox = RecordOutbox(ring: ring, traffic: configuration.traffic, taps: configuration.taps)
    }

    deinit {
        readBuffer.deallocate()
        epoll.close()
        wakeDoorbell.close()
        consumerDoorbell.close()
    }

    // MARK: - Interface for other threads

    /// Hands a device link to the loop; from now on only the loop thread touches it. Returns
    /// false when every slot is taken. The loop opens it at its next tick.
    @discardableResult
    public func attach(_ link: sending any DeviceLink, slot index: Int, dialect: LinkDialect = .ldp) -> Bool {
        guard index >= 0, index < configuration.maxDevices else { return false }
        var handOff = LinkHandOff(link)
        handOff.dialect = dialect
        return enqueue(InboxEntry(device: index, action: .attach(handOff)))
    }

    /// Starts the loop's figures (cycles, overruns, lateness) afresh, e.g. after a warm-up.
    public func resetStatistics() {
        _ = enqueue(InboxEntry(device: 0, action: .resetStatistics))
    }

    /// Closes a device's link and frees its slot.
    public func detach(slot index: Int) {
        _ = enqueue(InboxEntry(device: index, action: .detach))
    }

    /// Queues `request` for a device; its answer (or a timeout, after one retry, or
    /// `commandFailed`) comes out of the ring with `token`. Returns false when the command queue
    /// is full.
    public func send(_ request: Request, to device: Int, token: UInt32) -> Bool {
        let payload = request.payload
        let command = PendingCommand(token: token, type: request.type.rawValue, payload: CommandPayload(payload), length: UInt8(payload.count))
        return enqueue(InboxEntry(device: device, action: .command(command)))
    }

    /// A token no other command in flight has (never 0, which marks the loop's own polls).
    public func nextToken() -> UInt32 {
        var token = tokens.add(1, ordering: .relaxed).newValue
        if token == 0 { token = tokens.add(1, ordering: .relaxed).newValue }
        return token
    }

    /// The figures as last published (at most 100 ms old while running, exact after `stop`).
    public var statistics: LoopStatistics {
        var stats = published.withLock { $0 }
        stats.ringDropped = ring.dropped
        return stats
    }

    /// Requests waiting in the inbox for the loop thread (tests: what a caller asked of the loop).
    var inboxPending: Int { pendingInbox.load(ordering: .acquiring) }

    /// The loop thread's kernel thread id (gettid), 0 before it started: for `chrt -p`, `ps -L`
    /// and the benchmark's per-thread allocation count.
    public var threadID: Int32 { loopThreadID.load(ordering: .acquiring) }

    /// What `--realtime` got; nil before the loop started.
    public var realtime: RealtimeReport? { realtimeReport.withLock { $0 } }

    /// Starts the loop thread and returns once it runs (real-time settings applied).
    public func start() throws(SystemError) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do {
            thread = try JoinableThread(name: "lockdiag-poll") { [self] in run() }
        } catch {
            running.store(false, ordering: .releasing)
            throw error
        }
        started.wait()
    }

    /// Stops the loop, closes every link and waits for the thread to end.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wakeDoorbell.ring()
        thread?.join()
        thread = nil
    }

    private func enqueue(_ entry: InboxEntry) -> Bool {
        let accepted = inbox.withLock { $0.push(entry) }
        if accepted {
            pendingInbox.add(1, ordering: .releasing)
            wakeDoorbell.ring()
        }
        return accepted
    }

    // MARK: - The loop thread

    private func run() {
        loopThreadID.store(lockdiag_gettid(), ordering: .releasing)
        applyRealtime()
        do {
            let timer = try PeriodicTimer(intervalNanoseconds: configuration.periodNanoseconds)
            self.timer = timer
            try epoll.add(timer.fd, events: .readable, token: Self.timerToken)
            try epoll.add(wakeDoorbell.fd, events: .readable, token: Self.doorbellToken)
        } catch {
            realtimeReport.withLock { $0?.missing.append("poll loop timer: \(error)") }
            started.signal()
            return
        }
        published.withLock {
            $0.pollHz = configuration.pollHz
            $0.startedAtNanoseconds = MonotonicClock.nanoseconds()
        }
        started.signal()
        drainInbox()
        while running.load(ordering: .relaxed) {
            outbox.pushed = false
            do {
                try epoll.wait(timeoutMilliseconds: -1) { token, events in
                    switch token {
                    case Self.timerToken: tick()
                    case Self.doorbellToken:
                        wakeDoorbell.drain()
                        if pendingInbox.load(ordering: .acquiring) > 0 { drainInbox() }
                    default: service(slot: Int(token), events: events)
                    }
                }
            } catch {
                // epoll_wait only fails on a programming error (EBADF/EINVAL); do not spin.
                break
            }
            if outbox.pushed { consumerDoorbell.ring() }
        }
        for index in slots.indices { if let slot = slots[index] { closeLink(slot, reportDown: false) } }
        publishStatistics(force: true)
        timer?.close()
        if wakeLatencyFD >= 0 { FileIO.close(wakeLatencyFD) }
    }

    private func applyRealtime() {
        var report = RealtimeReport()
        // The loop's own wake-up has no timer slack (timerfd arms its hrtimer with none), but
        // any timed wait on this thread would get a normal thread's 50 µs (measured: +50 µs at
        // p50 for clock_nanosleep and epoll_pwait2, +0 for timerfd); 1 ns costs nothing
        // system-wide, so it is always done.
        if let error = Realtime.setTimerSlack(nanoseconds: 1) { report.missing.append("timer slack: \(error)") } else { report.granted.append("timer slack 1 ns") }
        // Without --realtime (or when SCHED_FIFO is refused) the loop shares the CPUs under the
        // fair scheduler. A 100 µs slice (the shortest it grants, no privilege needed) lets its
        // wake-up preempt a thread on the default slice: measured by `make bench` (README
        // "Benchmarks"), 16 locks at 1 kHz on two busy cores, p99 lateness 89–308 µs against
        // 887–1949 µs without it, for about 3 µs more CPU per lock-poll (it then wakes for each
        // answer instead of in batches). Set before SCHED_FIFO, which then overrides it.
        if let error = Realtime.setFairSlice(nanoseconds: PollLoopConfiguration.fairSliceNanoseconds) {
            report.missing.append("fair-scheduler slice: \(error.message)")
        } else {
            report.granted.append("fair-scheduler slice 100 µs")
        }
        if let request = configuration.realtime {
            if let error = Realtime.setFIFO(priority: request.fifoPriority) {
                report.missing.append("SCHED_FIFO \(request.fifoPriority): \(error.message) — run as root or grant CAP_SYS_NICE / an rtprio limit")
            } else {
                report.granted.append("SCHED_FIFO priority \(request.fifoPriority)")
            }
            if request.lockMemory {
                if let error = Realtime.lockMemory() {
                    report.missing.append("mlockall: \(error.message) — raise RLIMIT_MEMLOCK (LimitMEMLOCK=infinity) or grant CAP_IPC_LOCK")
                } else {
                    report.granted.append("memory locked (mlockall)")
                }
            }
            if let cpu = request.cpu {
                if let error = Realtime.pinCurrentThread(to: cpu) { report.missing.append("CPU affinity \(cpu): \(error.message)") } else { report.granted.append("pinned to CPU \(cpu)") }
            }
            if request.holdWakeLatency {
                switch Realtime.holdCPUWakeLatency() {
                case .success(let fd):
                    wakeLatencyFD = fd
                    report.granted.append("CPU wake-up latency held at 0 µs (/dev/cpu_dma_latency)")
                case .failure(let error):
                    report.missing.append("PM QoS /dev/cpu_dma_latency: \(error.message)")
                }
            }
        }
        realtimeReport.withLock { $0 = report }
    }

    private func tick() {
        guard let timer else { return }
        let now = MonotonicClock.nanoseconds()
        let fired = timer.expirations()
        guard fired > 0 else { return }
        histogram.record(microseconds: Self.lateness(at: now, start: timer.startNanoseconds, period: timer.intervalNanoseconds,
                                                     servedExpirations: expirations) / 1000)
        expirations &+= fired
        cycles &+= 1
        overruns &+= fired - 1

        if pendingInbox.load(ordering: .acquiring) > 0 { drainInbox() }
        for index in slots.indices {
            guard let slot = slots[index] else { continue }
            if slot.online {
                slot.driver?.tick(now: now)
                if slot.failed {
                    closeLink(slot, reportDown: true)
                    continue
                }
                if now >= slot.nextCounters {
                    slot.nextCounters = now &+ configuration.countersIntervalNanoseconds
                    publishCounters(slot, now: now)
                }
            } else if now >= slot.nextReconnect {
                openLink(slot, now: now)
            }
        }
        publishStatistics(force: false, now: now)
    }

    /// How late a wake-up at `now` is, in ns: against the earliest deadline it serves, the one
    /// after the `servedExpirations` already served. A wake-up that overslept several periods
    /// counts once, from its first missed deadline, as cyclictest counts one (rt-tests
    /// cyclictest.c: one sample per wake-up, then it skips the deadlines already past) — not
    /// from its last, which would hide every wake-up later than one period.
    static func lateness(at now: UInt64, start: UInt64, period: UInt64, servedExpirations: UInt64) -> UInt64 {
        let deadline = start &+ servedExpirations &* period
        return now > deadline ? now - deadline : 0
    }

    private func publishStatistics(force: Bool, now: UInt64 = MonotonicClock.nanoseconds()) {
        guard force || now >= nextPublish else { return }
        nextPublish = now &+ 100_000_000
        if force {
            published.withLock { fill(&$0) }
        } else {
            // Never wait for a reader: if one holds the lock, publish at the next chance.
            _ = published.withLockIfAvailable { fill(&$0) }
        }
    }

    private func fill(_ stats: inout LoopStatistics) {
        stats.cycles = cycles
        stats.overruns = overruns
        stats.lateness.assign(from: histogram)
    }

    // MARK: Commands

    private func drainInbox() {
        drainedInbox.removeAll(keepingCapacity: true)
        let taken = inbox.withLock { box in
            var n = 0
            while let entry = box.pop() {
                drainedInbox.append(entry)
                n += 1
            }
            return n
        }
        pendingInbox.subtract(taken, ordering: .relaxed)
        let now = MonotonicClock.nanoseconds()
        for entry in drainedInbox {
            let index = entry.device
            switch entry.action {
            case .attach(let handOff):
                if let old = slots[index] { closeLink(old, reportDown: true) }
                let slot = DeviceSlot(index: index, link: handOff.link, dialect: handOff.dialect, outbox: outbox, now: now)
                slot.driver = handOff.dialect.makeDriver(slot: slot, context: driverContext)
                slots[index] = slot
                openLink(slot, now: now)
            case .resetStatistics:
                histogram.reset()
                cycles = 0
                overruns = 0
                publishStatistics(force: true, now: now)
            case .detach:
                if let slot = slots[index] {
                    closeLink(slot, reportDown: true)
                    slots[index] = nil
                }
            case .command(let command):
                // A driver whose family has no such requests refuses it (the hub refuses them first).
                guard index >= 0, index < slots.count, let slot = slots[index], slot.online,
                      slot.driver?.queue(command, now: now) == true else {
                    publish(RecordHeader(.commandFailed, device: index, at: now, type: command.type, token: command.token))
                    continue
                }
                if slot.failed { closeLink(slot, reportDown: true) }
            }
        }
        drainedInbox.removeAll(keepingCapacity: true)
    }

    private var driverContext: DriverContext { DriverContext(configuration: configuration, readBuffer: readBuffer) }

    // MARK: Links

    private func openLink(_ slot: DeviceSlot, now: UInt64) {
        slot.nextReconnect = now &+ configuration.reconnectIntervalNanoseconds
        do {
            try slot.link.open()
            try epoll.add(slot.link.fileDescriptor, events: [.readable, .readHangUp], token: UInt64(slot.index))
        } catch {
            slot.link.close()
            // Reported once per outage, not on every retry.
            if !slot.reportedOpenFailure {
                slot.reportedOpenFailure = true
                let reason = Array(String(describing: error).utf8.prefix(RecordRing.slotPayload))
                reason.withUnsafeBytes { publish(RecordHeader(.openFailed, device: slot.index, at: now), payload: $0) }
            }
            return
        }
        // A link that learns at open what it speaks (a BLE lock's GATT profile) gets that
        // family's driver; it is kept while the link keeps speaking it.
        if let dialect = slot.link.dialectOnceOpen, dialect != slot.dialect {
            slot.dialect = dialect
            slot.driver = dialect.makeDriver(slot: slot, context: driverContext)
        }
        if slot.everOnline { slot.counters.reconnects &+= 1 }
        slot.everOnline = true
        slot.reportedOpenFailure = false
        slot.online = true
        slot.failed = false
        publish(RecordHeader(.linkUp, device: slot.index, at: now))
        slot.driver?.linkOpened(now: now)
        if slot.failed { closeLink(slot, reportDown: true) }
    }

    private func closeLink(_ slot: DeviceSlot, reportDown: Bool) {
        if slot.link.fileDescriptor >= 0 { epoll.remove(slot.link.fileDescriptor) }
        slot.link.close()
        let wasOnline = slot.online
        slot.online = false
        slot.failed = false
        let now = MonotonicClock.nanoseconds()
        slot.driver?.linkClosed(now: now)
        slot.nextReconnect = now &+ configuration.reconnectIntervalNanoseconds
        if reportDown && wasOnline {
            // Only on the way down, never per cycle: the reason may be formatted here.
            if let reason = slot.link.failureReason {
                Array(reason.utf8.prefix(RecordRing.slotPayload)).withUnsafeBytes {
                    publish(RecordHeader(.linkDown, device: slot.index, at: now), payload: $0)
                }
            } else {
                publish(RecordHeader(.linkDown, device: slot.index, at: now))
            }
            publishCounters(slot, now: now)
        }
    }

    // MARK: Input

    private func service(slot index: Int, events: Epoll.Events) {
        guard index < slots.count, let slot = slots[index], slot.online else { return }
        slot.driver?.service(events: events, now: MonotonicClock.nanoseconds())
        if slot.failed { closeLink(slot, reportDown: true) }
    }

    private func publishCounters(_ slot: DeviceSlot, now: UInt64) {
        slot.driver?.updateCounters()
        withUnsafeBytes(of: &slot.counters) { publish(RecordHeader(.counters, device: slot.index, at: now), payload: $0) }
    }

    private func publish(_ header: RecordHeader, payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        outbox.publish(header, payload: payload)
    }
}

/// Moves a link from the thread that built it to the loop thread.
/// `@unchecked Sendable`: the sender gives the link up (`sending`) and never touches it again.
struct LinkHandOff: @unchecked Sendable {
    let link: any DeviceLink
    var dialect: LinkDialect = .ldp
    init(_ link: sending any DeviceLink) { self.link = link }
}

struct InboxEntry: Sendable {
    enum Action: Sendable {
        case attach(LinkHandOff)
        case detach
        case resetStatistics
        case command(PendingCommand)
    }

    var device: Int
    var action: Action
}

/// A fixed-capacity FIFO (no allocation after init).
struct BoundedQueue<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { storage = [Element?](repeating: nil, count: capacity) }

    var isEmpty: Bool { count == 0 }

    mutating func push(_ element: Element) -> Bool {
        guard count < storage.count else { return false }
        storage[(head + count) % storage.count] = element
        count += 1
        return true
    }

    mutating func pop() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return element
    }
}

typealias Inbox = BoundedQueue<InboxEntry>
