#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// The real `lockdiag` binary against a real lockdiagd with simulated locks: what a technician
/// or a bench rig sees, down to the exit status.
@Suite struct CLIProcessTests {
    /// A daemon with a healthy lock, a jammed one and one with a worn battery, used as people use them.
    final class Rig {
        let daemon: DaemonProcess
        let client: JSONRPCClient
        let healthy: String
        let stalled: String
        let worn: String

        init() throws {
            daemon = try DaemonProcess(["--simulate", "healthy,motor-stall,battery-worn", "--simulate-activity", "0.7"])
            let client = JSONRPCClient(socketPath: daemon.socketPath)
            try client.connect()
            self.client = client
            // Devices are listed in --simulate's order once identified (their id is the serial).
            var devices: [DeviceSummary] = []
            let identified = try TestSupport.wait(upTo: 20, pollEvery: 0.05) {
                devices = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
                return devices.count == 3 && devices.allSatisfy { $0.online && $0.serial != nil }
            }
            guard identified else { throw RigError("the three simulated locks were not online and identified within 20 s") }
            // …and each has answered its first READ_STATUS, so readings are measurements.
            let ids = devices.map(\.id)
            let reporting = try TestSupport.wait(upTo: 20, pollEvery: 0.05) {
                try ids.allSatisfy { id in
                    try client.call(APIMethod.deviceStatus, params: ["device": .string(id)]).decode(as: DeviceStatus.self).updatedAt != nil
                }
            }
            guard reporting else { throw RigError("the simulated locks did not report their status within 20 s") }
            healthy = devices[0].id
            stalled = devices[1].id
            worn = devices[2].id
        }

        /// Waits for lockdiagd's own diagnosis: a confirmed fault of `category` on `device`.
        func waitForConfirmed(_ category: String, on device: String) throws {
            let confirmed = try TestSupport.wait(upTo: 20, pollEvery: 0.05) {
                try client.call(APIMethod.faultsList, params: ["device": .string(device)]).decode(as: FaultsList.self).faults
                    .contains { $0.status == .confirmed && $0.category == category }
            }
            guard confirmed else { throw RigError("no confirmed \(category) fault on \(device) within 20 s") }
        }

        func lockdiag(_ arguments: [String], timeoutSeconds: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
            try ChildProcess.run("lockdiag", arguments + ["--socket", daemon.socketPath], environment: ["NO_COLOR": "1"],
                                 timeoutSeconds: timeoutSeconds)
        }

        deinit { #expect(daemon.stop() == 0) }
    }

    struct RigError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func listShowsEveryDeviceAndExitsTwoOnceAFaultIsConfirmed() throws {
        let rig = try Rig()
        try rig.waitForConfirmed("motor", on: rig.stalled)
        let list = try rig.lockdiag(["list"])
        #expect(list.status == 2, "stderr: \(list.stderr)")
        for header in ["DEVICE", "STATE", "TRANSPORT", "PATH", "SERIAL", "MODEL", "FIRMWARE", "FAULTS"] { #expect(list.stdout.contains(header)) }
        let lines = list.stdout.split(separator: "\n")
        for id in [rig.healthy, rig.stalled, rig.worn] {
            #expect(lines.contains { $0.hasPrefix(id) }, "\(id) missing from:\n\(list.stdout)")
        }
        let stalledRow = try #require(lines.first { $0.hasPrefix(rig.stalled) })
        #expect(stalledRow.contains("confirmed"))
        #expect(stalledRow.contains("online") && stalledRow.contains("serial") && stalledRow.contains("LX-300"))

        let json = try rig.lockdiag(["list", "--json"])
        #expect(json.status == 2)
        let devices = try JSONDecoder().decode(DevicesList.self, from: Data(json.stdout.utf8)).devices
        #expect(devices.map(\.id) == [rig.healthy, rig.stalled, rig.worn])
        #expect(json.stdout.contains("\n  \"devices\" : ["), "not pretty-printed:\n\(json.stdout)")
    }

    @Test func statusOfTheHealthyLockExitsZeroWithUnits() throws {
        let rig = try Rig()
        let status = try rig.lockdiag(["status", rig.healthy])
        #expect(status.status == 0, "stdout:\n\(status.stdout)\nstderr: \(status.stderr)")
        #expect(status.stdout.hasPrefix(rig.healthy))
        for row in ["bolt", "door", "battery", "motor", "fingerprint", "temperature", "last actuation", "updated"] {
            #expect(status.stdout.contains("  \(row) "), "no \(row) row in:\n\(status.stdout)")
        }
        // Units everywhere: volts and percent, milliamps, degrees.
        #expect(status.stdout.range(of: #"battery +\d+\.\d\d V \(\d+ %\)"#, options: .regularExpression) != nil, "\(status.stdout)")
        #expect(status.stdout.range(of: #"motor +\w+, \d+ mA"#, options: .regularExpression) != nil)
        #expect(status.stdout.range(of: #"temperature +\d+\.\d °C"#, options: .regularExpression) != nil)
        #expect(status.stdout.contains("No faults on \(rig.healthy)."))

        let json = try rig.lockdiag(["status", rig.healthy, "--json"])
        #expect(json.status == 0)
        let decoded = try JSONDecoder().decode(DeviceStatus.self, from: Data(json.stdout.utf8))
        #expect(decoded.device == rig.healthy)
    }

