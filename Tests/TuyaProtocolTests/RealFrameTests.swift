import LockDiagTestSupport
import Testing
import TuyaProtocol

/// Frames captured on real products or published by Tuya and open implementations, each with
/// its source. Every checksum was recomputed before use; frames whose source omits the
/// checksum say so and carry the one computed here (firmware-specs/tuya-mcu.md §8 lists them).
enum RealFrames {
    // Tuya, "Serial communication protocol" (Wi-Fi general): the module's heartbeat, and the
    // MCU's first answer after a restart (0x00) and every later one (0x01).
    static let heartbeat = "55AA00000000FF"
    static let heartbeatFirstReply = "55AA0300000100" + "03"
    static let heartbeatReply = "55AA0300000101" + "04"
    // Tuya, "MCU Integration Protocol" (Kad7m1xbmt820): the module's product-information query.
    static let productInfoQuery = "55AA0001000000"
    // openshwprojects/OpenBK7231T_App, src/selftest/selftest_tuyaMCU_batteryPowered.c: a
    // battery (low-power, version 0) MCU's product-information reply, PID 3slpirlnlqp0bqo1.
    static let productInfoReply = "55AA00010024" + "7B2270223A2233736C7069726C6E6C71703062716F31222C2276223A22312E302E30227D" + "C6"

    // arendst/Tasmota, tasmota/tasmota_xdrv_driver/xdrv_16_tuyamcu.ino (comment in the 0x07
    // parser): DP 1 enum = 2 and DP 2 value = 26 in one report.
    static let tasmotaEnumAndValue = "55AA0307000D0104000102020200040000001A40"
    // A public EV-charger reverse-engineering README (Polish), seen on the wire: the module
    // sets DP 18 bool true, the MCU reports it back.
    static let evChargerSetBool = "55AA000600051201000101" + "1F"
    static let evChargerReportBool = "55AA030700051201000101" + "23"
    // openshwprojects/OpenBK7231T_App, src/selftest/selftest_tuyaMCU.c: DP 2 value = 100, and a
    // 12-byte raw DP 18.
    static let openBKValue = "55AA0307000802020004000000647D"
    static let openBKRaw = "55AA030700101200000C0101003F030100FA040100AA25"
    // openshwprojects/OpenBK7231T_App, src/selftest/selftest_tuyaMCU.c: a 54-byte string DP 25
    // (sent module → MCU with 0x06).
    static let openBKString = "55AA0006003A19030036"
        + "303035413030303130303738303345383033453830303030303030303030303030313030303030303030303030303030303030303030" + "18"
    // klausahrenberg/WThermostatBeca, src/BecaMcu.h: DP 0x2D bitmap (1 byte) = 0. The source
    // writes the frame without its checksum; 0x41 is computed here.
    static let becaBitmap = "55AA030700052D05000100" + "41"

    // Low-power (version 0) protocol.
    // openshwprojects/OpenBK7231T_App, src/selftest/selftest_tuyaMCU_batteryPowered.c: a door
    // sensor's real-time reports (0x05) — DP 3 enum = 2 (battery state), DP 1 bool = false —
    // and the module's acknowledgement.
    static let realtimeBatteryState = "55AA000500050304000102" + "13"
    static let realtimeDoorBool = "55AA000500050101000100" + "0C"
    static let realtimeAck = "55AA0005000100" + "05"
    // brandond/esphome-tuya_pir, README.md: a PIR sensor (EFM8 "Sleepy Bee" MCU) reports
    // motion DP 0x65 false; the ESP8266 acknowledges.
    static let pirRealtime = "55AA000500056501000100" + "70"
    // openshwprojects/OpenBK7231T_App, src/selftest/selftest_tuyaMCU_batteryPowered.c: record
    // reports (0x08) with the 7-byte time prefix — DP 1 bool = true stamped 2002-02-02
    // 02:02:02, DP 3 enum = 2 stamped 2001-01-01 01:01:01, flag 0 (no valid time) — and the
    // module's acknowledgement.
    static let recordDoor = "55AA0008000C" + "00020202020202" + "0101000101" + "23"
    static let recordBattery = "55AA0008000C" + "00010101010101" + "0304000102" + "23"
    static let recordAck = "55AA0008000100" + "08"
}

