import Foundation
import LinuxIO
import Logging
import Synchronization

/// lockdiagd's side of systemd's `Type=notify` (udev/lockdiagd.service): `READY=1` once the
/// socket serves, `STATUS=` with the device counts, `WATCHDOG=1` at half of `$WATCHDOG_USEC`
/// for as long as the daemon makes progress, `STOPPING=1` when it begins to shut down.
///
/// The keep-alive is only sent when every watched counter (the poll loop's cycles, the hub's
/// iterations) has moved since the previous one and the extra check (the socket server's event
/// loop answering) passes. A stalled part therefore stops the keep-alives, and systemd restarts
/// the daemon after `WatchdogSec`; the reason goes to `STATUS=` and the log at once.
public final class ServiceManagerLink: Sendable {
    public let notifier: ServiceNotifier
    /// Microseconds systemd waits for a keep-alive; nil without a watchdog.
    public let watchdogMicroseconds: UInt64?
    let logger: Logger
    private let wake = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    private struct State {
        var running = false
        var stopped = false
        var lastStatus: String?
    }

    /// STATUS= is refreshed this often when there is no watchdog to set the pace.
    static let statusRefreshSeconds = 5.0

    public init(notifier: ServiceNotifier, watchdogMicroseconds: UInt64?, logger: Logger) {
        self.notifier = notifier
        self.watchdogMicroseconds = watchdogMicroseconds
        self.logger = logger
    }

    /// The link systemd set up in the environment, or nil when not started as a notify service.
    public static func fromEnvironment(logger: Logger) -> ServiceManagerLink? {
        guard let notifier = ServiceNotifier.fromEnvironment() else { return nil }
        return ServiceManagerLink(notifier: notifier, watchdogMicroseconds: ServiceNotifier.watchdogMicroseconds(), logger: logger)
    }

    /// Seconds between keep-alives: half the watchdog timeout, as sd_watchdog_enabled(3) advises.
    public var pingIntervalSeconds: Double {
        watchdogMicroseconds.map { Double($0) / 2e6 } ?? Self.statusRefreshSeconds
    }

    public func ready(status: String) {
        state.withLock { $0.lastStatus = status }
        send("READY=1\nSTATUS=\(status)")
    }

    public func stopping(status: String = "shutting down") {
        send("STOPPING=1\nSTATUS=\(status)")
    }

    /// Starts the keep-alive thread. `progress` returns named counters that must advance between
    /// keep-alives; `check` returns why the daemon is unhealthy, or nil; `status` is the STATUS=
    /// text, sent when it changes.
    public func startKeepAlive(progress: @escaping @Sendable () -> [(name: String, count: UInt64)],
                               check: @escaping @Sendable () -> String?, status: @escaping @Sendable () -> String) {
        let start = state.withLock { s -> Bool in
            guard !s.running, !s.stopped else { return false }
            s.running = true
            return true
        }
        guard start else { return }
        let interval = pingIntervalSeconds
        let watchdog = watchdogMicroseconds != nil
        let thread = Thread { [self] in
            Realtime.nameCurrentThread("lockdiag-wdog")
            var previous = progress()
            var unhealthy: String?
            while wake.wait(timeout: .now() + interval) == .timedOut {
                if state.withLock({ $0.stopped }) { break }
                let now = progress()
                var problems: [String] = []
                for (name, count) in now where previous.first(where: { $0.name == name })?.count == count {
                    problems.append("\(name) made no progress for \(String(format: "%.1f", interval)) s")
                }
                previous = now
                if problems.isEmpty, let failed = check() { problems.append(failed) }
                if problems.isEmpty {
                    if unhealthy != nil { logger.notice("healthy again; watchdog keep-alives resume") }
                    unhealthy = nil
                    var message = watchdog ? "WATCHDOG=1" : ""
                    let text = status()
                    if state.withLock({ s in defer { s.lastStatus = text }; return s.lastStatus != text }) {
                        message += (message.isEmpty ? "" : "\n") + "STATUS=\(text)"
                    }
                    if !message.isEmpty { send(message) }
                } else {
                    let reason = problems.joined(separator: "; ")
                    if unhealthy != reason {
                        let consequence = watchdog ? " — withholding the watchdog keep-alive, so systemd restarts lockdiagd" : ""
                        logger.critical("stalled: \(reason)\(consequence)")
                        send("STATUS=stalled: \(reason)")
                        state.withLock { $0.lastStatus = nil }
                    }
                    unhealthy = reason
                }
            }
        }
        thread.name = "lockdiag-watchdog"
        thread.start()
    }

    /// Stops the keep-alive thread (it exits within one wake-up).
    public func stopKeepAlive() {
        state.withLock { $0.stopped = true }
        wake.signal()
    }

    func send(_ message: String) {
        do {
            try notifier.send(message)
        } catch {
            logger.warning("cannot notify systemd at \(notifier.socketName): \(error)")
        }
    }
}
