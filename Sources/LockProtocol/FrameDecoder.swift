/// Why a candidate frame was rejected (ldp-v1.md §3.2). Each rejection drops one byte and
/// the receiver hunts again, so no intact frame behind it is lost.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The header's CRC-8 did not match: a false sync pattern or a corrupted header.
    case headerCRCMismatch
    /// The header is intact but announces another protocol major version.
    case unsupportedVersion(FrameHeader)
    /// The header is intact but announces more than `LDP.maxPayload` bytes; nothing was buffered.
    case oversizedLength(FrameHeader)
    /// The frame's CRC-16 did not match: the payload or trailer was corrupted.
    case crcMismatch(FrameHeader)
    /// The stream ended with this many bytes of an unfinished frame.
    case truncated(byteCount: Int)

    /// The name the golden vectors use.
    public var vectorName: String {
        switch self {
        case .headerCRCMismatch: "header_crc_mismatch"
        case .unsupportedVersion: "unsupported_version"
        case .oversizedLength: "oversized_length"
        case .crcMismatch: "crc_mismatch"
        case .truncated: "truncated"
        }
    }

    public var description: String {
        switch self {
        case .headerCRCMismatch: "frame header check (CRC-8) failed"
        case .unsupportedVersion(let h): "frame of protocol version \(h.version); this host speaks LDP/\(LDP.version) — update lockdiag or the lock firmware"
        case .oversizedLength(let h): "frame announces \(h.length) payload bytes, more than the maximum \(LDP.maxPayload)"
        case .crcMismatch(let h): "frame CRC-16 failed (type 0x\(String(h.type, radix: 16)), seq \(h.seq))"
        case .truncated(let n): "stream ended inside a frame after \(n) bytes"
        }
    }
}

/// A frame as the decoder delivers it: the payload points into the decoder's own buffer and is
/// valid only inside the callback it was passed to. `copied()` keeps it.
public struct FrameView {
    public let header: FrameHeader
    public let payload: UnsafeRawBufferPointer

    public init(header: FrameHeader, payload: UnsafeRawBufferPointer) {
        self.header = header
        self.payload = payload
    }

    public func copied() -> Frame { Frame(header: header, payload: [UInt8](payload)) }
}

/// A frame that owns its payload.
public struct Frame: Sendable, Equatable {
    public var header: FrameHeader
    public var payload: [UInt8]

    public init(header: FrameHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    public init(kind: FrameKind, seq: UInt8, type: UInt8, payload: [UInt8]) {
        self.init(header: FrameHeader(kind: kind, seq: seq, type: type, length: UInt16(payload.count)), payload: payload)
    }

    /// The frame on the wire.
    public var encoded: [UInt8] {
        FrameEncoder.encode(version: header.version, kind: header.kind, seq: header.seq, type: header.type, payload: payload)
    }

    /// Runs `body` with a view of this frame, for code written against `FrameView`.
    public func withView<R>(_ body: (FrameView) throws -> R) rethrows -> R {
        try payload.withUnsafeBytes { try body(FrameView(header: header, payload: $0)) }
    }
}

/// What the decoder hands to its callback.
public enum DecoderOutput {
    case frame(FrameView)
    case error(FrameError)
}

/// Running totals of one decoder; plain integers so the poll loop can copy them without locking.
public struct DecoderCounters: Sendable, Equatable {
    public var frames: UInt64 = 0
    public var noiseBytes: UInt64 = 0
    public var headerErrors: UInt64 = 0
    public var crcErrors: UInt64 = 0
    public var oversized: UInt64 = 0
    public var unsupportedVersion: UInt64 = 0
    public var truncated: UInt64 = 0

    public init() {}

    /// Every rejected candidate frame, whatever the reason.
    public var rejected: UInt64 { headerErrors + crcErrors + oversized + unsupportedVersion + truncated }
}

/// Streaming LDP/1 decoder (§3.2): takes bytes in any chunking, resynchronises after garbage,
/// never buffers more than one maximal frame and never traps on any input.
///
/// The buffer is allocated once, in `init`; `feed` allocates nothing, so the poll loop can own one
/// decoder per device. Not thread-safe: one owner at a time.
public final class FrameDecoder {
    public let maxPayload: Int
    public private(set) var counters = DecoderCounters()
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    private var count = 0

