import LockDiagAPI

/// The `list` view.
public enum DevicesRenderer {
    public static let header = ["DEVICE", "STATE", "TRANSPORT", "PATH", "SERIAL", "MODEL", "FIRMWARE", "FAULTS"]

    static func stateTint(_ state: String) -> Style.Tint? {
        switch state {
        case "online": .green
        case "connecting", "listening": .yellow
        default: .red
        }
    }

    /// A table of the devices with their fault counts; a device that is not online has its
    /// problem (when the daemon knows it) on the line below. Ends with a one-line summary.
    public static func render(_ devices: [DeviceSummary], faults: [Fault], style: Style) -> String {
        guard !devices.isEmpty else {
            return "No locks known to lockdiagd. Connect one (USB serial, USB or Bluetooth LE); lockdiagd picks it up on its own."
        }
        var rows: [[Cell]] = []
        var problems: [Int: String] = [:]
        for device in devices {
            let counts = FaultCounts(faults.filter { $0.device == device.id })
            rows.append([
                Cell(device.id, tint: .bold), Cell(device.state, tint: stateTint(device.state)),
                Cell(device.dialect.map { "\(device.transport) (\($0))" } ?? device.transport),
                Cell(device.path), Cell(serial(of: device)), Cell(device.model ?? "-"), Cell(device.firmware ?? "-"),
                Cell(counts.text, tint: counts.tint),
            ])
            if device.state != "online" {
                problems[rows.count - 1] = device.problem ?? "no answer from the lock (no reason known yet)"
            }
        }
        let table = TextTable.render(header: header, rows: rows, style: style)
        var lines = [table[0]]
        for (index, line) in table.dropFirst().enumerated() {
            lines.append(line)
            if let problem = problems[index] { lines.append("  " + style.yellow("problem: \(problem)")) }
        }
        lines.append("")
        lines.append(summary(devices, faults: faults, style: style))
        return lines.joined(separator: "\n")
    }

    /// One line of `lockdiag list --follow`: `12:03:04  + LX3-000123 plugged in (usb 1-3)`.
    public static func changeLine(_ change: DeviceChange, time: String, style: Style) -> String {
        let device = change.device
        let place = "\(device.transport) \(device.path)"
        var line = "\(time)  "
        switch change.change {
        case .added: line += style.green("+ \(device.id)") + " plugged in (\(place))"
        case .removed: line += style.red("- \(device.id)") + " unplugged (\(place)); still listed, offline"
        case .forgotten: line += style.apply(.yellow, "x \(device.id)") + " forgotten (unplugged too long)"
        }
        if change.lost > 0 { line += "  [\(Units.count(change.lost, "earlier change")) missed: run `lockdiag list`]" }
        return line
    }

    /// The lock's serial number: from IDENTIFY, else (before it answered, or while unplugged
    /// since start) its USB serial number.
    static func serial(of device: DeviceSummary) -> String { device.serial ?? device.usb?.serial ?? "-" }

    /// "3 devices, 2 online · faults: 2 confirmed, 1 pending — `lockdiag faults` says what to do".
    static func summary(_ devices: [DeviceSummary], faults: [Fault], style: Style) -> String {
        let online = devices.filter { $0.state == "online" }.count
        let counts = FaultCounts(faults)
        var text = "\(Units.count(devices.count, "device")), \(online) online · faults: " + style.apply(counts.tint, counts.text)
        if counts.confirmed + counts.pending > 0 { text += " — `lockdiag faults` says what to do" }
        return text
    }
}
