import Foundation
import LockDiagTestSupport
import LockProtocol
import Testing

/// Every vector of firmware-specs/vectors/frames.json, decoded whole, byte by byte and in random
/// splits, and re-encoded from its decoded message.
@Suite struct GoldenVectorTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let index: Int
        let name: String
        let bytes: [UInt8]
        let error: String?
        var frame: [String: Any]? { rawVectors[index]["frame"] as? [String: Any] }
        var message: [String: Any]? { rawVectors[index]["message"] as? [String: Any] }
        var testDescription: String { name }
    }

    static let vectors: [Vector] = rawVectors.enumerated().map { index, v in
        Vector(index: index, name: v["name"] as! String, bytes: [UInt8](hex: v["hex"] as! String), error: v["error"] as? String)
    }

    static var valid: [Vector] { vectors.filter { $0.error == nil } }
    static var malformed: [Vector] { vectors.filter { $0.error != nil } }

    @Test func theSpecShipsVectorsForEveryMessageType() {
        let types = Set(Self.valid.compactMap { ($0.frame?["type"] as? Int).map(UInt8.init) })
        for type in MessageType.allCases { #expect(types.contains(type.rawValue), "no vector for \(type)") }
        let errors = Set(Self.malformed.compactMap(\.error))
        #expect(errors.isSuperset(of: ["crc_mismatch", "header_crc_mismatch", "truncated", "oversized_length", "unknown_message_type"]))
    }

    @Test(arguments: valid)
    func decodesInEveryChunking(_ vector: Vector) throws {
        var rng = SeededGenerator(seed: 0x5EED)
        let whole = decode([vector.bytes])
        let byteByByte = decode(vector.bytes.map { [$0] })
        let random = decode(randomSplits(vector.bytes, using: &rng))
        for result in [whole, byteByByte, random] {
            #expect(result.errors.isEmpty)
            try #require(result.frames.count == 1)
            let frame = result.frames[0]
            let expected = try #require(vector.frame)
            #expect(Int(frame.header.version) == expected["version"] as? Int)
            #expect(frame.header.kind.description == expected["kind"] as? String)
            #expect(Int(frame.header.seq) == expected["seq"] as? Int)
            #expect(Int(frame.header.type) == expected["type"] as? Int)
            #expect(frame.payload.hexString == expected["payload"] as? String)
        }
    }

    @Test(arguments: valid)
    func decodesToTheDocumentedMessage(_ vector: Vector) throws {
        let frame = try #require(decode([vector.bytes]).frames.first)
        let message = try Message(frame)
        let described = describe(message)
        let expected = try #require(vector.message)
        #expect(NSDictionary(dictionary: described).isEqual(to: expected), "\(described) != \(expected)")
    }

    @Test(arguments: valid.filter { !$0.name.contains("trailing") })
    func reencodesByteForByte(_ vector: Vector) throws {
        let frame = try #require(decode([vector.bytes]).frames.first)
        let message = try Message(frame)
        let seq = frame.header.seq
        let reencoded: Frame = switch message {
        case .request(let r): r.frame(seq: seq)
        case .response(let r): r.frame(seq: seq)
        case .event(let e): e.frame(seq: seq)
        case .nak(let code): code.frame(seq: seq, type: frame.header.type)
        }
        #expect(reencoded.encoded == vector.bytes)
    }

    @Test(arguments: malformed)
    func malformedVectorsGiveTheDocumentedError(_ vector: Vector) throws {
        let expected = try #require(vector.error)
        let decoder = FrameDecoder()
        var frames = [Frame]()
        var errors = [FrameError]()
        decoder.feed(vector.bytes) { output in
            switch output {
            case .frame(let f): frames.append(f.copied())
            case .error(let e): errors.append(e)
            }
        }
        decoder.finish { if case .error(let e) = $0 { errors.append(e) } }
        switch expected {
        case "unknown_message_type", "payload_too_short":
            // Framing is fine; the message layer rejects it.
            let frame = try #require(frames.first)
            #expect(errors.isEmpty)
            #expect(throws: MessageError.self) { try Message(frame) }
            do { _ = try Message(frame) } catch { #expect(error.vectorName == expected) }
        default:
            #expect(frames.isEmpty)
            #expect(errors.first?.vectorName == expected, "errors: \(errors)")
        }
    }
}

func decode(_ chunks: [[UInt8]]) -> (frames: [Frame], errors: [FrameError]) {
    let decoder = FrameDecoder()
    var frames = [Frame]()
    var errors = [FrameError]()
    for chunk in chunks {
        decoder.feed(chunk) { output in
            switch output {
            case .frame(let f): frames.append(f.copied())
            case .error(let e): errors.append(e)
            }
        }
    }
    return (frames, errors)
}

func randomSplits(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [[UInt8]] {
    var chunks = [[UInt8]]()
    var index = 0
    while index < bytes.count {
        let n = Int.random(in: 1...max(1, min(17, bytes.count - index)), using: &rng)
        chunks.append(Array(bytes[index..<(index + n)]))
        index += n
    }
    return chunks
}

// Read-only after its one initialisation, so sharing it between test tasks is safe.
nonisolated(unsafe) private let rawVectors: [[String: Any]] = {
    let data = try! Data(contentsOf: TestSupport.firmwareSpec("vectors/frames.json"))
    let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    return root["vectors"] as! [[String: Any]]
}()

/// The vector file's field names for a decoded message.
func describe(_ message: Message) -> [String: Any] {
    func record(_ f: DeviceFault) -> [String: Any] {
        ["code": Int(f.code), "status": Int(f.status.rawValue), "occurrences": Int(f.occurrences),
         "first_seen_s": Int(f.firstSeenSeconds), "last_seen_s": Int(f.lastSeenSeconds),
         "snapshot_battery_mv": Int(f.snapshotBatteryMillivolts), "snapshot_motor_current_ma": Int(f.snapshotMotorCurrentMilliamps),
         "snapshot_temperature_dc": Int(f.snapshotTemperatureDecicelsius), "snapshot_bolt": Int(f.snapshotBolt.rawValue)]
    }
    func trace(_ c: TraceChunk) -> [String: Any] {
        ["actuation": Int(c.actuation), "sample_rate_hz": Int(c.sampleRateHz), "total_samples": Int(c.totalSamples),
         "flags": (c.complete ? 1 : 0) | (c.truncated ? 2 : 0), "first_index": Int(c.firstIndex), "samples": c.samplesMilliamps.map(Int.init)]
    }
    switch message {
    case .request(let r):
        switch r {
        case .identify: return ["request": "identify"]
        case .readStatus: return ["request": "read_status"]
        case .readMotorTrace(let t): return ["request": "read_motor_trace", "actuation": Int(t.actuation), "first_index": Int(t.firstIndex), "max_count": Int(t.maxCount)]
        case .readFingerprintStatus: return ["request": "read_fingerprint_status"]
        case .readFaults: return ["request": "read_faults"]
        case .clearFaults(let code): return ["request": "clear_faults", "code": Int(code)]
        case .runSelfTest(let kind): return ["request": "run_selftest", "test": Int(kind.rawValue)]
        case .actuate(let d): return ["request": "actuate", "direction": Int(d.rawValue)]
        case .listParts(let index): return ["request": "list_parts", "index": Int(index)]
        case .provePart(let c): return ["request": "prove_part", "index": Int(c.index), "challenge": c.challenge.hexString]
        }
    case .response(let r):
        switch r {
        case .identify(let i):
            return ["response": "identify", "protocol_minor": Int(i.protocolMinor), "capabilities": Int(i.capabilities.rawValue),
                    "trace_sample_rate_hz": Int(i.traceSampleRateHz), "trace_capacity": Int(i.traceCapacity), "model": i.model,
                    "hardware_revision": i.hardwareRevision, "firmware_version": i.firmwareVersion, "serial": i.serial]
        case .status(let s):
            return ["response": "status", "bolt": Int(s.bolt.rawValue), "door": Int(s.door.rawValue), "motor": Int(s.motor.rawValue),
                    "flags": Int(s.flags.rawValue), "battery_mv": Int(s.batteryMillivolts), "battery_pct": Int(s.batteryPercent),
                    "active_faults": Int(s.activeFaults), "temperature_dc": Int(s.temperatureDecicelsius),
                    "motor_current_ma": Int(s.motorCurrentMilliamps), "actuations": Int(s.actuations), "uptime_s": Int(s.uptimeSeconds)]
        case .motorTrace(let c): return trace(c).merging(["response": "motor_trace"]) { a, _ in a }
        case .fingerprint(let f):
            return ["response": "fingerprint", "state": Int(f.state.rawValue), "flags": f.linkOK ? 1 : 0,
                    "last_image_quality": Int(f.lastImageQuality), "last_selftest": Int(f.lastSelfTest.rawValue),
                    "templates_used": Int(f.templatesUsed), "templates_capacity": Int(f.templatesCapacity),
                    "failed_attempts": Int(f.failedAttempts), "lockout_remaining_s": Int(f.lockoutRemainingSeconds)]
        case .faults(let list): return ["response": "faults", "faults": list.map(record)]
        case .faultsCleared(let n): return ["response": "faults_cleared", "cleared": Int(n)]
        case .selfTestAccepted(let kind, let ms): return ["response": "selftest_accepted", "test": Int(kind.rawValue), "expected_duration_ms": Int(ms)]
        case .actuationAccepted(let id): return ["response": "actuation_accepted", "actuation": Int(id)]
        case .parts(let l):
            var d: [String: Any] = ["response": "parts", "count": Int(l.count), "index": Int(l.index), "maker_id": Int(l.makerID)]
            if let p = l.part {
                d["part"] = ["kind": Int(p.kind.rawValue), "serial": p.serial, "certificates": p.certificates.map(\.hexString)] as [String: Any]
            }
            return d
        case .partProof(let p):
            return ["response": "part_proof", "index": Int(p.index), "part_serial": p.partSerial, "challenge": p.challenge.hexString,
                    "signature": p.signature.hexString]
        }
    case .event(let e):
        switch e {
        case .actuationStarted(let s):
            return ["event": "actuation_started", "actuation": Int(s.actuation), "direction": Int(s.direction.rawValue),
                    "source": Int(s.source.rawValue), "battery_mv": Int(s.batteryMillivolts)]
        case .actuationFinished(let f):
            return ["event": "actuation_finished", "actuation": Int(f.actuation), "direction": Int(f.direction.rawValue),
                    "result": Int(f.result.rawValue), "duration_ms": Int(f.durationMilliseconds), "peak_current_ma": Int(f.peakCurrentMilliamps),
                    "running_current_ma": Int(f.runningCurrentMilliamps), "battery_rest_mv": Int(f.batteryRestMillivolts),
                    "battery_loaded_mv": Int(f.batteryLoadedMillivolts), "samples": Int(f.samples), "bolt": Int(f.bolt.rawValue)]
        case .traceChunk(let c): return trace(c).merging(["event": "trace_chunk"]) { a, _ in a }
        case .faultRaised(let f): return record(f).merging(["event": "fault_raised"]) { a, _ in a }
        case .selfTestResult(let r):
            return ["event": "selftest_result", "test": Int(r.test), "result": Int(r.verdict.rawValue),
                    "measurements": r.measurements.map { [Int($0.id.rawValue), Int($0.value)] }]
        case .tamper(let t): return ["event": "tamper", "cause": Int(t.cause.rawValue), "uptime_s": Int(t.uptimeSeconds)]
        }
    case .nak(let code): return ["nak": Int(code.rawValue)]
    }
}