private func frames(_ hex: String, decoder: TuyaFrameDecoder = TuyaFrameDecoder()) -> (frames: [TuyaFrame], errors: [TuyaFrameError]) {
    var out: [TuyaFrame] = []
    var errors: [TuyaFrameError] = []
    decoder.feed([UInt8](hex: hex)) { output in
        switch output {
        case .frame(let f): out.append(f.copied())
        case .error(let e): errors.append(e)
        }
    }
    return (out, errors)
}

private func single(_ hex: String) throws -> TuyaFrame {
    let result = frames(hex)
    #expect(result.errors.isEmpty, "\(result.errors)")
    return try #require(result.frames.first)
}

@Suite struct RealFrameTests {
    @Test func heartbeatsAndTheirReplies() throws {
        let beat = try single(RealFrames.heartbeat)
        #expect(beat.version == 0 && beat.command == TuyaCommand.heartbeat && beat.data.isEmpty)
        #expect(try TuyaMessage.parse(beat, variant: .standard, from: .fromModule) == .heartbeat)
        let first = try single(RealFrames.heartbeatFirstReply)
        #expect(try TuyaMessage.parse(first, variant: .standard, from: .fromMCU) == .heartbeatReply(first: true))
        let later = try single(RealFrames.heartbeatReply)
        #expect(later.version == Tuya.mcuVersion)
        #expect(try TuyaMessage.parse(later, variant: .standard, from: .fromMCU) == .heartbeatReply(first: false))
        // What lockdiag sends as the module is the documented frame, byte for byte.
        #expect(TuyaFrameEncoder.encode(version: 0, command: TuyaCommand.heartbeat, data: []) == [UInt8](hex: RealFrames.heartbeat))
        #expect(TuyaFrameEncoder.encode(version: 0, command: TuyaCommand.productInfo, data: []) == [UInt8](hex: RealFrames.productInfoQuery))
    }

    @Test func productInformationGivesThePID() throws {
        let reply = try single(RealFrames.productInfoReply)
        guard case .productInfo(let info) = try TuyaMessage.parse(reply, variant: .lowPower, from: .fromMCU) else {
            Issue.record("not a product info reply")
            return
        }
        #expect(info.pid == "3slpirlnlqp0bqo1")
        #expect(info.mcuVersion == "1.0.0")
    }

