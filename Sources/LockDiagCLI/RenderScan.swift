import LockDiagAPI

/// The `scan` view.
public enum ScanRenderer {
    public static let header = ["ADDRESS", "RSSI", "NAME", "SERVICES", "LOCK?"]

    /// Service UUIDs by their usual names where lockdiag knows them.
    static let serviceNames: [String: String] = [
        "0x180F": "Battery", "0x180A": "Device Information", "0x1800": "GAP", "0x1801": "GATT", "0x180D": "Heart Rate",
        "0x1816": "Cycling Speed and Cadence", "0x1802": "Immediate Alert", "0xFE24": "August",
        "4c445031-0000-4500-afc2-738c4544dba0": "LDP",
        "a92ee200-5501-11e4-916c-0800200c9a66": "Nuki", "a92ee100-5501-11e4-916c-0800200c9a66": "Nuki pairing",
    ]

    public static func serviceText(_ uuids: [String]) -> String {
        uuids.isEmpty ? "-" : uuids.map { serviceNames[$0] ?? $0 }.joined(separator: ", ")
    }

    /// Likely locks first with the reason, then everything else heard; ends with what to run next.
    public static func render(_ report: ScanReport, style: Style) -> String {
        var lines = ["Scanned \(Units.count(Int(report.seconds.rounded()), "second")) on \(report.adapter)"
                     + (report.adapterAddress.map { " (\($0))" } ?? "") + ": \(Units.count(report.reports, "advertising report")), "
                     + "\(Units.count(report.devices.count, "device"))."]
        guard !report.devices.isEmpty else {
            lines.append("Nothing heard. Wake the lock (touch its keypad or handle) and scan again; a lock already connected to a phone may not advertise.")
            return lines.joined(separator: "\n")
        }
        let rows: [[Cell]] = report.devices.map { d in
            [Cell(d.address, tint: d.isLikelyLock ? .bold : nil), Cell(d.rssiDBm.map { "\($0) dBm" } ?? "-"), Cell(d.name ?? "-"),
             Cell(serviceText(d.services)),
             Cell(d.lockReason.map { "yes: " + $0 } ?? (d.connectable ? "no" : "no (not connectable)"), tint: d.isLikelyLock ? .green : nil)]
        }
        lines.append("")
        lines += TextTable.render(header: header, rows: rows, style: style)
        let locks = report.devices.filter(\.isLikelyLock)
        lines.append("")
        if let first = locks.first {
            lines.append("\(Units.count(locks.count, "likely lock")). Diagnose one with: lockdiagd --ble \(first.address)")
        } else {
            lines.append("No likely lock heard (none advertises the LDP, Battery or a known lock maker's service). A lock that "
                         + "advertises nothing useful can still be tried: lockdiagd --ble ADDRESS")
        }
        return lines.joined(separator: "\n")
    }
}
