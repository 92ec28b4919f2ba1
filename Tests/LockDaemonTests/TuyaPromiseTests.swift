import Foundation
import Glibc
import LinuxIO
@testable import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Testing
import TuyaProtocol

/// Promises of docs/socket-api.md (device.status `tuya`, faults.clear) and firmware-specs/tuya-mcu.md
/// (§2 checksum errors, §6 which faults heal) for a Tuya lock.
@Suite struct TuyaPromiseTests {
    // The Zen3515 layout's DPs: 1 unlock_fingerprint (value), 8 alarm_lock (enum), 11 battery_state (enum).
    static let alarmNames = ["wrong_finger", "wrong_password", "wrong_card", "wrong_face", "tongue_bad", "too_hot", "unclosed_time",
                             "tongue_not_out", "pry", "key_in", "low_battery", "power_off", "shock"]

    /// socket-api.md device.status: `tuya.alarms` newest first, at most 16; `tuya.events` newest
    /// first, at most 32.
    @Test func alarmsAndEventsAreNewestFirstAndCapped() throws {
        let rig = try TuyaHubRig()
        defer { rig.stop() }
        let alarms = (0..<20).map { Self.alarmNames[$0 % Self.alarmNames.count] }
        for (i, name) in alarms.enumerated() {
            rig.send(rig.report(8, .enumeration(UInt8(Self.alarmNames.firstIndex(of: name)!))))
            rig.send(rig.report(1, .value(Int32(i))))
        }
        for user in 20..<40 { rig.send(rig.report(1, .value(Int32(user)))) }
        #expect(TestSupport.wait(upTo: 10) { rig.tuya?.events.first?.user == 39 }, "the last unlock never arrived")
        let reading = try #require(rig.tuya)
        #expect(reading.alarms.map(\.alarm) == Array(alarms.suffix(16).reversed()))
        #expect(reading.events.map(\.user) == Array((8..<40).reversed()))
        #expect(reading.events.allSatisfy { $0.kind == "unlock" && $0.method == "fingerprint" })
    }

    /// tuya-mcu.md §6 and socket-api.md faults.clear: an alarm-raised fault stays until it is
    /// cleared, and the clear is the daemon's only (`cleared_on_device` 0, nothing sent to the
    /// lock); a battery-band fault heals as good reports come back.
    @Test func alarmFaultsStayUntilClearedAndBatteryFaultsHeal() async throws {
        let rig = try TuyaHubRig()
        defer { rig.stop() }
        rig.send(rig.report(8, .enumeration(UInt8(Self.alarmNames.firstIndex(of: "tongue_bad")!))))
        rig.send(rig.report(11, .enumeration(2)))  // battery "low"
        #expect(TestSupport.wait(upTo: 10) { rig.fault("motor_stall")?.status == .confirmed && rig.fault("battery_low")?.status == .confirmed })
        // Good battery reports, one at a time, until the battery fault heals.
        var good = 0
        #expect(TestSupport.wait(upTo: 10, pollEvery: 0.05) {
            if rig.fault("battery_low")?.status == .healed { return true }
            rig.send(rig.report(11, .enumeration(0)))  // "high"
            good += 1
            return false
        }, "battery_low did not heal after \(good) good reports: \(String(describing: rig.fault("battery_low")))")
        #expect(rig.fault("motor_stall")?.status == .confirmed, "the alarm's fault went away by itself")

        let cleared = try await rig.hub.clearFaults(of: rig.slot)
        #expect(cleared.clearedOnDevice == 0)
        #expect(cleared.cleared >= 1)
        #expect(rig.fault("motor_stall") == nil)
        #expect(rig.hub.linkStats().first?.bytesOut == 0, "the tap sent something to the lock")
    }

    /// tuya-mcu.md §2: checksum errors are counted and drive the `comm_crc_errors` fault.
    @Test func checksumErrorsRaiseCommCRCErrors() throws {
        let rig = try TuyaHubRig()
        defer { rig.stop() }
        // Reported until heard: bytes sent before the loop has opened the pty are flushed by the open.
        #expect(TestSupport.wait(upTo: 10, pollEvery: 0.2) {
            rig.send(rig.report(11, .enumeration(0)))
            return rig.hub.devices().first?.state == "online"
        })
        // Every other frame corrupted in its checksum byte, for a few seconds of once-a-second checks.
        var sent = 0
        #expect(TestSupport.wait(upTo: 15, pollEvery: 0.05) {
            if let fault = rig.fault("comm_crc_errors"), fault.status != .healed { return true }
            var bad = rig.report(11, .enumeration(0))
            bad[bad.count - 1] &+= 1
            rig.send(bad + rig.report(11, .enumeration(0)))
            sent += 1
            return false
        }, "no comm_crc_errors after \(sent) corrupted frames; crc_errors \(rig.hub.linkStats().first?.crcErrors ?? 0)")
        #expect((rig.hub.linkStats().first?.crcErrors ?? 0) >= 3)
    }
}
