import DeviceDiscovery
import Foundation
import LinuxIO
import LockDiagAPI
import SerialTransport
import USBTransport

/// A `devices.subscribe` subscriber: the socket layer's connection, seen through the one call
/// the hub needs. `offer` must never block: it returns false when the client cannot take more.
public protocol DeviceChangeSink: AnyObject, Sendable {
    var sinkID: UInt64 { get }
    func offer(_ change: DeviceChange) -> Bool
}

/// A device-change subscriber and how many changes it has missed.
struct DeviceWatcher: Sendable {
    let sink: any DeviceChangeSink
    var lost = 0
}

// Devices that come and go: locks discovery finds (and finds again after a replug), USB locks
// named on the command line, and the `devices.changed` notifications about them.
//
// An unplugged lock stays listed, `offline` with the problem "unplugged …", keeping its id,
// faults and history, so a technician sees where it went and it comes back as the same device;
// it is forgotten once it has been away `--forget-unplugged` seconds. Discovery keys a lock by
// its USB serial number, else its port path, so a lock without a serial number is the same
// lock only on the same port.
extension Hub {
    // MARK: Subscribers

    /// Subscribes `sink` to `devices.changed`; returns the devices as they are now.
    public func watchDevices(_ sink: any DeviceChangeSink) -> [DeviceSummary] {
        deviceWatchers.withLock { $0[sink.sinkID] = DeviceWatcher(sink: sink) }
        return devices()
    }

    /// Returns whether the sink was subscribed.
    @discardableResult
    public func unwatchDevices(_ sinkID: UInt64) -> Bool {
        deviceWatchers.withLock { $0.removeValue(forKey: sinkID) != nil }
    }

    func announce(_ kind: DeviceChangeKind, _ device: DeviceSummary) {
        let watchers = deviceWatchers.withLock { Array($0.values) }
        for watcher in watchers {
            let delivered = watcher.sink.offer(DeviceChange(change: kind, device: device, lost: watcher.lost))
            deviceWatchers.withLock { all in
                guard all[watcher.sink.sinkID] != nil else { return }
                if delivered { all[watcher.sink.sinkID]!.lost = 0 } else { all[watcher.sink.sinkID]!.lost += 1 }
            }
        }
    }

    private func summary(of index: Int) -> DeviceSummary? {
        let now = MonotonicClock.nanoseconds()
        return state.read { $0.devices[index]?.summary(now: now, silenceNanoseconds: silenceNanoseconds) }
    }

    // MARK: Configured USB locks

    /// Registers a vendor-bulk USB lock named on the command line (`--usb`) and hands its link
    /// to the poll loop, which opens it and keeps reopening it while it is away. Without a
    /// USB context (libusb would not start), the lock is listed with `problem` and not polled.
    @discardableResult
    public func addUSBDevice(address: USBAddress, context: USBContext?, problem: String? = nil,
                             timeouts: USBTimeouts = USBTimeouts()) -> Int? {
        guard let slot = placeDevice(transport: "usb", path: address.text, { d in if context == nil { d.problem = problem } }) else {
            return nil
        }
        if let context { attachUSB(USBBulkPort(address: address, context: context, timeouts: timeouts), slot: slot) }
        return slot
    }

    // MARK: Discovery

    /// How a discovered lock is opened.
    public struct LinkFactory: Sendable {
        public var usb: USBContext?
        /// Why `usb` is nil, shown as the problem of every vendor-bulk lock.
        public var usbProblem: String?
        public var baudRate: UInt32
        public var usbTimeouts: USBTimeouts

        public init(usb: USBContext?, usbProblem: String?, baudRate: UInt32, usbTimeouts: USBTimeouts = USBTimeouts()) {
            self.usb = usb
            self.usbProblem = usbProblem
            self.baudRate = baudRate
            self.usbTimeouts = usbTimeouts
        }
    }

