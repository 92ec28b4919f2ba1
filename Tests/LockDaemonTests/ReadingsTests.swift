import Foundation
import Glibc
import LinuxIO
@testable import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import Testing
import TuyaProtocol

/// Readings are the one vocabulary (docs/architecture.md "Readings"): the diagnosis table reads
/// them the same way whichever family they came from, and unknown is never shown as 0.
@Suite struct ReadingsTests {
    /// An LDP/1 READ_STATUS at rest with `percent` (and a voltage the battery check does not judge).
    static func ldp(percent: UInt8, motor: MotorState = MotorState(rawValue: 0)) -> Readings {
        let status = LockStatus(bolt: BoltState(rawValue: 1), door: DoorState(rawValue: 1), motor: motor, flags: [.calibrated],
                                batteryMillivolts: 5600, batteryPercent: percent, activeFaults: 0, temperatureDecicelsius: 215,
                                motorCurrentMilliamps: 0, actuations: 12, uptimeSeconds: 60)
        return Readings(ldp: status, at: 1_000, fingerprint: nil)
    }

    /// A Tuya lock of the wifi-lock layout that reported `percent` on DP 12, or `band` on DP 11.
    static func tuya(percent: Int? = nil, band: String? = nil) throws -> Readings {
        var t = TuyaDeviceState(role: .active, requestedProduct: nil)
        t.schema = try #require(TuyaSchemaSet.builtIn().schema(product: "wifi-lock"))
        t.batteryPercent = percent
        t.batteryBand = band
        t.readingAtMilliseconds = 1_000
        return t.readings
    }

    static func battery(_ verdicts: [CheckVerdict]) -> [String] {
        verdicts.map { v in
            let name = FaultCatalog.resolve(v.code).name
            if case .failed = v.outcome { return "\(name) failed" }
            return "\(name) passed"
        }
    }

    @Test(arguments: [0, 4, 5, 12, 19, 20, 87, 100])
    func theSameBatteryVerdictsForAnLDPLockAndATuyaLock(percent: Int) throws {
        let c = DiagnosisConfiguration()
        let fromLDP = DiagnosisTable.evaluate(DiagnosisTable.periodic, Self.ldp(percent: UInt8(percent)), c)
        let fromTuya = DiagnosisTable.evaluate(DiagnosisTable.periodic, try Self.tuya(percent: percent), c)
        #expect(Self.battery(fromLDP) == Self.battery(fromTuya))
        let expected = percent < c.batteryCriticalPercent ? ["battery_critical failed"]
            : percent < c.batteryLowPercent ? ["battery_critical passed", "battery_low failed"]
            : ["battery_critical passed", "battery_low passed"]
        #expect(Self.battery(fromLDP) == expected)
    }

    @Test func aTuyaBandIsJudgedOnTheSameScaleAndConfirmedByTheLock() throws {
        let c = DiagnosisConfiguration()
        #expect(Self.battery(DiagnosisTable.battery(try Self.tuya(band: "low"), c)) == Self.battery(DiagnosisTable.battery(Self.ldp(percent: 12), c)))
        #expect(Self.battery(DiagnosisTable.battery(try Self.tuya(band: "poweroff"), c)) == Self.battery(DiagnosisTable.battery(Self.ldp(percent: 2), c)))
        #expect(Self.battery(DiagnosisTable.battery(try Self.tuya(band: "high"), c)) == Self.battery(DiagnosisTable.battery(Self.ldp(percent: 90), c)))
        let low = DiagnosisTable.battery(try Self.tuya(band: "low"), c)
        #expect(low.contains { if case .failed(_, true) = $0.outcome { true } else { false } }, "a band is the lock's own verdict")
    }

    @Test func unknownIsNeitherAPassNorAFail() throws {
        let c = DiagnosisConfiguration()
        #expect(DiagnosisTable.battery(try Self.tuya(), c).isEmpty)
        #expect(DiagnosisTable.battery(Self.ldp(percent: LockStatus.unknownPercent), c).isEmpty)
        // A percentage read while the motor runs is its sag, not its level.
        #expect(DiagnosisTable.battery(Self.ldp(percent: 3, motor: MotorState(rawValue: 1)), c).isEmpty)
    }

    /// What a Tuya lock does not report is null in `device.status`, never 0.
    @Test func aTuyaLocksStatusSaysNullForWhatItDoesNotReport() throws {
        let status = DeviceStatus(device: "T", online: true, readings: try Self.tuya(percent: 40), lastActuation: nil,
                                  updatedAt: nil, wireProtocol: "Tuya MCU")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any]
        let battery = try #require(json?["battery"] as? [String: Any])
        let motor = try #require(json?["motor"] as? [String: Any])
        #expect(battery["voltage_mv"] is NSNull && battery["percent"] as? Int == 40)
        #expect(motor["current_ma"] is NSNull)
        for key in ["calibrated", "tamper_active", "active_faults", "actuations", "uptime_s", "temperature_c"] {
            #expect(json?[key] is NSNull, "\(key) is \(String(describing: json?[key]))")
        }
        #expect((json?["sources"] as? [String: String]) == ["battery.percent": "measured"])
    }

    /// The real poll loop and hub with a Tuya lock on a pty: its API views (status, freeze frame,
    /// metrics) carry its battery and nothing it did not report.
    @Test func aTuyaLockThroughTheHubShowsItsBatteryAndNoInventedZeros() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let loop = try PollLoop(configuration: { var c = PollLoopConfiguration(); c.pollHz = 100; return c }())
        let hub = Hub(loop: loop)
        let slot = try #require(try hub.addTuyaDevice(path: pty.slavePath, baudRate: 9600,
                                                        dialect: DialectSpec(kind: .tuyaSniff, product: "wifi-lock")))
        try loop.start()
        hub.start()
        defer {
            hub.stop()
            loop.stop()
        }
        #expect(TestSupport.wait(upTo: 5) { hub.devices().first?.state == "listening" })
        let report = TuyaFrameEncoder.encode(version: Tuya.mcuVersion, command: TuyaCommand.dpReport,
                                             data: TuyaDPCodec.encode([TuyaDataPoint(id: 12, value: .value(3))]))!
        _ = report.withUnsafeBytes { try? FileIO.write(pty.master, $0) }
        #expect(TestSupport.wait(upTo: 5) { hub.faults(of: slot).contains { $0.name == "battery_critical" && $0.status == .confirmed } })
        let status = try #require(hub.status(of: slot))
        #expect(status.battery.percent == 3 && status.battery.voltageMillivolts == nil)
        #expect(status.motor.currentMilliamps == nil && status.actuations == nil && status.calibrated == nil)
        let fault = try #require(hub.faults(of: slot).first { $0.name == "battery_critical" })
        #expect(fault.freezeFrame?.batteryPercent == 3)
        #expect(fault.freezeFrame?.batteryMillivolts == nil && fault.freezeFrame?.motorCurrentMilliamps == nil)
        let metrics = try #require(hub.metricsDevices().first)
        #expect(metrics.batteryPercent == 3 && metrics.batteryMillivolts == nil && metrics.lifetimeActuations == nil)
    }
}
