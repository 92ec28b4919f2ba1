import BLEProtocol

/// What a lock with only the standard GATT services reported, on the hub's side (nil: unknown).
/// Such a lock reports its battery percentage and who it is, nothing else: no voltage, motor,
/// bolt or door. Filled by Hub+GATT.swift from `.gattReading` records.
struct GATTDeviceState: Sendable, Equatable {
    /// Battery Level (0…100 %), nil until the lock reported one.
    var batteryPercent: Int?
    /// When the battery level came (wall-clock ms).
    var batteryReadAtMilliseconds: Int64?
    /// The Device Information Service's strings of the current connection (nil: not offered).
    var information = DeviceInformation()
    /// When they were read (wall-clock ms; at connection set-up).
    var informationReadAtMilliseconds: Int64?
}
