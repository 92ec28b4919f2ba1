import LockDaemon
import Testing

/// The poll loop's side of `--record`: the ring never blocks; a full ring drops and counts.
@Suite struct TrafficRingTests {
    @Test func aFullRingDropsAndCountsInsteadOfWaiting() {
        let ring = TrafficRing(capacity: 4)
        let chunk: [UInt8] = Array(0..<100)
        for i in 0..<6 {
            chunk.withUnsafeBytes { ring.push(device: i, kind: .fromLock, at: UInt64(i), bytes: $0) }
        }
        #expect(ring.dropped.chunks == 2)
        #expect(ring.dropped.bytes == 200)
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: TrafficRing.slotPayload, alignment: 8)
        defer { payload.deallocate() }
        for i in 0..<4 {
            let header = ring.pop(into: payload)
            #expect(header?.device == UInt16(i))
            #expect(header?.timestampNanoseconds == UInt64(i))
            #expect(Array(payload[0..<100]) == chunk)
        }
        #expect(ring.pop(into: payload) == nil)
        // Room again once the recorder has read.
        chunk.withUnsafeBytes { ring.push(device: 9, kind: .toLock, at: 9, bytes: $0) }
        #expect(ring.pop(into: payload)?.kind == .toLock)
    }

    @Test func aWriteLongerThanASlotIsSplitInOrder() {
        let ring = TrafficRing(capacity: 8)
        let bytes = (0..<9000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        bytes.withUnsafeBytes { ring.push(device: 1, kind: .toLock, at: 5, bytes: $0) }
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: TrafficRing.slotPayload, alignment: 8)
        defer { payload.deallocate() }
        var joined: [UInt8] = []
        while let header = ring.pop(into: payload) { joined += payload[0..<Int(header.length)] }
        #expect(joined == bytes)
        #expect(ring.dropped.chunks == 0)
    }
}
