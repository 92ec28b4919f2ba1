import BLETransport
import LockDiagAPI
import LockProtocol
import USBTransport

/// A trace being put together from TRACE_CHUNK events and READ_MOTOR_TRACE answers.
struct TraceAssembly: Sendable {
    var actuation: UInt16
    var sampleRateHz: Int
    var samples: [UInt16] = []
    var have: [Bool] = []
    /// Samples the lock says the trace has (known once it finished).
    var total: Int?
    var started: ActuationStarted?
    var finished: ActuationFinished?
    var startedAtMilliseconds: Int64

    mutating func insert(_ chunk: TraceChunk) {
        let first = Int(chunk.firstIndex)
        let end = first + chunk.samplesMilliamps.count
        if samples.count < end {
            samples += [UInt16](repeating: 0, count: end - samples.count)
            have += [Bool](repeating: false, count: end - have.count)
        }
        for (offset, value) in chunk.samplesMilliamps.enumerated() {
            samples[first + offset] = value
            have[first + offset] = true
        }
        if chunk.complete { total = Int(chunk.totalSamples) }
        sampleRateHz = Int(chunk.sampleRateHz)
    }

    /// Ranges still missing, given the total the lock reported.
    var missing: [Range<Int>] {
        guard let total else { return [] }
        var ranges: [Range<Int>] = []
        var start: Int?
        for index in 0..<total {
            let present = index < have.count && have[index]
            if !present && start == nil { start = index }
            if present, let s = start {
                ranges.append(s..<index)
                start = nil
            }
        }
        if let s = start { ranges.append(s..<total) }
        return ranges
    }

    var isComplete: Bool { total != nil && missing.isEmpty }

    var completeSamples: [UInt16] { Array(samples.prefix(total ?? samples.count)) }
}

/// One link-counter snapshot in the sliding diagnosis window.
struct CounterSample: Sendable {
    var atNanoseconds: UInt64
    var counters: LinkCounters
}

/// Everything the daemon knows about one device, on the consumer side of the ring.
struct DeviceState: Sendable {
    let index: Int
    let transport: String
    /// Where it is; a discovered lock replugged elsewhere gets its new path.
    var path: String
    var id: String
    var identity: Identity?
    var linkUp = false
    var everUp = false
    var lastFrameNanoseconds: UInt64 = 0
    var lastFrameMilliseconds: Int64?
    var problem: String?
    var status: LockStatus?
    var statusAtMilliseconds: Int64?
    var fingerprint: FingerprintStatus?
    /// The last genuine-part check (Hub+Parts.swift), nil before the first.
    var parts: PartsResult?
    var deviceFaultCodes: Set<UInt16> = []
    var faults: FaultTable
    var counters = LinkCounters()
    var decodeErrors: UInt64 = 0
    var window: [CounterSample] = []
    var assembly: TraceAssembly?
    var lastActuation: ActuationSummary?
    var lastTrace: MotorTrace?
    /// Recent actuations by number, kept for self-tests that wait for theirs.
    var recentActuations: [ActuationSummary] = []
    var recentTraces: [MotorTrace] = []
    /// This lock's usual time from energising to the end stop, per direction (ms).
    var usualTravelMilliseconds: [Direction: Int] = [:]
    /// The end-of-travel ratio of this lock's door-open lock throws (its free-running profile),
    /// learnt as they come (StrikeAlignmentCheck.swift); nil until one was seen.
    var freeRunningEndRatio: Double?
    var lastStatusNotification: UInt64 = 0
    /// The telemetry log's sampling (Hub+History.swift): when the last status went in, and whether the motor ran then.
    var historySampleAtMilliseconds: Int64 = 0
    var historyMotorWasRunning = false
    /// Discovery's stable key (USB serial number, else port path) for a lock it manages; a
    /// configured one that discovery also sees gets it too. Nil otherwise.
    var discoveryKey: String?
    /// Whether discovery attached it (and detaches it when unplugged, and may forget it).
    var discovered = false
    /// Its USB identity, when it is on USB and udev told us.
    var usb: USBDeviceInfo?
    /// When udev reported it unplugged (monotonic ns); nil while plugged in.
    var unpluggedAtNanoseconds: UInt64?
    /// When the link of a udev-watched lock went down (monotonic ns) with no unplug from udev yet.
    /// The periodic check decides whether that was a lost link once udev had
    /// `Hub.unplugReportGraceNanoseconds` to report an unplug; an unplug clears it.
    var linkDroppedAtNanoseconds: UInt64?
    /// When udev reported it plugged back in (monotonic ns): its link reopens a moment later, and
    /// until `Hub.unplugReportGraceNanoseconds` have passed a link still down is not a lost one.
    var pluggedBackAtNanoseconds: UInt64?
    /// The vendor-bulk link's own counters (atomics the link updates), for a USB lock.
    var usbCounters: USBLinkCounters?
    /// A BLE lock's connection status, shared with its link (DeviceState+BLE.swift).
    var ble: BLELinkStatus?
    /// For a lock spoken to in the Tuya dialect (Drivers/Tuya/TuyaDeviceState.swift).
    var tuya: TuyaDeviceState?
    /// For a BLE lock with only the standard GATT services (Drivers/GATT/GATTDeviceState.swift).
    var gatt: GATTDeviceState?

