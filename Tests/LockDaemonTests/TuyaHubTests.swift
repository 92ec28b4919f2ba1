import Foundation
import Glibc
import LinuxIO
@testable import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Testing
import TuyaProtocol

/// The real poll loop and hub on a pty whose master side the test writes as a lock MCU would:
/// another product layout (the Zen3515 lock's: no percentage DP), a record report's time
/// prefix, and a corrupted frame on the line.
@Suite struct TuyaHubTests {
    @Test func aTapMapsAnotherLayoutsAlarmsAndCountsABadChecksum() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let loop = try PollLoop(configuration: { var c = PollLoopConfiguration(); c.pollHz = 100; return c }())
        let hub = Hub(loop: loop)
        let slot = try #require(try hub.addTuyaDevice(path: pty.slavePath, baudRate: 9600,
                                                        dialect: DialectSpec(kind: .tuyaSniff, product: "zen3515-wifi-lock")))
        try loop.start()
        hub.start()
        defer {
            hub.stop()
            loop.stop()
        }
        #expect(TestSupport.wait(upTo: 5) { hub.devices().first?.state == "listening" })
        func send(_ frame: [UInt8]) { _ = frame.withUnsafeBytes { try? FileIO.write(pty.master, $0) } }
        func frame(_ command: UInt8, _ data: [UInt8]) -> [UInt8] {
            TuyaFrameEncoder.encode(version: Tuya.moduleVersion, command: command, data: data)!
        }
        // A record report: bolt stuck ("tongue_bad", index 4 of this layout's alarm_lock), stamped by the lock.
        let stamp = TuyaRecordTime(valid: true, year: 2026, month: 3, day: 4, hour: 5, minute: 6, second: 7)
        send(frame(TuyaLowPowerCommand.recordReport, stamp.encoded + TuyaDPCodec.encode([TuyaDataPoint(id: 8, value: .enumeration(4))])))
        // A corrupted real-time report, then an intact one: battery band "low" (DP 11, index 2).
        var bad = frame(TuyaLowPowerCommand.realtimeReport, TuyaDPCodec.encode([TuyaDataPoint(id: 11, value: .enumeration(2))]))
        bad[bad.count - 1] &+= 1
        send(bad + frame(TuyaLowPowerCommand.realtimeReport, TuyaDPCodec.encode([TuyaDataPoint(id: 11, value: .enumeration(2))])))

        #expect(TestSupport.wait(upTo: 5) { hub.faults(of: slot).contains { $0.name == "motor_stall" && $0.status == .confirmed } })
        #expect(TestSupport.wait(upTo: 5) { hub.faults(of: slot).contains { $0.name == "battery_low" && $0.status == .confirmed } })
        let status = try #require(hub.status(of: slot))
        #expect(status.tuya?.variant == "lowpower")
        #expect(status.tuya?.batteryBand == "low")
        #expect(status.battery.percent == nil)
        #expect(status.tuya?.alarms.first?.alarm == "tongue_bad")
        #expect(status.tuya?.alarms.first?.recordedAt == "2026-03-04T05:06:07")
        #expect(hub.devices().first?.state == "online")
        #expect(TestSupport.wait(upTo: 3) { hub.linkStats().first?.crcErrors == 1 })
        #expect(hub.linkStats().first?.bytesOut == 0)
    }

    /// tuya-mcu.md §6.1: with no product named and no layout for its PID, a lock is read with the
    /// standard layout of category ms, and says so; DPs outside the standard, or of another type
    /// than the standard's, stay unknown and are shown raw. A PID that has a layout replaces it.
    @Test func anUnknownPIDIsReadWithTheStandardLayoutAndSaysSo() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let loop = try PollLoop(configuration: { var c = PollLoopConfiguration(); c.pollHz = 100; return c }())
        let hub = Hub(loop: loop)
        let slot = try #require(try hub.addTuyaDevice(path: pty.slavePath, baudRate: 9600, dialect: DialectSpec(kind: .tuyaSniff)))
        try loop.start()
        hub.start()
        defer {
            hub.stop()
            loop.stop()
        }
        // Before any PID: the standard layout, assumed because none was heard.
        let before = try #require(hub.status(of: slot)?.tuya)
        #expect(before.product == "standard-ms")
        #expect(before.layoutAssumed?.hasPrefix("no product id heard yet") == true)
        #expect(TestSupport.wait(upTo: 5) { loop.statistics.cycles >= 3 }, "the poll loop did not start")
        func send(_ frame: [UInt8]) { _ = frame.withUnsafeBytes { try? FileIO.write(pty.master, $0) } }
        func frame(_ command: UInt8, _ data: [UInt8], version: UInt8 = Tuya.mcuVersion) -> [UInt8] {
            TuyaFrameEncoder.encode(version: version, command: command, data: data)!
        }
        send(frame(TuyaCommand.productInfo, Array(#"{"p":"0123abcd4567efgh","v":"3.1.0"}"#.utf8)))
        // Standard DPs: 12 residual_electricity 15 %, 8 alarm_lock "pry" (index 8). A vendor DP
        // 101 and a DP 11 sent as a value (the standard's battery_state is an enum) are not read.
        send(frame(TuyaCommand.dpReport, TuyaDPCodec.encode([
            TuyaDataPoint(id: 12, value: .value(15)), TuyaDataPoint(id: 8, value: .enumeration(8)),
            TuyaDataPoint(id: 101, value: .raw([0x0A, 0x0B])), TuyaDataPoint(id: 11, value: .value(2)),
        ])))
        #expect(TestSupport.wait(upTo: 5) { hub.faults(of: slot).contains { $0.name == "tamper" && $0.status == .confirmed } })
        #expect(TestSupport.wait(upTo: 5) { hub.faults(of: slot).contains { $0.name == "battery_low" && $0.status == .confirmed } })
        let status = try #require(hub.status(of: slot))
        let tuya = try #require(status.tuya)
        #expect(status.battery.percent == 15)
        #expect(tuya.product == "standard-ms")
        #expect(tuya.category == "ms")
        #expect(tuya.pid == "0123abcd4567efgh")
        #expect(tuya.layoutAssumed == "product id 0123abcd4567efgh not known")
        #expect(tuya.categoryAssumed?.contains("does not carry it") == true)
        #expect(tuya.alarms.first?.alarm == "pry")
        #expect(tuya.alarms.first?.fault == "tamper")
        #expect(tuya.batteryBand == nil, "DP 11 sent as a value was read as the standard's battery_state")
        let vendor = try #require(tuya.dps.first { $0.id == 101 })
        #expect(vendor.code == nil && vendor.type == "raw")
        let mistyped = try #require(tuya.dps.first { $0.id == 11 })
        #expect(mistyped.code == nil && mistyped.value == "2")
        #expect(tuya.dps.first { $0.id == 12 }?.code == "residual_electricity")
        let summary = try #require(hub.devices().first)
        #expect(summary.product == "standard-ms")
        #expect(summary.layoutAssumed == "product id 0123abcd4567efgh not known")
        #expect(summary.model == nil, "an assumed layout's name was shown as the lock's model")

        // The simulator's standard-protocol PID has a layout: it replaces the assumed one.
        send(frame(TuyaCommand.productInfo, Array(#"{"p":"lockdiagsimstd01","v":"3.1.0"}"#.utf8)))
        #expect(TestSupport.wait(upTo: 5) { hub.status(of: slot)?.tuya?.product == "wifi-lock" })
        #expect(hub.status(of: slot)?.tuya?.layoutAssumed == nil)
        #expect(hub.devices().first?.layoutAssumed == nil)
        #expect(hub.devices().first?.model == hub.status(of: slot)?.tuya?.productName)
    }
}