    @Test func dpReportsOfEveryType() throws {
        #expect(try TuyaMessage.parse(try single(RealFrames.tasmotaEnumAndValue), variant: .standard, from: .fromMCU)
                == .dpReport([TuyaDataPoint(id: 1, value: .enumeration(2)), TuyaDataPoint(id: 2, value: .value(26))], needsAck: false))
        #expect(try TuyaMessage.parse(try single(RealFrames.evChargerReportBool), variant: .standard, from: .fromMCU)
                == .dpReport([TuyaDataPoint(id: 18, value: .bool(true))], needsAck: false))
        #expect(try TuyaMessage.parse(try single(RealFrames.evChargerSetBool), variant: .standard, from: .fromModule)
                == .dpSend([TuyaDataPoint(id: 18, value: .bool(true))]))
        #expect(try TuyaMessage.parse(try single(RealFrames.openBKValue), variant: .standard, from: .fromMCU)
                == .dpReport([TuyaDataPoint(id: 2, value: .value(100))], needsAck: false))
        #expect(try TuyaMessage.parse(try single(RealFrames.openBKRaw), variant: .standard, from: .fromMCU)
                == .dpReport([TuyaDataPoint(id: 18, value: .raw([UInt8](hex: "0101003F030100FA040100AA")))], needsAck: false))
        guard case .dpSend(let strings) = try TuyaMessage.parse(try single(RealFrames.openBKString), variant: .standard, from: .fromModule) else {
            Issue.record("not a DP send")
            return
        }
        #expect(strings == [TuyaDataPoint(id: 25, value: .string(Array("005A0001007803E803E80000000000000100000000000000000000".utf8)))])
        #expect(try TuyaMessage.parse(try single(RealFrames.becaBitmap), variant: .standard, from: .fromMCU)
                == .dpReport([TuyaDataPoint(id: 0x2D, value: .bitmap(0, width: 1))], needsAck: false))
    }

    @Test func lowPowerRealtimeReportAndItsAck() throws {
        #expect(try TuyaMessage.parse(try single(RealFrames.realtimeBatteryState), variant: .lowPower, from: .fromMCU)
                == .realtimeReport([TuyaDataPoint(id: 3, value: .enumeration(2))]))
        #expect(try TuyaMessage.parse(try single(RealFrames.realtimeDoorBool), variant: .lowPower, from: .fromMCU)
                == .realtimeReport([TuyaDataPoint(id: 1, value: .bool(false))]))
        #expect(try TuyaMessage.parse(try single(RealFrames.pirRealtime), variant: .lowPower, from: .fromMCU)
                == .realtimeReport([TuyaDataPoint(id: 0x65, value: .bool(false))]))
        #expect(try TuyaMessage.parse(try single(RealFrames.realtimeAck), variant: .lowPower, from: .fromModule)
                == .reportAck(command: TuyaLowPowerCommand.realtimeReport, result: 0))
        // The same command number in the standard protocol is something else entirely.
        #expect(try TuyaMessage.parse(try single(RealFrames.realtimeAck), variant: .standard, from: .fromModule) == .other(command: 0x05))
        #expect(TuyaFrameEncoder.encode(version: 0, command: TuyaLowPowerCommand.realtimeReport, data: [0]) == [UInt8](hex: RealFrames.realtimeAck))
    }

    @Test func lowPowerRecordReportWithItsTimePrefixAndItsAck() throws {
        let door = try TuyaMessage.parse(try single(RealFrames.recordDoor), variant: .lowPower, from: .fromMCU)
        #expect(door == .recordReport(TuyaRecordTime(valid: false, year: 2002, month: 2, day: 2, hour: 2, minute: 2, second: 2),
                                      [TuyaDataPoint(id: 1, value: .bool(true))]))
        let battery = try TuyaMessage.parse(try single(RealFrames.recordBattery), variant: .lowPower, from: .fromMCU)
        #expect(battery == .recordReport(TuyaRecordTime(valid: false, year: 2001, month: 1, day: 1, hour: 1, minute: 1, second: 1),
                                         [TuyaDataPoint(id: 3, value: .enumeration(2))]))
        #expect(try TuyaMessage.parse(try single(RealFrames.recordAck), variant: .lowPower, from: .fromModule)
                == .reportAck(command: TuyaLowPowerCommand.recordReport, result: 0))
        #expect(TuyaFrameEncoder.encode(version: 0, command: TuyaLowPowerCommand.recordReport, data: [0]) == [UInt8](hex: RealFrames.recordAck))
    }

    /// A real frame with its checksum byte altered (the Tasmota report, 0x40 → 0x41): rejected,
    /// counted, and the intact frame right behind it is still delivered.
    @Test func aBadChecksumIsCountedAndTheNextFrameSurvives() throws {
        var bad = [UInt8](hex: RealFrames.tasmotaEnumAndValue)
        bad[bad.count - 1] &+= 1
        let decoder = TuyaFrameDecoder()
        let result = frames(bad.hexString + RealFrames.openBKValue, decoder: decoder)
        #expect(result.errors == [.checksumMismatch(command: 0x07, expected: 0x40, received: 0x41)])
        #expect(result.frames.map(\.command) == [0x07])
        #expect(result.frames.first?.data == [0x02, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x64])
        #expect(decoder.counters.checksumErrors == 1)
        #expect(decoder.counters.frames == 1)
    }

    /// Every real frame, back to back with noise between, in any chunking: same frames out.
    @Test func everyChunkingGivesTheSameFrames() throws {
        let all = [RealFrames.heartbeat, RealFrames.heartbeatReply, RealFrames.productInfoReply, RealFrames.tasmotaEnumAndValue,
                   RealFrames.evChargerReportBool, RealFrames.openBKRaw, RealFrames.openBKString, RealFrames.becaBitmap,
                   RealFrames.realtimeBatteryState, RealFrames.realtimeAck, RealFrames.recordDoor, RealFrames.recordAck]
        var stream: [UInt8] = [0x00, 0x55, 0x13]
        for hex in all { stream += [UInt8](hex: hex) + [0xFF, 0x55] }
        let expected = all.map { (try? single($0))! }
        var generator = SeededGenerator(seed: 8)
        for mode in 0..<3 {
            let decoder = TuyaFrameDecoder()
            var got: [TuyaFrame] = []
            var index = 0
            while index < stream.count {
                let size = mode == 0 ? stream.count : mode == 1 ? 1 : Int.random(in: 1...17, using: &generator)
                let end = min(stream.count, index + size)
                decoder.feed(Array(stream[index..<end])) { if case .frame(let f) = $0 { got.append(f.copied()) } }
                index = end
            }
            #expect(got == expected, "mode \(mode)")
        }
    }
}

