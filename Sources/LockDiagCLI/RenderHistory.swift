import LockDiagAPI

/// The `faults --history` view: the lock's identity and firmware over time, then every fault
/// event oldest first, one line each, with who cleared what.
public enum HistoryRenderer {
    public static func render(_ history: FaultHistory, style: Style) -> String {
        var lines: [String] = []
        if let r = history.record {
            var what = [r.model ?? "unknown model"]
            if let hw = r.hardwareRevision { what.append("rev \(hw)") }
            lines.append(style.bold(history.device) + " — " + what.joined(separator: " ")
                         + ", first seen \(Units.timestamp(r.firstSeen)), last seen \(Units.timestamp(r.lastSeen))")
            if !r.firmware.isEmpty {
                let versions = r.firmware.map { "\($0.version) (\(Units.timestamp($0.firstSeen)) – \(Units.timestamp($0.lastSeen)))" }
                lines.append("firmware: " + versions.joined(separator: ", "))
            }
        } else {
            lines.append(style.bold(history.device) + " — never identified itself at this station")
        }
        let scope = history.since.map { " since \(Units.timestamp($0))" } ?? ""
        guard !history.events.isEmpty else {
            lines.append("No fault events\(scope).")
            return lines.joined(separator: "\n")
        }
        lines.append("")
        lines.append("\(Units.count(history.events.count, "fault event"))\(scope)\(history.truncated ? " (the newest; older ones left out)" : ""), oldest first:")
        let rows: [[Cell]] = history.events.map { e in
            [Cell(Units.timestamp(e.at)), Cell(e.code), Cell(e.event.rawValue, tint: tint(e)),
             Cell(e.status?.rawValue ?? "–"), Cell(e.title), Cell(detail(e))]
        }
        lines += TextTable.render(header: ["WHEN", "CODE", "EVENT", "STATUS", "FAULT", "DETAIL"], rows: rows, style: style)
        let cleared = history.events.filter { $0.event == .cleared }.count
        lines.append("")
        lines.append(cleared > 0
                     ? "Cleared \(Units.count(cleared, "time")) in all; the history keeps what was cleared."
                     : "`lockdiag faults \(history.device)` shows the faults active now.")
        return lines.joined(separator: "\n")
    }

    static func tint(_ e: FaultEvent) -> Style.Tint? {
        switch e.event {
        case .confirmed: .red
        case .raised, .reoccurred: .yellow
        case .healed: .green
        case .cleared: .dim
        case .lost: .yellow
        }
    }

    static func detail(_ e: FaultEvent) -> String {
        switch e.event {
        case .cleared: "by \(e.clearedBy ?? "unknown")"
        case .healed: "checks pass again (\(e.count)× in all)"
        case .lost: VisibleText.truncate(e.evidence, to: 110)
        default: VisibleText.truncate(e.freezeFrame?.evidence ?? e.evidence, to: 70)
        }
    }
}

/// What `lockdiag verify` says about a report.
public enum VerificationRenderer {
    /// The verdict, as docs/reports.md names it.
    public enum Outcome: Sendable {
        /// A valid signature by a trusted station key.
        case trusted
        /// A valid signature by a key that is not trusted.
        case untrusted
        case invalid
    }

    /// The lines for a checked report: the verdict first, then what the report is about.
    public static func render(outcome: Outcome, reason: String, fingerprint: String?, reportID: String?, device: String?, createdAt: String?,
                              host: String?, verdict: String?, trustedKeys: String, style: Style) -> String {
        // Everything here but the verdict word comes from the file, which anyone may have made.
        let (reason, fingerprint, reportID, device, createdAt, host, verdict) = (
            DisplayText.safe(reason), DisplayText.safe(fingerprint), DisplayText.safe(reportID), DisplayText.safe(device),
            DisplayText.safe(createdAt), DisplayText.safe(host), DisplayText.safe(verdict))
        var lines = switch outcome {
        case .trusted: [style.green("valid") + ": \(reason)"]
        case .untrusted: [style.yellow("UNTRUSTED") + ": \(reason)"]
        case .invalid: [style.red("INVALID") + ": \(reason)"]
        }
        if let device { lines.append("  device:   \(device)") }
        if let createdAt { lines.append("  made:     \(Units.timestamp(createdAt))" + (host.map { " by \($0) (as the report says)" } ?? "")) }
        if let reportID { lines.append("  report:   \(reportID)") }
        if let verdict { lines.append("  verdict:  \(verdict)") }
        if let fingerprint { lines.append("  key:      \(fingerprint)") }
        lines.append("  trusted:  \(DisplayText.safe(trustedKeys))")
        if outcome == .untrusted {
            lines.append("  To trust a station, add its key (`lockdiag key --public` on it) and name to the trusted keys, or pass --key.")
        }
        return lines.joined(separator: "\n")
    }
}
