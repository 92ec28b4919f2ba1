/// Constants of the Tuya MCU serial protocol (firmware-specs/tuya-mcu.md §2): the frame every
/// Tuya Wi-Fi, BLE and low-power module exchanges with the product's own MCU over a UART.
public enum Tuya {
    public static let header0: UInt8 = 0x55
    public static let header1: UInt8 = 0xAA
    /// 55 AA, version, command, length (2, big-endian).
    public static let headerSize = 6
    /// Header plus the one-byte checksum.
    public static let frameOverhead = headerSize + 1
    /// The most data bytes a frame may announce before the decoder calls it oversized. Tuya
    /// caps a raw or string DP at 255 bytes and a lock's reports carry a few DPs; 512 also
    /// fits the poll loop's ring records whole.
    public static let maxDataLength = 512
    public static let maxFrameSize = frameOverhead + maxDataLength
    /// The version byte a module puts in what it sends (standard protocol), and that both sides
    /// use in the low-power protocol (tuya-mcu.md §2).
    public static let moduleVersion: UInt8 = 0x00
    /// The version byte an MCU answers with in the standard protocol.
    public static let mcuVersion: UInt8 = 0x03

    /// 8-bit sum of every byte from the header up to the checksum (tuya-mcu.md §2).
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt8 {
        var sum: UInt8 = 0
        for byte in bytes { sum &+= byte }
        return sum
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt8 { bytes.withUnsafeBytes { checksum($0) } }
}

/// Which of Tuya's two MCU protocols a product speaks. The same command numbers mean different
/// things in each (tuya-mcu.md §3, §4).
public enum TuyaVariant: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Mains-powered products and keep-alive locks: heartbeats, DP query, 0x07 reports.
    case standard
    /// Battery products whose MCU powers the module only to report: 0x05 real-time and 0x08
    /// record reports, each acknowledged by the module.
    case lowPower = "lowpower"

    public var description: String { rawValue }
}

/// Commands of the standard protocol (tuya-mcu.md §3).
public enum TuyaCommand {
    public static let heartbeat: UInt8 = 0x00
    public static let productInfo: UInt8 = 0x01
    public static let workingMode: UInt8 = 0x02
    public static let networkStatus: UInt8 = 0x03
    public static let resetWiFi: UInt8 = 0x04
    public static let resetWiFiSelect: UInt8 = 0x05
    /// Module → MCU: set DPs.
    public static let dpSend: UInt8 = 0x06
    /// MCU → module: DP status report (unsolicited or after 0x08).
    public static let dpReport: UInt8 = 0x07
    /// Module → MCU: report every DP now.
    public static let dpQuery: UInt8 = 0x08
    public static let wifiTest: UInt8 = 0x0E
    /// MCU → module: what is the local time; the module answers with it.
    public static let localTime: UInt8 = 0x1C
    /// MCU → module: a DP report the module must acknowledge (0x23).
    public static let dpReportSync: UInt8 = 0x22
    public static let dpReportSyncAck: UInt8 = 0x23
}

/// Commands of the low-power protocol, where 0x05 and 0x08 mean other things than in the
/// standard one (tuya-mcu.md §4).
public enum TuyaLowPowerCommand {
    public static let productInfo: UInt8 = 0x01
    /// Module → MCU: network status; the MCU acknowledges with an empty 0x02.
    public static let networkStatus: UInt8 = 0x02
    public static let resetWiFi: UInt8 = 0x03
    public static let resetWiFiSelect: UInt8 = 0x04
    /// MCU → module: real-time DP report; the module acknowledges with one result byte.
    public static let realtimeReport: UInt8 = 0x05
    public static let localTime: UInt8 = 0x06
    public static let wifiTest: UInt8 = 0x07
    /// MCU → module: a record (time-stamped) DP report; acknowledged like 0x05.
    public static let recordReport: UInt8 = 0x08
    public static let moduleCommand: UInt8 = 0x09
    public static let firmwareUpgrade: UInt8 = 0x0A
    public static let signalStrength: UInt8 = 0x0B
    /// MCU → module: DPs the module cached for it while it slept; answered 01 00 for none.
    public static let dpCache: UInt8 = 0x10
}

/// Network states a module reports to the MCU (0x03 standard, 0x02 low-power).
public enum TuyaNetworkStatus {
    public static let smartConfig: UInt8 = 0x00
    public static let accessPoint: UInt8 = 0x01
    public static let notConnected: UInt8 = 0x02
    public static let connectedToRouter: UInt8 = 0x03
    public static let connectedToCloud: UInt8 = 0x04
    public static let lowPower: UInt8 = 0x05
}