@Suite struct DecoderRobustnessTests {
    @Test func oversizedLengthIsRejectedWithoutBuffering() {
        let decoder = TuyaFrameDecoder()
        let result = frames("55AA0307FFFF" + RealFrames.heartbeat, decoder: decoder)
        #expect(result.errors == [.oversizedLength(command: 0x07, length: 0xFFFF)])
        #expect(result.frames.map(\.command) == [0x00])
        #expect(decoder.counters.oversized == 1)
    }

    @Test func aQuietLineExpiresAStuckCandidateAndFindsTheFrameInside() {
        let decoder = TuyaFrameDecoder()
        // A header whose length byte was corrupted (0x05 → 0x45) swallows the real frame behind it.
        let stuck = frames("55AA03070045" + RealFrames.heartbeatReply, decoder: decoder)
        #expect(stuck.frames.isEmpty)
        var got: [TuyaFrame] = []
        var errors: [TuyaFrameError] = []
        decoder.expire { output in
            switch output {
            case .frame(let f): got.append(f.copied())
            case .error(let e): errors.append(e)
            }
        }
        #expect(errors.first == .truncated(byteCount: 14))
        #expect(got.map(\.command) == [0x00])
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func randomBytesNeverTrapAndStayBounded() {
        var generator = SeededGenerator(seed: 42)
        let decoder = TuyaFrameDecoder()
        for _ in 0..<2000 {
            let chunk = (0..<Int.random(in: 0...64, using: &generator)).map { _ in
                // Bias toward the header so the parser's deeper paths run.
                Bool.random(using: &generator) ? [0x55, 0xAA][Int.random(in: 0...1, using: &generator)] : UInt8.random(in: 0...255, using: &generator)
            }
            decoder.feed(chunk) { output in
                if case .frame(let f) = output {
                    _ = try? TuyaMessage.parse(command: f.command, data: f.data, variant: .lowPower, from: .fromMCU)
                    _ = try? TuyaMessage.parse(command: f.command, data: f.data, variant: .standard, from: .fromMCU)
                }
            }
            #expect(decoder.bufferedByteCount <= Tuya.maxFrameSize)
        }
    }
}

@Suite struct DPCodecTests {
    @Test func roundTripsEveryType() throws {
        let points = [TuyaDataPoint(id: 1, value: .raw([1, 2, 3])), TuyaDataPoint(id: 2, value: .bool(true)),
                      TuyaDataPoint(id: 3, value: .value(-5)), TuyaDataPoint(id: 4, value: .string(Array("ok".utf8))),
                      TuyaDataPoint(id: 5, value: .enumeration(7)), TuyaDataPoint(id: 6, value: .bitmap(0x0102, width: 2))]
        #expect(try TuyaDPCodec.decode(TuyaDPCodec.encode(points)) == points)
    }

    @Test func malformedUnitsAreTypedErrors() {
        #expect(throws: TuyaDPError.truncatedHeader(offset: 0)) { try TuyaDPCodec.decode([0x01, 0x01]) }
        #expect(throws: TuyaDPError.truncatedValue(dp: 1, length: 4, remaining: 1)) { try TuyaDPCodec.decode([0x01, 0x02, 0x00, 0x04, 0x00]) }
        #expect(throws: TuyaDPError.unknownType(dp: 1, type: 9)) { try TuyaDPCodec.decode([0x01, 0x09, 0x00, 0x00]) }
        #expect(throws: TuyaDPError.invalidLength(dp: 1, type: .value, length: 2)) { try TuyaDPCodec.decode([0x01, 0x02, 0x00, 0x02, 0, 0]) }
        #expect(throws: TuyaDPError.invalidLength(dp: 1, type: .bitmap, length: 3)) { try TuyaDPCodec.decode([0x01, 0x05, 0x00, 0x03, 0, 0, 0]) }
    }
}
