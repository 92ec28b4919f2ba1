import LinuxIO
import LockDiagAPI
import LockProtocol
import SerialTransport
import TuyaProtocol

/// How a serial lock is spoken to (`--dialect`): LDP/1, or Tuya as the module, a low-power
/// Tuya lock as its module, or a passive tap — each Tuya one optionally with `:PRODUCT`.
public struct DialectSpec: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case ldp
        case tuya
        case tuyaLowPower = "tuya-lowpower"
        case tuyaSniff = "tuya-sniff"
    }

    public var kind: Kind
    /// A product layout from firmware-specs/tuya/ (or `--tuya-schemas`); nil: chosen by PID.
    public var product: String?

    public init(kind: Kind, product: String? = nil) {
        self.kind = kind
        self.product = product
    }

    public static let ldp = DialectSpec(kind: .ldp)

    /// `ldp`, `tuya`, `tuya:wifi-lock`, `tuya-lowpower[:P]`, `tuya-sniff[:P]`.
    public static func parse(_ text: String) throws(DialectError) -> DialectSpec {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let kind = Kind(rawValue: parts[0].lowercased()) else { throw .unknown(text) }
        let product = parts.count > 1 ? parts[1] : nil
        if kind == .ldp && product != nil { throw .productWithLDP(text) }
        if product?.isEmpty == true { throw .emptyProduct(text) }
        return DialectSpec(kind: kind, product: product)
    }

    public var description: String { product.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue }

    /// The poll loop's view of it.
    var linkDialect: LinkDialect {
        switch kind {
        case .ldp: .ldp
        case .tuya: .tuya(TuyaLinkConfiguration(role: .active, variant: .standard))
        case .tuyaLowPower: .tuya(TuyaLinkConfiguration(role: .active, variant: .lowPower))
        case .tuyaSniff: .tuya(TuyaLinkConfiguration(role: .passive, variant: .standard))
        }
    }
}

/// A `--dialect` that cannot be used, and what to write instead.
public enum DialectError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknown(String)
    case productWithLDP(String)
    case emptyProduct(String)
    case unknownProduct(String, known: [String])

    public var description: String {
        switch self {
        case .unknown(let t): "unknown dialect '\(t)' — use ldp, tuya, tuya-lowpower or tuya-sniff, optionally with :PRODUCT"
        case .productWithLDP(let t): "'\(t)': a product layout applies to the Tuya dialects only"
        case .emptyProduct(let t): "'\(t)': name the product after the colon, or leave the colon out to choose it by the lock's PID"
        case .unknownProduct(let p, let known):
            "no Tuya product layout '\(p)' — known: \(known.joined(separator: ", ")); add one with --tuya-schemas DIR (firmware-specs/tuya-mcu.md §6)"
        }
    }
}

extension Hub {
    // MARK: Devices

    /// Registers a serial lock spoken to in a Tuya dialect and hands its link to the poll loop.
    /// `modulePath` is a tap's second line (the module's TX), for `tuya-sniff` only.
    @discardableResult
    public func addTuyaDevice(path: String, modulePath: String? = nil, baudRate: UInt32, dialect: DialectSpec) throws(DialectError) -> Int? {
        guard dialect.kind != .ldp else { return addSerialDevice(path: path, baudRate: baudRate) }
        guard case .tuya(let configuration) = dialect.linkDialect else { return nil }
        var tuya = try tuyaState(dialect)
        tuya.modulePath = modulePath
        guard let slot = placeDevice(transport: "serial", path: path, { $0.tuya = tuya }) else { return nil }
        if let modulePath, configuration.role == .passive {
            loop.attach(TuyaTapLink(mcuPath: path, modulePath: modulePath, baudRate: baudRate), slot: slot, dialect: dialect.linkDialect)
        } else {
            loop.attach(SerialPort(path: path, baudRate: baudRate), slot: slot, dialect: dialect.linkDialect)
        }
        return slot
    }

    /// A Tuya lock's state before its first frame: its role and variant, and its product layout
    /// (a named product wins; else the category's standard layout until the PID says more).
    func tuyaState(_ dialect: DialectSpec) throws(DialectError) -> TuyaDeviceState {
        let schemas = tuyaSchemas.withLock { $0 }
        var layout: TuyaLayout?
        if let product = dialect.product {
            guard let found = schemas.schema(product: product) else { throw .unknownProduct(product, known: schemas.products) }
            layout = TuyaLayout(schema: found, assumedBecause: nil)
        } else {
            layout = schemas.layout(pid: nil)
        }
        let configuration: TuyaLinkConfiguration? = if case .tuya(let c) = dialect.linkDialect { c } else { nil }
        var tuya = TuyaDeviceState(role: configuration?.role ?? .active,
                                   variant: configuration?.role == .passive ? nil : configuration?.variant ?? .standard,
                                   requestedProduct: dialect.product)
        if let layout { tuya.use(layout) }
        return tuya
    }