    private enum AppearPlan {
        case ignore
        case attach(Int, replugged: Bool)
        case listOnly(Int)
        case pluggedBack(Int)
        case noSlot
    }

    /// A lock discovery found: a new one is listed and attached; one seen before (same serial
    /// number, else same port) is attached again under its id; a lock also named on the command
    /// line (same tty, same USB port or serial) only gains its USB identity. Returns the slot.
    @discardableResult
    public func deviceAppeared(_ device: DiscoveredDevice, links: LinkFactory) -> Int? {
        guard device.isLock else { return nil }
        let transport = device.transport == .usb ? "usb" : "serial"
        let key = device.stableID
        let info = USBDeviceInfo(device, plugged: true)
        let diagnosis = self.diagnosis
        let usbMissing = device.transport == .usb && links.usb == nil
        let plan: AppearPlan = state.withLock { s in
            // The same key is the same lock only if it is not plugged in elsewhere now: two locks
            // may share a USB serial number, and the second must not take over the first's slot.
            if let i = Self.sameLock(key, transport: transport, path: device.path, in: s.devices) {
                var d = s.devices[i]!
                defer { s.devices[i] = d }
                let wasUnplugged = d.unpluggedAtNanoseconds != nil
                d.usb = info
                d.unpluggedAtNanoseconds = nil
                if wasUnplugged { d.pluggedBackAtNanoseconds = MonotonicClock.nanoseconds() }
                guard d.discovered else {
                    // Named on the command line: its own link reconnects by itself.
                    if wasUnplugged { d.problem = nil }
                    return wasUnplugged ? .pluggedBack(i) : .ignore
                }
                if !wasUnplugged && d.path == device.path { return .ignore }  // seen twice (enumeration and monitor)
                d.path = device.path
                d.problem = usbMissing ? links.usbProblem : nil
                return usbMissing ? .listOnly(i) : .attach(i, replugged: true)
            }
            if let i = s.devices.firstIndex(where: { $0 != nil && !$0!.discovered && $0!.transport == transport && Self.isSame($0!, device) }) {
                s.devices[i]!.discoveryKey = key
                s.devices[i]!.usb = info
                return .ignore
            }
            guard let free = s.devices.firstIndex(where: { $0 == nil }) else { return .noSlot }
            var d = DeviceState(index: free, transport: transport, path: device.path, diagnosis: diagnosis)
            d.id = key
            d.discoveryKey = key
            d.discovered = true
            d.usb = info
            if usbMissing { d.problem = links.usbProblem }
            s.place(d)
            return usbMissing ? .listOnly(free) : .attach(free, replugged: false)
        }
        switch plan {
        case .ignore:
            return nil
        case .noSlot:
            logger.error("\(key): found on \(device.path) but every device slot is taken (at most \(loop.configuration.maxDevices) devices)")
            return nil
        case .listOnly(let slot), .pluggedBack(let slot):
            logger.notice("\(key): plugged in on \(device.path)")
            if let summary = summary(of: slot) { announce(.added, summary) }
            return slot
        case .attach(let slot, let replugged):
            logger.notice("\(key): \(replugged ? "plugged back in" : "found") on \(device.path) (\(device.id), \(device.match.rawValue.replacingOccurrences(of: "_", with: " ")))")
            switch device.transport {
            case .usb:
                // By port: discovery sees a replug elsewhere and attaches the lock there.
                if let usb = links.usb {
                    attachUSB(USBBulkPort(address: USBAddress.parsePort(device.port) ?? .serial(key), context: usb,
                                          timeouts: links.usbTimeouts), slot: slot)
                }
            case .serial:
                loop.attach(SerialPort(path: device.path, baudRate: links.baudRate), slot: slot)
            }
            if let summary = summary(of: slot) { announce(.added, summary) }
            return slot
        }
    }

