import LockProtocol
import TuyaProtocol

/// The simulated lock's MCU when it speaks Tuya instead of LDP/1 (firmware-specs/tuya-mcu.md):
/// the same physical model and scenarios (`SimulatedLock`), behind the head of a Tuya lock MCU.
/// It reads the model as its firmware would — battery level, the fault memory's occurrences,
/// finished actuations — and reports them in the `wifi-lock` DP layout
/// (firmware-specs/tuya/wifi-lock.json): DP 12 residual_electricity, 11 battery_state, 8
/// alarm_lock, 1/2/5 unlock by fingerprint/password/card.
///
/// Standard: answers heartbeats, product, working-mode, network-status and DP queries, and
/// reports changes with 0x07. Low-power: answers the product query and network status; once the
/// module says it reached the cloud, sends its state (0x05) and the records it stored (0x08),
/// each until the module acknowledges it (500 ms, three tries, then kept for the next time).
public final class TuyaLockFirmware {
    public let lock: SimulatedLock
    public let variant: TuyaVariant
    /// What the product-information reply says.
    public let pid: String
    private let decoder = TuyaFrameDecoder()
    private var output: [UInt8] = []
    private var wire: WireFaultInjector
    private var answeredHeartbeat = false
    private var connected = false
    /// Reports waiting for the module (low-power), oldest first; the first is in flight.
    private var queue: [(command: UInt8, data: [UInt8])] = []
    private var inFlightSince: UInt64?
    private var tries = 0
    private var lastPercent: Int?
    private var storedAlarm: UInt8?
    private var occurrences: [UInt16: UInt8] = [:]
    private var liveDecoder = FrameDecoder()
    private var startedSources: [UInt16: ActuationSource] = [:]
    private var unlockCount = 0
    public private(set) var framesReceived: UInt64 = 0
    public private(set) var badFrames: UInt64 = 0

    public static let standardPID = "lockdiagsimstd01"
    public static let lowPowerPID = "lockdiagsimlpw01"
    static let dpUnlockFingerprint: UInt8 = 1
    static let dpUnlockPassword: UInt8 = 2
    static let dpUnlockCard: UInt8 = 5
    static let dpAlarm: UInt8 = 8
    static let dpBatteryState: UInt8 = 11
    static let dpResidual: UInt8 = 12
    /// alarm_lock's range in the wifi-lock layout.
    static let alarms = ["wrong_finger", "wrong_password", "wrong_card", "wrong_face", "tongue_bad", "too_hot", "unclosed_time",
                         "tongue_not_out", "pry", "key_in", "low_battery", "power_off", "shock"]

    /// `pid` nil: the variant's own (`lockdiagsimstd01`/`lockdiagsimlpw01`, which lockdiagd knows
    /// as `wifi-lock`); another one presents a product lockdiagd has no layout for, reporting in
    /// the same DPs, which are all in Tuya's standard lock layout (firmware-specs/tuya/standard-ms.json).
    public init(lock: SimulatedLock, variant: TuyaVariant, pid: String? = nil) {
        self.lock = lock
        self.variant = variant
        self.pid = pid ?? (variant == .standard ? Self.standardPID : Self.lowPowerPID)
        wire = WireFaultInjector(impairment: lock.scenario.link,
                                 random: SimulationRandom(seed: lock.configuration.seed, index: lock.configuration.index, stream: 5))
        // The model's LDP/1 head stays silent on the wire; its events are read here instead.
        lock.wire.impairment = .clean
        _ = lock.takeOutput()
        // What the fault memory already holds was stored before anyone connected: for a
        // low-power lock, records waiting for its module; for a standard one, its last alarm.
        for record in lock.faultRecords {
            occurrences[record.code] = record.occurrences
            guard let alarm = Self.alarm(for: record.code) else { continue }
            storedAlarm = alarm
            if variant == .lowPower {
                let ago = UInt64(max(0, Int(lock.uptimeSeconds) - Int(record.lastSeenSeconds)))
                queue.append((TuyaLowPowerCommand.recordReport, recordTime(secondsAgo: ago)
                              + TuyaDPCodec.encode([TuyaDataPoint(id: Self.dpAlarm, value: .enumeration(alarm))])))
            }
        }
    }

