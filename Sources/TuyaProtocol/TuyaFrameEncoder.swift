/// Builds Tuya frames (tuya-mcu.md §2).
public enum TuyaFrameEncoder {
    /// Writes a frame into `out`; returns the bytes written, or nil when `out` is too small or
    /// `data` is longer than `Tuya.maxDataLength`. Allocates nothing (the poll loop's path).
    public static func encode(version: UInt8, command: UInt8, data: UnsafeRawBufferPointer,
                              into out: UnsafeMutableRawBufferPointer) -> Int? {
        let total = data.count + Tuya.frameOverhead
        guard data.count <= Tuya.maxDataLength, out.count >= total else { return nil }
        out[0] = Tuya.header0
        out[1] = Tuya.header1
        out[2] = version
        out[3] = command
        out[4] = UInt8(truncatingIfNeeded: data.count >> 8)
        out[5] = UInt8(truncatingIfNeeded: data.count)
        for i in 0..<data.count { out[Tuya.headerSize + i] = data[i] }
        var sum: UInt8 = 0
        for i in 0..<(total - 1) { sum &+= out[i] }
        out[total - 1] = sum
        return total
    }

    /// The frame as an array (simulator and tests).
    public static func encode(version: UInt8, command: UInt8, data: [UInt8]) -> [UInt8]? {
        guard data.count <= Tuya.maxDataLength else { return nil }
        var out = [UInt8](repeating: 0, count: data.count + Tuya.frameOverhead)
        let written = data.withUnsafeBytes { d in out.withUnsafeMutableBytes { encode(version: version, command: command, data: d, into: $0) } }
        return written == nil ? nil : out
    }
}
