import LinuxIO
import LockDiagAPI
import Synchronization

/// What the read-only API methods are answered from (docs/architecture.md, "The query path"):
/// an immutable view of every device, published by the hub after each batch of records and
/// after every other change made under its lock, and read by the socket server's event loop
/// without taking the hub's lock.
///
/// A view keeps a copy of its device's state and builds the API values (and their JSON) the
/// first time someone asks, so the hub pays a struct copy per changed device and the query path
/// pays the encoding once per change, not once per request. What depends on the time (whether a
/// silent lock still counts as online) is rebuilt once that time has passed.
final class HubSnapshot: Sendable {
    /// By slot, as the hub keeps them; nil for a free slot.
    let slots: [DeviceView?]
    /// The listed devices in slot order.
    let views: [DeviceView]
    private let positionByID: [String: Int]
    let silenceNanoseconds: UInt64

    init(slots: [DeviceView?], silenceNanoseconds: UInt64) {
        self.slots = slots
        views = slots.compactMap { $0 }
        var positions = [String: Int](minimumCapacity: views.count)
        for (position, view) in views.enumerated() { positions[view.state.id] = position }
        positionByID = positions
        self.silenceNanoseconds = silenceNanoseconds
    }

    /// The device a name means (DeviceName: an id exactly, else the one lock with that serial
    /// number or path); nil when none or several do — the hub's own `resolve` says which.
    func view(named name: String) -> DeviceView? {
        if let position = positionByID[name] { return views[position] }
        guard case .one(let position) = DeviceName.match(name, in: views.map(\.state.candidate)) else { return nil }
        return views[position]
    }

    /// `devices.list`'s result.
    func devicesList(now: UInt64) -> DevicesList {
        DevicesList(devices: views.map { $0.state.summary(now: now, silenceNanoseconds: silenceNanoseconds) })
    }

    /// `devices.list`'s result as JSON: each device's summary encoded at most once while it
    /// stays true (DeviceView.summaryJSON), joined.
    func devicesListJSON(now: UInt64, encode: (DeviceSummary) throws -> [UInt8]) rethrows -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"devices":["#.utf8)
        for (position, view) in views.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: try view.summaryJSON(now: now, silenceNanoseconds: silenceNanoseconds, encode: encode))
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}

/// One device as a snapshot shows it: a copy of the hub's state for it, and its API values
/// encoded on first use.
final class DeviceView: Sendable {
    let state: DeviceState
    private let statusJSON = Mutex<Encoded?>(nil)
    private let summaryJSON = Mutex<Encoded?>(nil)

    /// JSON bytes and until when (monotonic ns) they stay true.
    fileprivate struct Encoded {
        let bytes: [UInt8]
        let validUntilNanoseconds: UInt64
    }

    init(_ state: DeviceState) { self.state = state }

    /// When what this device's views say could change with no new record: a lock that is
    /// answering becomes unresponsive once it has been silent for the silence threshold. A BLE
    /// lock's views also read its link's live status, so they are never kept.
    func validUntil(now: UInt64, silenceNanoseconds: UInt64) -> UInt64 {
        if state.ble != nil { return now }
        guard state.linkUp, state.lastFrameNanoseconds > 0, now &- state.lastFrameNanoseconds < silenceNanoseconds else { return .max }
        return state.lastFrameNanoseconds &+ silenceNanoseconds
    }

    /// `device.status`'s result as JSON, encoded by `encode` at most once while it stays true.
    func statusJSON(now: UInt64, silenceNanoseconds: UInt64, encode: (DeviceStatus) throws -> [UInt8]) rethrows -> [UInt8] {
        try statusJSON.kept(now: now) {
            (try encode(state.apiStatus(now: now, silenceNanoseconds: silenceNanoseconds)), validUntil(now: now, silenceNanoseconds: silenceNanoseconds))
        }
    }

