import Foundation
import LockDiagAPI
import LockJSON

/// A commissioning certificate as one self-contained HTML page: the verdict, each step's
/// measurements against their limits, and the door-open and door-closed motor-current traces
/// plotted over each other. Like a report's page it carries its signed JSON and is a pure
/// function of it, so `lockdiag verify` checks the page byte for byte.
public enum CommissioningHTML {
    /// This renderer's version, signed into every certificate as `html_renderer`.
    public static let version = "lockdiag-commissioning-html/1"

    public static func render(_ signed: SignedCommissioningCertificate) throws(ReportPageError) -> String {
        let c = signed.report
        guard c.htmlRenderer == version else { throw .unknownRenderer(c.htmlRenderer) }
        let canonical: [UInt8]
        do { canonical = try CanonicalJSON.bytes(of: signed) } catch { throw .notEncodable("\(error)") }
        // As in ReportHTML: `<` only occurs inside JSON strings, where `\u003c` is the same text.
        let embedded = String(decoding: canonical, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
        let e = ReportHTML.escape
        let title = "Commissioning certificate — \(c.device.id)"
        var html = ReportHTML.pageHead(title) + """
            <p class="meta">\(e(ReportHTML.deviceLine(c.device))) · certificate \(e(c.certificateID)) · made \(e(c.createdAt)) \
            by \(e(c.station.host)) (\(e(c.station.software))) · limits: \(e(c.limitsModel))</p>
            </header>
            <section class="verdict \(c.verdict == .pass ? "ok" : "fault")" id="verdict">
            <h2>\(c.verdict == .pass ? "Commissioned" : "Not commissioned")</h2>
            <p>\(e(c.summary))</p>
            </section>

            """
        html += stepsSection(c)
        html += tracesSection(c)
        html += partsSection(c)
        html += "<section id=\"signature\"><h2>Signature</h2>\n<p>Signed by the diagnostic station <strong>\(e(c.station.host))</strong> "
            + "with its Ed25519 key <code>\(e(signed.signature.keyFingerprint))</code>. This page is rendered from the signed certificate "
            + "it carries (renderer \(e(c.htmlRenderer))): changing anything on it breaks the signature.</p>\n"
            + "<p>To check it yourself: <code>lockdiag verify THIS-FILE --key \(e(signed.signature.publicKey))</code>.</p>\n</section>\n"
        html += "\(ReportHTML.scriptOpen)\(embedded)\(ReportHTML.scriptClose)\n</body>\n</html>\n"
        return html
    }

    static func number(_ value: Double?) -> String { value.map { CanonicalJSON.ecmaScript($0) } ?? "—" }

    static func stepsSection(_ c: CommissioningCertificate) -> String {
        let e = ReportHTML.escape
        var html = "<section id=\"steps\"><h2>Steps</h2>\n<table><thead><tr><th>step</th><th>measurement</th><th>value</th>"
            + "<th>limit</th><th>verdict</th><th>evidence</th></tr></thead><tbody>\n"
        for step in c.steps {
            for m in step.measurements {
                let limit = m.limit.map { "\(m.bound == .min ? "≥" : "≤") \(number($0))" } ?? "—"
                html += "<tr><td>\(e(step.step))</td><td>\(e(m.name))</td><td>\(e(number(m.value))) \(e(m.unit))</td><td>\(e(limit))</td>"
                    + "<td>\(e(m.verdict.rawValue))</td><td>\(e(m.evidence))</td></tr>\n"
            }
        }
        html += "</tbody></table>\n"
        for step in c.steps {
            for (fault, advice) in zip(step.faults, step.advice) { html += "<p><strong>\(e(fault))</strong>: \(e(advice))</p>\n" }
        }
        return html + "</section>\n"
    }

    /// One chart per direction: every door-open throw in blue, every door-closed one in red.
    static func tracesSection(_ c: CommissioningCertificate) -> String {
        let traced = c.steps.flatMap(\.actuations).filter { $0.trace.map { !$0.samplesMilliamps.isEmpty } ?? false }
        var html = "<section id=\"motor\"><h2>Motor current: door open (free-running) and door closed</h2>\n"
        guard !traced.isEmpty else { return html + "<p>No motor-current trace was recorded.</p></section>\n" }
        html += "<p>Blue: door open, the bolt runs free. Red: door closed, the bolt goes into the keep. A red trace rising above the "
            + "blue one over the last \(Int(CommissioningLayout.endFraction * 100)) % of the travel is the bolt rubbing on the keep; "
            + "a red trace ending early is a short throw.</p>\n"
        for direction in ["lock", "unlock"] {
            let mine = traced.filter { $0.summary.direction == direction }
            guard !mine.isEmpty else { continue }
            var chart = SVGChart(title: "\(direction == "lock" ? "Locking" : "Unlocking") throws", xLabel: "time since the motor was energised (ms)",
                                 yLabel: "motor current (mA)")
            chart.series = mine.map { a in
                let trace = a.trace!
                let msPerSample = 1000.0 / Double(max(1, trace.sampleRateHz))
                return SVGChart.Series(label: "door \(a.door), actuation \(a.summary.actuation)", color: a.door == "open" ? "#1f6feb" : "#c62828",
                                       points: trace.samplesMilliamps.enumerated().map { (Double($0.offset) * msPerSample, Double($0.element)) },
                                       dashed: a.summary.result != "reached")
            }
            chart.yInclude = [0]
            chart.cssClass = "chart motor-trace"
            let captions = mine.map { a in
                "door \(a.door): \(a.summary.durationMilliseconds) ms, \(a.summary.result ?? "unknown")"
                    + (a.endOfTravelRatio.map { ", end of travel \(Int(($0 * 100).rounded())) % of running" } ?? "")
            }
            html += "<figure>\(chart.render())<figcaption>\(ReportHTML.escape(captions.joined(separator: " · ")))</figcaption></figure>\n"
        }
        return html + "</section>\n"
    }

    static func partsSection(_ c: CommissioningCertificate) -> String { c.parts?.htmlSection(device: c.device.id) ?? "" }
}

/// The share of the travel the end-of-travel comparison reads (LockDaemon's `EndOfTravelProfile`
/// uses the same), named here for the page's legend.
public enum CommissioningLayout {
    public static let endFraction = 0.20
}