    /// A lock discovery saw go away: listed `offline` as unplugged; a discovered one's link is
    /// closed (a command-line one keeps retrying its path).
    public func deviceDisappeared(_ device: DiscoveredDevice) {
        let transport = device.transport == .usb ? "usb" : "serial"
        let key = device.stableID
        let now = MonotonicClock.nanoseconds()
        let found: (slot: Int, detach: Bool)? = state.withLock { s in
            // Of two plugged-in locks sharing a key, the one on this path went.
            let plugged = s.devices.compactMap { $0 }.filter { $0.discoveryKey == key && $0.transport == transport && $0.unpluggedAtNanoseconds == nil }
            guard let i = (plugged.first { $0.path == device.path } ?? plugged.first)?.index else { return nil }
            s.devices[i]!.unpluggedAtNanoseconds = now
            // Its link failing a moment ago was this unplug, not a lost link.
            s.devices[i]!.linkDroppedAtNanoseconds = nil
            s.devices[i]!.usb?.plugged = false
            s.devices[i]!.problem = "unplugged from USB port \(device.port) — plug it back in: it keeps its id and its faults"
            return (i, s.devices[i]!.discovered)
        }
        guard let found else { return }
        logger.notice("\(key): unplugged from \(device.path)")
        if found.detach { loop.detach(slot: found.slot) }
        if let summary = summary(of: found.slot) { announce(.removed, summary) }
    }

    /// Drops discovered locks unplugged for at least `seconds`, freeing their slots.
    public func forgetUnplugged(olderThan seconds: Double) {
        let now = MonotonicClock.nanoseconds()
        let limit = UInt64(max(0, seconds) * 1e9)
        let forgotten: [DeviceSummary] = state.withLock { s in
            var gone: [DeviceSummary] = []
            for i in s.devices.indices {
                guard let d = s.devices[i], d.discovered, let at = d.unpluggedAtNanoseconds, now &- at >= limit else { continue }
                gone.append(d.summary(now: now, silenceNanoseconds: silenceNanoseconds))
                s.devices[i] = nil
                // The slot will be reused: its telemetry subscribers must not get another lock's.
                s.subscriptions[i] = nil
            }
            return gone
        }
        for device in forgotten {
            logger.notice("\(device.id): forgotten after \(Int(seconds)) s unplugged")
            announce(.forgotten, device)
        }
    }

    /// Hands a USB link to the poll loop, keeping its counters for `daemon.stats`.
    private func attachUSB(_ port: sending USBBulkPort, slot: Int) {
        let counters = port.counters
        state.withLock { $0.devices[slot]?.usbCounters = counters }
        loop.attach(port, slot: slot)
    }

    /// The listed lock a discovered one is: the one with its key on its path (seen again, or
    /// replugged into the same port), else one with its key that is unplugged (replugged
    /// elsewhere). One with its key plugged in on another path is another lock.
    static func sameLock(_ key: String, transport: String, path: String, in devices: [DeviceState?]) -> Int? {
        let keyed = devices.compactMap { $0 }.filter { $0.discoveryKey == key && $0.transport == transport }
        return (keyed.first { $0.path == path } ?? keyed.first { $0.unpluggedAtNanoseconds != nil })?.index
    }

    /// Whether a device named on the command line is the one discovery found.
    static func isSame(_ d: DeviceState, _ device: DiscoveredDevice) -> Bool {
        switch device.transport {
        case .usb:
            return d.path == device.port || (device.serial != nil && d.path == device.serial)
        case .serial:
            let names = Set([device.devnode].compactMap { $0 } + device.devlinks)
            if names.contains(d.path) { return true }
            guard let resolved = realPath(d.path) else { return false }
            return names.contains(resolved) || device.devnode.flatMap(realPath) == resolved
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension USBDeviceInfo {
    init(_ device: DiscoveredDevice, plugged: Bool) {
        let id = device.id.description.split(separator: ":")
        self.init(port: device.port, vendorID: String(id[0]), productID: String(id[1]), serial: device.serial,
                  manufacturer: device.manufacturer, product: device.product, plugged: plugged)
    }
}
