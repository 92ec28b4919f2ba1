import HistoryStore
import LinuxIO
import LockDiagAPI
import LockProtocol

// What the hub records in the history, and when.
//
// Durability order (docs/reports.md#durability): a fault transition changes the device state
// inside a critical section of the hub's state lock and appends its event to `Effects.history`;
// `commitHistory` runs at the end of that same critical section. While the history takes writes
// it returns only once the transaction is synced, so every reader of fault status —
// `faults.list`, `report.create`, the telemetry notifications that `perform` delivers after the
// lock is released — sees a transition only after its event is on disk; the cost is one fsync
// while the lock is held, and only when a fault changes. When the history cannot take the
// write now (full disk, I/O error, its writer busy), the event is queued for the recorder's
// own thread instead and the hub goes on at once: the fault is still shown, marked
// `saved: false` (`unsaved_events`) until its event is on disk. So every fault status a client
// sees is on disk or says that it is not. The poll loop never takes this lock.

extension Hub {
    /// Commits the section's fault events (or queues them, see above), queues its telemetry,
    /// and marks the faults in its notifications saved or not. Call with the state lock held,
    /// at the end of every critical section that may change a fault.
    func commitHistory(_ effects: inout Effects) {
        guard let history else {
            effects.history.removeAll()
            effects.telemetry.removeAll()
            return
        }
        if !effects.telemetry.isEmpty {
            history.enqueue(effects.telemetry)
            effects.telemetry.removeAll()
        }
        if !effects.history.isEmpty {
            history.commit(effects.history)
            effects.history.removeAll()
        }
        for i in effects.notifications.indices where effects.notifications[i].1.fault != nil {
            var faults = [effects.notifications[i].1.fault!]
            history.annotate(&faults)
            effects.notifications[i].1.fault = faults[0]
        }
    }

    /// Marks faults with whether their events are on disk; nothing without a history.
    func annotateSaved(_ faults: [Fault]) -> [Fault] {
        guard let history else { return faults }
        var faults = faults
        history.annotate(&faults)
        return faults
    }

    /// `faults.list`: the faults, each saved or not, and the history's health.
    public func faultsList(of index: Int?) -> FaultsList {
        FaultsList(faults: faults(of: index), history: history?.health())
    }

    /// The event of a fault transition, as `faults.list` shows the fault right after it.
    func faultEvent(_ transition: FaultTransition, entry: FaultTable.Entry, device d: DeviceState) -> HistoryRecord {
        let at: Int64 = transition == .healed ? clock.wallMilliseconds(monotonic: MonotonicClock.nanoseconds()) : entry.lastSeenMilliseconds
        let kind: FaultEventKind = switch transition {
        case .raised: .raised
        case .reoccurred: .reoccurred
        case .confirmed: .confirmed
        case .healed: .healed
        }
        let f = d.apiFault(entry)
        return .fault(FaultEvent(device: f.device, code: f.code, name: f.name, title: f.title, severity: f.severity, event: kind,
                                 status: f.status, at: APITime.format(milliseconds: at), count: f.count, firstSeen: f.firstSeen,
                                 source: f.source, evidence: entry.evidence, freezeFrame: f.freezeFrame, advice: f.advice),
                      atMilliseconds: at)
    }

    /// The `cleared` events of every fault a technician cleared.
    func clearedEvents(device d: DeviceState, by requester: String?, at now: Int64) -> [HistoryRecord] {
        d.faults.ordered.map { entry in
            let f = d.apiFault(entry)
            return .fault(FaultEvent(device: f.device, code: f.code, name: f.name, title: f.title, severity: f.severity, event: .cleared,
                                     status: nil, at: APITime.format(milliseconds: now), count: f.count, firstSeen: f.firstSeen,
                                     source: f.source, evidence: "cleared while \(f.status.rawValue); last evidence: \(entry.evidence)",
                                     freezeFrame: f.freezeFrame, advice: f.advice, clearedBy: requester ?? "unknown"),
                          atMilliseconds: now)
        }
    }

    /// A lock known by its path until it answered IDENTIFY may have raised faults under that id
    /// (a link timing out before it answered): the sighting moves those events to its id.
    func deviceSighting(_ identity: Identity, device d: DeviceState, at now: Int64) -> HistoryRecord {
        let since = d.id == d.path ? nil : d.faults.ordered.map(\.firstSeenMilliseconds).min()
        return .device(DeviceSighting(id: d.id, serial: identity.serial.isEmpty ? nil : identity.serial, model: identity.model,
                                      hardwareRevision: identity.hardwareRevision, firmware: identity.firmwareVersion,
                                      transport: d.transport, path: d.path, atMilliseconds: now,
                                      formerID: since == nil ? nil : d.path, formerIDSinceMilliseconds: since))
    }

    /// Samples of the readings for the telemetry log: every report while the motor runs (and the
    /// first one after, the recovery), one a minute at rest. Every family's readings go in.
    func sampleReadings(at now: Int64, device d: inout DeviceState, effects: inout Effects) {
        guard history != nil else { return }
        let r = d.readings
        let running = r.motorState.map { ["locking", "unlocking", "braking"].contains($0) } ?? false
        guard running || d.historyMotorWasRunning || now - d.historySampleAtMilliseconds >= Self.restSampleIntervalMilliseconds else {
            return
        }
        d.historyMotorWasRunning = running
        d.historySampleAtMilliseconds = now
        effects.telemetry.append(.status(StatusSample(
            device: d.id, atMilliseconds: now, batteryMillivolts: r.batteryMillivolts?.value, batteryPercent: r.batteryPercent?.value,
            batteryBand: r.batteryBand?.value.rawValue, motorState: r.motorState, motorCurrentMilliamps: r.motorCurrentMilliamps?.value,
            bolt: r.bolt, temperatureCelsius: r.temperatureCelsius?.value)))
    }

    static let restSampleIntervalMilliseconds: Int64 = 60_000
}
