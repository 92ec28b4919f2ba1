import LockDiagAPI
import Testing

@testable import LockDiagCLI

/// The `scan` view and the status of a lock with only the standard BLE services.
@Suite struct BLEViewTests {
    static func scanned(_ address: String, name: String?, rssi: Int, services: [String], evidence: String?, reason: String?,
                        connectable: Bool = true) -> ScannedBLEDevice {
        ScannedBLEDevice(address: address, addressType: address.hasSuffix("/random") ? "random" : "public", name: name, rssiDBm: rssi,
                         strongestRSSIDBm: rssi, txPowerDBm: nil, connectable: connectable, services: services, manufacturerData: [],
                         serviceData: [], flags: [], appearance: nil, lockEvidence: evidence, lockReason: reason, reports: 12, problem: nil)
    }

    @Test func scanListsLocksFirstAndSaysWhatToRunNext() {
        let report = ScanReport(adapter: "hci0", adapterAddress: "00:1A:7D:DA:71:13", seconds: 10, reports: 40, devices: [
            Self.scanned("C4:7C:8D:6A:1B:2E/random", name: "LX-300 SIM-0001-000", rssi: -48,
                         services: ["4c445031-0000-4500-afc2-738c4544dba0", "0x180F"], evidence: "ldp", reason: "advertises the LDP service: full diagnosis"),
            Self.scanned("00:11:22:33:44:55", name: nil, rssi: -80, services: ["0x1816"], evidence: nil, reason: nil, connectable: false),
        ])
        let text = ScanRenderer.render(report, style: .plain)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Scanned 10 seconds on hci0 (00:1A:7D:DA:71:13): 40 advertising reports, 2 devices.")
        #expect(lines[2].hasPrefix("ADDRESS"))
        #expect(lines[3].contains("C4:7C:8D:6A:1B:2E/random") && lines[3].contains("-48 dBm") && lines[3].contains("LDP, Battery")
                && lines[3].contains("yes: advertises the LDP service"))
        #expect(lines[4].contains("Cycling Speed and Cadence") && lines[4].contains("no (not connectable)"))
        #expect(lines.last == "1 likely lock. Diagnose one with: lockdiagd --ble C4:7C:8D:6A:1B:2E/random")
    }

    @Test func anEmptyScanSaysHowToWakeALock() {
        let text = ScanRenderer.render(ScanReport(adapter: "hci0", adapterAddress: nil, seconds: 5, reports: 0, devices: []), style: .plain)
        #expect(text.contains("Nothing heard. Wake the lock"))
    }

    /// A lock with only the standard services reports its battery level and nothing else: the
    /// rest shows as unknown ("—"), never as 0 mV or 0 mA.
    @Test func aStandardServicesLockShowsItsBatteryAndTheRestAsUnknown() {
        var readings = Readings()
        readings.batteryPercent = Reading(14, .measured)
        readings.atMilliseconds = 1_000
        let status = DeviceStatus(device: "C4:7C:8D:6A:1B:2E", online: true, readings: readings, lastActuation: nil,
                                  updatedAt: "2026-11-29T00:21:42.627Z", wireProtocol: "GATT")
        let rows = StatusRenderer.readings(status, style: .plain)
        let row = { (label: String) in rows.first { $0.hasPrefix("  " + label + " ") } ?? "" }
        #expect(row("battery").hasSuffix(" 14 %"))
        for label in ["bolt", "door", "motor", "temperature", "calibration", "tamper", "fault memory", "actuations"] {
            #expect(row(label).hasSuffix(" —"), "\(label): \(row(label))")
        }
        #expect(row("readings").contains("battery level only"))
        #expect(!rows.joined().contains("mV") && !rows.joined().contains(" 0 mA"))
        #expect(WatchModel.statusLine(status, style: .plain) == "battery 14 %")
    }
}