    /// The alarm_lock value a fault-memory code shows as, if any.
    static func alarm(for code: UInt16) -> UInt8? {
        let name: String? = switch code {
        case FaultCode.motorStall: "tongue_bad"
        case FaultCode.actuationTimeout, FaultCode.motorOpenCircuit: "tongue_not_out"
        case FaultCode.batteryLow: "low_battery"
        case FaultCode.batteryCritical: "power_off"
        case FaultCode.tamper: "pry"
        case FaultCode.overtemperature: "too_hot"
        case FaultCode.lockoutFailedAttempts: "wrong_finger"
        default: nil
        }
        return name.flatMap { alarms.firstIndex(of: $0) }.map(UInt8.init)
    }

    // MARK: Input

    /// Module → MCU bytes.
    public func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) {
        advance(to: now)
        guard !lock.isHung else { return }
        decoder.feed(bytes) { out in
            switch out {
            case .frame(let frame):
                framesReceived += 1
                handle(frame.copied(), now: now)
            case .error: badFrames += 1
            }
        }
    }

    public func receive(_ bytes: [UInt8], now: UInt64) { bytes.withUnsafeBytes { receive($0, now: now) } }

    private func handle(_ frame: TuyaFrame, now: UInt64) {
        switch variant {
        case .standard:
            switch frame.command {
            case TuyaCommand.heartbeat:
                send(TuyaCommand.heartbeat, [answeredHeartbeat ? 1 : 0])
                answeredHeartbeat = true
            case TuyaCommand.productInfo: send(TuyaCommand.productInfo, productInfo)
            case TuyaCommand.workingMode: send(TuyaCommand.workingMode, [])
            case TuyaCommand.networkStatus: send(TuyaCommand.networkStatus, [])
            case TuyaCommand.dpQuery:
                send(TuyaCommand.dpReport, TuyaDPCodec.encode(stateDPs()))
                // The alarm its fault memory held before anyone listened is reported once, after
                // the first query; later queries return state, not old alarms again.
                if let alarm = storedAlarm {
                    storedAlarm = nil
                    send(TuyaCommand.dpReport, TuyaDPCodec.encode([TuyaDataPoint(id: Self.dpAlarm, value: .enumeration(alarm))]))
                }
            default: break
            }
        case .lowPower:
            switch frame.command {
            case TuyaLowPowerCommand.productInfo: send(TuyaLowPowerCommand.productInfo, productInfo)
            case TuyaLowPowerCommand.networkStatus:
                send(TuyaLowPowerCommand.networkStatus, [])
                // Anything short of the cloud is a module (re)starting: it has to hear everything again.
                if frame.data.first != TuyaNetworkStatus.connectedToCloud { connected = false }
                if frame.data.first == TuyaNetworkStatus.connectedToCloud && !connected {
                    connected = true
                    // Its state first, then what it stored while the module was off.
                    queue.insert((TuyaLowPowerCommand.realtimeReport, TuyaDPCodec.encode(stateDPs())), at: 0)
                    inFlightSince = nil
                    tries = 0
                }
            case TuyaLowPowerCommand.realtimeReport, TuyaLowPowerCommand.recordReport:
                // The module's acknowledgement of the report in flight.
                if let first = queue.first, first.command == frame.command, frame.data.first == 0 {
                    queue.removeFirst()
                    inFlightSince = nil
                    tries = 0
                }
            default: break
            }
        }
    }

    private var productInfo: [UInt8] { Array("{\"p\":\"\(pid)\",\"v\":\"\(lock.configuration.firmwareVersion)\",\"m\":0}".utf8) }

    private func stateDPs() -> [TuyaDataPoint] {
        let percent = Int(lock.batteryPercent)
        return [TuyaDataPoint(id: Self.dpResidual, value: .value(Int32(percent))),
                TuyaDataPoint(id: Self.dpBatteryState, value: .enumeration(Self.band(percent)))]
    }

    /// battery_state (high, medium, low, poweroff) as a lock firmware derives it from its level.
    static func band(_ percent: Int) -> UInt8 { percent >= 60 ? 0 : percent >= 20 ? 1 : percent >= 5 ? 2 : 3 }

    // MARK: Time

    /// Reads what the model did since the last call and reports it.
    public func advance(to now: UInt64) {
        lock.advance(to: now)
        // A scenario change re-arms the model's own wire impairment; the Tuya head has its own.
        lock.wire.impairment = .clean
        wire.impairment = lock.scenario.link
        observeEvents()
        observeFaults()
        let percent = Int(lock.batteryPercent)
        if percent != lastPercent {
            if lastPercent != nil { report(stateDPs(), now: now) }
            lastPercent = percent
        }
        if variant == .lowPower, connected, !lock.isHung, let first = queue.first {
            if let since = inFlightSince, now &- since < 500_000_000 { return }
            if tries >= 3 {
                // Unacknowledged three times: kept for the next time the module comes up.
                connected = false
                tries = 0
                inFlightSince = nil
                return
            }
            tries += 1
            inFlightSince = now
            transmit(first.command, first.data)
        }
    }

    /// The model's own events (its LDP/1 head's output, never put on the wire): finished
    /// actuations become unlock reports.
    private func observeEvents() {
        let bytes = lock.takeOutput()
        guard !bytes.isEmpty else { return }
        var finished: [ActuationFinished] = []
        liveDecoder.feed(bytes) { out in
            guard case .frame(let frame) = out, frame.header.kind == .event,
                  let event = try? Event(type: frame.header.type, payload: frame.payload) else { return }
            switch event {
            case .actuationStarted(let started): startedSources[started.actuation] = started.source
            case .actuationFinished(let f): finished.append(f)
            default: break
            }
        }
        for f in finished {
            let source = startedSources.removeValue(forKey: f.actuation)
            guard source == .user, f.direction == .unlock, f.result == .reached else { continue }
            unlockCount += 1
            let dp = [Self.dpUnlockFingerprint, Self.dpUnlockPassword, Self.dpUnlockCard][unlockCount % 3]
            report([TuyaDataPoint(id: dp, value: .value(Int32(1 + unlockCount % 5)))], now: lock.nowNanoseconds)
        }
    }

    /// New occurrences in the fault memory become alarm reports.
    private func observeFaults() {
        for record in lock.faultRecords {
            let before = occurrences[record.code] ?? 0
            occurrences[record.code] = record.occurrences
            guard record.occurrences > before, let alarm = Self.alarm(for: record.code) else { continue }
            report([TuyaDataPoint(id: Self.dpAlarm, value: .enumeration(alarm))], now: lock.nowNanoseconds)
        }
    }

    private func report(_ points: [TuyaDataPoint], now: UInt64) {
        let data = TuyaDPCodec.encode(points)
        switch variant {
        case .standard: send(TuyaCommand.dpReport, data)
        case .lowPower: queue.append((TuyaLowPowerCommand.realtimeReport, data))
        }
    }

    /// The record prefix: valid time, derived from the model's uptime as its RTC.
    private func recordTime(secondsAgo: UInt64) -> [UInt8] {
        let total = UInt64(lock.uptimeSeconds) &- secondsAgo
        let day = Int(total / 86_400)
        let seconds = Int(total % 86_400)
        return TuyaRecordTime(valid: true, year: 2026, month: 1 + (day / 28) % 12, day: 1 + day % 28, hour: seconds / 3600,
                              minute: seconds / 60 % 60, second: seconds % 60).encoded
    }

    // MARK: Output

    private func send(_ command: UInt8, _ data: [UInt8]) {
        guard !lock.isHung else { return }
        transmit(command, data)
    }

    private func transmit(_ command: UInt8, _ data: [UInt8]) {
        let version = variant == .standard ? Tuya.mcuVersion : Tuya.moduleVersion
        guard let frame = TuyaFrameEncoder.encode(version: version, command: command, data: data) else { return }
        if wire.dropsResponse() { return }
        _ = wire.transmit(frame, into: &output)
    }

    /// MCU → module bytes produced since the last call.
    public func takeOutput() -> [UInt8] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }

    public var pendingOutputByteCount: Int { output.count }

    /// Reports waiting for the module's acknowledgement (low-power).
    public var pendingReports: Int { queue.count }
}