    init(index: Int, transport: String, path: String, diagnosis: DiagnosisConfiguration) {
        self.index = index
        self.transport = transport
        self.path = path
        self.id = path
        self.faults = FaultTable(confirmAfter: diagnosis.confirmAfter, healAfter: diagnosis.healAfter)
    }

    func isOnline(now: UInt64, silenceNanoseconds: UInt64) -> Bool {
        if let online = tuyaOnline() ?? gattOnline() { return online }
        return unpluggedAtNanoseconds == nil && linkUp && lastFrameNanoseconds > 0 && now &- lastFrameNanoseconds < silenceNanoseconds
    }

    func state(now: UInt64, silenceNanoseconds: UInt64) -> String {
        if let state = tuyaState(now: now, silenceNanoseconds: silenceNanoseconds) ?? gattState() { return state }
        // Unplugged is offline at once, even before its link has been closed.
        if !linkUp || unpluggedAtNanoseconds != nil {
            // A BLE lock never connected yet is `connecting` while an attempt runs, `offline` while it backs off.
            if !everUp, let connecting = ble?.isAttempting { return connecting ? "connecting" : "offline" }
            return everUp ? "offline" : (problem == nil ? "connecting" : "offline")
        }
        if lastFrameNanoseconds == 0 { return "connecting" }
        return now &- lastFrameNanoseconds < silenceNanoseconds ? "online" : "unresponsive"
    }

    // MARK: API views

    func summary(now: UInt64, silenceNanoseconds: UInt64) -> DeviceSummary {
        let ble = bleDetails(now: now)
        return DeviceSummary(id: id, transport: transport, path: path,
                      wireProtocol: wireProtocol,
                      model: nonEmpty(identity?.model) ?? ble?.information.model ?? tuya?.modelName,
                      hardwareRevision: nonEmpty(identity?.hardwareRevision) ?? ble?.information.hardwareRevision,
                      firmware: nonEmpty(identity?.firmwareVersion) ?? ble?.information.firmwareRevision ?? tuya?.mcuVersion,
                      serial: nonEmpty(identity?.serial) ?? ble?.information.serial,
                      capabilities: identity?.capabilities.names ?? [], online: isOnline(now: now, silenceNanoseconds: silenceNanoseconds),
                      state: state(now: now, silenceNanoseconds: silenceNanoseconds),
                      problem: tuyaState(now: now, silenceNanoseconds: silenceNanoseconds) == "listening"
                        ? "listening on the tap; nothing heard from the lock yet (a battery lock speaks only when it wakes)" :
                        tuya?.role != .passive && unpluggedAtNanoseconds == nil && linkUp && lastFrameNanoseconds > 0
                        && now &- lastFrameNanoseconds >= silenceNanoseconds
                        ? "the lock stopped answering (asleep, hung or a bad cable)" : (linkUp ? problem : ble?.problem ?? problem),
                      lastSeen: lastFrameMilliseconds.map { APITime.format(milliseconds: $0) }, usb: usb,
                      manufacturer: ble?.information.manufacturer, ble: ble?.info, dialect: tuya?.dialect, product: tuya?.schema?.product,
                      layoutAssumed: tuya?.layoutAssumed)
    }

