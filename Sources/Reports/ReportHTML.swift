import Foundation
import LockDiagAPI
import LockJSON

/// The report as one self-contained HTML page for the customer and the workshop: the verdict, the
/// faults with their advice, SVG plots of the motor current per actuation (stall threshold drawn
/// in), the battery voltage under load and the fault timeline. No scripts run and nothing is
/// fetched. The page is a pure function of the signed report, which rides along inside, so
/// `lockdiag verify report.html` renders it again and checks the file is that page, byte for byte.
public enum ReportHTML {
    static let scriptOpen = "<script type=\"application/json\" id=\"lockdiag-signed-report\">"
    static let scriptClose = "</script>"

    /// This renderer's version, signed into every report as `html_renderer`. Any change to the
    /// bytes a report renders to needs a new version, with the old rendering kept for as long as
    /// pages of the old version must verify (docs/reports.md, "Which renderer").
    public static let version = "lockdiag-html/2"
    /// The versions this lockdiag renders exactly as they were rendered when they were signed.
    /// /2 adds the genuine-parts section (ReportParts.swift) after the self-tests.
    public static let versions: [String] = [version, "lockdiag-html/1"]

    /// The page of a signed report, rendered as its `html_renderer` version renders it.
    public static func render(_ signed: SignedReport) throws(ReportPageError) -> String {
        guard let renderer = signed.report.htmlRenderer else { throw .noRenderer }
        guard versions.contains(renderer) else { throw .unknownRenderer(renderer) }
        let r = signed.report
        // `<` never occurs in JSON outside strings, and `\u003c` is the same string to a JSON
        // parser, so the embedded text cannot close the script element and still verifies.
        let canonical: [UInt8]
        do { canonical = try CanonicalJSON.bytes(of: signed) } catch { throw .notEncodable("\(error)") }
        let embedded = String(decoding: canonical, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
        let title = "Lock diagnostic report — \(r.device.id)"
        var html = pageHead(title) + """
            <p class="meta">\(escape(deviceLine(r.device))) · report \(escape(r.reportID)) · made \(escape(r.createdAt)) \
            by \(escape(r.station.host)) (\(escape(r.station.software)))</p>
            </header>
            <section class="verdict \(escape(r.verdict.result))" id="verdict">
            <h2>\(escape(verdictHeading(r.verdict.result)))</h2>
            <p>\(escape(r.verdict.summary))</p>
            </section>

            """
        html += faultsSection(r)
        html += actuationsSection(r)
        html += batterySection(r)
        html += timelineSection(r)
        html += selfTestSection(r)
        if renderer != "lockdiag-html/1", let parts = r.parts { html += parts.htmlSection(device: r.device.id) }
        html += deviceSection(r)
        html += signatureSection(signed)
        html += "\(scriptOpen)\(embedded)\(scriptClose)\n</body>\n</html>\n"
        return html
    }

    /// A page's start, up to its header's title: the same for reports and certificates.
    static func pageHead(_ title: String) -> String {
        """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>\(css)</style>
            </head>
            <body>
            <header>
            <h1>\(escape(title))</h1>

            """
    }

    /// The signed JSON inside a page this renderer made, or nil if `bytes` is not such a page.
    public static func embeddedJSON(in bytes: [UInt8]) -> [UInt8]? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("<!DOCTYPE html>"), let open = text.range(of: scriptOpen),
              let close = text.range(of: scriptClose, range: open.upperBound..<text.endIndex) else { return nil }
        return Array(text[open.upperBound..<close.lowerBound].utf8)
    }

