import BLEProtocol

/// Which standard-services reading a `.gattReading` ring record carries (its header's `type`),
/// and the payload's layout for each: the ring format of the GATT family, written by
/// `GATTDriver` and read by the hub half (Hub+GATT.swift). Bluetooth SIG assigned numbers in
/// firmware-specs/ble-gatt.md §6.
enum GATTReadingField: UInt8, CaseIterable {
    /// Battery Level `0x2A19`: one byte, 0…100 %.
    case batteryPercent = 1
    /// Device Information strings, UTF-8 as read (padding already removed); empty when the lock
    /// does not offer the characteristic. All six come at each connection, then
    /// `informationComplete`.
    case manufacturer = 2
    case model = 3
    case serial = 4
    case hardwareRevision = 5
    case firmwareRevision = 6
    case softwareRevision = 7
    /// Empty: the Device Information fields before it are this connection's whole set.
    case informationComplete = 8

    /// Where a Device Information field lives; nil for the battery.
    var information: WritableKeyPath<DeviceInformation, String?>? {
        switch self {
        case .batteryPercent, .informationComplete: nil
        case .manufacturer: \.manufacturer
        case .model: \.model
        case .serial: \.serial
        case .hardwareRevision: \.hardwareRevision
        case .firmwareRevision: \.firmwareRevision
        case .softwareRevision: \.softwareRevision
        }
    }
}
