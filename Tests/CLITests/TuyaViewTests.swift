import LockDiagAPI
import LockDiagCLI
import Testing

/// `lockdiag status`, `list` and `watch` for a Tuya lock: what it reports, and what it cannot.
@Suite struct TuyaViewTests {
    static let reading = TuyaReading(
        dialect: "tuya-sniff", variant: "lowpower", product: "wifi-lock", productName: "Tuya Wi-Fi lock", pid: "abc", mcuVersion: "1.0.0",
        batteryBand: "low",
        alarms: [TuyaAlarm(alarm: "tongue_bad", fault: "motor_stall", at: "2026-11-29T02:01:14.512Z", recordedAt: "2026-03-04T05:06:07")],
        events: [TuyaEvent(kind: "unlock", method: "temporary_password", user: 3, at: "2026-11-29T02:01:15.000Z", recordedAt: nil)],
        dps: [], notAvailable: ["motor current", "self-tests"], reports: 4, records: 1, mcuRestarts: 0)
    static let status = DeviceStatus(
        device: "/dev/ttyUSB0", online: true, lock: "unknown", door: "unknown", battery: BatteryReading(voltageMillivolts: 0, percent: 12),
        motor: MotorReading(state: "unknown", currentMilliamps: 0), fingerprint: nil, temperatureCelsius: nil, calibrated: false,
        tamperActive: false, activeFaults: 0, actuations: 0, uptimeSeconds: 0, lastActuation: nil,
        updatedAt: "2026-11-29T02:01:15.000Z", tuya: reading)

    @Test func statusShowsWhatATuyaLockReportsAndWhatItCannot() {
        let summary = DeviceSummary(id: "/dev/ttyUSB0", transport: "serial", path: "/dev/ttyUSB0", wireProtocol: "Tuya MCU",
                                    model: "Tuya Wi-Fi lock", hardwareRevision: nil, firmware: "1.0.0", serial: nil, capabilities: [],
                                    online: true, state: "online", problem: nil, lastSeen: nil, dialect: "tuya-sniff", product: "wifi-lock")
        let text = StatusRenderer.render(Self.status, summary: summary, faults: [], style: .plain)
        #expect(text.contains("via serial /dev/ttyUSB0 (tuya-sniff)"))
        #expect(text.contains("passive tap (listening only) · low-power protocol"))
        #expect(text.contains("12 % · level low"))
        #expect(text.contains("tongue_bad → motor_stall at 2026-03-04T05:06:07"))
        #expect(text.contains("unlock by temporary password #3"))
        #expect(text.contains("not available   motor current"))
        #expect(!text.contains("bolt"))
        let list = DevicesRenderer.render([summary], faults: [], style: .plain)
        #expect(list.contains("serial (tuya-sniff)"))
    }

    @Test func watchHasATuyaLine() {
        let line = WatchModel.statusLine(Self.status, style: .plain)
        #expect(line == "Tuya · battery 12 % (low) · alarm tongue_bad · unlock by temporary password #3")
    }

    /// tuya-mcu.md §6.1: an assumed layout says so where the product would be named, and the DPs
    /// it does not read are listed raw.
    @Test func anAssumedLayoutSaysSoAndListsUnknownDPs() {
        var reading = Self.reading
        reading.product = "standard-ms"
        reading.productName = "Tuya standard DP layout of residential locks (category ms)"
        reading.category = "ms"
        reading.pid = "0123abcd4567efgh"
        reading.layoutAssumed = "product id 0123abcd4567efgh not known"
        reading.categoryAssumed = "the protocol does not carry one"
        reading.dps = [TuyaDPState(id: 12, code: "residual_electricity", type: "value", value: "12", at: "2026-11-29T02:01:15.000Z"),
                       TuyaDPState(id: 101, code: nil, type: "raw", value: "0a0b", at: "2026-11-29T02:01:15.000Z")]
        var status = Self.status
        status.tuya = reading
        let text = StatusRenderer.render(status, summary: nil, faults: [], style: .plain)
        #expect(text.contains("layout          standard ms (assumed: product id 0123abcd4567efgh not known)"), "\(text)")
        #expect(text.contains("product         PID 0123abcd4567efgh · MCU 1.0.0"))
        #expect(text.contains("category ms: the protocol does not carry one"))
        #expect(text.contains("unknown DPs     101 raw 0a0b"))
        #expect(!text.contains("residual_electricity"))
        // A known layout shows no such rows.
        let known = StatusRenderer.render(Self.status, summary: nil, faults: [], style: .plain)
        #expect(!known.contains("assumed"))
        #expect(known.contains("wifi-lock (Tuya Wi-Fi lock) · PID abc"))
    }
}