    /// This device's entry in `devices.list` as JSON, likewise.
    func summaryJSON(now: UInt64, silenceNanoseconds: UInt64, encode: (DeviceSummary) throws -> [UInt8]) rethrows -> [UInt8] {
        try summaryJSON.kept(now: now) {
            (try encode(state.summary(now: now, silenceNanoseconds: silenceNanoseconds)), validUntil(now: now, silenceNanoseconds: silenceNanoseconds))
        }
    }
}

extension Mutex where Value == DeviceView.Encoded? {
    /// The kept bytes while `now` is before their end, else those `make` gives (kept in turn).
    fileprivate borrowing func kept(now: UInt64, _ make: () throws -> ([UInt8], UInt64)) rethrows -> [UInt8] {
        if let kept = withLock({ $0 }), now < kept.validUntilNanoseconds { return kept.bytes }
        let (bytes, validUntil) = try make()
        withLock { $0 = DeviceView.Encoded(bytes: bytes, validUntilNanoseconds: validUntil) }
        return bytes
    }
}

/// The hub's state behind its one lock, and the snapshot published from it. Every change goes
/// through `withLock`, which republishes what it may have changed before the lock is released,
/// so a reader of the snapshot sees a change as soon as the call that made it has returned
/// (a fault cleared through the API is gone from the next `faults.list`).
final class HubStateLock: Sendable {
    private let mutex: Mutex<HubState>
    private let published: Mutex<HubSnapshot>
    private let silenceNanoseconds: UInt64

    init(_ state: HubState, silenceNanoseconds: UInt64) {
        mutex = Mutex(state)
        self.silenceNanoseconds = silenceNanoseconds
        published = Mutex(HubSnapshot(slots: state.devices.map { $0.map(DeviceView.init) }, silenceNanoseconds: silenceNanoseconds))
    }

    /// The latest published snapshot. Takes only the publication's own lock, for as long as a
    /// reference copy takes; never the state's.
    var snapshot: HubSnapshot { published.withLock { $0 } }

    /// Runs `body` with the state, which it may change; every device's view is republished.
    func withLock<Result, E: Error>(_ body: (inout HubState) throws(E) -> sending Result) throws(E) -> sending Result {
        try mutex.withLock { (s: inout sending HubState) throws(E) -> sending Result in
            defer { publish(s, changed: nil) }
            return try body(&s)
        }
    }

    /// Runs `body` with the state, which it must not change (nothing is republished).
    func read<Result, E: Error>(_ body: (borrowing HubState) throws(E) -> sending Result) throws(E) -> sending Result {
        try mutex.withLock { (s: inout sending HubState) throws(E) -> sending Result in try body(s) }
    }

    /// Runs `body` with the state, which it may change only where no view looks: the
    /// telemetry subscriptions. Nothing is republished.
    func withLockKeepingViews<Result, E: Error>(_ body: (inout HubState) throws(E) -> sending Result) throws(E) -> sending Result {
        try mutex.withLock { (s: inout sending HubState) throws(E) -> sending Result in try body(&s) }
    }

    /// The hub thread's batches: `body` lists in `changed` the slots whose devices it changed
    /// (and may change nothing else); only those are republished.
    func withLock<Result>(changed: inout [Int], _ body: (inout HubState, inout [Int]) -> sending Result) -> sending Result {
        mutex.withLock { (s: inout sending HubState) -> sending Result in
            let result = body(&s, &changed)
            if !changed.isEmpty {
                changed.sort()
                publish(s, changed: changed)
            }
            changed.removeAll(keepingCapacity: true)
            return result
        }
    }

    /// Called with the state lock held, so publications happen in the order of the changes.
    /// `changed` is sorted; a slot listed twice is copied once.
    private func publish(_ s: borrowing HubState, changed: [Int]?) {
        var slots: [DeviceView?]
        if let changed {
            slots = published.withLock { $0.slots }
            var previous = -1
            for index in changed where index != previous && index >= 0 && index < slots.count {
                slots[index] = s.devices[index].map(DeviceView.init)
                previous = index
            }
        } else {
            slots = s.devices.map { $0.map(DeviceView.init) }
        }
        let snapshot = HubSnapshot(slots: slots, silenceNanoseconds: silenceNanoseconds)
        published.withLock { $0 = snapshot }
    }
}
