import BLEProtocol
import LinuxIO

/// What a link to a lock with only the standard GATT services offers the GATT driver (`BLELink`):
/// what the lock reported, taken without allocating.
protocol StandardServicesLink: DeviceLink {
    /// The Device Information Service's strings as read when the connection was set up.
    var deviceInformation: DeviceInformation { get }
    /// The Battery Level (0…100 %) reported since the last call, nil when none came.
    func takeBatteryLevel() -> Int?
    /// Runs the link's own timers (its periodic Battery Level read, the ATT transaction
    /// timeout); false when the link must close.
    func serviceTimers(now: UInt64) -> Bool
}

/// The loop half of the GATT driver: a Bluetooth LE lock with only the standard services
/// (Battery, Device Information; firmware-specs/ble-gatt.md §6). It requests nothing of its own
/// (the link re-reads Battery Level itself) and publishes what the lock reported, as it comes, in
/// `.gattReading` records (GATTReading.swift): Device Information once per connection, each
/// Battery Level. It never makes up an LDP/1 frame: such a lock has no motor current, bolt or
/// door reading, and none is shown. Loop-thread only; allocates nothing per call.
final class GATTDriver: LinkDriver {
    unowned let slot: DeviceSlot
    /// Nil only if a link that is no standard-services link was attached as `.gatt`: it then
    /// reports nothing.
    private let link: (any StandardServicesLink)?
    private let readBuffer: UnsafeMutableRawBufferPointer

    init(slot: DeviceSlot, context: DriverContext) {
        self.slot = slot
        link = slot.link as? any StandardServicesLink
        readBuffer = context.readBuffer
    }

    func linkOpened(now: UInt64) {
        guard let link else { return }
        let information = link.deviceInformation
        for field in GATTReadingField.allCases {
            guard let path = field.information else { continue }
            var text = information[keyPath: path] ?? ""
            text.withUTF8 { publish(field, UnsafeRawBufferPointer($0), now: now) }
        }
        publish(.informationComplete, UnsafeRawBufferPointer(start: nil, count: 0), now: now)
        publishBattery(now: now)
    }

    func linkClosed(now: UInt64) {}

    func tick(now: UInt64) {
        guard let link else { return }
        guard link.serviceTimers(now: now) else {
            slot.failed = true
            return
        }
        publishBattery(now: now)
    }

    /// Lets the link take its PDUs (notifications, read responses); it yields no LDP bytes.
    func service(events: Epoll.Events, now: UInt64) {
        guard let link else { return }
        do {
            switch try link.read(into: readBuffer) {
            case .bytes(let n): slot.counters.bytesIn &+= UInt64(n)
            case .wouldBlock: if events.contains(.hangUp) || events.contains(.error) { slot.failed = true }
            case .closed: slot.failed = true
            }
        } catch {
            slot.failed = true
        }
        publishBattery(now: now)
    }

    /// Standard services take no requests: the loop reports the command failed (the hub refuses
    /// them before they get here, see Hub+GATT.swift).
    func queue(_ command: PendingCommand, now: UInt64) -> Bool { false }

    /// No frame decoder: its counts stay 0.
    func updateCounters() {}

    private func publishBattery(now: UInt64) {
        guard var percent = link?.takeBatteryLevel().map(UInt8.init(clamping:)) else { return }
        withUnsafeBytes(of: &percent) { publish(.batteryPercent, $0, now: now) }
    }

    private func publish(_ field: GATTReadingField, _ value: UnsafeRawBufferPointer, now: UInt64) {
        slot.publish(RecordHeader(.gattReading, device: slot.index, at: now, type: field.rawValue), payload: value)
    }
}
