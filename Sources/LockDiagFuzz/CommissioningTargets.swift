import Foundation
import LockDaemon
import LockDiagAPI
import LockJSON
import Reports

extension FuzzTarget {
    /// A commissioning limits file (`lockdiagd --commissioning-limits`): any bytes.
    static let commissioningLimits = FuzzTarget(
        name: "commissioning-limits",
        summary: "Commissioning limits files (any bytes, as lockdiagd --commissioning-limits reads them): limits with a default and every value in its range, or a typed error naming the file and what to fix; never a trap."
    ) { input in
        do throws(CommissioningLimitsError) {
            let limits = try CommissioningLimits.parse([UInt8](input), path: "fuzz.json")
            var findings: [String] = []
            if limits.models["default"] == nil { findings.append("limits without a default were accepted") }
            for (model, l) in limits.models {
                if !(1.0...5.0).contains(l.maxEndOfTravelRise) || !(100...3000).contains(l.maxThrowMilliseconds)
                    || !(1...10).contains(l.presentations) || !(1...5).contains(l.throwCycles) || !(0...100).contains(l.minImageQuality) {
                    findings.append("model \(model) accepted with a value out of its range")
                }
            }
            return findings
        } catch {
            let text = error.description
            return text.hasPrefix("commissioning limits fuzz.json: ") && text.count > 40 ? [] : ["an error that does not say where or what: \(text)"]
        }
    }

    /// `report-verify` modes 3 and 4: the sample certificate (JSON or page) with bytes overwritten
    /// where the input says; valid only when what is read back is exactly what was signed.
    static func alteredCertificateFindings(_ reader: inout FuzzReader, page: Bool) -> [String] {
        guard let sample = SignedCertificateSample.shared else { return ["cannot sign the sample certificate"] }
        var file = page ? sample.html : sample.json
        while !reader.isAtEnd && !file.isEmpty {
            let position = Int(reader.u16()) % file.count
            file[position] = reader.u8()
        }
        let verification = ReportVerifier.verify(fileBytes: file)
        guard verification.valid else { return [] }
        if page && file != sample.html { return ["an altered certificate page verified as valid"] }
        return verification.certificate == sample.certificate ? [] : ["an altered certificate verified as valid"]
    }
}

/// A commissioning certificate signed once per process, for `report-verify` to alter.
struct SignedCertificateSample: Sendable {
    let certificate: CommissioningCertificate
    let json: [UInt8]
    let html: [UInt8]

    static let shared: SignedCertificateSample? = {
        let directory = NSTemporaryDirectory() + "lockdiag-fuzz-certificate-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let key = try? StationKey.create(path: directory + "/station.key") else { return nil }
        let summary = ActuationSummary(
            actuation: 7, direction: "lock", source: "host", result: "reached", durationMilliseconds: 810, peakCurrentMilliamps: 1490,
            runningCurrentMilliamps: 250, batteryRestMillivolts: 6100, batteryLoadedMillivolts: 5850, internalResistanceMilliohms: nil,
            endStopAtMilliseconds: 790, analysis: "normal", samples: 6, sampleRateHz: 1000, at: "2026-12-05T09:00:01.000Z")
        let step = CommissionStepResult(
            step: "throws_door_closed", verdict: .fail,
            measurements: [CommissionMeasurement(name: "end_of_travel_rise", value: 1.372, unit: "× free-running", limit: 1.2, bound: .max,
                                                 verdict: .fail, evidence: "rub <keep> & \"edge\"")],
            faults: ["strike_misaligned"], advice: ["Move the strike plate."],
            actuations: [CommissionActuation(door: "closed", summary: summary,
                                             trace: MotorTrace(actuation: 7, sampleRateHz: 1000, samplesMilliamps: [1400, 250, 260, 380, 1200, 1490]),
                                             endOfTravelRatio: 1.46)])
        guard let limits = try? JSONValue(encoding: CommissioningLimits.builtIn().limits(for: "LX-300").limits) else { return nil }
        let certificate = CommissioningCertificate(
            certificateID: "fuzz", createdAt: "2026-12-05T09:05:00.000Z",
            station: ReportStation(host: "bench", software: "lockdiagd", keyFingerprint: key.publicKey.fingerprint),
            device: ReportDevice(id: "LX3-000123", serial: "LX3-000123", model: "LX-300", hardwareRevision: "C", firmware: "2.4.1",
                                 transport: "serial", path: "/dev/ttyACM0", state: "online", firstSeen: nil, firmwareHistory: []),
            limitsModel: "LX-300", limits: limits, steps: [step])
        guard let signed = try? ReportSigner.sign(certificate, with: key), let json = try? ReportSigner.fileBytes(signed),
              let html = try? CommissioningHTML.render(signed) else { return nil }
        return SignedCertificateSample(certificate: certificate, json: json, html: Array(html.utf8))
    }()
}