    public init(maxPayload: Int = LDP.maxPayload) {
        precondition(maxPayload >= 0 && maxPayload <= Int(UInt16.max), "maxPayload out of range")
        self.maxPayload = maxPayload
        self.capacity = maxPayload + LDP.frameOverhead
        self.buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// Bytes held for a frame not yet complete.
    public var bufferedByteCount: Int { count }

    /// Feeds bytes; `handle` is called for each frame and each rejected candidate, in stream order.
    public func feed(_ bytes: UnsafeRawBufferPointer, _ handle: (DecoderOutput) -> Void) {
        var offset = 0
        while offset < bytes.count {
            let n = min(capacity - count, bytes.count - offset)
            (buffer + count).update(from: bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), count: n)
            count += n
            offset += n
            process(handle)
            // process() always consumes from a full buffer (a candidate is at most `capacity`
            // bytes); this keeps the loop finite even if that reasoning were ever wrong.
            if count == capacity {
                counters.noiseBytes += 1
                count -= 1
                UnsafeMutableRawPointer(buffer).copyMemory(from: buffer + 1, byteCount: count)
            }
        }
    }

    public func feed(_ bytes: [UInt8], _ handle: (DecoderOutput) -> Void) {
        bytes.withUnsafeBytes { feed($0, handle) }
    }

    /// The stream ended (link closed): reports an unfinished frame as truncated and resets.
    public func finish(_ handle: (DecoderOutput) -> Void) {
        if count > 0 {
            // Only a candidate that begins with the sync pattern was a frame; anything else is noise.
            if count >= 2 && buffer[0] == LDP.sync0 && buffer[1] == LDP.sync1 || count == 1 && buffer[0] == LDP.sync0 {
                counters.truncated += 1
                handle(.error(.truncated(byteCount: count)))
            } else {
                counters.noiseBytes += UInt64(count)
            }
        }
        count = 0
    }

    /// Forgets buffered bytes (after a reconnect), keeping the counters.
    public func reset() { count = 0 }

    private func process(_ handle: (DecoderOutput) -> Void) {
        var start = 0
        scan: while true {
            // Hunt for the sync pattern.
            while start < count {
                if buffer[start] == LDP.sync0 {
                    if start + 1 == count { break }
                    if buffer[start + 1] == LDP.sync1 { break }
                }
                start += 1
                counters.noiseBytes += 1
            }
            guard count - start >= LDP.headerSize else { break scan }
            let h = buffer + start
            let hcrc = CRC.crc8(UnsafeRawBufferPointer(start: h + 2, count: 6))
            guard hcrc == h[8] else {
                counters.headerErrors += 1
                handle(.error(.headerCRCMismatch))
                start += 1
                continue scan
            }
            let header = FrameHeader(version: h[2], kindByte: h[3], seq: h[4], type: h[5],
                                     length: UInt16(h[6]) | UInt16(h[7]) << 8)
            guard header.version == LDP.version else {
                counters.unsupportedVersion += 1
                handle(.error(.unsupportedVersion(header)))
                start += 1
                continue scan
            }
            let length = Int(header.length)
            guard length <= maxPayload else {
                counters.oversized += 1
                handle(.error(.oversizedLength(header)))
                start += 1
                continue scan
            }
            let total = length + LDP.frameOverhead
            guard count - start >= total else { break scan }
            let crc = CRC.crc16(UnsafeRawBufferPointer(start: h + 2, count: 7 + length))
            let received = UInt16(h[9 + length]) | UInt16(h[10 + length]) << 8
            guard crc == received else {
                counters.crcErrors += 1
                handle(.error(.crcMismatch(header)))
                start += 1
                continue scan
            }
            counters.frames += 1
            handle(.frame(FrameView(header: header, payload: UnsafeRawBufferPointer(start: h + 9, count: length))))
            start += total
        }
        if start > 0 {
            let remaining = count - start
            if remaining > 0 { UnsafeMutableRawPointer(buffer).copyMemory(from: buffer + start, byteCount: remaining) }
            count = remaining
        }
    }
}
