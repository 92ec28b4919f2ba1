/// A frame whose checksum matched. `data` points into the decoder's buffer and is valid only
/// inside the callback it was passed to; `copied()` keeps it.
public struct TuyaFrameView {
    public let version: UInt8
    public let command: UInt8
    public let data: UnsafeRawBufferPointer

    public init(version: UInt8, command: UInt8, data: UnsafeRawBufferPointer) {
        self.version = version
        self.command = command
        self.data = data
    }

    public func copied() -> TuyaFrame { TuyaFrame(version: version, command: command, data: [UInt8](data)) }
}

/// A frame that owns its data.
public struct TuyaFrame: Sendable, Equatable {
    public var version: UInt8
    public var command: UInt8
    public var data: [UInt8]

    public init(version: UInt8, command: UInt8, data: [UInt8]) {
        self.version = version
        self.command = command
        self.data = data
    }

    /// The frame on the wire; nil when `data` is longer than `Tuya.maxDataLength`.
    public var encoded: [UInt8]? { TuyaFrameEncoder.encode(version: version, command: command, data: data) }
}

/// Why a candidate frame was dropped. Each rejection drops one byte and the hunt for `55 AA`
/// starts again, so no intact frame behind it is lost.
public enum TuyaFrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The sum of the frame did not match its last byte: a corrupted frame or a false header.
    case checksumMismatch(command: UInt8, expected: UInt8, received: UInt8)
    /// The length field announces more than `Tuya.maxDataLength` bytes; nothing was buffered.
    case oversizedLength(command: UInt8, length: Int)
    /// The stream ended, or went quiet, inside a frame after this many bytes.
    case truncated(byteCount: Int)

    public var description: String {
        switch self {
        case .checksumMismatch(let c, let e, let r):
            "Tuya frame (command 0x\(hex2(c))) checksum 0x\(hex2(r)), expected 0x\(hex2(e)) — a noisy line or a wrong baud rate"
        case .oversizedLength(let c, let n):
            "Tuya frame (command 0x\(hex2(c))) announces \(n) data bytes, more than \(Tuya.maxDataLength) — a false header or a wrong baud rate"
        case .truncated(let n): "the line went quiet inside a Tuya frame after \(n) bytes"
        }
    }
}

/// What the decoder hands to its callback.
public enum TuyaDecoderOutput {
    case frame(TuyaFrameView)
    case error(TuyaFrameError)
}

/// Running totals of one decoder; plain integers the poll loop copies without locking.
public struct TuyaDecoderCounters: Sendable, Equatable {
    public var frames: UInt64 = 0
    /// Bytes skipped while hunting for a header.
    public var noiseBytes: UInt64 = 0
    public var checksumErrors: UInt64 = 0
    public var oversized: UInt64 = 0
    public var truncated: UInt64 = 0

    public init() {}

    /// Every rejected candidate frame.
    public var rejected: UInt64 { checksumErrors + oversized + truncated }
}

/// Streaming Tuya frame decoder: takes bytes in any chunking, hunts for `55 AA`, checks the
/// length bound and the checksum, resynchronises after noise one byte at a time, never holds
/// more than one maximal frame and never traps on any input (a fuzz target can call `feed`).
///
/// The buffer is allocated once, in `init`; `feed` allocates nothing, so the poll loop can own
/// one per line. Not thread-safe: one owner at a time.
public final class TuyaFrameDecoder {
    public let maxDataLength: Int
    public private(set) var counters = TuyaDecoderCounters()
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    private var count = 0

    public init(maxDataLength: Int = Tuya.maxDataLength) {
        self.maxDataLength = max(0, min(maxDataLength, Int(UInt16.max)))
        capacity = self.maxDataLength + Tuya.frameOverhead
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// Bytes held for a frame not yet complete.
    public var bufferedByteCount: Int { count }

    /// Feeds bytes; `handle` is called for each frame and each rejected candidate, in order.
    public func feed(_ bytes: UnsafeRawBufferPointer, _ handle: (TuyaDecoderOutput) -> Void) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = min(capacity - count, bytes.count - offset)
            (buffer + count).update(from: base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), count: n)
            count += n
            offset += n
            process(handle)
            // process() always consumes from a full buffer (a candidate is at most `capacity`
            // bytes); this keeps the loop finite even if that reasoning were ever wrong.
            if count == capacity {
                counters.noiseBytes += 1
                drop(1)
            }
        }
    }

    public func feed(_ bytes: [UInt8], _ handle: (TuyaDecoderOutput) -> Void) {
        bytes.withUnsafeBytes { feed($0, handle) }
    }

    /// The line went quiet with part of a frame buffered (a corrupted length field makes the
    /// decoder wait for bytes that never come): that candidate is reported truncated and the
    /// bytes after its header are searched again, so a frame hiding behind it is not lost.
    public func expire(_ handle: (TuyaDecoderOutput) -> Void) {
        guard count > 0 else { return }
        if count >= 2 && buffer[0] == Tuya.header0 && buffer[1] == Tuya.header1 {
            counters.truncated += 1
            handle(.error(.truncated(byteCount: count)))
            drop(1)
            process(handle)
            // Whatever is left is again an unfinished candidate; the caller expires it later.
        } else if count == 1 && buffer[0] == Tuya.header0 {
            counters.truncated += 1
            handle(.error(.truncated(byteCount: 1)))
            count = 0
        }
    }

    /// The stream ended (link closed): an unfinished frame is reported truncated; all is reset.
    public func finish(_ handle: (TuyaDecoderOutput) -> Void) {
        if count > 0 {
            if count >= 2 && buffer[0] == Tuya.header0 && buffer[1] == Tuya.header1 || count == 1 && buffer[0] == Tuya.header0 {
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

    private func drop(_ n: Int) {
        count -= n
        if count > 0 { UnsafeMutableRawPointer(buffer).copyMemory(from: buffer + n, byteCount: count) }
    }

    private func process(_ handle: (TuyaDecoderOutput) -> Void) {
        var start = 0
        scan: while true {
            while start < count {
                if buffer[start] == Tuya.header0 {
                    if start + 1 == count { break }
                    if buffer[start + 1] == Tuya.header1 { break }
                }
                start += 1
                counters.noiseBytes += 1
            }
            guard count - start >= Tuya.headerSize else { break scan }
            let h = buffer + start
            let length = Int(h[4]) << 8 | Int(h[5])
            guard length <= maxDataLength else {
                counters.oversized += 1
                handle(.error(.oversizedLength(command: h[3], length: length)))
                start += 1
                continue scan
            }
            let total = length + Tuya.frameOverhead
            guard count - start >= total else { break scan }
            var sum: UInt8 = 0
            for i in 0..<(total - 1) { sum &+= h[i] }
            guard sum == h[total - 1] else {
                counters.checksumErrors += 1
                handle(.error(.checksumMismatch(command: h[3], expected: sum, received: h[total - 1])))
                start += 1
                continue scan
            }
            counters.frames += 1
            handle(.frame(TuyaFrameView(version: h[2], command: h[3], data: UnsafeRawBufferPointer(start: h + Tuya.headerSize, count: length))))
            start += total
        }
        if start > 0 { drop(start) }
    }
}

func hex2(_ value: UInt8) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return value < 16 ? "0" + digits : digits
}
