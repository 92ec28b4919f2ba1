import LockDiagAPI

extension TuyaDeviceState {
    /// What a Tuya lock reports, as readings (firmware-specs/tuya-mcu.md §6): its battery as a
    /// percentage or a band, and tamper from its alarms. It reports no motor data, no voltage,
    /// no bolt or door position in the standard layouts: those stay unknown.
    var readings: Readings {
        var r = Readings()
        r.atMilliseconds = readingAtMilliseconds
        r.batteryPercent = batteryPercent.map { Reading($0, .measured) }
        r.batteryBand = normalisedBatteryBand.map { Reading($0, .band) }
        // Alarms are events, not a state: tamper is known only once the lock raised an alarm.
        r.tamperActive = alarms.first.map { $0.fault == "tamper" }
        return r
    }

    /// The band the lock reports, on the one scale every family's battery check reads: the
    /// layout's `battery_bands` say which bands are faults (`poweroff` → battery_critical),
    /// the others are named as Tuya's standard lock layout names them.
    var normalisedBatteryBand: BatteryBand? {
        guard let band = batteryBand else { return nil }
        switch schema?.batteryBands?[band] {
        case "battery_critical": return .critical
        case "battery_low": return .low
        default: break
        }
        switch band {
        case "high", "full": return .high
        case "medium", "middle": return .medium
        case "low": return .low
        case "poweroff", "exhausted": return .critical
        default: return nil
        }
    }
}
