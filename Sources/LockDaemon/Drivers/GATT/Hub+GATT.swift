import HistoryStore
import LockDiagAPI
import LockProtocol

/// The hub half of the GATT driver: `.gattReading` records into `GATTDeviceState` (whose
/// `readings` every view and the diagnosis table read, GATTReadings.swift), and refusing LDP/1
/// requests such a lock cannot take.
extension Hub {
    /// A `.gattReading` record. Runs on the hub thread with the state lock held.
    func gattReading(_ header: RecordHeader, payload: UnsafeRawBufferPointer, at now: Int64, device d: inout DeviceState,
                     state s: inout HubState, effects: inout Effects) {
        guard let field = GATTReadingField(rawValue: header.type) else {
            d.decodeErrors += 1
            return
        }
        var g = d.gatt ?? GATTDeviceState()
        defer { d.gatt = g }
        d.lastFrameMilliseconds = now
        switch field {
        case .batteryPercent:
            // Battery Level is 0…100; the link passes nothing else on.
            guard payload.count == 1, payload[0] <= 100 else {
                d.decodeErrors += 1
                return
            }
            g.batteryPercent = Int(payload[0])
            g.batteryReadAtMilliseconds = now
            // Into the telemetry log as any family's readings are (one sample a minute at rest).
            d.gatt = g
            sampleReadings(at: now, device: &d, effects: &effects)
        case .informationComplete:
            let firstTime = g.informationReadAtMilliseconds == nil
            g.informationReadAtMilliseconds = now
            let info = g.information
            // As for an LDP lock's IDENTIFY: the id follows the serial number when it changes.
            let preferred = info.serial ?? d.path
            if d.id != preferred && !d.id.hasPrefix(preferred + "@") {
                d.id = s.uniqueID(preferred, path: d.path, for: d.index)
            }
            if firstTime {
                effects.log.append("\(d.id): \(info.model ?? "unknown model") rev \(info.hardwareRevision ?? "?"), firmware "
                                   + "\(info.firmwareRevision ?? info.softwareRevision ?? "?") on \(d.path) (standard GATT services only)")
            }
            let since = d.id == d.path ? nil : d.faults.ordered.map(\.firstSeenMilliseconds).min()
            effects.history.append(.device(DeviceSighting(
                id: d.id, serial: info.serial, model: info.model ?? "", hardwareRevision: info.hardwareRevision ?? "",
                firmware: info.firmwareRevision ?? info.softwareRevision ?? "", transport: d.transport, path: d.path, atMilliseconds: now,
                formerID: since == nil ? nil : d.path, formerIDSinceMilliseconds: since)))
        default:
            guard let path = field.information else { return }
            g.information[keyPath: path] = payload.isEmpty ? nil : String(decoding: payload, as: UTF8.self)
        }
    }

    /// A lock with only the standard services has no LDP/1 to carry a request: it is refused
    /// before anything is sent, as a lock answers a message it lacks (NAK NOT_AVAILABLE), so
    /// `device.actuate`, `tests.run` and the rest say the lock cannot do it.
    func gattRefusal(_ index: Int) -> CommandOutcome? {
        state.read { $0.devices[index]?.isGATTOnly == true } ? .nak(.notAvailable) : nil
    }
}

extension DeviceState {
    /// A GATT lock is online while its link is up and it reported something on it: the link
    /// itself closes when the lock's GATT server stops answering (the ATT transaction timeout on
    /// the periodic Battery Level read). Nil for other locks.
    func gattOnline() -> Bool? {
        guard let gatt, isGATTOnly else { return nil }
        return unpluggedAtNanoseconds == nil && linkUp && gatt.informationReadAtMilliseconds != nil
    }

    /// `online` for a GATT lock whose link is up and reported; nil otherwise (the usual rules).
    func gattState() -> String? { gattOnline() == true ? "online" : nil }
}
