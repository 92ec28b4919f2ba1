import Foundation

/// A small line chart drawn as inline SVG: axes with round ticks, polylines, labelled reference
/// lines. No scripts, no fonts to fetch: it renders the same in any browser and on paper.
struct SVGChart {
    struct Series {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
        var dashed = false
    }

    struct ReferenceLine {
        var y: Double
        var label: String
        var color: String
    }

    struct Marker {
        var x: Double
        var label: String
        var color: String
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series] = []
    var references: [ReferenceLine] = []
    var markers: [Marker] = []
    var width = 680.0
    var height = 240.0
    /// Forces the y axis to include this range (a threshold above every sample stays visible).
    var yInclude: [Double] = []
    var cssClass = "chart"

    static func niceStep(_ range: Double, targetTicks: Int = 5) -> Double {
        guard range > 0 && range.isFinite else { return 1 }
        let raw = range / Double(targetTicks)
        let magnitude = pow(10, floor(log10(raw)))
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where raw <= factor * magnitude { return factor * magnitude }
        return 10 * magnitude
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e9 { return String(Int(value)) }
        return String(format: "%.1f", value)
    }

    func render() -> String {
        // With several series the legend goes under the axis, one row of up to three entries per 16 px.
        let legendRows = series.count > 1 ? (series.count + 2) / 3 : 0
        let height = self.height + Double(legendRows) * 16
        let left = 64.0, right = 16.0, top = 28.0, bottom = 44.0 + Double(legendRows) * 16
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) } + markers.map(\.x)
        let ys = series.flatMap { $0.points.map(\.y) } + references.map(\.y) + yInclude
        var xMin = xs.min() ?? 0, xMax = xs.max() ?? 1
        var yMin = ys.min() ?? 0, yMax = ys.max() ?? 1
        if xMax <= xMin { xMax = xMin + 1 }
        if yMax <= yMin { yMax = yMin + 1 }
        let yStep = Self.niceStep(yMax - yMin)
        yMin = floor(yMin / yStep) * yStep
        yMax = ceil(yMax / yStep) * yStep
        if yMax <= yMin { yMax = yMin + yStep }
        let xStep = Self.niceStep(xMax - xMin, targetTicks: 6)
        xMin = floor(xMin / xStep) * xStep
        xMax = ceil(xMax / xStep) * xStep
        if xMax <= xMin { xMax = xMin + xStep }
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (y - yMin) / (yMax - yMin) * plotHeight }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }

        var svg = """
            <svg class="\(cssClass)" viewBox="0 0 \(Int(width)) \(Int(height))" \
            width="\(Int(width))" height="\(Int(height))" role="img" aria-label="\(ReportHTML.escape(title))">
            <title>\(ReportHTML.escape(title))</title>
            <rect x="\(n(left))" y="\(n(top))" width="\(n(plotWidth))" height="\(n(plotHeight))" fill="#fcfcfd" stroke="#c8ccd2"/>

            """
        var y = yMin
        while y <= yMax + yStep / 2 {
            svg += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotWidth))\" y1=\"\(n(py(y)))\" y2=\"\(n(py(y)))\" stroke=\"#e3e6ea\"/>"
            svg += "<text x=\"\(n(left - 6))\" y=\"\(n(py(y) + 4))\" text-anchor=\"end\" class=\"tick\">\(Self.format(y))</text>\n"
            y += yStep
        }
        var x = xMin
        while x <= xMax + xStep / 2 {
            svg += "<line x1=\"\(n(px(x)))\" x2=\"\(n(px(x)))\" y1=\"\(n(top + plotHeight))\" y2=\"\(n(top + plotHeight + 4))\" stroke=\"#888\"/>"
            svg += "<text x=\"\(n(px(x)))\" y=\"\(n(top + plotHeight + 16))\" text-anchor=\"middle\" class=\"tick\">\(Self.format(x))</text>\n"
            x += xStep
        }
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(top + plotHeight + 34))\" text-anchor=\"middle\" class=\"axis\">\(ReportHTML.escape(xLabel))</text>\n"
        svg += "<text x=\"14\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" class=\"axis\" transform=\"rotate(-90 14 \(n(top + plotHeight / 2)))\">\(ReportHTML.escape(yLabel))</text>\n"
        svg += "<text x=\"\(n(left))\" y=\"18\" class=\"charttitle\">\(ReportHTML.escape(title))</text>\n"
        for reference in references {
            svg += "<line class=\"threshold\" x1=\"\(n(left))\" x2=\"\(n(left + plotWidth))\" y1=\"\(n(py(reference.y)))\" y2=\"\(n(py(reference.y)))\" stroke=\"\(reference.color)\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
            svg += "<text x=\"\(n(left + plotWidth - 4))\" y=\"\(n(py(reference.y) - 5))\" text-anchor=\"end\" class=\"reflabel\" fill=\"\(reference.color)\">\(ReportHTML.escape(reference.label))</text>\n"
        }
        for marker in markers {
            svg += "<line x1=\"\(n(px(marker.x)))\" x2=\"\(n(px(marker.x)))\" y1=\"\(n(top))\" y2=\"\(n(top + plotHeight))\" stroke=\"\(marker.color)\" stroke-dasharray=\"2 3\"/>"
            svg += "<text x=\"\(n(px(marker.x) + 4))\" y=\"\(n(top + 12))\" class=\"reflabel\" fill=\"\(marker.color)\">\(ReportHTML.escape(marker.label))</text>\n"
        }
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let points = s.points.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" data-series=\"\(ReportHTML.escape(s.label))\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\""
                + (s.dashed ? " stroke-dasharray=\"4 3\"" : "") + " points=\"\(points)\"/>\n"
            if series.count > 1 {
                let lx = left + Double(i % 3) * (plotWidth / 3)
                let ly = top + plotHeight + 54 + Double(i / 3) * 16
                svg += "<line x1=\"\(n(lx))\" x2=\"\(n(lx + 18))\" y1=\"\(n(ly - 4))\" y2=\"\(n(ly - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"/>"
                svg += "<text x=\"\(n(lx + 22))\" y=\"\(n(ly))\" class=\"legend\">\(ReportHTML.escape(s.label))</text>\n"
            }
        }
        svg += "</svg>"
        return svg
    }
}