    /// What is known about the lock now, from its family's hub half; every API view is built from it.
    var readings: Readings {
        if let tuya { return tuya.readings }
        if isGATTOnly { return gatt?.readings ?? Readings() }
        return Readings(ldp: status, at: statusAtMilliseconds, fingerprint: fingerprint)
    }

    /// `LDP/1`, `Tuya MCU` or `GATT` (standard Bluetooth services only).
    var wireProtocol: String {
        if tuya != nil { return "Tuya MCU" }
        return isGATTOnly ? "GATT" : "LDP/1"
    }

    func apiStatus(now: UInt64, silenceNanoseconds: UInt64) -> DeviceStatus {
        let r = readings
        return DeviceStatus(device: id, online: isOnline(now: now, silenceNanoseconds: silenceNanoseconds), readings: r,
                            lastActuation: lastActuation, updatedAt: r.atMilliseconds.map { APITime.format(milliseconds: $0) },
                            wireProtocol: wireProtocol, tuya: tuya?.reading())
    }

    func apiFault(_ entry: FaultTable.Entry) -> Fault {
        let def = FaultCatalog.resolve(entry.code)
        return Fault(device: id, code: def.codeText, name: def.name, title: def.title, category: def.category.rawValue,
                     severity: def.severity.rawValue, status: entry.status, source: entry.source, count: entry.count,
                     firstSeen: APITime.format(milliseconds: entry.firstSeenMilliseconds),
                     lastSeen: APITime.format(milliseconds: entry.lastSeenMilliseconds), freezeFrame: entry.freezeFrame,
                     meaning: def.meaning, advice: def.action)
    }

    /// The snapshot stored with a fault when it is confirmed: the readings then.
    func freezeFrame(at milliseconds: Int64, evidence: String, actuation: ActuationSummary? = nil, link: LinkHealth? = nil) -> FreezeFrame {
        let r = readings
        return FreezeFrame(capturedAt: APITime.format(milliseconds: milliseconds), evidence: evidence,
                           batteryMillivolts: r.batteryMillivolts?.value, batteryPercent: r.batteryPercent?.value,
                           lock: r.bolt, door: r.door, motorState: r.motorState, motorCurrentMilliamps: r.motorCurrentMilliamps?.value,
                           temperatureCelsius: r.temperatureCelsius?.value, fingerprintState: r.fingerprint?.state,
                           imageQuality: r.fingerprint?.imageQuality, actuation: actuation, link: link)
    }

    func linkStats() -> LinkStats {
        let d = counters.decoder
        return LinkStats(device: id, requests: counters.requests, frames: d.frames, bytesIn: counters.bytesIn, bytesOut: counters.bytesOut,
                  crcErrors: d.crcErrors, headerErrors: d.headerErrors, noiseBytes: d.noiseBytes,
                  truncated: d.truncated, oversized: d.oversized, unsupportedVersion: d.unsupportedVersion,
                  timeouts: counters.timeouts, naks: counters.naks, unexpected: counters.unexpected, decodeErrors: decodeErrors,
                  reconnects: counters.reconnects, eventsDropped: counters.eventsDropped,
                  usb: usbCounters.map { USBLinkStats(exchanges: $0.exchanges, stalls: $0.stalls, transferErrors: $0.transferErrors,
                                                      inTimeouts: $0.inTimeouts, outTimeouts: $0.outTimeouts, droppedBytes: $0.droppedBytes) })
    }
}
