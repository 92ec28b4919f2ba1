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
}
