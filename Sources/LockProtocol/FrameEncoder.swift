/// Builds LDP/1 frames (§3). The pointer form writes into caller-owned memory and never allocates,
/// for the poll loop; the array form is for everything else.
public enum FrameEncoder {
    /// Writes one frame into `out` and returns its size, or nil when the payload exceeds
    /// `LDP.maxPayload` or `out` is smaller than `payload.count + LDP.frameOverhead`.
    public static func encode(
        version: UInt8 = LDP.version, kind: FrameKind, seq: UInt8, type: UInt8,
        payload: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let length = payload.count
        let size = length + LDP.frameOverhead
        guard length <= LDP.maxPayload, out.count >= size else { return nil }
        out[0] = LDP.sync0
        out[1] = LDP.sync1
        out[2] = version
        out[3] = kind.rawValue
        out[4] = seq
        out[5] = type
        out[6] = UInt8(truncatingIfNeeded: length)
        out[7] = UInt8(truncatingIfNeeded: length >> 8)
        out[8] = CRC.crc8(UnsafeRawBufferPointer(rebasing: out[2..<8]))
        if length > 0 {
            UnsafeMutableRawBufferPointer(rebasing: out[9..<(9 + length)]).copyMemory(from: payload)
        }
        let crc = CRC.crc16(UnsafeRawBufferPointer(rebasing: out[2..<(9 + length)]))
        out[9 + length] = UInt8(truncatingIfNeeded: crc)
        out[10 + length] = UInt8(truncatingIfNeeded: crc >> 8)
        return size
    }

    /// One frame as a new array. Traps only on a payload above `LDP.maxPayload`, which is a
    /// programming error in the caller (messages are sized by this module).
    public static func encode(
        version: UInt8 = LDP.version, kind: FrameKind, seq: UInt8, type: UInt8, payload: [UInt8]
    ) -> [UInt8] {
        precondition(payload.count <= LDP.maxPayload, "LDP payload of \(payload.count) bytes exceeds \(LDP.maxPayload)")
        return [UInt8](unsafeUninitializedCapacity: payload.count + LDP.frameOverhead) { buffer, initialized in
            initialized = payload.withUnsafeBytes { payloadBytes in
                encode(version: version, kind: kind, seq: seq, type: type, payload: payloadBytes,
                       into: UnsafeMutableRawBufferPointer(buffer))!
            }
        }
    }
}