    /// Why `tests.run` / `device.actuate` cannot be done on this lock, or nil when they can.
    func tuyaRefusal(_ index: Int, _ what: String) -> String? {
        state.withLock { s in
            guard let d = s.devices[index], let tuya = d.tuya else { return nil }
            return "\(d.id) is a Tuya MCU lock (\(tuya.dialect)): \(what) needs LDP/1 — the Tuya protocol has no "
                + "self-tests and no host-commanded actuation; `lockdiag status \(d.id)` shows what it reports"
        }
    }

    // MARK: Frames

    /// A Tuya frame from the ring. Runs on the hub thread with the state lock held.
    func tuyaFrame(_ header: RecordHeader, payload: UnsafeRawBufferPointer, at now: Int64, device d: inout DeviceState,
                   effects: inout Effects) {
        guard var t = d.tuya else { return }
        defer { d.tuya = t }
        let direction: TuyaDirection = header.frameKind == .event ? .fromMCU : .fromModule
        let command = header.type
        if t.variant == nil, let learnt = Self.guessVariant(version: header.seq, command: command, dataCount: payload.count, from: direction) {
            t.variant = learnt
            effects.log.append("\(d.id): the tapped line speaks the \(learnt == .lowPower ? "low-power" : "standard") Tuya protocol")
        }
        // Before the variant is known only what both variants share is read.
        guard let variant = t.variant ?? (command <= TuyaCommand.productInfo ? .standard : nil) else { return }
        let message: TuyaMessage
        do {
            message = try TuyaMessage.parse(command: command, data: payload, variant: variant, from: direction)
        } catch {
            t.undecodable += 1
            d.decodeErrors += 1
            effects.log.append("\(d.id): Tuya command 0x\(String(command, radix: 16)) with undecodable DPs: \(error)")
            return
        }
        switch message {
        case .heartbeatReply(let first):
            if first && t.heartbeatAnswers > 0 {
                t.mcuRestarts += 1
                effects.log.append("\(d.id): the lock MCU restarted (its heartbeat answer went back to 0x00)")
            }
            t.heartbeatAnswers += 1
        case .productInfo(let info):
            let firstTime = t.pid != info.pid
            t.pid = info.pid
            t.mcuVersion = info.mcuVersion
            if t.requestedProduct == nil, let layout = tuyaSchemas.withLock({ $0.layout(pid: info.pid) }),
               t.schema?.product != layout.schema.product || t.layoutAssumed != layout.assumedBecause {
                t.use(layout)
                effects.log.append(layout.assumedBecause == nil
                    ? "\(d.id): product \(info.pid) is '\(layout.schema.product)' (\(layout.schema.name))"
                    : "\(d.id): Tuya product \(info.pid), MCU \(info.mcuVersion ?? "?"): no layout lists this PID, so it is read with the "
                      + "standard layout '\(layout.schema.product)' (category \(layout.schema.category ?? "?") assumed: "
                      + "\(TuyaSchemaSet.categoryAssumption)); its other DPs are shown raw — name its layout with "
                      + "--dialect tuya:PRODUCT or add one with --tuya-schemas")
            } else if firstTime && t.schema == nil {
                effects.log.append("\(d.id): Tuya product \(info.pid), MCU \(info.mcuVersion ?? "?"): no product layout lists this PID and no standard layout is loaded, so DPs are shown but not interpreted — name one with --dialect tuya:PRODUCT or add a file with --tuya-schemas")
            }
        case .dpReport(let points, _), .realtimeReport(let points):
            t.reports += 1
            apply(points, recorded: nil, at: now, tuya: &t, device: &d, effects: &effects)
            notifyStatus(tuya: t, device: &d, effects: &effects)
        case .recordReport(let time, let points):
            t.records += 1
            apply(points, recorded: time, at: now, tuya: &t, device: &d, effects: &effects)
            notifyStatus(tuya: t, device: &d, effects: &effects)
        case .dpSend(let points) where t.role == .passive:
            effects.log.append("\(d.id): the module set " + points.map { "DP \($0.id) = \($0.value)" }.joined(separator: ", "))
        default:
            break
        }
    }

