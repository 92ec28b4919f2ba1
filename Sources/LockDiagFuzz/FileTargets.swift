import BenchKit
import Foundation
import LockDiagAPI
import Reports

extension FuzzTarget {
    /// A bench test plan as `lockdiag bench run` reads it: any text.
    static let benchPlan = FuzzTarget(
        name: "bench-plan",
        summary: "Bench test plan files (any bytes, as `lockdiag bench` reads them): a plan, or issues each with a reason and, where given, a line within the text (YAML's line breaks: LF, CR, CRLF, NEL, LS, PS); never a trap."
    ) { input in
        let lines = yamlLineCount(String(decoding: input, as: UTF8.self))
        do {
            let plan = try PlanParser.parse(bytes: [UInt8](input))
            return plan.steps.isEmpty ? ["a plan without steps was accepted"] : []
        } catch let error as PlanError {
            var findings: [String] = []
            if error.issues.isEmpty { findings.append("a refused plan came with no issue") }
            for issue in error.issues {
                if issue.message.isEmpty { findings.append("an issue without a reason") }
                if let line = issue.line, !(1...max(1, lines + 1)).contains(line) { findings.append("issue at line \(line) of a \(lines)-line text") }
            }
            return findings
        } catch {
            return ["an untyped error: \(error)"]
        }
    }

    /// Lines as libyaml counts them (YAML 1.1 §5.4: CR LF, CR, LF, NEL, LS and PS break lines).
    static func yamlLineCount(_ text: String) -> Int {
        var count = 1
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n" where previous == "\r": break
            case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": count += 1
            default: break
            }
            previous = scalar
        }
        return count
    }

    /// A report file handed to `lockdiag verify`: any bytes, or a genuine signed report (JSON or
    /// its HTML page) with bytes overwritten where the input says.
    static let reportVerify = FuzzTarget(
        name: "report-verify",
        summary: "lockdiag verify on any file, and on a genuine signed report or commissioning certificate (JSON or HTML) with bytes overwritten where the input says: valid only when the report read back is exactly the one signed (and a page only when it is the page, byte for byte)."
    ) { input in
        var reader = FuzzReader(input)
        let mode = reader.u8() % 5
        guard mode != 0 else {
            let verification = ReportVerifier.verify(fileBytes: [UInt8](reader.rest()))
            return verification.valid && ((verification.report == nil && verification.certificate == nil) || verification.fingerprint == nil)
                ? ["valid without a report or a fingerprint"] : []
        }
        // 3 and 4: a commissioning certificate (CommissioningTargets.swift).
        if mode >= 3 { return alteredCertificateFindings(&reader, page: mode == 4) }
        guard let sample = SignedSample.shared else { return ["cannot sign the sample report"] }
        var file = mode == 1 ? sample.json : sample.html
        while !reader.isAtEnd && !file.isEmpty {
            let position = Int(reader.u16()) % file.count
            file[position] = reader.u8()
        }
        let verification = ReportVerifier.verify(fileBytes: file, trusted: reader.remaining % 2 == 0 ? .none : .key(sample.publicKey))
        guard verification.valid else { return [] }
        // A page is checked as a whole: valid only when it is the page, byte for byte.
        if mode == 2 && file != sample.html { return ["an altered page verified as valid"] }
        return verification.report == sample.report ? [] : ["an altered report verified as valid"]
    }
}

/// A report signed once per process with a key of its own, for `report-verify` to alter.
struct SignedSample: Sendable {
    let report: DiagnosticReport
    let publicKey: PublicKeyText
    let json: [UInt8]
    let html: [UInt8]

    static let shared: SignedSample? = {
        let directory = NSTemporaryDirectory() + "lockdiag-fuzz-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let key = try? StationKey.create(path: directory + "/station.key") else { return nil }
        let fault = Fault(device: "LX3-000123", code: "0x0101", name: "motor_stall", title: "Motor stall / jammed bolt", category: "motor",
                          severity: "error", status: .confirmed, source: "host", count: 2, firstSeen: "2026-11-28T09:00:00.000Z",
                          lastSeen: "2026-11-28T09:00:01.000Z", freezeFrame: nil, meaning: "The bolt did not reach its end position.",
                          advice: "Check the strike plate.")
        let report = DiagnosticReport(
            reportID: "fuzz", createdAt: "2026-11-28T09:05:00.000Z",
            station: ReportStation(host: "bench", software: "lockdiagd", keyFingerprint: key.publicKey.fingerprint),
            device: ReportDevice(id: "LX3-000123", serial: "LX3-000123", model: "LX-300", hardwareRevision: "C", firmware: "2.4.1",
                                 transport: "serial", path: "/dev/ttyACM0", state: "online", firstSeen: "2026-11-01T08:00:00.000Z",
                                 firmwareHistory: []),
            verdict: ReportVerdict.judge(faults: [fault], selfTests: []), status: nil, activeFaults: [fault], faultHistory: [],
            faultHistoryTruncated: false, selfTests: [],
            actuations: [ReportActuation(summary: ActuationSummary(
                actuation: 1, direction: "lock", source: "selftest", result: "stalled", durationMilliseconds: 420, peakCurrentMilliamps: 1480,
                runningCurrentMilliamps: 190, batteryRestMillivolts: 6010, batteryLoadedMillivolts: 5720, internalResistanceMilliohms: 1526,
                endStopAtMilliseconds: 312, analysis: "stall", samples: 4, sampleRateHz: 1000, at: "2026-11-28T09:00:01.000Z"),
                trace: MotorTrace(actuation: 1, sampleRateHz: 1000, samplesMilliamps: [900, 190, 1480, 1200]), battery: [])],
            thresholds: ReportThresholds(stallCurrentMilliamps: 700, stallToRunningRatio: 2.5, overcurrentMilliamps: 2500,
                                         openCircuitMaxMilliamps: 40, wornResistanceMilliohms: 1200, batteryLowPercent: 20,
                                         batteryCriticalPercent: 5))
        guard let signed = try? ReportSigner.sign(report, with: key), let json = try? ReportSigner.fileBytes(signed),
              let html = try? ReportHTML.render(signed) else { return nil }
        return SignedSample(report: report, publicKey: key.publicKey, json: json, html: Array(html.utf8))
    }()
}
