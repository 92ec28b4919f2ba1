import LockDiagAPI

/// What `lockdiag status` shows of a Tuya lock (firmware-specs/tuya-mcu.md §6): what it
/// reports, and in so many words what it cannot.
public enum TuyaStatusRenderer {
    static func row(_ label: String, _ value: String) -> String { StatusRenderer.row(label, value) }

    /// "Tuya · battery 12 % (low) · alarm tongue_bad · unlock by fingerprint #2", for `lockdiag watch`.
    public static func watchLine(_ s: DeviceStatus, _ t: TuyaReading, style: Style) -> String {
        var battery = s.battery.percent.map { "\($0) %" } ?? ""
        if let band = t.batteryBand { battery += battery.isEmpty ? band : " (\(band))" }
        var parts = ["Tuya", "battery " + (battery.isEmpty ? "not reported" : battery)]
        if let alarm = t.alarms.first { parts.append(alarm.fault == nil ? "alarm \(alarm.alarm)" : style.red("alarm \(alarm.alarm)")) }
        if let event = t.events.first {
            parts.append(event.kind + (event.method.map { " by " + $0.split(separator: "_").joined(separator: " ") } ?? "")
                         + (event.user.map { " #\($0)" } ?? ""))
        }
        if !s.online { parts.append(style.red("OFFLINE")) }
        return parts.joined(separator: " · ")
    }

    public static func readings(_ s: DeviceStatus, _ t: TuyaReading, style: Style) -> [String] {
        var rows: [String] = []
        var dialect = t.dialect == "tuya-sniff" ? "Tuya MCU, passive tap (listening only)" : "Tuya MCU, lockdiag plays the module"
        if let variant = t.variant { dialect += variant == "lowpower" ? " · low-power protocol" : " · standard protocol" }
        rows.append(row("dialect", dialect))
        // An assumed layout says so, and why, where the product would be named.
        var product = t.layoutAssumed != nil ? (t.pid == nil ? "PID not heard yet" : "")
            : t.product.map { "\($0) (\(t.productName ?? ""))" } ?? style.yellow("no product layout: DPs shown raw")
        if let pid = t.pid { product += (product.isEmpty ? "" : " · ") + "PID \(pid)" }
        if let version = t.mcuVersion { product += " · MCU \(version)" }
        rows.append(row("product", product))
        if let assumed = t.layoutAssumed {
            let category = t.category ?? "?"
            rows.append(row("layout", style.yellow("standard \(category) (assumed: \(assumed))")))
            rows.append(row("", "DPs outside the standard are shown raw, not read"))
            if let why = t.categoryAssumed { rows.append(row("", "category \(category): \(why)")) }
        }
        var battery: [String] = []
        if let percent = s.battery.percent { battery.append("\(percent) %") }
        if let band = t.batteryBand { battery.append("level \(band)") }
        let batteryText = battery.isEmpty ? "not reported yet" : battery.joined(separator: " · ")
        let weak = (s.battery.percent ?? 100) < 20 || t.batteryBand == "low" || t.batteryBand == "poweroff"
        rows.append(row("battery", weak ? style.yellow(batteryText) : batteryText))
        rows.append(row("alarms", t.alarms.isEmpty ? "none reported" : t.alarms.prefix(5).map { alarm in
            let text = alarm.alarm + (alarm.fault.map { " → \($0)" } ?? "") + " at " + Units.timestamp(alarm.recordedAt ?? alarm.at)
            return alarm.fault == nil ? text : style.red(text)
        }.joined(separator: "; ")))
        rows.append(row("recent events", t.events.isEmpty ? "none reported" : t.events.prefix(5).map { event in
            var text = event.kind
            if let method = event.method { text += " by " + method.split(separator: "_").joined(separator: " ") }
            if let user = event.user { text += " #\(user)" }
            return text + " at " + Units.timestamp(event.recordedAt ?? event.at)
        }.joined(separator: "; ")))
        let unknown = t.dps.filter { $0.code == nil }
        if !unknown.isEmpty {
            rows.append(row("unknown DPs", unknown.map { "\($0.id) \($0.type) \($0.value)" }.joined(separator: " · ")))
        }
        rows.append(row("reports", "\(t.reports) status, \(t.records) record" + (t.mcuRestarts > 0 ? " · MCU restarted \(t.mcuRestarts)×" : "")))
        rows.append(row("updated", s.updatedAt.map(Units.timestamp) ?? "never (nothing reported yet)"))
        rows.append(row("not available", t.notAvailable.first ?? "-"))
        for line in t.notAvailable.dropFirst() { rows.append(row("", line)) }
        return rows
    }
}
