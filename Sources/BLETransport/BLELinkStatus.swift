import BLEProtocol
import LinuxIO
import Synchronization

/// A BLE lock's connection as the daemon's other threads see it: the connector thread writes
/// its progress here (under a mutex), the poll loop's thread publishes the battery level and ATT
/// counters through atomics (it never takes a lock), and the hub reads it to show `devices.list`
/// and `device.status`.
public final class BLELinkStatus: Sendable {
    /// Where the connection stands.
    public enum Phase: String, Sendable, Equatable {
        case connecting
        /// Connected; GATT discovery and reads under way.
        case discovering
        /// Set up, waiting for the poll loop to take the link.
        case ready
        case connected
        /// The last attempt failed; the next comes after the backoff.
        case waiting
        /// Not retrying (Bluetooth missing on this host).
        case failed
    }

    /// One consistent view.
    public struct Snapshot: Sendable, Equatable {
        public var phase: Phase = .connecting
        /// Connection attempts so far, and those that came up.
        public var attempts = 0
        public var connections = 0
        public var lastError: String?
        /// Monotonic time of the next attempt while waiting.
        public var nextAttemptNanoseconds: UInt64?
        public var profile: GATTProfile?
        public var batteryPercent: Int?
        /// ATT PDUs received and sent since the daemon started, notifications among them.
        public var pdusIn: UInt64 = 0
        public var pdusOut: UInt64 = 0
        public var notifications: UInt64 = 0
        /// Error Responses the lock sent in steady state.
        public var errorResponses: UInt64 = 0
    }

    public let endpoint: BLEEndpoint
    public let options: BLEOptions
    private let state = Mutex(Snapshot())
    private let battery = Atomic<Int>(-1)
    private let pdusIn = Atomic<UInt64>(0)
    private let pdusOut = Atomic<UInt64>(0)
    private let notifications = Atomic<UInt64>(0)
    private let errorResponses = Atomic<UInt64>(0)

    public init(endpoint: BLEEndpoint, options: BLEOptions) {
        self.endpoint = endpoint
        self.options = options
    }

    public func snapshot() -> Snapshot {
        var s = state.withLock { $0 }
        let percent = battery.load(ordering: .relaxed)
        s.batteryPercent = percent >= 0 ? percent : nil
        s.pdusIn = pdusIn.load(ordering: .relaxed)
        s.pdusOut = pdusOut.load(ordering: .relaxed)
        s.notifications = notifications.load(ordering: .relaxed)
        s.errorResponses = errorResponses.load(ordering: .relaxed)
        return s
    }

    /// An attempt is under way (connecting, setting up, or set up and about to be taken).
    public var isAttempting: Bool {
        let phase = state.withLock { $0.phase }
        return phase == .connecting || phase == .discovering || phase == .ready
    }

    /// Why the lock is not online, in words, while it is not; nil when connected.
    public func problem(now: UInt64 = MonotonicClock.nanoseconds()) -> String? {
        let s = state.withLock { $0 }
        switch s.phase {
        case .connected: return nil
        case .connecting:
            return "connecting over Bluetooth LE" + (s.lastError.map { " (last attempt: \($0))" } ?? "")
        case .discovering: return "connected; reading its GATT services"
        case .ready: return "connected and set up; starting to poll"
        case .waiting:
            let wait = s.nextAttemptNanoseconds.map { $0 > now ? Double($0 - now) / 1e9 : 0 } ?? 0
            return (s.lastError ?? "not connected") + "; next attempt in \(Int(wait.rounded(.up))) s (\(s.attempts) so far)"
        case .failed: return s.lastError ?? "not connected"
        }
    }

    // MARK: Connector side

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }

    // MARK: Poll-loop side (atomics only)

    func publishBattery(_ percent: Int?) { battery.store(percent ?? -1, ordering: .relaxed) }
    func countIn() { pdusIn.add(1, ordering: .relaxed) }
    func countOut() { pdusOut.add(1, ordering: .relaxed) }
    func countNotification() { notifications.add(1, ordering: .relaxed) }
    func countErrorResponse() { errorResponses.add(1, ordering: .relaxed) }
}
