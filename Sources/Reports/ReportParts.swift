import LockDiagAPI

/// The genuine-part section of a signed report (firmware-specs/ldp-v1.md §6.9): every accessory
/// the lock listed and the station's verdict. Diagnostic reports and commissioning certificates
/// both carry it, under the JSON key `parts`, and render it with `ReportParts.htmlSection`.
public struct ReportParts: Codable, Sendable, Equatable {
    /// When the station last checked the parts; nil when it never could.
    public var checkedAt: String?
    public var parts: [PartStatus]
    /// Why the parts could not be checked (older firmware, no answer), when they could not.
    public var problem: String?
    /// `genuine` (every part), `not_genuine` (at least one part failed) or `not_checked`.
    public var result: String

    public init(checkedAt: String?, parts: [PartStatus], problem: String?) {
        self.checkedAt = checkedAt
        self.parts = parts
        self.problem = problem
        result = problem != nil || checkedAt == nil ? "not_checked"
            : parts.allSatisfy(\.isGenuine) ? "genuine" : "not_genuine"
    }

    /// The section of `device.parts`' last result; `notCheckedBecause` when there is none.
    public init(_ result: PartsResult?, notCheckedBecause reason: String) {
        if let result {
            self.init(checkedAt: result.checkedAt, parts: result.parts, problem: result.problem)
        } else {
            self.init(checkedAt: nil, parts: [], problem: reason)
        }
    }

    enum CodingKeys: String, CodingKey {
        case parts, problem, result
        case checkedAt = "checked_at"
    }

    /// The page's section: a table of parts with a badge per verdict, and the evidence of each
    /// part that is not genuine.
    public func htmlSection(device: String) -> String {
        let e = ReportHTML.escape
        var html = "<section id=\"parts\"><h2>Genuine parts</h2>\n"
        if let problem { html += "<p class=\"advice\">Not checked: \(e(problem))</p>\n" }
        if let checkedAt { html += "<p class=\"meta\">Checked \(ReportHTML.when(checkedAt)) against the station's trusted maker roots.</p>\n" }
        guard !parts.isEmpty else { return html + "</section>\n" }
        html += "<table><thead><tr><th>Part</th><th>Serial</th><th>Verdict</th><th>Valid until</th><th>Evidence</th></tr></thead><tbody>\n"
        for p in parts {
            let badge = p.isGenuine ? "pass" : p.verdict == "unverified" ? "pending" : "fail"
            html += "<tr><td>\(e(p.kind.replacingOccurrences(of: "_", with: " ")))</td><td>\(e(p.serial))</td>"
                + "<td><span class=\"badge \(badge)\">\(e(p.verdict.replacingOccurrences(of: "_", with: " ")))</span></td>"
                + "<td>\(e(p.validUntil ?? "—"))</td><td class=\"evidence\">\(e(p.evidence))</td></tr>\n"
        }
        html += "</tbody></table>\n"
        if result == "not_genuine" {
            html += "<p class=\"advice\">Replace each part that is not genuine with one from the maker and check again: "
                + "<code>lockdiag parts \(e(device))</code>.</p>\n"
        }
        return html + "</section>\n"
    }
}
