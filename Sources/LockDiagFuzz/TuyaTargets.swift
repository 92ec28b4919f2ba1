@_spi(Fuzzing) import LockDaemon
import TuyaProtocol

extension FuzzTarget {
    /// The Tuya MCU frame decoder, message reader and DP codec on any byte stream from a lock's
    /// UART (either variant, either direction).
    static let tuyaFrames = FuzzTarget(
        name: "tuya-frames",
        summary: "Tuya MCU TuyaFrameDecoder on any byte stream: the same frames, rejections and counters whole and byte by byte; every frame re-encodes to itself; its data reads as a message of both protocol variants from both sides; DP lists round-trip."
    ) { input in
        var findings: [String] = []
        let whole = TuyaDecodeRun(input, chunkSize: max(1, input.count))
        let bytewise = TuyaDecodeRun(input, chunkSize: 1)
        if bytewise.frames != whole.frames { findings.append("frames differ when fed byte by byte") }
        if bytewise.errors != whole.errors { findings.append("rejections differ when fed byte by byte") }
        if bytewise.counters != whole.counters { findings.append("counters differ when fed byte by byte") }
        if whole.maxBuffered > Tuya.maxDataLength + Tuya.frameOverhead { findings.append("buffered \(whole.maxBuffered) bytes, more than one maximal frame") }
        if whole.counters.frames != UInt64(whole.frames.count) { findings.append("counters.frames disagrees with the frames delivered") }
        if whole.counters.rejected != UInt64(whole.errors.count) { findings.append("counters.rejected disagrees with the rejections reported") }
        for frame in whole.frames {
            guard let encoded = frame.encoded else {
                findings.append("a decoded frame of \(frame.data.count) data bytes cannot be encoded")
                continue
            }
            if TuyaDecodeRun(encoded, chunkSize: encoded.count).frames != [frame] {
                findings.append("a decoded frame does not re-encode to itself")
            }
            for variant in TuyaVariant.allCases {
                for direction in [TuyaDirection.fromMCU, .fromModule] {
                    if let message = try? frame.data.withUnsafeBytes({ try TuyaMessage.parse(command: frame.command, data: $0, variant: variant, from: direction) }) {
                        _ = "\(message)"
                    }
                }
            }
            if let points = try? TuyaDPCodec.decode(frame.data), (try? TuyaDPCodec.decode(TuyaDPCodec.encode(points))) != points {
                findings.append("a DP list does not survive encode → decode")
            }
        }
        return findings
    }

    /// What a Tuya lock (or the module talking to it) sends, as far as the daemon's diagnosis:
    /// frames of any command and data through the hub as the poll loop hands them over, with
    /// the product layout and dialect the input picks.
    static let tuyaRecords = FuzzTarget(
        name: "tuya-records",
        summary: "The hub with a Tuya lock (active standard or low-power, or a passive tap; a named built-in product layout, or the standard one assumed until a PID picks another) fed frames of any command, version, direction and data, link changes and the periodic checks; then every API view of the device must encode as JSON."
    ) { input in
        guard let feed = HubFeed() else { return ["cannot create a poll loop"] }
        let hub = feed.hub
        var reader = FuzzReader(input)
        let kinds: [DialectSpec.Kind] = [.tuya, .tuyaLowPower, .tuyaSniff]
        let choice = reader.u8()
        let products = hub.tuyaSchemas.withLock { $0.products }
        let product = choice & 0x80 == 0 || products.isEmpty ? nil : products[Int(choice >> 2) % products.count]
        let dialect = DialectSpec(kind: kinds[Int(choice & 0x03) % kinds.count], product: product)
        let slot: Int?
        do { slot = try hub.addTuyaDevice(path: "/dev/fuzz", baudRate: 9600, dialect: dialect) } catch { return ["\(dialect): \(error)"] }
        guard let slot else { return ["no device slot"] }
        while !reader.isAtEnd {
            let op = reader.u8()
            var header = feed.header(slot: slot, after: UInt64(reader.u8()) * 10_000_000)
            var payload: [UInt8] = []
            switch op % 8 {
            case 0: header.kind = .linkUp
            case 1: header.kind = .linkDown
            case 2: header.kind = .timeout
                header.type = reader.u8()
            default:
                header.kind = .tuyaFrame
                header.frameKind = op & 0x10 == 0 ? .event : .request
                header.type = reader.u8()
                header.seq = reader.u8() & 0x03
                payload = [UInt8](reader.take(Int(reader.u8())))
            }
            feed.apply(header, payload)
        }
        return feed.apiViewProblems(slot: slot)
    }
}

/// One pass of a Tuya decoder over an input fed in chunks of `chunkSize`, then finished.
struct TuyaDecodeRun {
    var frames: [TuyaFrame] = []
    var errors: [TuyaFrameError] = []
    var counters = TuyaDecoderCounters()
    var maxBuffered = 0

    init(_ input: UnsafeRawBufferPointer, chunkSize: Int) {
        let decoder = TuyaFrameDecoder()
        var offset = 0
        func collect(_ output: TuyaDecoderOutput) {
            switch output {
            case .frame(let view): frames.append(view.copied())
            case .error(let error): errors.append(error)
            }
        }
        while offset < input.count {
            let end = min(input.count, offset + chunkSize)
            decoder.feed(UnsafeRawBufferPointer(rebasing: input[offset..<end]), collect)
            maxBuffered = max(maxBuffered, decoder.bufferedByteCount)
            offset = end
        }
        decoder.finish(collect)
        counters = decoder.counters
    }

    init(_ bytes: [UInt8], chunkSize: Int) {
        var run = TuyaDecodeRun(UnsafeRawBufferPointer(start: nil, count: 0), chunkSize: 1)
        bytes.withUnsafeBytes { run = TuyaDecodeRun($0, chunkSize: chunkSize) }
        self = run
    }
}
