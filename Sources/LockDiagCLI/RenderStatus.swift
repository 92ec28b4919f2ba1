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

    /// The readings of one lock, one per row, with units; "—" for what the lock does not report.
    public static func readings(_ s: DeviceStatus, style: Style) -> [String] {
        let unknown = Units.unknown
        func known(_ text: String) -> String { text == "unknown" ? unknown : text }
        var rows: [String] = []
        rows.append(row("bolt", s.lock == "intermediate" ? style.yellow(s.lock) : known(s.lock)))
        rows.append(row("door", known(s.door)))
        let battery = Units.battery(millivolts: s.battery.voltageMillivolts, percent: s.battery.percent, band: s.battery.band)
        let weak = (s.battery.percent ?? 100) < 20 || s.battery.band == "low" || s.battery.band == "critical"
        rows.append(row("battery", weak ? style.yellow(battery) : battery))
        rows.append(row("motor", s.motor.state == "unknown" && s.motor.currentMilliamps == nil ? unknown
                        : "\(known(s.motor.state)), \(Units.milliamps(s.motor.currentMilliamps))"))
        rows.append(row("fingerprint", s.fingerprint.map { fingerprint($0, style: style) } ?? (s.wireProtocol == "LDP/1" ? "none fitted" : unknown)))
        rows.append(row("temperature", s.temperatureCelsius.map(Units.celsius) ?? (s.wireProtocol == "LDP/1" ? "not measured" : unknown)))
        rows.append(row("calibration", s.calibrated.map { $0 ? "calibrated" : style.yellow("not calibrated — run the lock's calibration") } ?? unknown))
        rows.append(row("tamper", s.tamperActive.map { $0 ? style.red("ACTIVE") : "none" } ?? unknown))
        rows.append(row("fault memory", s.activeFaults.map { $0 == 0 ? "nothing failing now" : style.red("\($0) record(s) failing now") } ?? unknown))
        rows.append(row("actuations", (s.actuations.map(String.init) ?? unknown)
                        + (s.uptimeSeconds.map { " · lock uptime \(Units.duration(seconds: Double($0)))" } ?? "")))
        rows.append(row("last actuation", s.lastActuation.map { ActuationText.line($0, style: style) } ?? "none since lockdiagd started"))
        if s.wireProtocol == "GATT" {
            rows.append(row("readings", "battery level only: the lock has the Bluetooth Battery and Device Information services, not LDP"))
        }
        rows.append(row("updated", s.updatedAt.map(Units.timestamp) ?? "never (no answer from the lock yet)"))
        return rows
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
