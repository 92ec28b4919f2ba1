import LinuxIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A lock appearing or going away.
public enum DiscoveryEvent: Sendable, Equatable {
    case added(DiscoveredDevice)
    /// The same value `added` carried (a removed tty's USB parent can no longer be looked up).
    case removed(DiscoveredDevice)
}

/// Finds locks through udev: the ones present at start (enumeration), then the ones plugged in
/// and out (a netlink monitor), on a thread of its own that sleeps in poll(2) between events.
/// Matches usb_device nodes of the vendor-bulk variant and ttys whose USB device is a lock or a
/// configured service cable (`DiscoveryPolicy`).
///
/// `@unchecked Sendable`: the udev objects and `known` are used by the discovery thread only
/// once `start` has handed them over; other threads touch only atomics and the stop eventfd.
public final class DeviceDiscovery: @unchecked Sendable {
    static let subsystems = ["usb", "tty"]

    public let policy: DiscoveryPolicy
    private let stopDoorbell: EventDoorbell
    private let running = Atomic<Bool>(false)
    private var thread: JoinableThread?
    private var context: UdevContext?
    private var monitor: UdevMonitor?
    private var handler: (@Sendable (DiscoveryEvent) -> Void)?
    /// Locks reported as added, by syspath, so removal can be reported with the same facts.
    private var known: [String: DiscoveredDevice] = [:]

    public init(policy: DiscoveryPolicy = DiscoveryPolicy()) throws(DiscoveryError) {
        self.policy = policy
        do throws(SystemError) {
            stopDoorbell = try EventDoorbell()
        } catch {
            throw .udev(call: "eventfd", errno: error.errno)
        }
    }

    deinit {
        stop()
        stopDoorbell.close()
    }

    /// What is plugged in now: locks, and service cables seen but not probed.
    public static func scan(policy: DiscoveryPolicy = DiscoveryPolicy()) throws(DiscoveryError) -> [DiscoveredDevice] {
        let context = try UdevContext()
        return try context.enumerate(subsystems: subsystems).compactMap { context.facts(syspath: $0).flatMap(policy.classify) }
            .sorted { ($0.port, $0.syspath) < ($1.port, $1.syspath) }
    }

    /// Reports every lock present now as `.added` (before returning), then watches for hotplug
    /// on the discovery thread until `stop`. `handler` runs on that thread.
    public func start(_ handler: @escaping @Sendable (DiscoveryEvent) -> Void) throws(DiscoveryError) {
        guard !running.load(ordering: .acquiring) else { return }
        let context = try UdevContext()
        // The monitor first, then the enumeration: a lock plugged in between is seen twice
        // (the receiver ignores the repeat) rather than missed.
        let monitor = try UdevMonitor(context, subsystems: Self.subsystems)
        self.context = context
        self.monitor = monitor
        self.handler = handler
        for syspath in try context.enumerate(subsystems: Self.subsystems) {
            if let facts = context.facts(syspath: syspath) { consider(action: "add", facts: facts) }
        }
        running.store(true, ordering: .releasing)
        do {
            thread = try JoinableThread(name: "lockdiag-udev") { [self] in run() }
        } catch {
            running.store(false, ordering: .releasing)
            throw .udev(call: "pthread_create", errno: error.errno)
        }
    }

    /// Stops the thread (idempotent); no handler call happens after it returns.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        stopDoorbell.ring()
        thread?.join()
    }

    private func run() {
        guard let monitor else { return }
        var fds = [pollfd(fd: monitor.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stopDoorbell.fd, events: Int16(POLLIN), revents: 0)]
        while running.load(ordering: .acquiring) {
            let n = retryingOnInterrupt { poll(&fds, 2, -1) }
            guard n > 0 else { continue }
            if fds[1].revents != 0 { break }
            while let event = monitor.receive() { consider(action: event.action, facts: event.facts) }
        }
    }

    private func consider(action: String, facts: DiscoveryPolicy.Facts) {
        switch action {
        case "add":
            guard let device = policy.classify(facts), device.isLock, known[device.syspath] != device else { return }
            known[device.syspath] = device
            handler?(.added(device))
        case "remove":
            guard let device = known.removeValue(forKey: facts.syspath) else { return }
            handler?(.removed(device))
        default:
            // "change", "bind", "unbind", "move": nothing a lock's link depends on.
            break
        }
    }
}
