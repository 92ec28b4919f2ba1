import Foundation
import Glibc
import LockDiagTestSupport
import Testing

/// Promises of the README, docs/bench.md and docs/reports.md about commands that work without a
/// daemon (docs/promises.md): each runs the real executable with the daemon's socket pointing
/// nowhere, so a call that reached for lockdiagd would fail.
@Suite struct CLIPromiseTests {
    static let nowhere = ["LOCKDIAG_SOCKET": "/nonexistent/lockdiag.sock"]

    /// README "The protocol and the simulator": `locksim --help` lists the scenarios and the
    /// stdin commands that inject faults.
    @Test func locksimHelpListsEveryScenarioAndStdinCommand() throws {
        let help = try ChildProcess.run("locksim", ["--help"])
        #expect(help.status == 0)
        for scenario in ["healthy", "motor-stall", "motor-open", "clutch-slip", "battery-low", "battery-worn",
                         "fingerprint-dead", "fingerprint-degraded", "noisy-line", "flaky", "tamper"] {
            #expect(help.stdout.contains("\n  \(scenario) ") || help.stdout.contains("\n  \(scenario)\n"), "scenario \(scenario) missing:\n\(help.stdout)")
        }
        for command in ["scenario I|all NAME", "unplug I", "replug I", "hang I", "resume I", "noise I RATE", "flood I",
                        "actuate I lock|unlock", "finger I", "tamper I", "status", "help"] {
            #expect(help.stdout.contains("\n  \(command)"), "stdin command \(command) missing:\n\(help.stdout)")
        }
    }

    /// docs/bench.md: `lockdiag bench check PLAN` only checks — the documented example plan is
    /// valid (0) without a daemon, a broken one is refused with its line (64).
    @Test func benchCheckOnlyChecksAndSaysWhichLine() throws {
        let doc = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/bench.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "```yaml\n"))
        let end = try #require(doc.range(of: "\n```", range: start.upperBound..<doc.endIndex))
        let directory = try TemporaryDirectory(prefix: "check")
        defer { directory.remove() }
        let good = directory.path + "/eol.yaml"
        try String(doc[start.upperBound..<end.lowerBound]).write(toFile: good, atomically: true, encoding: .utf8)
        let valid = try ChildProcess.run("lockdiag", ["bench", "check", good], environment: Self.nowhere)
        #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")

        let bad = directory.path + "/bad.yaml"
        try "name: broken\nlocks: all\nsteps:\n  - identify\n  - actuate: {cycles: 0}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try ChildProcess.run("lockdiag", ["bench", "check", bad], environment: Self.nowhere)
        #expect(refused.status == 64, "\(refused.stdout)\(refused.stderr)")
        #expect((refused.stdout + refused.stderr).contains("bad.yaml:5:"), "\(refused.stdout)\(refused.stderr)")
    }

    /// docs/reports.md "The station key": `lockdiag key --file PATH` reads a key file without the
    /// daemon. The key is made by an independent Ed25519 implementation (Python's cryptography).
    @Test(.enabled(if: (try? runTool("/usr/bin/python3", ["-c", "import cryptography"]))?.status == 0, "needs python3-cryptography"))
    func keyFileIsReadWithoutTheDaemon() throws {
        let made = try runTool("/usr/bin/python3", ["-c", """
            import base64
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives import serialization as s
            k = Ed25519PrivateKey.generate()
            seed = k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
            pub = k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
            print(base64.b64encode(seed).decode(), base64.b64encode(pub).decode())
            """])
        let fields = made.out.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        try #require(made.status == 0 && fields.count == 2, "\(made.err)")
        let directory = try TemporaryDirectory(prefix: "key")
        defer { directory.remove() }
        let path = directory.path + "/station.key"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        try #require(fd >= 0)
        let text = "# lockdiag station key (Ed25519)\nprivate: \(fields[0])\npublic: \(fields[1])\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let shown = try ChildProcess.run("lockdiag", ["key", "--file", path, "--public"], environment: Self.nowhere)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == fields[1], "\(shown.stdout)")
    }
}
