import ArgumentParser
import Foundation
import JSONRPC
import LockJSON
import LockDiagAPI
import LockDiagCLI
import Reports

extension LockDiag {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a signed diagnostic report on a lock: JSON (-o) and/or a self-contained HTML page (--html).",
            usage: "lockdiag report <device> [--output <path>] [--html <path>] [<options>]",
            discussion: """
                lockdiagd builds the report from the lock's readings, its active faults, its fault history and the latest \
                self-tests with their motor-current traces and battery measurements, and signs it with the station's \
                Ed25519 key. This command checks the signature, then writes the files. The JSON file is the signed report \
                in canonical form (docs/reports.md); the HTML page carries the same signed JSON, plots of the motor current \
                per actuation (stall threshold drawn in), the battery voltage under load and the fault timeline, and \
                fetches nothing. Anyone can check either file with `lockdiag verify FILE --key PUBLIC-KEY` (no daemon). \
                Signing needs the technician role (group lockdiag-admin, or root).

                Run `lockdiag test DEVICE all` first so the report carries fresh measurements.
                Exits 2 when the report shows a confirmed fault. --json prints the signed report on stdout.
                """)

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or one the history knows).")
        var device: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Write the signed report (JSON) here; - for stdout.", valueName: "path"))
        var output: String?

        @Option(name: .long, help: ArgumentHelp("Write the report as a self-contained HTML page here.", valueName: "path"))
        var html: String?

        func validate() throws {
            if output == nil && html == nil && !options.json {
                throw ValidationError("say where the report goes: -o report.json and/or --html report.html (or --json for stdout)")
            }
        }

        func run() throws {
            try perform { () throws(CLIError) in try make() }
        }

        func make() throws(CLIError) -> ExitStatus {
                let session = try Session(options)
                let reply = try session.call(APIMethod.reportCreate, params: DeviceParams(device: device), as: SignedReport.self,
                                             timeout: max(options.callTimeout, 30))
                let bytes = CanonicalJSON.bytes(reply.raw) + [0x0A]
                // Check before writing: a report that does not verify here will not verify anywhere.
                let verification = ReportVerifier.verify(fileBytes: bytes)
                guard verification.valid else {
                    throw CLIError(status: .failure, message: "lockdiagd's report does not verify (\(verification.reason)) — nothing written")
                }
                // On stdout inert (TerminalText.inertJSON): the same JSON value, so it verifies the same.
                if options.json { Output.out(TerminalText.inertJSON(String(decoding: bytes.dropLast(), as: UTF8.self))) }
                if let output {
                    if output == "-" {
                        Output.out(TerminalText.inertJSON(String(decoding: bytes.dropLast(), as: UTF8.self)))
                    } else {
                        try Self.writeFile(output, bytes)
                    }
                }
                if let html {
                    let page: [UInt8]
                    // From the signed bytes, not `reply.value`, whose strings are cleaned for the terminal.
                    do { page = Array(try ReportHTML.render(JSONValue(parsing: bytes).decode(as: SignedReport.self)).utf8) } catch {
                        throw CLIError(status: .failure, message: "cannot render the HTML report: \(error)")
                    }
                    let checked = ReportVerifier.verify(fileBytes: page)
                    guard checked.valid else {
                        throw CLIError(status: .failure, message: "the HTML page does not verify (\(checked.reason)) — \(html) not written")
                    }
                    try Self.writeFile(html, page)
                }
                let r = reply.value.report
                var written: [String] = []
                if let output, output != "-" { written.append(output) }
                if let html { written.append(html) }
                if !written.isEmpty {
                    // Progress on stderr when stdout carries the report.
                    let toStderr = output == "-" || options.json
                    let text = "report \(r.reportID) on \(r.device.id): \(r.verdict.result) — \(r.verdict.summary)\n"
                        + "signed by \(r.station.host), key \(reply.value.signature.keyFingerprint); written to \(written.joined(separator: " and "))"
                    if toStderr { Output.err(text) } else { Output.out(text) }
                }
                return ExitStatus.forFaults(r.activeFaults)
        }

        /// Writes through a temporary file and a rename, so a reader never sees half a report.
        static func writeFile(_ path: String, _ bytes: [UInt8]) throws(CLIError) {
            let temporary = path + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o644]) else {
                throw CLIError(status: .failure, message: "cannot write \(path): \(String(cString: strerror(errno))) — check the folder exists and is writable")
            }
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw CLIError(status: .failure, message: "cannot write \(path): \(reason)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a report (report.json or report.html) and who signed it; needs no daemon.",
            usage: "lockdiag verify <file> [--key <pub>]... [--fleet <url>] [<options>]",
            discussion: """
                A report is signed with its station's key; the key travels in the report, so a valid signature \
                alone proves only that nothing changed since signing: anyone can make a key. Who signed it \
                counts only for a trusted key: --key (the station's public key from `lockdiag key --public`, \
                its SHA256: fingerprint, or a file holding either; may repeat), or a trusted-keys file: \
                --trusted-keys PATH, else \(TrustedKeys.defaultPath) if it exists. That file has one key per \
                line, then the station's name ("KEY bench-3"); # starts a comment. It must be owned by root or \
                you and not writable by others. --fleet URL asks the fleet's key register instead: trusted \
                when the key was enrolled, approved and not revoked at the report's created_at; it also says \
                whether the fleet holds the same report (a different one under its id: UNTRUSTED).

                An HTML page must be, byte for byte, the page its signed report renders to; any difference \
                is INVALID, and the message says where (line, column, both texts).

                EXIT STATUS
                  0   valid: signed by a trusted station key, unchanged since
                  5   UNTRUSTED: the signature is valid, but the key is not a
                      trusted one; proves nothing about who made the report
                  2   INVALID: changed since signing, or not a signed report
                  1   could not check: the file, --key or the trusted keys
                      cannot be read
                """)

        @Argument(help: ArgumentHelp("The report file (JSON from `lockdiag report -o`, or the HTML page).", valueName: "file"))
        var file: String

        @Option(name: .long, help: ArgumentHelp("A trusted station key: base64, SHA256: fingerprint, or a file with either.",
                                                valueName: "pub"))
        var key: [String] = []

        @Option(name: .long, help: ArgumentHelp("Trusted station keys, one per line with the station's name (default \(TrustedKeys.defaultPath)).",
                                                valueName: "path"))
        var trustedKeys: String?

        @Flag(name: .long, help: "Print the outcome as JSON.")
        var json = false

        @Option(name: .long, help: ArgumentHelp("Ask the fleet's key register instead (docs/fleet.md): enrolled, approved, not revoked when made?",
                                                valueName: "url"))
        var fleet: String?

        /// The keys to trust: --key and --trusted-keys, else the default file if there is one.
        func trust() throws(CLIError) -> (keys: TrustedKeys, source: String) {
            var keys = TrustedKeys()
            var sources: [String] = []
            for text in key {
                guard let parsed = TrustedKey.parse(text) else {
                    throw CLIError(status: .failure, message: "--key '\(DisplayText.safe(text))' is not a public key: give the base64 key or SHA256: fingerprint that `lockdiag key` shows, or a file holding one")
                }
                keys.entries.append(.init(key: parsed, station: "given with --key"))
            }
            if !key.isEmpty { sources.append("--key") }
            var path = trustedKeys
            if path == nil && key.isEmpty && FileManager.default.fileExists(atPath: TrustedKeys.defaultPath) { path = TrustedKeys.defaultPath }
            if let path {
                do throws(TrustedKeysError) { keys.entries += try TrustedKeys.load(path: path).entries } catch {
                    throw CLIError(status: .failure, message: DisplayText.safe(error.description))
                }
                sources.append(path)
            }
            return (keys, sources.isEmpty ? "none: no --key, no --trusted-keys, no \(TrustedKeys.defaultPath)" : sources.joined(separator: " and "))
        }

        func run() throws {
            try perform { () throws(CLIError) in
                let (keys, source) = fleet == nil ? try trust() : (TrustedKeys(), "the fleet's key register")
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CLIError(status: .failure, message: "cannot read \(file): \(String(cString: strerror(errno)))")
                }
                var v = ReportVerifier.verify(fileBytes: [UInt8](data), trusted: keys)
                if let fleet { v = try FleetVerify.judge(v, fileBytes: [UInt8](data), fleet: fleet) }
                if json {
                    var object: [String: JSONValue] = ["verdict": .string(v.verdict.rawValue), "valid": .bool(v.valid), "trusted": .bool(v.trusted),
                                                       "reason": .string(v.reason), "trusted_keys": .string(source)]
                    if let f = v.fingerprint { object["key_fingerprint"] = .string(f) }
                    if let s = v.station { object["station"] = .string(s) }
                    if let d = v.difference {
                        object["difference"] = .object(["offset": .integer(Int64(d.offset)), "line": .integer(Int64(d.line)),
                                                        "column": .integer(Int64(d.column)), "found": .string(d.found),
                                                        "expected": .string(d.expected)])
                    }
                    if let r = v.report {
                        object["report_id"] = .string(r.reportID)
                        object["device"] = .string(r.device.id)
                        object["created_at"] = .string(r.createdAt)
                    }
                    if let c = v.certificate {
                        object["certificate_id"] = .string(c.certificateID)
                        object["device"] = .string(c.device.id)
                        object["created_at"] = .string(c.createdAt)
                    }
                    printJSON(.object(object))
                } else {
                    let r = v.report
                    let outcome: VerificationRenderer.Outcome = switch v.verdict {
                    case .trusted: .trusted
                    case .unknownKey: .untrusted
                    case .invalid: .invalid
                    }
                    let c = v.certificate
                    Output.out(VerificationRenderer.render(outcome: outcome, reason: v.reason, fingerprint: v.fingerprint,
                                                           reportID: r?.reportID ?? c.map { "commissioning certificate \($0.certificateID)" },
                                                           device: r?.device.id ?? c?.device.id, createdAt: r?.createdAt ?? c?.createdAt,
                                                           host: r?.station.host ?? c?.station.host,
                                                           verdict: r.map { "\($0.verdict.result) — \($0.verdict.summary)" }
                                                               ?? c.map { "\($0.verdict.rawValue) — \($0.summary)" },
                                                           trustedKeys: source, style: Terminal.style(json: false)))
                }
                return switch v.verdict {
                case .trusted: .ok
                case .unknownKey: .untrustedSignature
                case .invalid: .faultsPresent
                }
            }
        }
    }

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the station's report-signing key: its fingerprint and public key.",
            usage: "lockdiag key [--file <path>] [--public] [<options>]",
            discussion: """
                Asks lockdiagd (station.info), which created the key on its first start: \(DefaultPaths.stationKey(nextTo: DefaultPaths.historyDatabase)) \
                by default (mode 0600; `lockdiagd --key` to change). --file reads a key file instead, without the daemon. \
                --public prints only the public key, to hand to whoever checks reports: `lockdiag key --public > station.pub`, \
                then `lockdiag verify report.json --key station.pub`.
                """)

        @OptionGroup var options: Options

        @Option(name: .long, help: ArgumentHelp("Read this key file instead of asking lockdiagd.", valueName: "path"))
        var file: String?

        @Flag(name: .long, help: "Print only the base64 public key.")
        var `public` = false

        func run() throws {
            try perform { () throws(CLIError) in
                if let file {
                    guard let trusted = TrustedKey.parse(file), case .key(let key) = trusted else {
                        throw CLIError(status: .failure, message: "\(file) holds no public key (expected a station key file with a 'public:' line)")
                    }
                    if `public` {
                        Output.out(key.base64)
                    } else if options.json {
                        printJSON(.object(["algorithm": .string(ReportSigner.algorithm), "public_key": .string(key.base64),
                                           "fingerprint": .string(key.fingerprint), "path": .string(file)]))
                    } else {
                        Output.out("\(key.fingerprint) (Ed25519)\npublic key: \(key.base64)\nfile: \(file)")
                    }
                    return .ok
                }
                let session = try Session(options)
                let info = try session.call(APIMethod.stationInfo, as: StationInfo.self)
                let k = info.value.key
                if `public` {
                    Output.out(k.publicKey)
                } else if options.json {
                    printJSON(info.raw)
                } else {
                    let h = info.value.history
                    Output.out("""
                        \(k.fingerprint) (\(k.algorithm)) — station \(info.value.host)
                        public key: \(k.publicKey)
                        key file:   \(k.path) (mode 0600, read by lockdiagd only)
                        history:    \(h.path), \(Units.count(h.faultEvents, "fault event")), \(Units.count(h.testRuns, "self-test run")), \
                        \(Units.count(h.devices, "device"))\(h.writeErrors > 0 ? ", \(h.writeErrors) write error(s): \(h.lastError ?? "")" : "")
                        Check a report with: lockdiag verify report.json --key \(k.publicKey)
                        """)
                }
                return .ok
            }
        }
    }
}
