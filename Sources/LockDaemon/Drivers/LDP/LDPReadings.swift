import LockDiagAPI
import LockProtocol

extension Readings {
    /// How long an LDP/1 lock's READ_STATUS describes it: it is polled several times a second,
    /// so an answer older than this means the lock stopped answering, not that nothing changed.
    static let ldpValidForMilliseconds: Int64 = 3000

    /// What an LDP/1 lock reports: READ_STATUS (firmware-specs/ldp-v1.md §6.2) and
    /// READ_FINGERPRINT_STATUS (§6.4). The spec's "unknown" sentinels (bolt/door 0, 0xFF percent,
    /// 0x7FFF temperature, 0xFF image quality) become nil here and nowhere else.
    init(ldp status: LockStatus?, at milliseconds: Int64?, fingerprint: FingerprintStatus?) {
        self.init()
        self.fingerprint = fingerprint.map(Self.fingerprint)
        guard let status else { return }
        atMilliseconds = milliseconds
        validForMilliseconds = Self.ldpValidForMilliseconds
        bolt = status.bolt.rawValue == 0 ? nil : status.bolt.name
        door = status.door.rawValue == 0 ? nil : status.door.name
        motorState = status.motor.name
        motorCurrentMilliamps = Reading(Int(status.motorCurrentMilliamps), .measured)
        batteryMillivolts = Reading(Int(status.batteryMillivolts), .measured)
        if status.batteryPercent != LockStatus.unknownPercent { batteryPercent = Reading(Int(status.batteryPercent), .measured) }
        if let celsius = Self.celsius(decicelsius: status.temperatureDecicelsius) { temperatureCelsius = Reading(celsius, .measured) }
        calibrated = status.flags.contains(.calibrated)
        tamperActive = status.flags.contains(.tamperActive)
        activeFaults = Int(status.activeFaults)
        actuations = status.actuations
        uptimeSeconds = status.uptimeSeconds
    }

    static func celsius(decicelsius: Int16) -> Double? {
        decicelsius == LockStatus.unknownTemperature ? nil : Double(decicelsius) / 10
    }

    static func fingerprint(_ f: FingerprintStatus) -> FingerprintReading {
        FingerprintReading(state: f.state.name, linkOK: f.linkOK,
                           imageQuality: f.lastImageQuality == FingerprintStatus.noQuality ? nil : Int(f.lastImageQuality),
                           templatesUsed: Int(f.templatesUsed), templatesCapacity: Int(f.templatesCapacity),
                           failedAttempts: Int(f.failedAttempts), lockoutRemainingSeconds: Int(f.lockoutRemainingSeconds),
                           lastSelfTest: f.lastSelfTest.name)
    }
}