    @Test func faultsShowTheMotorStallAdviceAndExitTwo() throws {
        let rig = try Rig()
        try rig.waitForConfirmed("motor", on: rig.stalled)
        let faults = try rig.lockdiag(["faults", rig.stalled])
        #expect(faults.status == 2, "stderr: \(faults.stderr)")
        let lines = faults.stdout.split(separator: "\n").map(String.init)
        let head = try #require(lines.firstIndex { $0.contains("0x0101") && $0.contains("CONFIRMED") }, "\(faults.stdout)")
        #expect(lines[head].hasPrefix("✖ 0x0101 Motor stall"))
        let advice = try #require(lines[head...].first { $0.hasPrefix("    → ") })
        #expect(advice.contains("Open the door and actuate the lock"))
        #expect(lines[head...].contains { $0.hasPrefix("    evidence: ") })

        // Every device's faults when none is named; the API's JSON with --json.
        let all = try rig.lockdiag(["faults"])
        #expect(all.status == 2)
        #expect(all.stdout.contains("(\(rig.stalled))"))
        let json = try rig.lockdiag(["faults", "--json"])
        #expect(json.status == 2)
        let decoded = try JSONDecoder().decode(FaultsList.self, from: Data(json.stdout.utf8))
        #expect(decoded.faults.contains { $0.device == rig.stalled && $0.code == "0x0101" && $0.status == .confirmed })

        let healthy = try rig.lockdiag(["faults", rig.healthy])
        #expect(healthy.status == 0)
        #expect(healthy.stdout == "No faults on \(rig.healthy).\n")
    }

    @Test func clearRemovesTheFaultsInTheDaemonAndTheLock() throws {
        let rig = try Rig()
        try rig.waitForConfirmed("motor", on: rig.stalled)
        let clear = try rig.lockdiag(["clear", rig.stalled])
        #expect(clear.status == 0, "stderr: \(clear.stderr)")
        let match = try #require(clear.stdout.firstMatch(of: /cleared (\d+) faults? in lockdiagd and (\d+) records? in the lock's fault memory/),
                                 "\(clear.stdout)")
        #expect(Int(match.1)! >= 1)
        #expect(Int(match.2)! >= 1)

        let json = try rig.lockdiag(["clear", rig.healthy, "--json"])
        #expect(json.status == 0)
        let decoded = try JSONDecoder().decode(FaultsCleared.self, from: Data(json.stdout.utf8))
        #expect(decoded == FaultsCleared(device: rig.healthy, cleared: 0, clearedOnDevice: 0))
    }

    @Test func selfTestsPassOnTheHealthyLockAndFailOnTheJammedOne() throws {
        let rig = try Rig()
        let battery = try rig.lockdiag(["test", rig.healthy, "battery"])
        #expect(battery.status == 0, "stdout:\n\(battery.stdout)\nstderr: \(battery.stderr)")
        #expect(battery.stdout.contains("✔ battery: PASS"))
        #expect(battery.stdout.range(of: #"internal resistance +\d+ mΩ"#, options: .regularExpression) != nil, "\(battery.stdout)")
        #expect(battery.stdout.range(of: #"battery sag +\d+ mV"#, options: .regularExpression) != nil)
        #expect(battery.stdout.contains("Overall: PASS"))

        let motor = try rig.lockdiag(["test", rig.stalled, "motor", "--json", "--yes"])
        #expect(motor.status == 2, "stdout:\n\(motor.stdout)\nstderr: \(motor.stderr)")
        let run = try JSONDecoder().decode(TestRun.self, from: Data(motor.stdout.utf8))
        #expect(run.verdict == .fail)
        #expect(run.results.first?.faults.contains("0x0101") == true)
    }

