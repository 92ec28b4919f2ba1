import LockDiagAPI

/// The `status` view.
public enum StatusRenderer {
    static let labelWidth = 16

    /// "SIM-0001-000 · LX-300 rev SIM · firmware 2.4.1 · via serial /dev/ttyACM0 · online".
    public static func identity(_ status: DeviceStatus, summary: DeviceSummary?, style: Style) -> String {
        var parts = [style.bold(status.device)]
        if let summary {
            var model = summary.model ?? "unknown model"
            if let revision = summary.hardwareRevision { model += " rev \(revision)" }
            parts.append(model)
            if let firmware = summary.firmware { parts.append("firmware \(firmware)") }
            parts.append("via \(summary.transport) \(summary.path)" + (summary.dialect.map { " (\($0))" } ?? ""))
            parts.append(style.apply(DevicesRenderer.stateTint(summary.state), summary.state))
        } else {
            parts.append(status.online ? style.green("online") : style.red("offline"))
        }
        return parts.joined(separator: " · ")
    }

    static func row(_ label: String, _ value: String) -> String {
        "  " + VisibleText.pad(label, to: labelWidth) + value
    }

    /// "ready · link ok · image quality 70/100 · templates 12/100 · 0 failed attempts · no lockout · self-test never".
    public static func fingerprint(_ f: FingerprintReading, style: Style) -> String {
        var parts = [f.state == "ready" ? f.state : style.yellow(f.state)]
        parts.append(f.linkOK ? "link ok" : style.red("link down"))
        parts.append(f.imageQuality.map { "image quality \($0)/100" } ?? "no image yet")
        parts.append("templates \(f.templatesUsed)/\(f.templatesCapacity)")
        parts.append(Units.count(f.failedAttempts, "failed attempt"))
        parts.append(f.lockoutRemainingSeconds > 0 ? style.yellow("locked out for \(f.lockoutRemainingSeconds) s") : "no lockout")
        parts.append("self-test \(f.lastSelfTest)")
        return parts.joined(separator: " · ")
    }

    /// The readings of one lock, one per row, with units.
    public static func readings(_ s: DeviceStatus, style: Style) -> [String] {
        if s.wireProtocol == "GATT" { return standardServicesReadings(s, style: style) }
        var rows: [String] = []
        rows.append(row("bolt", s.lock == "intermediate" ? style.yellow(s.lock) : s.lock))
        rows.append(row("door", s.door))
        let battery = Units.battery(millivolts: s.battery.voltageMillivolts, percent: s.battery.percent)
        rows.append(row("battery", (s.battery.percent ?? 100) < 20 ? style.yellow(battery) : battery))
        rows.append(row("motor", "\(s.motor.state), \(Units.milliamps(s.motor.currentMilliamps))"))
        rows.append(row("fingerprint", s.fingerprint.map { fingerprint($0, style: style) } ?? "none fitted"))
        rows.append(row("temperature", s.temperatureCelsius.map(Units.celsius) ?? "not measured"))
        rows.append(row("calibration", s.calibrated ? "calibrated" : style.yellow("not calibrated — run the lock's calibration")))
        rows.append(row("tamper", s.tamperActive ? style.red("ACTIVE") : "none"))
        rows.append(row("fault memory", s.activeFaults == 0 ? "nothing failing now"
                        : style.red("\(s.activeFaults) record(s) failing now")))
        rows.append(row("actuations", "\(s.actuations) · lock uptime \(Units.duration(seconds: Double(s.uptimeSeconds)))"))
        rows.append(row("last actuation", s.lastActuation.map { ActuationText.line($0, style: style) } ?? "none since lockdiagd started"))
        rows.append(row("updated", s.updatedAt.map(Units.timestamp) ?? "never (no answer from the lock yet)"))
        return rows
    }

    /// A BLE lock with only the standard Battery and Device Information services reports its
    /// battery level and nothing else; the rest of the status would be placeholders.
    static func standardServicesReadings(_ s: DeviceStatus, style: Style) -> [String] {
        let battery = s.battery.percent.map { "\($0) %" } ?? "unknown (the lock did not report a level)"
        return [
            row("battery", (s.battery.percent ?? 100) < 20 ? style.yellow(battery) : battery),
            row("readings", "battery level only: the lock has the Bluetooth Battery and Device Information services, not LDP"),
            row("updated", s.updatedAt.map(Units.timestamp) ?? "never (no answer from the lock yet)"),
        ]
    }

    /// Identity, readings, then the device's faults as `faults` shows them.
    public static func render(_ status: DeviceStatus, summary: DeviceSummary?, faults: [Fault], style: Style) -> String {
        var lines = [identity(status, summary: summary, style: style)]
        if !status.online {
            if let problem = summary?.problem { lines.append("  " + style.yellow("problem: \(problem)")) }
            lines.append("  " + style.yellow("offline: the values below are the last ones read"))
        }
        if let tuya = status.tuya {
            lines += TuyaStatusRenderer.readings(status, tuya, style: style)
        } else if status.updatedAt == nil {
            // Before the first READ_STATUS answer every reading is a zero placeholder, not a measurement.
            lines.append("  " + style.yellow("no status report from the lock yet — run this again in a moment"))
        } else {
            lines += readings(status, style: style)
        }
        lines.append("")
        lines.append(style.bold("Faults"))
        lines.append(FaultsRenderer.render(faults, scope: status.device, style: style))
        return lines.joined(separator: "\n")
    }
}
