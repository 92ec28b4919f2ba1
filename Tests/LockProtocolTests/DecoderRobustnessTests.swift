import LockDiagTestSupport
import LockProtocol
import Testing

@Suite struct DecoderRobustnessTests {
    /// A mixed stream of realistic frames.
    static func sampleFrames(_ rng: inout SeededGenerator, count: Int) -> [Frame] {
        (0..<count).map { i in
            let seq = UInt8(truncatingIfNeeded: i)
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: return Request.readStatus.frame(seq: seq)
            case 1:
                let samples = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt16.random(in: 0...3000, using: &rng) }
                return Event.traceChunk(TraceChunk(actuation: 3, sampleRateHz: 1000, totalSamples: 900, complete: false,
                                                    firstIndex: UInt16(i), samplesMilliamps: samples)).frame(seq: seq)
            case 2:
                return Response.status(LockStatus(bolt: .locked, door: .closed, motor: .idle, flags: .calibrated,
                                                  batteryMillivolts: UInt16.random(in: 4000...6500, using: &rng), batteryPercent: 50,
                                                  activeFaults: 0, temperatureDecicelsius: 215, motorCurrentMilliamps: 0,
                                                  actuations: 9, uptimeSeconds: 99)).frame(seq: seq)
            case 3:
                // A payload full of sync patterns: false syncs must not hide the real frame.
                return Frame(kind: .event, seq: seq, type: 0xF0, payload: Array(repeating: [0xA5, 0x5A], count: 100).flatMap { $0 })
            default:
                return Response.faults([DeviceFault(code: FaultCode.motorStall, status: [.testFailed, .confirmed], occurrences: 2,
                                                    firstSeenSeconds: 1, lastSeenSeconds: 2, snapshotBatteryMillivolts: 5000,
                                                    snapshotMotorCurrentMilliamps: 1400, snapshotTemperatureDecicelsius: 200,
                                                    snapshotBolt: .intermediate)]).frame(seq: seq)
            }
        }
    }

    /// Garbage that likes to look like frame starts.
    static func garbage(_ rng: inout SeededGenerator) -> [UInt8] {
        (0..<Int.random(in: 0...300, using: &rng)).map { _ in
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: 0xA5
            case 1: 0x5A
            case 2: 0x01
            default: UInt8.random(in: 0...255, using: &rng)
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func everyFrameSurvivesInterleavedGarbage(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let frames = Self.sampleFrames(&rng, count: 200)
        var stream = [UInt8]()
        for frame in frames {
            stream += Self.garbage(&rng)
            stream += frame.encoded
        }
        stream += Self.garbage(&rng)
        let decoded = decode(randomSplits(stream, using: &rng)).frames
        // Garbage can contain a valid frame by chance only with ~2^-24 odds per candidate; with
        // these seeds it does not, so the decoded list is exactly the sent one.
        #expect(decoded == frames)
    }

    @Test func corruptedFramesAreCountedAndTheirNeighboursSurvive() {
        var rng = SeededGenerator(seed: 42)
        let frames = Self.sampleFrames(&rng, count: 300)
        var stream = [UInt8]()
        var intact = [Frame]()
        for (i, frame) in frames.enumerated() {
            var bytes = frame.encoded
            if i % 3 == 1 {
                bytes[Int.random(in: 2..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            } else {
                intact.append(frame)
            }
            stream += bytes
        }
        let decoder = FrameDecoder()
        var decoded = [Frame]()
        decoder.feed(stream) { if case .frame(let f) = $0 { decoded.append(f.copied()) } }
        #expect(decoded == intact)
        #expect(decoder.counters.frames == UInt64(intact.count))
        #expect(decoder.counters.crcErrors + decoder.counters.headerErrors >= 100)
    }

    @Test func oversizedFramesAreNeverBuffered() {
        let decoder = FrameDecoder()
        // A valid header announcing 60 000 bytes, followed by that many bytes of payload.
        var header: [UInt8] = [0xA5, 0x5A, 1, 1, 7, 3, 0x60, 0xEA]
        header.append(CRC.crc8(Array(header[2...])))
        var errors = [FrameError]()
        decoder.feed(header) { if case .error(let e) = $0 { errors.append(e) } }
        #expect(errors.count == 1)
        guard case .oversizedLength(let h) = errors.first else {
            Issue.record("expected oversizedLength, got \(errors)")
            return
        }
        #expect(h.length == 60_000)
        var maxBuffered = 0
        for _ in 0..<600 {
            decoder.feed([UInt8](repeating: 0x33, count: 100)) { _ in }
            maxBuffered = max(maxBuffered, decoder.bufferedByteCount)
        }
        #expect(maxBuffered <= LDP.maxFrameSize)
        // And the decoder still works afterwards.
        var frames = 0
        decoder.feed(Request.identify.frame(seq: 9).encoded) { if case .frame = $0 { frames += 1 } }
        #expect(frames == 1)
    }

    @Test func randomBytesNeverTrapAndMemoryStaysBounded() {
        var rng = SeededGenerator(seed: 7)
        let decoder = FrameDecoder()
        var outputs = 0
        for _ in 0..<2_000 {
            let chunk = (0..<Int.random(in: 1...700, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            decoder.feed(chunk) { _ in outputs += 1 }
            #expect(decoder.bufferedByteCount <= LDP.maxFrameSize)
        }
        #expect(decoder.counters.noiseBytes > 0)
    }

    @Test func truncatedFrameIsReportedWhenTheStreamEnds() {
        let decoder = FrameDecoder()
        let bytes = Request.readFaults.frame(seq: 1).encoded
        decoder.feed(Array(bytes.dropLast(3))) { _ in Issue.record("nothing may be delivered yet") }
        var errors = [FrameError]()
        decoder.finish { if case .error(let e) = $0 { errors.append(e) } }
        #expect(errors == [.truncated(byteCount: bytes.count - 3)])
        #expect(decoder.counters.truncated == 1)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func encoderRefusesOversizedPayloadsAndShortBuffers() {
        let big = [UInt8](repeating: 0, count: LDP.maxPayload + 1)
        var out = [UInt8](repeating: 0, count: LDP.maxFrameSize + 10)
        let size = out.withUnsafeMutableBytes { o in
            big.withUnsafeBytes { FrameEncoder.encode(kind: .event, seq: 0, type: 0x83, payload: $0, into: o) }
        }
        #expect(size == nil)
        var small = [UInt8](repeating: 0, count: 10)
        let none = small.withUnsafeMutableBytes { o in
            [UInt8]().withUnsafeBytes { FrameEncoder.encode(kind: .request, seq: 0, type: 1, payload: $0, into: o) }
        }
        #expect(none == nil)
    }

    @Test func messagesRoundTripThroughTheirFrames() throws {
        let events: [Event] = [
            .actuationStarted(ActuationStarted(actuation: 1, direction: .lock, source: .user, batteryMillivolts: 6000)),
            .selfTestResult(SelfTestResult(test: .motor, verdict: .fail, measurements: [Measurement(.faultCode, 0x0101), Measurement(.peakCurrentMa, -1)])),
            .tamper(TamperEvent(cause: .caseOpened, uptimeSeconds: .max)),
        ]
        for event in events {
            #expect(try Message(event.frame(seq: 3)) == .event(event))
        }
        let identity = Identity(capabilities: [.motor, .fingerprint], traceSampleRateHz: 1000, traceCapacity: 4096,
                                model: "Ünïcode-lock", hardwareRevision: "B", firmwareVersion: "1.0.0", serial: "S-1")
        #expect(try Message(Response.identify(identity).frame(seq: 1)) == .response(.identify(identity)))
    }

    @Test func requestsWithOutOfRangeFieldsAreMalformed() {
        let zeroCount = Frame(kind: .request, seq: 1, type: MessageType.readMotorTrace.rawValue, payload: [0xFF, 0xFF, 0, 0, 0])
        #expect(throws: MessageError.invalidField(type: 3, field: "max_count", value: 0)) { try Message(zeroCount) }
        let badDirection = Frame(kind: .request, seq: 1, type: MessageType.actuate.rawValue, payload: [9])
        #expect(throws: MessageError.invalidField(type: 8, field: "direction", value: 9)) { try Message(badDirection) }
        let badString = Frame(kind: .response, seq: 1, type: 1, payload: [0, 0, 0, 0, 0, 0xE8, 3, 0, 16, 2, 0xFF, 0xFE, 0, 0, 0])
        #expect(throws: MessageError.invalidUTF8(type: 1, field: "model")) { try Message(badString) }
    }
}