    @Test func unknownDeviceExitsFourWithTheListHint() throws {
        let rig = try Rig()
        for arguments in [["status", "no-such-lock"], ["faults", "no-such-lock"], ["test", "no-such-lock", "motor", "--yes"], ["watch", "no-such-lock"]] {
            let result = try rig.lockdiag(arguments)
            #expect(result.status == 4, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("unknown device 'no-such-lock'"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("lockdiag list"))
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func noDaemonExitsThreeAndSaysHowToStartIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for arguments in [["list"], ["info", "--json"], ["status", "x"]] {
            let result = try ChildProcess.run("lockdiag", arguments + ["--socket", directory.path + "/nothing.sock"])
            #expect(result.status == 3, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("cannot reach lockdiagd at \(directory.path)/nothing.sock"))
            #expect(result.stderr.contains("start it with: lockdiagd"))
            #expect(result.stdout.isEmpty)
        }
    }

    /// The motor test moves the bolt: without a terminal to ask on, only --yes lets it go out.
    @Test func aTestThatMovesTheBoltNeedsYesWithoutATerminal() throws {
        let rig = try Rig()
        for kind in ["motor", "all"] {
            let refused = try rig.lockdiag(["test", rig.healthy, kind])
            #expect(refused.status == 64, "\(kind): \(refused.stderr)")
            #expect(refused.stderr.contains("moves the bolt of \(rig.healthy)") && refused.stderr.contains("add --yes"), "\(refused.stderr)")
        }
    }

    @Test func usageErrorsExit64AndHelpListsTheExitStatuses() throws {
        #expect(try ChildProcess.run("lockdiag", ["test", "x", "sideways"]).status == 64)
        #expect(try ChildProcess.run("lockdiag", ["list", "--timeout", "-1"]).status == 64)
        #expect(try ChildProcess.run("lockdiag", ["frobnicate"]).status == 64)
        let help = try ChildProcess.run("lockdiag", ["--help"])
        #expect(help.status == 0)
        for line in ["EXIT STATUS", "lockdiagd is unreachable", "device problem", "usage error"] { #expect(help.stdout.contains(line)) }
    }

    @Test func watchPrintsALinePerUpdateAndExitsZeroOnSIGINT() throws {
        let rig = try Rig()
        let watch = try ChildProcess("lockdiag", ["watch", rig.healthy, "--socket", rig.daemon.socketPath])
        var statusLine: String?
        let deadline = Date().addingTimeInterval(15)
        while statusLine == nil, let line = watch.readLine(within: deadline.timeIntervalSinceNow) {
            if line.hasPrefix("status ") { statusLine = line }
        }
        let status = try #require(statusLine, "no status line; stderr: \(watch.allErrors)")
        #expect(status.range(of: #"battery \d+\.\d\d V \(\d+ %\)"#, options: .regularExpression) != nil, "\(status)")
        #expect(status.contains("bolt ") && status.contains("motor "))
        watch.signal(SIGINT)
        try #require(watch.waitForExit(within: 10), "still running 10 s after SIGINT")
        #expect(watch.process.terminationStatus == 0, "stderr: \(watch.allErrors)")
        #expect(watch.process.terminationReason == .exit)

        // With --json, each line is one notification's params; SIGTERM stops it as cleanly.
        let json = try ChildProcess("lockdiag", ["watch", rig.healthy, "--json", "--socket", rig.daemon.socketPath])
        var decoded = 0
        while decoded < 3, let line = json.readLine(within: 15) {
            let notification = try JSONDecoder().decode(TelemetryNotification.self, from: Data(line.utf8))
            #expect(notification.device == rig.healthy)
            decoded += 1
        }
        #expect(decoded == 3, "stderr: \(json.allErrors)")
        json.signal(SIGTERM)
        try #require(json.waitForExit(within: 10), "still running 10 s after SIGTERM")
        #expect(json.process.terminationStatus == 0)
    }

    @Test func infoShowsTheDaemonAndItsLateness() throws {
        let rig = try Rig()
        let info = try rig.lockdiag(["info"])
        #expect(info.status == 0, "stderr: \(info.stderr)")
        #expect(info.stdout.hasPrefix("lockdiagd \(LockDiagVersion.current)"))
        #expect(info.stdout.range(of: #"lateness +p50 \d+ µs · p90 \d+ µs · p99 \d+ µs"#, options: .regularExpression) != nil, "\(info.stdout)")
        #expect(info.stdout.contains("poll rate"))
        #expect(info.stdout.contains("devices       3 (3 online)"))
        for id in [rig.healthy, rig.stalled, rig.worn] { #expect(info.stdout.contains(id)) }

        let json = try rig.lockdiag(["info", "--json"])
        #expect(json.status == 0)
        struct Both: Decodable { var info: DaemonInfo; var stats: DaemonStats }
        let both = try JSONDecoder().decode(Both.self, from: Data(json.stdout.utf8))
        #expect(both.info.devices == 3)
        #expect(both.stats.devices.count == 3)
    }
}
