import ArgumentParser
import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagCLI
import LockJSON
import Reports

extension LockDiag {
    struct Commission: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Commission a newly installed lock, step by step, and sign its certificate.",
            usage: "lockdiag commission <device> [--yes] [-o <path>] [<options>]",
            discussion: """
                Says on the terminal what to do at each step (open the door, close it, present a finger) \
                and waits for the lock's own sensors to show it was done (up to --wait seconds each). \
                The bolt is thrown both ways with the door open (its free-running profile) and closed; \
                the current near the end of travel, the throw time, the battery under load, the \
                fingerprint image quality, the firmware and the controller's clock are judged against \
                the limits for the lock's model (firmware-specs/commissioning.json). lockdiagd judges \
                and signs; the certificate (-o JSON, --html page) verifies with `lockdiag verify`. \
                --yes: no questions (bench rigs); the sensor waits still apply. Needs the technician \
                role. Exits 0 when commissioned, 2 when a step failed, 4 when it could not run (door \
                never seen open or closed, lock offline or busy), 3 when lockdiagd is unreachable.
                """)

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or a serial number or path only one lock has).")
        var device: String

        @Flag(name: [.customShort("y"), .long], help: "Confirm the bolt may be thrown, and ask nothing (bench rigs, scripts).")
        var yes = false

        @Option(name: .long, help: ArgumentHelp("How long each step waits for the installer (5–900 s, default \(CommissionStartParams.defaultWaitSeconds)).",
                                                valueName: "seconds"))
        var wait: Int?

        @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write the signed certificate (JSON) here.", valueName: "path"))
        var output: String?

        @Option(name: .long, help: ArgumentHelp("Write the certificate as a self-contained HTML page here.", valueName: "path"))
        var html: String?

        func validate() throws {
            if let wait, !CommissionStartParams.waitRange.contains(wait) {
                throw ValidationError("--wait must be \(CommissionStartParams.waitRange.lowerBound)…\(CommissionStartParams.waitRange.upperBound) seconds, not \(wait)")
            }
        }

        func run() throws {
            try perform { () throws(CLIError) in try commission() }
        }

        private func commission() throws(CLIError) -> ExitStatus {
            let interactive = !yes
            if interactive {
                guard isatty(0) == 1 else {
                    throw CLIError(status: .usage, message: "commissioning throws the bolt of \(device) (it locks and unlocks the door several times); "
                                   + "add --yes to confirm nobody and nothing is in its way")
                }
                Output.write(2, "Commissioning throws the bolt of \(device) several times. Is its way clear? [y/N] ")
                let answer = (readLine() ?? "").trimmingCharacters(in: .whitespaces).lowercased()
                guard answer == "y" || answer == "yes" else { throw CLIError(status: .failure, message: "not confirmed; nothing was sent to \(device)") }
            }
            let session = try Session(options)
            let waitSeconds = wait ?? CommissionStartParams.defaultWaitSeconds
            var progress = try session.call(APIMethod.commissionStart, params: CommissionStartParams(device: device, waitSeconds: waitSeconds),
                                            as: CommissionProgress.self).value
            let human = !options.json
            if human { Output.out("Commissioning \(progress.device) (limits: \(progress.limitsModel))") }
            var number = 0
            while let next = progress.next {
                number += 1
                if human {
                    let waiting = next.waitSeconds.map { " (waiting up to \($0) s for the lock's sensors)" } ?? ""
                    Output.out("\n[\(number)] \(next.instruction)\(waiting)")
                }
                if interactive, next.movesBolt {
                    Output.write(2, "Press Enter to throw the bolt (Ctrl-C stops here) ")
                    _ = readLine()
                }
                // Throws take about a second each; a wait for the installer takes up to its deadline.
                let timeout = options.timeout ?? Double(next.waitSeconds ?? 0) + 60
                progress = try session.call(APIMethod.commissionStep, params: CommissionSessionParams(session: progress.session),
                                            as: CommissionProgress.self, timeout: timeout).value
                if human, let result = progress.result { Output.out(CommissionRenderer.render(result)) }
            }
            let reply = try session.call(APIMethod.commissionFinish, params: CommissionSessionParams(session: progress.session),
                                         as: SignedCommissioningCertificate.self, timeout: max(options.callTimeout, 30))
            let bytes = CanonicalJSON.bytes(reply.raw) + [0x0A]
            let verification = ReportVerifier.verify(fileBytes: bytes)
            guard verification.valid else {
                throw CLIError(status: .failure, message: "lockdiagd's certificate does not verify (\(verification.reason)) — nothing written")
            }
            if options.json { Output.out(TerminalText.inertJSON(String(decoding: bytes.dropLast(), as: UTF8.self))) }
            if let output { try LockDiag.Report.writeFile(output, bytes) }
            if let html {
                let page: [UInt8]
                // From the signed bytes, not `reply.value`, whose strings are cleaned for the terminal.
                do { page = Array(try CommissioningHTML.render(JSONValue(parsing: bytes).decode(as: SignedCommissioningCertificate.self)).utf8) } catch {
                    throw CLIError(status: .failure, message: "cannot render the HTML certificate: \(error)")
                }
                let checked = ReportVerifier.verify(fileBytes: page)
                guard checked.valid else { throw CLIError(status: .failure, message: "the HTML page does not verify (\(checked.reason)) — \(html) not written") }
                try LockDiag.Report.writeFile(html, page)
            }
            let c = reply.value.report
            let written = [output, html].compactMap { $0 }
            let text = "\n\(c.verdict == .pass ? "COMMISSIONED" : "NOT COMMISSIONED"): \(c.summary)\ncertificate \(c.certificateID), signed by "
                + "\(c.station.host) (key \(reply.value.signature.keyFingerprint))" + (written.isEmpty ? "" : "; written to \(written.joined(separator: " and "))")
            if human { Output.out(text) } else { Output.err(text) }
            return c.verdict == .pass ? .ok : .faultsPresent
        }
    }
}
