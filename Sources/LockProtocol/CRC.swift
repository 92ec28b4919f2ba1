/// The two checks of LDP/1 §3.1, table-driven. Parameters and check values from Greg Cook's
/// "Catalogue of parametrised CRC algorithms" (reveng): CRC-8/SMBUS check 0xF4,
/// CRC-16/IBM-3740 (CRC-16/CCITT-FALSE) check 0x29B1.
public enum CRC {
    /// CRC-8/SMBUS: poly 0x07, init 0x00, no reflection, no final XOR.
    public static func crc8(_ bytes: UnsafeRawBufferPointer) -> UInt8 {
        var crc: UInt8 = 0
        for byte in bytes { crc = crc8Table[Int(crc ^ byte)] }
        return crc
    }

    /// CRC-16/IBM-3740: poly 0x1021, init 0xFFFF, no reflection, no final XOR.
    public static func crc16(_ bytes: UnsafeRawBufferPointer, initial: UInt16 = 0xFFFF) -> UInt16 {
        var crc = initial
        for byte in bytes {
            crc = (crc << 8) ^ crc16Table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    public static func crc8(_ bytes: [UInt8]) -> UInt8 { bytes.withUnsafeBytes { crc8($0) } }
    public static func crc16(_ bytes: [UInt8]) -> UInt16 { bytes.withUnsafeBytes { crc16($0) } }

    private static let crc8Table: [UInt8] = (0..<256).map { index in
        var crc = UInt8(index)
        for _ in 0..<8 { crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x07 : crc << 1 }
        return crc
    }

    private static let crc16Table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
