import LockProtocol

extension FuzzTarget {
    /// The LDP/1 frame decoder on an arbitrary byte stream from a lock.
    static let ldpFrames = FuzzTarget(
        name: "ldp-frames",
        summary: "LDP/1 FrameDecoder on any byte stream: the same frames and rejections whole, in two pieces and byte by byte; every frame re-encodes to itself and its message round-trips."
    ) { input in
        var findings: [String] = []
        let whole = DecodeRun(input, chunkSizes: [input.count])
        // Splits the input where its first byte says (so the fuzzer explores split points too).
        let cut = input.isEmpty ? 0 : Int(input[0]) * input.count / 256
        let split = DecodeRun(input, chunkSizes: [cut, input.count - cut])
        let bytewise = DecodeRun(input, chunkSizes: Array(repeating: 1, count: input.count))
        for (name, other) in [("two pieces", split), ("byte by byte", bytewise)] {
            if other.frames != whole.frames { findings.append("frames differ when fed \(name)") }
            if other.errors != whole.errors { findings.append("rejections differ when fed \(name)") }
            if other.counters != whole.counters { findings.append("counters differ when fed \(name)") }
        }
        if whole.maxBuffered > LDP.maxFrameSize { findings.append("buffered \(whole.maxBuffered) bytes, more than one maximal frame") }
        if whole.counters.frames != UInt64(whole.frames.count) { findings.append("counters.frames disagrees with the frames delivered") }
        if whole.counters.rejected != UInt64(whole.errors.count) { findings.append("counters.rejected disagrees with the rejections reported") }
        for frame in whole.frames {
            if frame.payload.count != Int(frame.header.length) || frame.payload.count > LDP.maxPayload {
                findings.append("a frame's payload is \(frame.payload.count) bytes, its header says \(frame.header.length)")
            }
            let again = DecodeRun(Frame(header: frame.header, payload: frame.payload).encoded)
            var expected = frame
            expected.header = FrameHeader(version: frame.header.version, kind: frame.header.kind, seq: frame.header.seq,
                                          type: frame.header.type, length: frame.header.length)
            if again.frames != [expected] || !again.errors.isEmpty { findings.append("a decoded frame does not re-encode to itself") }
            findings += messageRoundTrip(frame)
        }
        return findings
    }

    /// LDP/1 message bodies (requests, responses, events, NAKs) of any type and length.
    static let ldpMessages = FuzzTarget(
        name: "ldp-messages",
        summary: "LDP/1 message decoding (Request, Response, Event, NAK) of any kind, type and payload: decoding never traps, and what decodes re-encodes to an equal message."
    ) { input in
        var reader = FuzzReader(input)
        let kind = FrameKind(rawValue: reader.u8() & 0x03)!
        let type = reader.u8()
        let payload = [UInt8](reader.rest())
        return messageRoundTrip(Frame(kind: kind, seq: 0, type: type, payload: payload))
    }

    /// A decoded message must survive encode → decode unchanged.
    static func messageRoundTrip(_ frame: Frame) -> [String] {
        guard let message = try? Message(frame) else { return [] }
        let payload: [UInt8] = switch message {
        case .request(let r): r.payload
        case .response(let r): r.payload
        case .event(let e): e.payload
        case .nak(let code): [code.rawValue]
        }
        var reencoded = frame
        reencoded.payload = payload
        reencoded.header.length = UInt16(payload.count)
        guard let again = try? Message(reencoded) else {
            return ["\(frame.header.kind) type 0x\(String(frame.header.type, radix: 16)) decodes, but its re-encoding does not"]
        }
        if again != message { return ["\(frame.header.kind) type 0x\(String(frame.header.type, radix: 16)) changes when re-encoded"] }
        return []
    }
}

/// One decoder fed `input` in chunks, with everything it reported.
struct DecodeRun {
    var frames: [Frame] = []
    var errors: [FrameError] = []
    var counters = DecoderCounters()
    var maxBuffered = 0

    init(_ input: UnsafeRawBufferPointer, chunkSizes: [Int]) {
        let decoder = FrameDecoder()
        var offset = 0
        for size in chunkSizes where size > 0 {
            decoder.feed(UnsafeRawBufferPointer(rebasing: input[offset..<(offset + size)])) { collect($0) }
            offset += size
            maxBuffered = max(maxBuffered, decoder.bufferedByteCount)
        }
        decoder.finish { collect($0) }
        counters = decoder.counters
    }

    init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { DecodeRun($0, chunkSizes: [$0.count]) }
    }

    private mutating func collect(_ output: DecoderOutput) {
        switch output {
        case .frame(let view): frames.append(view.copied())
        case .error(let error): errors.append(error)
        }
    }
}