    /// Where `page` first differs from `expected` (the page its signed report renders to), or nil
    /// if they are the same bytes.
    public static func difference(page: [UInt8], expected: [UInt8]) -> PageDifference? {
        let common = min(page.count, expected.count)
        var offset = 0
        while offset < common && page[offset] == expected[offset] { offset += 1 }
        if offset == page.count && offset == expected.count { return nil }
        let lineStart = page[..<offset].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        func excerpt(_ bytes: [UInt8]) -> String {
            let from = max(lineStart, offset - 24)
            let to = min(bytes.count, offset + 40)
            // One line of output: a line break in the excerpt is shown as \n.
            return from < to ? String(decoding: bytes[from..<to], as: UTF8.self).replacingOccurrences(of: "\n", with: "\\n") : ""
        }
        return PageDifference(offset: offset, line: page[..<offset].count { $0 == 0x0A } + 1, column: offset - lineStart + 1,
                              found: excerpt(page), expected: excerpt(expected))
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// `2026-11-28 09:00:01 UTC` from an API timestamp, for people.
    static func when(_ iso: String) -> String {
        let chars = Array(iso)
        guard chars.count >= 19, chars[10] == "T" else { return escape(iso) }
        return "<span class=\"when\">" + String(chars[0..<10]) + " " + String(chars[11..<19]) + " UTC</span>"
    }

    static func deviceLine(_ d: ReportDevice) -> String {
        var parts = [d.model ?? "unknown model"]
        if let serial = d.serial { parts.append("serial \(serial)") }
        if let hw = d.hardwareRevision { parts.append("hardware \(hw)") }
        if let fw = d.firmware { parts.append("firmware \(fw)") }
        parts.append("\(d.transport) \(d.path)")
        return parts.joined(separator: " · ")
    }

    static func verdictHeading(_ result: String) -> String {
        switch result {
        case "fault": "Fault found"
        case "attention": "Needs attention"
        default: "No fault found"
        }
    }

    // MARK: Sections

    static func faultsSection(_ r: DiagnosticReport) -> String {
        var html = "<section id=\"faults\"><h2>Faults</h2>\n"
        if r.activeFaults.isEmpty {
            html += "<p>No active fault.</p>\n"
        } else {
            html += "<table><thead><tr><th>Status</th><th>Code</th><th>Fault</th><th>Severity</th><th>Count</th><th>First seen</th><th>Last seen</th></tr></thead><tbody>\n"
            for f in r.activeFaults {
                html += "<tr class=\"\(f.status.rawValue)\"><td><span class=\"badge \(f.status.rawValue)\">\(f.status.rawValue)</span></td>"
                    + "<td><code>\(escape(f.code))</code></td><td>\(escape(f.title))</td><td>\(escape(f.severity))</td><td>\(f.count)</td>"
                    + "<td>\(when(f.firstSeen))</td><td>\(when(f.lastSeen))</td></tr>\n"
                let evidence = f.freezeFrame?.evidence
                html += "<tr class=\"detail\"><td></td><td colspan=\"6\">"
                html += "<p>\(escape(f.meaning))</p>"
                if let evidence { html += "<p class=\"evidence\">Evidence: \(escape(evidence))</p>" }
                html += "<p class=\"advice\">→ \(escape(f.advice))</p></td></tr>\n"
            }
            html += "</tbody></table>\n"
        }
        return html + "</section>\n"
    }

    static func actuationsSection(_ r: DiagnosticReport) -> String {
        var html = "<section id=\"motor\"><h2>Motor current per actuation</h2>\n"
        let traced = r.actuations.filter { $0.trace.map { !$0.samplesMilliamps.isEmpty } ?? false }
        if traced.isEmpty {
            return html + "<p>No motor-current trace recorded yet: run <code>lockdiag test \(escape(r.device.id)) motor</code>.</p></section>\n"
        }
        html += "<p>Dashed red: the stall threshold (\(r.thresholds.stallCurrentMilliamps) mA, sustained, and at least "
            + "\(CanonicalJSON.ecmaScript(r.thresholds.stallToRunningRatio))× the running current). A spike above it before the "
            + "bolt's usual travel time is a jam; at the end of travel it is the end stop.</p>\n"
        for a in traced {
            let trace = a.trace!
            let s = a.summary
            let msPerSample = 1000.0 / Double(max(1, trace.sampleRateHz))
            var chart = SVGChart(title: "Actuation \(s.actuation): \(s.direction ?? "move") (\(s.source ?? "unknown source")) — \(s.analysis.replacingOccurrences(of: "_", with: " "))",
                                 xLabel: "time since the motor was energised (ms)", yLabel: "motor current (mA)")
            chart.series = [SVGChart.Series(label: "motor current", color: s.analysis == "normal" ? "#1f6feb" : "#c62828",
                                            points: trace.samplesMilliamps.enumerated().map { (Double($0.offset) * msPerSample, Double($0.element)) })]
            chart.references = [SVGChart.ReferenceLine(y: Double(r.thresholds.stallCurrentMilliamps),
                                                       label: "stall threshold \(r.thresholds.stallCurrentMilliamps) mA", color: "#c62828")]
            if let endStop = s.endStopAtMilliseconds {
                chart.markers = [SVGChart.Marker(x: Double(endStop), label: s.analysis == "stall" ? "jam" : "end stop", color: "#555")]
            }
            chart.yInclude = [0]
            chart.cssClass = "chart motor-trace"
            html += "<figure>\(chart.render())<figcaption>\(escape(s.at)) · \(s.durationMilliseconds) ms · peak \(s.peakCurrentMilliamps) mA · "
                + "running \(s.runningCurrentMilliamps) mA · lock's result: \(escape(s.result ?? "unknown")) · \(trace.samplesMilliamps.count) samples at \(trace.sampleRateHz) Hz</figcaption></figure>\n"
        }
        return html + "</section>\n"
    }

    static func batterySection(_ r: DiagnosticReport) -> String {
        var html = "<section id=\"battery\"><h2>Battery voltage during load</h2>\n"
        let colors = ["#1f6feb", "#8250df", "#bf8700", "#1a7f37", "#cf222e", "#0550ae", "#6e7781", "#953800"]
        let withSamples = r.actuations.filter { $0.battery.count >= 2 }
        if !withSamples.isEmpty {
            var chart = SVGChart(title: "Battery terminal voltage while the motor runs", xLabel: "time since the motor was energised (ms)",
                                 yLabel: "battery (mV)")
            chart.series = withSamples.enumerated().map { i, a in
                SVGChart.Series(label: "actuation \(a.summary.actuation) (\(a.summary.direction ?? "move"))", color: colors[i % colors.count],
                                points: a.battery.map { (Double($0.offsetMilliseconds), Double($0.batteryMillivolts)) })
            }
            chart.cssClass = "chart battery-load"
            html += "<figure>\(chart.render())<figcaption>Readings the daemon polled during each actuation. A healthy pack dips a little "
                + "under the motor's load; a deep dip means high internal resistance (worn, cold or corroded cells).</figcaption></figure>\n"
        }
        var rows: [String] = []
        for a in r.actuations {
            let s = a.summary
            guard let rest = s.batteryRestMillivolts, let loaded = s.batteryLoadedMillivolts else { continue }
            rows.append("<tr><td>actuation \(s.actuation)</td><td>\(when(s.at))</td><td>\(rest)</td><td>\(loaded)</td><td>\(rest - loaded)</td>"
                        + "<td>\(s.runningCurrentMilliamps)</td><td>\(s.internalResistanceMilliohms.map(String.init) ?? "–")</td></tr>")
        }
        for t in r.selfTests where t.test == .battery {
            let m = t.result.measurements
            guard let rest = m.batteryRestMillivolts, let loaded = m.batteryLoadedMillivolts else { continue }
            rows.append("<tr><td>battery self-test</td><td>\(when(t.startedAt))</td><td>\(rest)</td><td>\(loaded)</td><td>\(rest - loaded)</td>"
                        + "<td>\(m.loadCurrentMilliamps.map(String.init) ?? "–")</td><td>\(m.internalResistanceMilliohms.map(String.init) ?? "–")</td></tr>")
        }
        if rows.isEmpty && withSamples.isEmpty {
            return html + "<p>No battery measurement under load recorded yet: run <code>lockdiag test \(escape(r.device.id)) battery</code>.</p></section>\n"
        }
        if !rows.isEmpty {
            html += "<table><thead><tr><th>Load</th><th>When</th><th>At rest (mV)</th><th>Under load (mV)</th><th>Sag (mV)</th>"
                + "<th>Current (mA)</th><th>Internal resistance (mΩ)</th></tr></thead><tbody>\n" + rows.joined(separator: "\n")
                + "\n</tbody></table>\n<p>Internal resistance above \(r.thresholds.wornResistanceMilliohms) mΩ is a worn pack.</p>\n"
        }
        return html + "</section>\n"
    }

    static func timelineSection(_ r: DiagnosticReport) -> String {
        var html = "<section id=\"timeline\"><h2>Fault timeline</h2>\n"
        let events = r.faultHistory
        guard !events.isEmpty else { return html + "<p>This station has recorded no fault event for this lock.</p></section>\n" }
        let times = events.compactMap { APITime.parse($0.at) }
        let end = max(APITime.parse(r.createdAt) ?? 0, times.max() ?? 0)
        let start = min(times.min() ?? end, end)
        let span = Double(max(1, end - start))
        var codes: [String] = []
        for e in events where !codes.contains(e.code) { codes.append(e.code) }
        let titles = Dictionary(events.map { ($0.code, $0.title) }, uniquingKeysWith: { a, _ in a })
        let left = 230.0, right = 20.0, rowHeight = 26.0, top = 30.0
        let width = 760.0, plotWidth = width - left - right
        let height = top + Double(codes.count) * rowHeight + 48
        func px(_ ms: Int64) -> Double { left + Double(ms - start) / span * plotWidth }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        func color(_ status: FaultStatus?) -> String {
            switch status {
            case .confirmed: "#c62828"
            case .pending: "#bf8700"
            case .healed: "#1a7f37"
            case nil: "#6e7781"
            }
        }
        var svg = "<svg class=\"chart fault-timeline\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"Fault timeline\">"
            + "<title>Fault timeline</title>\n"
        svg += "<text x=\"\(n(left))\" y=\"18\" class=\"charttitle\">Status of each fault over time</text>\n"
        for (row, code) in codes.enumerated() {
            let y = top + Double(row) * rowHeight + rowHeight / 2
            svg += "<text x=\"\(n(left - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\" class=\"tick\">\(escape(code)) \(escape(String((titles[code] ?? "").prefix(28))))</text>"
            svg += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotWidth))\" y1=\"\(n(y))\" y2=\"\(n(y))\" stroke=\"#e3e6ea\"/>\n"
            let mine = events.filter { $0.code == code }
            for (i, e) in mine.enumerated() {
                guard let t = APITime.parse(e.at) else { continue }
                let next = i + 1 < mine.count ? (APITime.parse(mine[i + 1].at) ?? end) : end
                if e.event != .cleared {
                    svg += "<rect x=\"\(n(px(t)))\" y=\"\(n(y - 6))\" width=\"\(n(max(1.5, px(next) - px(t))))\" height=\"12\" fill=\"\(color(e.status))\" opacity=\"0.35\"/>"
                }
                let shape = e.event == .cleared
                    ? "<path d=\"M\(n(px(t) - 5)) \(n(y - 5)) L\(n(px(t) + 5)) \(n(y + 5)) M\(n(px(t) - 5)) \(n(y + 5)) L\(n(px(t) + 5)) \(n(y - 5))\" stroke=\"#444\" stroke-width=\"2\"/>"
                    : "<circle cx=\"\(n(px(t)))\" cy=\"\(n(y))\" r=\"5\" fill=\"\(color(e.status))\" stroke=\"#fff\"/>"
                svg += "<g class=\"event\" data-event=\"\(e.event.rawValue)\"><title>\(escape("\(e.at) \(e.code) \(e.event.rawValue)" + (e.clearedBy.map { " by \($0)" } ?? "")))</title>\(shape)</g>\n"
            }
        }
        let axisY = top + Double(codes.count) * rowHeight + 8
        svg += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotWidth))\" y1=\"\(n(axisY))\" y2=\"\(n(axisY))\" stroke=\"#888\"/>"
        // Dates only when the span crosses days; three labels fit any span without overlapping.
        let sameDay = APITime.format(milliseconds: start).prefix(10) == APITime.format(milliseconds: end).prefix(10)
        for i in 0...2 {
            let t = start + Int64(Double(end - start) * Double(i) / 2)
            let full = APITime.format(milliseconds: t).replacingOccurrences(of: "T", with: " ")
            let label = sameDay ? String(full.dropFirst(11).prefix(8)) : String(full.prefix(16))
            svg += "<text x=\"\(n(px(t)))\" y=\"\(n(axisY + 16))\" text-anchor=\"\(i == 0 ? "start" : i == 2 ? "end" : "middle")\" class=\"tick\">\(escape(label)) UTC</text>"
        }
        if sameDay {
            svg += "<text x=\"\(n(left))\" y=\"\(n(axisY + 30))\" class=\"tick\">\(escape(String(APITime.format(milliseconds: start).prefix(10))))</text>"
        }
        svg += "\n</svg>"
        html += "<figure>\(svg)<figcaption>Amber: pending (seen once) · red: confirmed · green: healed · ✕: cleared by a technician. "
            + "Times in UTC.</figcaption></figure>\n"
        html += "<details><summary>All \(events.count) events\(r.faultHistoryTruncated ? " (older ones left out)" : "")</summary><table><thead><tr><th>When</th><th>Code</th><th>Event</th><th>Status after</th><th>Evidence</th></tr></thead><tbody>\n"
        for e in events {
            html += "<tr><td>\(when(e.at))</td><td><code>\(escape(e.code))</code> \(escape(e.title))</td><td>\(e.event.rawValue)\(e.clearedBy.map { " by \(escape($0))" } ?? "")</td>"
                + "<td>\(e.status?.rawValue ?? "–")</td><td>\(escape(e.evidence))</td></tr>\n"
        }
        return html + "</tbody></table></details></section>\n"
    }

    static func selfTestSection(_ r: DiagnosticReport) -> String {
        var html = "<section id=\"selftests\"><h2>Self-tests</h2>\n"
        guard !r.selfTests.isEmpty else {
            return html + "<p>No self-test run at this station yet: <code>lockdiag test \(escape(r.device.id)) all</code>.</p></section>\n"
        }
        html += "<table><thead><tr><th>Test</th><th>When</th><th>Verdict</th><th>Measurements</th><th>Findings</th></tr></thead><tbody>\n"
        for t in r.selfTests {
            let m = t.result.measurements
            var values: [String] = []
            if let v = m.durationMilliseconds { values.append("duration \(v) ms") }
            if let v = m.peakCurrentMilliamps { values.append("peak \(v) mA") }
            if let v = m.runningCurrentMilliamps { values.append("running \(v) mA") }
            if let v = m.endPositionReached { values.append(v ? "end position reached" : "end position not reached") }
            if let v = m.batteryRestMillivolts { values.append("battery at rest \(v) mV") }
            if let v = m.batteryLoadedMillivolts { values.append("under load \(v) mV") }
            if let v = m.loadCurrentMilliamps { values.append("load \(v) mA") }
            if let v = m.internalResistanceMilliohms { values.append("internal resistance \(v) mΩ") }
            if let v = m.imageQuality { values.append("image quality \(v)") }
            html += "<tr><td>\(t.test.rawValue)</td><td>\(when(t.startedAt))</td><td><span class=\"badge \(t.result.verdict.rawValue)\">\(t.result.verdict.rawValue)</span></td>"
                + "<td>\(escape(values.joined(separator: ", ")))</td><td>\(escape(t.result.findings.joined(separator: "; ")))</td></tr>\n"
        }
        return html + "</tbody></table></section>\n"
    }

    static func deviceSection(_ r: DiagnosticReport) -> String {
        let d = r.device
        var html = "<section id=\"device\"><h2>The lock</h2><table class=\"kv\"><tbody>\n"
        func row(_ k: String, _ v: String?) { if let v { html += "<tr><th>\(escape(k))</th><td>\(escape(v))</td></tr>\n" } }
        row("Id", d.id)
        row("Model", d.model)
        row("Serial", d.serial)
        row("Hardware revision", d.hardwareRevision)
        row("Firmware", d.firmware)
        row("Connection", "\(d.transport) \(d.path) (\(d.state))")
        row("First seen at this station", d.firstSeen)
        if let s = r.status {
            row("Bolt / door", "\(s.lock) / \(s.door)")
            // Only what the lock reported: an unknown quantity has no row rather than a 0.
            let battery = [s.battery.voltageMillivolts.map { "\($0) mV" }, s.battery.percent.map { "\($0) %" }, s.battery.band.map { "level \($0)" }]
                .compactMap { $0 }
            row("Battery", battery.isEmpty ? nil : battery.joined(separator: ", "))
            row("Actuations (lock's counter)", s.actuations.map { String($0) })
            if let t = s.temperatureCelsius { row("Temperature", "\(t) °C") }
        }
        html += "</tbody></table>\n"
        if !d.firmwareHistory.isEmpty {
            html += "<h3>Firmware seen</h3><table><thead><tr><th>Version</th><th>First seen</th><th>Last seen</th></tr></thead><tbody>\n"
            for f in d.firmwareHistory {
                html += "<tr><td>\(escape(f.version))</td><td>\(when(f.firstSeen))</td><td>\(when(f.lastSeen))</td></tr>\n"
            }
            html += "</tbody></table>\n"
        }
        return html + "</section>\n"
    }

    static func signatureSection(_ signed: SignedReport) -> String {
        var html = "<section id=\"signature\"><h2>Signature</h2>\n"
        html += "<p>Signed by the diagnostic station <strong>\(escape(signed.report.station.host))</strong> with its Ed25519 key "
            + "<code>\(escape(signed.signature.keyFingerprint))</code> when the report was made. This page is rendered from the signed "
            + "report it carries (renderer \(escape(signed.report.htmlRenderer ?? ""))): changing anything on it breaks the signature.</p>\n"
        html += "<p>To check it yourself: <code>lockdiag verify THIS-FILE --key \(escape(signed.signature.publicKey))</code> "
            + "(no daemon needed; the key must be the station's, which <code>lockdiag key</code> shows on the station).</p>\n"
        let t = signed.report.thresholds
        html += "<p class=\"meta\">Thresholds: stall \(t.stallCurrentMilliamps) mA, overcurrent \(t.overcurrentMilliamps) mA, open circuit below "
            + "\(t.openCircuitMaxMilliamps) mA, worn battery above \(t.wornResistanceMilliohms) mΩ, battery low below \(t.batteryLowPercent) %, "
            + "critical below \(t.batteryCriticalPercent) %.</p>\n"
        return html + "</section>\n"
    }

    static let css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;max-width:980px;margin:24px auto;padding:0 16px}
        h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
        .meta{color:#59636e;font-size:13px}table{border-collapse:collapse;width:100%;font-size:14px}
        th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}th{background:#f6f8fa}
        tr.detail td{border-bottom:2px solid #d0d7de}.advice{font-weight:600}.evidence{color:#59636e}
        .verdict{border-radius:8px;padding:10px 16px;margin:16px 0}.verdict h2{border:0;margin:4px 0}
        .verdict.fault{background:#ffebe9;border:1px solid #c62828}.verdict.attention{background:#fff8c5;border:1px solid #bf8700}
        .verdict.ok{background:#dafbe1;border:1px solid #1a7f37}
        .badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;color:#fff;background:#6e7781}
        .badge.confirmed,.badge.fail{background:#c62828}.badge.pending,.badge.aborted{background:#bf8700}.badge.healed,.badge.pass{background:#1a7f37}
        figure{margin:12px 0}figcaption{color:#59636e;font-size:13px}svg{max-width:100%;height:auto}
        svg text{font-family:system-ui,sans-serif}.tick{font-size:11px;fill:#59636e}.axis{font-size:12px;fill:#1f2328}
        .charttitle{font-size:13px;font-weight:600;fill:#1f2328}.reflabel{font-size:11px}.legend{font-size:11px;fill:#1f2328}
        .valid{color:#1a7f37;font-weight:600}.invalid{color:#c62828;font-weight:700}code{font-size:13px;word-break:break-all}
        table.kv th{width:220px}.when{white-space:nowrap}
        @media print{body{margin:0}section{break-inside:avoid}}
        """
}

/// Why a page cannot be rendered from a signed report.
public enum ReportPageError: Error, Sendable, Equatable, CustomStringConvertible {
    case noRenderer
    case unknownRenderer(String)
    case notEncodable(String)

    public var description: String {
        switch self {
        case .noRenderer:
            "the signed report names no html_renderer (it was made before pages could be checked) — check the JSON report instead, or make a new report"
        case .unknownRenderer(let version):
            "the signed report was made for the page renderer \(version), which this lockdiag cannot render (it renders \(ReportHTML.versions.joined(separator: ", "))) — check it with a newer lockdiag"
        case .notEncodable(let reason): "the report cannot be encoded: \(reason)"
        }
    }
}

/// Where a page differs from the page its signed report renders to.
public struct PageDifference: Sendable, Equatable, CustomStringConvertible {
    /// The byte offset (from 0) of the first byte that differs.
    public var offset: Int
    /// Line and column (from 1, the column in bytes) of that byte in the file.
    public var line: Int
    public var column: Int
    /// The file's text around the difference, and what the signed report renders there (a line
    /// break shown as `\n`).
    public var found: String
    public var expected: String

    public var description: String {
        "the page differs from the page its signed report renders to at line \(line), column \(column) (byte \(offset)): "
            + "the file has \"\(found)\" where the signed report renders \"\(expected)\""
    }
}
