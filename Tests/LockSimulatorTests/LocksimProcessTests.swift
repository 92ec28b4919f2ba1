import Foundation
import Glibc
import LinuxIO
import LockDiagTestSupport
import LockProtocol
import Testing

/// The `locksim` executable as a real process.
///
/// The binary is found next to the test bundle: SwiftPM builds every product of the package
/// into one directory (`.build/<triple>/debug`), and `/proc/self/exe` is the test runner in it.
/// `LOCKSIM` in the environment overrides the path.
@Suite struct LocksimProcessTests {
    static func locksimURL() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["LOCKSIM"] { return URL(fileURLWithPath: override) }
        let runner = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let url = runner.deletingLastPathComponent().appendingPathComponent("locksim")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw LocksimNotBuilt(path: url.path)
        }
        return url
    }

    struct LocksimNotBuilt: Error, CustomStringConvertible {
        let path: String
        var description: String { "no locksim at \(path): run `swift build` first, or set LOCKSIM to the binary" }
    }

    /// A running locksim with pipes on stdin and stdout.
    final class Locksim {
        let process = Process()
        let stdin = Pipe()
        let stdout = Pipe()
        private var buffered: [UInt8] = []

        init(_ arguments: [String]) throws {
            process.executableURL = try LocksimProcessTests.locksimURL()
            process.arguments = arguments
            process.standardInput = stdin
            process.standardOutput = stdout
            try process.run()
        }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        func send(_ line: String) {
            stdin.fileHandleForWriting.write(Data((line + "\n").utf8))
        }

        /// The next stdout line, or nil when none comes within `seconds`.
        func readLine(within seconds: Double) -> String? {
            let fd = stdout.fileHandleForReading.fileDescriptor
            let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
            while true {
                if let newline = buffered.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffered[..<newline], as: UTF8.self)
                    buffered.removeSubrange(...newline)
                    return line
                }
                let now = MonotonicClock.nanoseconds()
                guard now < deadline else { return nil }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, Int32((deadline - now) / 1_000_000 + 1)) > 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 1024)
                let n = Glibc.read(fd, &chunk, chunk.count)
                guard n > 0 else { return nil }
                buffered += chunk[0..<n]
            }
        }

        /// Waits for the process to exit; false when it is still running after `seconds`.
        func waitForExit(within seconds: Double) -> Bool {
            let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
            while process.isRunning {
                guard MonotonicClock.nanoseconds() < deadline else { return false }
                usleep(5_000)
            }
            return true
        }
    }

    @Test func locksimServesAStallTraceAnswersStdinAndExitsCleanlyOnSIGTERM() throws {
        let sim = try Locksim(["--pty", "--scenario", "motor-stall", "--seed", "3", "--activity", "0"])
        let path = try #require(sim.readLine(within: 10), "locksim printed no device path")
        #expect(path.hasPrefix("/dev/pts/"))

        let client = try PtyClient(path: path)
        guard case .identify(let identity)? = try client.response(.identify) else { Issue.record("no IDENTIFY"); return }
        #expect(identity.serial == "SIM-0003-000")
        let (_, samples) = try #require(try client.readLatestTrace())
        #expect(samples.count < 600)
        #expect(samples.suffix(15).allSatisfy { $0 > 1000 })

        sim.send("status")
        let status = try #require(sim.readLine(within: 5))
        #expect(status.hasPrefix("ok 0 \(path) motor-stall bolt=intermediate battery_mv="))
        #expect(status.hasSuffix(" online"))
        sim.send("actuate 0 unlock")
        #expect(sim.readLine(within: 5)?.hasPrefix("ok actuate 0 unlock actuation=") == true)

        // End of input does not stop the simulator.
        try sim.stdin.fileHandleForWriting.close()
        guard case .response(.identify)? = try client.ask(.identify) else { Issue.record("stopped serving at EOF"); return }

        sim.process.terminate()
        #expect(sim.waitForExit(within: 5))
        #expect(sim.process.terminationReason == .exit)
        #expect(sim.process.terminationStatus == 0)
        try client.pump(upTo: 2) { client.hungUp }
        #expect(client.hungUp)
    }

    @Test func locksimPrintsEveryPathFirstAndStopsOnSIGINT() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let links = directory.path + "/locks"
        let sim = try Locksim(["--pty", "--count", "3", "--scenario", "healthy,flaky", "--link-dir", links])
        let paths = (0..<3).compactMap { _ in sim.readLine(within: 10) }
        #expect(paths == (0..<3).map { "\(links)/lock\($0)" })
        sim.send("status")
        let lines = (0..<3).compactMap { _ in sim.readLine(within: 5) }
        #expect(lines.count == 3)
        #expect(lines[1].contains(" flaky "))
        #expect(lines[2].contains(" healthy "))
        sim.send("replug 1")
        #expect(sim.readLine(within: 5)?.hasPrefix("error ") == true)
        kill(sim.process.processIdentifier, SIGINT)
        #expect(sim.waitForExit(within: 5))
        #expect(sim.process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: paths[0]))
    }

    @Test func locksimRejectsBadArguments() throws {
        for arguments in [["--scenario", "healthy"], ["--pty", "--scenario", "exploding"], ["--pty", "--count", "0"]] {
            let sim = try Locksim(arguments)
            #expect(sim.waitForExit(within: 5))
            #expect(sim.process.terminationStatus != 0, "\(arguments)")
        }
    }
}
