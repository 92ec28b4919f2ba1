import Foundation
import Glibc
import JSONRPC
import LockDiagCLI
import LockDiagTestSupport
import Reports
import Testing

/// The real `lockdiag verify`: one verdict and one exit status for each thing a check can prove
/// (docs/reports.md, "What a verdict proves").
@Suite struct VerifyProcessTests {
    let dir: TemporaryDirectory
    let station: StationKey
    let stranger: StationKey
    let json: String
    let html: String

    init() throws {
        dir = try TemporaryDirectory(prefix: "verify")
        station = try StationKey.create(path: dir.path + "/station.key")
        stranger = try StationKey.create(path: dir.path + "/stranger.key")
        let signed = try ReportSigner.sign(sampleReport(fingerprint: station.publicKey.fingerprint), with: station)
        json = dir.path + "/report.json"
        html = dir.path + "/report.html"
        _ = FileManager.default.createFile(atPath: json, contents: Data(try ReportSigner.fileBytes(signed)))
        _ = FileManager.default.createFile(atPath: html, contents: Data(try ReportHTML.render(signed).utf8))
    }

    func verify(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run("lockdiag", ["verify"] + arguments, environment: ["NO_COLOR": "1"], timeoutSeconds: 30)
    }

    /// A trusted-keys file with `text`, mode 0644.
    func trustedKeys(_ text: String, name: String = "trusted-keys") -> String {
        let path = dir.path + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644])
        return path
    }

    @Test func aSignatureByATrustedStationKeyIsValidExitZero() throws {
        defer { dir.remove() }
        let file = trustedKeys("""
            # station keys of the workshop
            \(stranger.publicKey.fingerprint) bench-9
            \(station.publicKey.base64)   bench-3, workshop Hamburg\r

            """)
        for report in [json, html] {
            let byFile = try verify([report, "--trusted-keys", file])
            #expect(byFile.status == 0, "\(byFile.stdout) \(byFile.stderr)")
            #expect(byFile.stdout.hasPrefix("valid: signed with a trusted station key: bench-3, workshop Hamburg (\(station.publicKey.fingerprint))"),
                    "\(byFile.stdout)")
            let byKey = try verify([report, "--key", station.publicKey.base64])
            #expect(byKey.status == 0, "\(byKey.stdout) \(byKey.stderr)")
            #expect(byKey.stdout.hasPrefix("valid: signed with a trusted station key: given with --key"), "\(byKey.stdout)")
            // Any of several keys; a key file counts.
            #expect(try verify([report, "--key", stranger.publicKey.base64, "--key", station.path]).status == 0)
        }
        let out = try verify([json, "--trusted-keys", file, "--json"])
        let result = try JSONValue(parsing: out.stdout)
        #expect(result["verdict"] == "trusted")
        #expect(result["station"] == .string("bench-3, workshop Hamburg"))
    }

    @Test func aValidSignatureByAnUnknownKeyIsUntrustedExitFive() throws {
        defer { dir.remove() }
        let file = trustedKeys("\(stranger.publicKey.base64) bench-9\n")
        for arguments in [[json, "--trusted-keys", file], [html, "--key", stranger.publicKey.fingerprint]] {
            let result = try verify(arguments)
            #expect(result.status == 5, "\(arguments): \(result.stdout) \(result.stderr)")
            #expect(result.stdout.hasPrefix("UNTRUSTED: the signature is valid, but its key \(station.publicKey.fingerprint) is not a trusted station key"),
                    "\(result.stdout)")
            #expect(result.stdout.contains("says nothing about who made it"))
        }
        let out = try verify([json, "--key", stranger.publicKey.base64, "--json"])
        #expect(out.status == 5)
        let result = try JSONValue(parsing: out.stdout)
        #expect(result["verdict"] == "unknown-key")
        #expect(result["valid"] == true && result["trusted"] == false)
        // No key given and no default file: nobody is trusted (only where the machine has no
        // /etc/lockdiag/trusted-keys, which this test must not create).
        if !FileManager.default.fileExists(atPath: TrustedKeys.defaultPath) {
            let bare = try verify([json])
            #expect(bare.status == 5, "\(bare.stdout)")
            #expect(bare.stdout.contains("no \(TrustedKeys.defaultPath)"))
        }
    }

    @Test func aChangedReportOrPageIsInvalidExitTwoEvenWithATrustedKey() throws {
        defer { dir.remove() }
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let edited = dir.path + "/edited.html"
        _ = FileManager.default.createFile(atPath: edited, contents: Data(page.replacingOccurrences(
            of: "<h2>Fault found</h2>", with: "<h2>No fault found — lock healthy</h2>").utf8))
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: json)))
        let text = String(decoding: bytes, as: UTF8.self)
        bytes[text.utf8.distance(from: text.startIndex, to: try #require(text.range(of: "\"peak_current_ma\":")).upperBound)] ^= 0x01
        let tampered = dir.path + "/tampered.json"
        _ = FileManager.default.createFile(atPath: tampered, contents: Data(bytes))
        for file in [edited, tampered] {
            let result = try verify([file, "--key", station.publicKey.base64])
            #expect(result.status == 2, "\(file): \(result.stdout) \(result.stderr)")
            #expect(result.stdout.hasPrefix("INVALID: "))
        }
        let shown = try verify([edited, "--key", station.publicKey.base64])
        #expect(shown.stdout.contains("line ") && shown.stdout.contains("<h2>No fault found"), "\(shown.stdout)")
        let out = try verify([edited, "--json"])
        let result = try JSONValue(parsing: out.stdout)
        #expect(result["verdict"] == "invalid")
        #expect(result["difference"]?["line"] != nil)
    }

    @Test func trustedKeysThatCannotBeReadOrTrustedAreAnErrorExitOne() throws {
        defer { dir.remove() }
        let writable = trustedKeys("\(station.publicKey.base64) bench-3\n", name: "writable")
        chmod(writable, 0o666)
        let foreign = trustedKeys("\(station.publicKey.base64) bench-3\n", name: "foreign")
        chown(foreign, 4242, 4242)
        let noName = trustedKeys("\(station.publicKey.base64)\n", name: "no-name")
        let typo = trustedKeys("# ok\n\(station.publicKey.base64.dropLast(2)) bench-3\n", name: "typo")
        let cases: [([String], String)] = [
            (["--trusted-keys", writable], "chmod go-w"),
            (["--trusted-keys", foreign], "owned by uid 4242"),
            (["--trusted-keys", noName], "line 1: no station name"),
            (["--trusted-keys", typo], "line 2:"),
            (["--trusted-keys", dir.path + "/absent"], "cannot read the trusted keys"),
            (["--key", "not-a-key"], "is not a public key"),
        ]
        for (arguments, message) in cases {
            let result = try verify([json] + arguments)
            #expect(result.status == 1, "\(arguments): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    /// A report is anyone's file: its strings reach `--json` output escaped, never raw.
    @Test func verifyJSONOutputIsInertOnATerminal() throws {
        defer { dir.remove() }
        var report = sampleReport(fingerprint: station.publicKey.fingerprint)
        let hostile = "LX3\u{7F}\u{9B}2J\u{202E}321\u{2066}"
        report.device.id = hostile
        report.reportID = "r\u{85}\u{200F}"
        let file = dir.path + "/hostile.json"
        _ = FileManager.default.createFile(atPath: file, contents: Data(try ReportSigner.fileBytes(try ReportSigner.sign(report, with: station))))
        let out = try verify([file, "--key", station.publicKey.base64, "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let unsafe = out.stdout.unicodeScalars.filter { $0 != "\n" && (DisplayText.isUnsafe($0) || $0.value == 0x2028) }
        #expect(unsafe.isEmpty, "raw \(unsafe.map { String($0.value, radix: 16) }) in \(out.stdout)")
        let result = try JSONValue(parsing: out.stdout)
        #expect(result["device"] == .string(hostile))
        #expect(result["report_id"] == .string(report.reportID))
    }

    @Test func theHelpNamesEveryVerdictAndItsExitStatus() throws {
        let help = try ChildProcess.run("lockdiag", ["verify", "--help"], environment: ["COLUMNS": "80"], timeoutSeconds: 30)
        for line in ["0   valid", "5   UNTRUSTED", "2   INVALID", "1   could not check", TrustedKeys.defaultPath, "--trusted-keys"] {
            #expect(help.stdout.contains(line), "\(line) missing from:\n\(help.stdout)")
        }
        #expect(help.stdout.split(separator: "\n").allSatisfy { $0.count < 80 }, "\(help.stdout)")
    }
}
