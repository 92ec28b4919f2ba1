import Foundation
import Glibc
import LockDiagTestSupport
import Testing

/// Every numeric option of the three executables, given `inf`, `nan`, a negative and a huge
/// value through the real executable's argument parsing: each is a usage error (exit 64) whose
/// message names the option and its documented range, and nothing starts.
@Suite struct OptionRangeTests {
    /// One numeric option: its name, the range its --help and error show, what else the command
    /// needs, and values that are in range for it but would not be for others.
    struct NumericOption: CustomStringConvertible, Sendable {
        let name: String
        let range: String
        var prefix: [String] = []
        var suffix: [String] = []
        /// Bad values beyond the common ones.
        var more: [String] = []
        var description: String { name }
    }

    static let common = ["inf", "-inf", "nan", "-1", "1e30", "-99999999999999999999"]

    static let daemonOptions: [NumericOption] = [
        .init(name: "--baud", range: "50–4000000", more: ["49", "4000001"]),
        .init(name: "--forget-unplugged", range: "0–2592000", more: ["1e10"]),
        .init(name: "--ble-connect-timeout", range: "0.1–600", more: ["0", "601"]),
        .init(name: "--ble-mtu", range: "23–517", more: ["22", "518"]),
        .init(name: "--ble-att-timeout", range: "0.1–600", more: ["0", "1e10"]),
        .init(name: "--simulate-seed", range: "0–18446744073709551615", more: ["18446744073709551616"]),
        .init(name: "--simulate-activity", range: "0–86400", more: ["1e11", "86401"]),
        .init(name: "--poll-hz", range: "1–1000", more: ["0", "1001"]),
        .init(name: "--cpu", range: "0–1023", more: ["1024"]),
        .init(name: "--confirm-after", range: "1–1000", more: ["0"]),
        .init(name: "--heal-after", range: "1–1000", more: ["0"]),
        .init(name: "--subscriber-buffer", range: "4096–67108864", more: ["4095"]),
        .init(name: "--max-request-bytes", range: "1024–16777216", more: ["1023"]),
        .init(name: "--max-connections", range: "1–4096", more: ["0"]),
        .init(name: "--rate-limit", range: "0–100000", more: ["1e10"]),
        .init(name: "--rate-burst", range: "1–100000", more: ["0"]),
        .init(name: "--idle-timeout", range: "0–86400", more: ["1e10"]),
        .init(name: "--max-subscribers", range: "1–1000", more: ["0"]),
        .init(name: "--technician-connections", range: "0–4095", more: ["4096"]),
        .init(name: "--max-connections-per-reader", range: "1–4096", more: ["0"]),
        .init(name: "--max-batch", range: "1–1000", more: ["0", "1001"]),
        .init(name: "--max-reply-bytes", range: "65536–67108864", more: ["65535", "67108865"]),
        .init(name: "--record-max-bytes", range: "65536–4294967296", more: ["65535", "4294967297"]),
        .init(name: "--record-files", range: "1–1000", more: ["0", "1001"]),
        .init(name: "--replay-speed", range: "0.01–1000", more: ["0", "1001"]),
    ]

    static let cliOptions: [NumericOption] = [
        .init(name: "--timeout", range: "0.1–86400", prefix: ["list"], more: ["0", "1e10"]),
        .init(name: "--seconds", range: "0.1–600", prefix: ["scan"], more: ["0", "601"]),
        .init(name: "--parallel", range: "1–256", prefix: ["bench", "run", "/nonexistent/plan.yaml"], more: ["0", "257"]),
    ]

    static let simulatorOptions: [NumericOption] = [
        .init(name: "--ble-mtu", range: "23–517", prefix: ["--ble-att-socket", "/nonexistent/lock.att"], more: ["22"]),
        .init(name: "--count", range: "1–64", prefix: ["--pty"], more: ["0", "65"]),
        .init(name: "--seed", range: "0–18446744073709551615", prefix: ["--pty"], more: ["18446744073709551616"]),
        .init(name: "--activity", range: "0–86400", prefix: ["--pty"], more: ["1e11"]),
    ]

    /// Runs `product` with each bad value of `option` and checks the refusal.
    static func expectRefused(_ product: String, _ option: NumericOption, base: [String]) throws {
        for value in common + option.more {
            let arguments = base + option.prefix + ["\(option.name)=\(value)"] + option.suffix
            // A value wrongly accepted would start a daemon or a simulator: cut it short.
            let run = try ChildProcess.run(product, arguments, timeoutSeconds: 15)
            let message = run.stderr.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(run.status == 64, "\(product) \(option.name)=\(value): exit \(run.status), stderr: \(run.stderr)")
            #expect(message.contains(option.name), "\(product) \(option.name)=\(value): \(run.stderr)")
            #expect(message.contains(option.range), "\(product) \(option.name)=\(value) should name the range \(option.range): \(run.stderr)")
        }
    }

    @Test(arguments: daemonOptions) func lockdiagdRefusesOutOfRange(_ option: NumericOption) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Self.expectRefused("lockdiagd", option, base: [
            "--no-discovery", "--simulate", "healthy", "--socket", directory.path + "/s.sock", "--db", directory.path + "/h.sqlite",
        ])
    }

    @Test(arguments: cliOptions) func lockdiagRefusesOutOfRange(_ option: NumericOption) throws {
        try Self.expectRefused("lockdiag", option, base: [])
    }

    @Test(arguments: simulatorOptions) func locksimRefusesOutOfRange(_ option: NumericOption) throws {
        try Self.expectRefused("locksim", option, base: [])
    }

    /// The two crashes the issue reported (SIGILL): refused at start now, never reached.
    @Test func theReportedCrashesAreUsageErrors() async throws {
        for arguments in [["--idle-timeout", "inf"], ["--idle-timeout", "1e10"], ["--simulate-activity", "1e11"]] {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let run = try ChildProcess.run("lockdiagd", ["--no-discovery", "--simulate", "healthy", "--socket", directory.path + "/s.sock",
                                                         "--db", directory.path + "/h.sqlite"] + arguments, timeoutSeconds: 15)
            #expect(run.status == 64, "\(arguments): exit \(run.status)")
        }
    }
}
