import JSONRPC
import LockDiagAPI
import LockProtocol
import Synchronization

/// How a command sent through the poll loop ended.
public enum CommandOutcome: Sendable {
    case response(Response)
    case nak(NakCode)
    /// No answer, even to the retry.
    case timeout
    /// Not sent: the device is offline, went away, or its queue is full.
    case failed
    /// The answer's CRC was fine but its body was not a valid message.
    case undecodable(MessageError)
}

/// Something the hub saw that an orchestrating task may be waiting for.
public enum HubEvent: Sendable {
    /// An event frame from the lock.
    case lock(Event)
    /// An actuation whose trace the daemon has analysed.
    case concluded(ActuationSummary, MotorTrace?)
    /// The device's link went away (unplug, hang-up): what was waited for may never come.
    case linkLost
}

/// A wait for the next `count` hub events on one device that `match` accepts. Register it
/// before causing the events (sending the command), then `wait`: events that arrive in between
/// are kept, not lost.
public final class EventTicket: Sendable {
    public let device: Int
    public let count: Int
    private let match: @Sendable (HubEvent) -> Bool
    private let state = Mutex<State>(State())

    private struct State: ~Copyable {
        var events: [HubEvent] = []
        var continuation: CheckedContinuation<[HubEvent], Never>?
        var finished = false
    }

    init(device: Int, count: Int, match: @escaping @Sendable (HubEvent) -> Bool) {
        self.device = device
        self.count = max(1, count)
        self.match = match
    }

    /// Offers an event; returns true when the ticket took it and now has all it waits for.
    func offer(_ event: HubEvent) -> Bool {
        guard match(event) else { return false }
        let (continuation, events, done): (CheckedContinuation<[HubEvent], Never>?, [HubEvent], Bool) = state.withLock { s in
            guard !s.finished, s.events.count < count else { return (nil, [], true) }
            s.events.append(event)
            guard s.events.count >= count else { return (nil, [], false) }
            // Complete before anyone waits: `wait` returns the events at once.
            guard let c = s.continuation else { return (nil, [], true) }
            s.continuation = nil
            s.finished = true
            return (c, s.events, true)
        }
        continuation?.resume(returning: events)
        return done
    }

    /// Ends the wait with what has arrived so far (timeout or shutdown).
    func cancel() {
        let (continuation, events): (CheckedContinuation<[HubEvent], Never>?, [HubEvent]) = state.withLock { s in
            s.finished = true
            defer { s.continuation = nil }
            return (s.continuation, s.events)
        }
        continuation?.resume(returning: events)
    }

    /// The events, or as many as arrived within `timeoutSeconds`.
    public func wait(timeoutSeconds: Double) async -> [HubEvent] {
        let timer = Task { [self] in
            try? await Task.sleep(nanoseconds: UInt64(timeoutSeconds * 1e9))
            if !Task.isCancelled { cancel() }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[HubEvent], Never>) in
            let immediate: [HubEvent]? = state.withLock { s in
                if s.finished || s.events.count >= count {
                    s.finished = true
                    return s.events
                }
                s.continuation = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}

/// A telemetry subscriber: the socket layer's connection, seen through the one call the hub
/// needs. `offer` must never block: it returns false when the client cannot take more now.
public protocol TelemetrySink: AnyObject, Sendable {
    var sinkID: UInt64 { get }
    /// `lost`: this subscriber's notifications dropped since its last delivered one.
    func offer(_ delivery: TelemetryDelivery, lost: Int) -> Bool
}

/// One notification on its way to every subscriber of a device. Its line for subscribers that
/// missed nothing is made by the first of them and shared by the rest, so a change seen by 64
/// clients is encoded once, not 64 times.
public final class TelemetryDelivery: Sendable {
    public let notification: TelemetryNotification
    private let shared = Mutex<NotificationLine?>(nil)

    init(_ notification: TelemetryNotification) { self.notification = notification }

    /// The notification with `lost` set, made into a line by `make`: shared when `lost` is 0.
    public func line(lost: Int, _ make: (TelemetryNotification) throws -> NotificationLine) rethrows -> NotificationLine {
        var note = notification
        note.lost = lost
        guard lost == 0 else { return try make(note) }
        if let line = shared.withLock({ $0 }) { return line }
        let line = try make(note)
        shared.withLock { $0 = line }
        return line
    }
}
