import LockDiagAPI
import LockProtocol
import TuyaProtocol

/// What the hub knows of a lock spoken to in the Tuya dialect, beside its `DeviceState`.
struct TuyaDeviceState: Sendable {
    let role: TuyaLinkConfiguration.Role
    /// Known for an active link; learnt from the traffic on a tap.
    var variant: TuyaVariant?
    /// `--dialect …:PRODUCT`, when given (it wins over the PID).
    let requestedProduct: String?
    var schema: TuyaSchema?
    /// Why `schema` is the category's standard layout rather than one known for the lock (nil: known).
    var layoutAssumed: String?
    var pid: String?
    var mcuVersion: String?
    /// The tap's second line, for display.
    var modulePath: String?
    var batteryPercent: Int?
    var batteryBand: String?
    var readingAtMilliseconds: Int64?
    var alarms: [TuyaAlarm] = []
    var events: [TuyaEvent] = []
    var dps: [Int: TuyaDPState] = [:]
    var reports: UInt64 = 0
    var records: UInt64 = 0
    var heartbeatAnswers: UInt64 = 0
    var mcuRestarts: UInt64 = 0
    /// Reports whose DP units could not be framed.
    var undecodable: UInt64 = 0

    static let keptAlarms = 16
    static let keptEvents = 32

    var dialect: String { role == .passive ? "tuya-sniff" : "tuya" }

    /// `devices.list` `model`: the layout's name, unless it was only assumed (it names no product).
    var modelName: String? { layoutAssumed == nil ? schema?.name : nil }

    /// Reads the lock with `layout` from now on.
    mutating func use(_ layout: TuyaLayout) {
        schema = layout.schema
        layoutAssumed = layout.assumedBecause
    }

    /// What no Tuya lock tells its module, so `lockdiag status` can say it is not missing by accident.
    static let notAvailable = [
        "motor current and motor-current traces (the Tuya protocol carries no motor data)",
        "battery voltage (only the percentage or level band the lock reports)",
        "self-tests and host-commanded actuation (tests.run, device.actuate)",
        "the lock's fault memory (alarms are reported as they happen, not stored)",
        "fingerprint sensor health and image quality",
    ]

    func reading() -> TuyaReading {
        TuyaReading(dialect: dialect, variant: variant?.rawValue, product: schema?.product, productName: schema?.name,
                    category: schema?.category, layoutAssumed: layoutAssumed,
                    categoryAssumed: layoutAssumed == nil ? nil : TuyaSchemaSet.categoryAssumption, pid: pid,
                    mcuVersion: mcuVersion, batteryBand: batteryBand, alarms: alarms, events: events,
                    dps: dps.keys.sorted().compactMap { dps[$0] }, notAvailable: Self.notAvailable, reports: reports,
                    records: records, mcuRestarts: mcuRestarts)
    }
}

extension DeviceState {
    /// `devices.list` state of a Tuya link: a tap that has heard nothing yet is `listening`
    /// (a battery lock may say nothing for hours), not unresponsive.
    func tuyaState(now: UInt64, silenceNanoseconds: UInt64) -> String? {
        guard let tuya, tuya.role == .passive, linkUp, unpluggedAtNanoseconds == nil else { return nil }
        return lastFrameNanoseconds == 0 ? "listening" : "online"
    }

    /// A tap is online while its link is up and it has heard the lock: it cannot ask, so
    /// silence is the lock sleeping, not failing.
    func tuyaOnline() -> Bool? {
        guard let tuya, tuya.role == .passive else { return nil }
        return unpluggedAtNanoseconds == nil && linkUp && lastFrameNanoseconds > 0
    }
}