    /// A report is a status update for `telemetry.subscribe` (`lockdiag watch`); a Tuya lock
    /// reports when something changes, so every report is passed on.
    private func notifyStatus(tuya t: TuyaDeviceState, device d: inout DeviceState, effects: inout Effects) {
        d.tuya = t
        if let at = t.readingAtMilliseconds { sampleReadings(at: at, device: &d, effects: &effects) }
        let status = d.apiStatus(now: MonotonicClock.nanoseconds(), silenceNanoseconds: silenceNanoseconds)
        effects.notifications.append((d.index, TelemetryNotification(device: d.id, lost: 0, status: status)))
    }

    /// Which protocol a tapped line speaks, from one frame, when that frame tells (tuya-mcu.md §7).
    static func guessVariant(version: UInt8, command: UInt8, dataCount: Int, from direction: TuyaDirection) -> TuyaVariant? {
        if version == Tuya.mcuVersion { return .standard }
        guard version == Tuya.moduleVersion else { return nil }
        switch (direction, command) {
        case (.fromMCU, TuyaLowPowerCommand.realtimeReport), (.fromMCU, TuyaLowPowerCommand.recordReport):
            return dataCount >= 4 ? .lowPower : nil
        case (.fromModule, TuyaLowPowerCommand.realtimeReport), (.fromModule, TuyaLowPowerCommand.recordReport):
            return dataCount == 1 ? .lowPower : nil
        case (.fromModule, TuyaCommand.heartbeat):
            return .standard
        default:
            return nil
        }
    }

    private func apply(_ points: [TuyaDataPoint], recorded: TuyaRecordTime?, at now: Int64, tuya t: inout TuyaDeviceState,
                       device d: inout DeviceState, effects: inout Effects) {
        let at = APITime.format(milliseconds: now)
        let stamp = recorded.map { $0.valid ? " (the lock's clock: \($0))" : " (stored by the lock while its module was off)" } ?? ""
        for point in points {
            // A DP the layout lists with another type is not the layout's DP: shown raw, not read.
            let def = t.schema?.dp(point.id).flatMap { $0.type == point.value.type.description ? $0 : nil }
            var text = point.value.description
            var enumName: String?
            if case .enumeration(let index) = point.value, let range = def?.range {
                enumName = Int(index) < range.count ? range[Int(index)] : nil
                text = enumName ?? "\(index) (not in the layout's range)"
            }
            t.dps[Int(point.id)] = TuyaDPState(id: Int(point.id), code: def?.code, type: point.value.type.description, value: text, at: at)
            t.readingAtMilliseconds = now
            guard let def, let schema = t.schema else { continue }
            switch def.role {
            case .batteryPercent:
                guard let value = point.value.integer else { continue }
                t.batteryPercent = max(0, min(100, value))
            case .batteryBand:
                guard let band = enumName else { continue }
                t.batteryBand = band
            case .alarm:
                let name = enumName ?? "alarm \(point.value)"
                let fault = schema.alarms[name]
                t.alarms.insert(TuyaAlarm(alarm: name, fault: fault, at: at, recordedAt: recorded.map(\.description)), at: 0)
                if t.alarms.count > TuyaDeviceState.keptAlarms { t.alarms.removeLast() }
                effects.log.append("\(d.id): the lock raised alarm '\(name)'\(stamp)")
                if let fault, let definition = FaultCatalog.definition(named: fault) {
                    let evidence = "the lock raised alarm '\(name)' (DP \(point.id) \(def.code))\(stamp)"
                    // The freeze frame is the readings with this report applied, as for any lock.
                    d.tuya = t
                    failCheck(definition.code, kind: .event, fromDevice: true, at: now, evidence: evidence, confirmed: true,
                              device: &d, effects: &effects)
                }
            case .unlock:
                t.events.insert(TuyaEvent(kind: "unlock", method: def.method, user: point.value.integer, at: at,
                                          recordedAt: recorded.map(\.description)), at: 0)
            case .event:
                if case .bool(false) = point.value { continue }
                t.events.insert(TuyaEvent(kind: def.code, method: nil, user: nil, at: at, recordedAt: recorded.map(\.description)), at: 0)
                effects.log.append("\(d.id): \(def.code)\(stamp)")
            case .state:
                break
            }
            if t.events.count > TuyaDeviceState.keptEvents { t.events.removeLast() }
        }
    }
}
