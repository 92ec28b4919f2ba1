import LockDiagAPI

extension GATTDeviceState {
    /// What a standard-services lock reports, as readings (firmware-specs/ble-gatt.md §6): its
    /// Battery Level, measured. The Battery Service has no voltage and the lock no motor, bolt or
    /// door data over these services: those stay unknown. It reports on change (notifications)
    /// and on the link's periodic read, so its readings carry no validity window.
    var readings: Readings {
        var r = Readings()
        r.atMilliseconds = batteryReadAtMilliseconds ?? informationReadAtMilliseconds
        r.batteryPercent = batteryPercent.map { Reading($0, .measured) }
        return r
    }
}
