import LockDiagAPI

/// How many faults are in each lifecycle state.
public struct FaultCounts: Sendable, Equatable {
    public var confirmed = 0
    public var pending = 0
    public var healed = 0

    public init(_ faults: [Fault]) {
        for fault in faults {
            switch fault.status {
            case .confirmed: confirmed += 1
            case .pending: pending += 1
            case .healed: healed += 1
            }
        }
    }

    public var total: Int { confirmed + pending + healed }

    /// "2 confirmed, 1 pending", "1 healed", "none".
    public var text: String {
        var parts: [String] = []
        if confirmed > 0 { parts.append("\(confirmed) confirmed") }
        if pending > 0 { parts.append("\(pending) pending") }
        if healed > 0 { parts.append("\(healed) healed") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// Red when something is confirmed, yellow when only pending, none otherwise.
    public var tint: Style.Tint? {
        confirmed > 0 ? .red : pending > 0 ? .yellow : nil
    }
}

/// The `faults` view, also the faults section of `status`.
public enum FaultsRenderer {
    /// A mark for the severity: ‼ critical, ✖ error, ▲ warning, ℹ info.
    public static func marker(severity: String) -> String {
        switch severity {
        case "critical": "‼"
        case "error": "✖"
        case "warning": "▲"
        case "info": "ℹ"
        default: "•"
        }
    }

    static func tint(_ status: FaultStatus) -> Style.Tint {
        switch status {
        case .confirmed: .red
        case .pending: .yellow
        case .healed: .green
        }
    }

    /// Who noticed the fault, in words.
    static func source(_ source: String) -> String {
        switch source {
        case "device": "reported by the lock"
        case "host": "found by lockdiagd"
        case "both": "reported by the lock and found by lockdiagd"
        default: "source \(source)"
        }
    }

    /// What backs the fault: the freeze frame's evidence when it was confirmed, else where it
    /// stands now.
    public static func evidence(_ fault: Fault) -> String {
        if let frame = fault.freezeFrame { return frame.evidence }
        switch fault.status {
        case .pending:
            return "not confirmed yet: seen \(fault.count)× so far; it is confirmed if the check fails again"
        case .healed:
            return "healed: the check has passed again since \(Units.timestamp(fault.lastSeen)); kept until cleared"
        case .confirmed:
            return "confirmed \(fault.count)×; no snapshot was taken"
        }
    }

    /// One fault: marker, code, title, status and count, then category/severity and when it was
    /// seen, the evidence, and the advice line.
    public static func render(_ fault: Fault, showDevice: Bool, style: Style) -> [String] {
        let statusTint = tint(fault.status)
        let marker = style.apply(fault.severity == "critical" && fault.status == .confirmed ? .red : statusTint,
                                 marker(severity: fault.severity))
        var head = "\(marker) \(style.bold(fault.code)) \(style.bold(fault.title)) — "
            + style.apply(statusTint, "\(fault.status.rawValue.uppercased()) \(fault.count)×")
        if showDevice { head += "  " + style.dim("(\(fault.device))") }
        let seen = "first seen \(Units.timestamp(fault.firstSeen)), last seen \(Units.timestamp(fault.lastSeen, sameDayAs: fault.firstSeen))"
        return [
            head,
            "    \(fault.category)/\(fault.severity) · \(seen) · \(source(fault.source))",
            "    evidence: \(evidence(fault))",
        ] + (unsaved(fault).map { ["    " + style.yellow($0)] } ?? []) + [
            "    " + style.apply(.cyan, "→ \(fault.advice)"),
        ]
    }

    /// Says so when the fault's events are not all in the history database (docs/reports.md#durability).
    public static func unsaved(_ fault: Fault) -> String? {
        guard fault.saved == false else { return nil }
        var parts: [String] = []
        if let n = fault.unsavedEvents {
            parts.append("\(Units.count(n, "event")) of this fault not on disk yet (written when the history takes writes again)")
        }
        if let n = fault.lostEvents { parts.append("\(Units.count(n, "event")) lost (the history marks the gap)") }
        return "NOT SAVED: " + (parts.isEmpty ? "not all of its events are on disk" : parts.joined(separator: "; "))
    }

    /// The history's health when it is degraded: why, and what it means for the faults shown.
    public static func historyWarning(_ health: HistoryHealth?) -> String? {
        guard let health, health.status == .degraded else { return nil }
        return "History DEGRADED\(health.since.map { " since \(Units.timestamp($0))" } ?? ""): \(health.reason ?? "writes fail")\n"
            + "\(Units.count(health.unsavedFaultEvents, "fault event")) not on disk yet (marked NOT SAVED)"
            + (health.droppedRecords > 0 ? ", \(Units.count(Int(health.droppedRecords), "record")) dropped" : "")
            + "; `lockdiag info` has the details."
    }

    /// Every fault in the order given (the API puts confirmed ones first), a blank line between
    /// them, and a closing count; a plain message when there are none.
    /// `scope` names what was asked about: a device id, or nil for every device.
    /// `history`: the daemon's history health, shown after the faults when it is degraded.
    public static func render(_ faults: [Fault], scope: String?, history: HistoryHealth? = nil, style: Style) -> String {
        let warning = historyWarning(history).map { "\n" + style.yellow($0) } ?? ""
        guard !faults.isEmpty else {
            return (scope.map { "No faults on \($0)." } ?? "No faults on any device.") + warning
        }
        var lines: [String] = []
        for (index, fault) in faults.enumerated() {
            if index > 0 { lines.append("") }
            lines += render(fault, showDevice: scope == nil, style: style)
        }
        let counts = FaultCounts(faults)
        lines.append("")
        let devices = Set(faults.map(\.device)).count
        let on = scope == nil ? " on \(Units.count(devices, "device"))" : ""
        lines.append(style.apply(counts.tint, "\(Units.count(counts.total, "fault"))\(on): \(counts.text)"))
        return lines.joined(separator: "\n") + warning
    }
}
