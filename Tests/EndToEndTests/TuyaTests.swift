import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// lockdiagd against locksim's Tuya lock MCUs (firmware-specs/tuya-mcu.md), as two real
/// processes over real ptys: lockdiag playing the module (standard and low-power protocol),
/// and lockdiag on a passive tap of the module↔MCU line that the simulator mirrors.
@Suite(.serialized) struct TuyaTests {
    /// A simulator and a daemon on it; stopped in reverse order.
    final class Rig {
        let links: TemporaryDirectory
        let sim: ChildProcess
        let daemon: DaemonProcess
        let client: JSONRPCClient
        /// The lock's path as the daemon lists it (its id: a Tuya lock has no serial number).
        let path: String

        init(sim arguments: [String], daemon options: (_ mcu: String, _ module: String?) -> [String]) throws {
            links = try TemporaryDirectory(prefix: "tuya")
            sim = try ChildProcess("locksim", ["--pty", "--link-dir", links.path, "--seed", "5"] + arguments)
            let line = try #require(sim.readLine(within: 10))
            let paths = line.split(separator: " ").map(String.init)
            path = paths[0]
            daemon = try DaemonProcess(options(paths[0], paths.count > 1 ? paths[1] : nil) + ["--no-discovery"])
            client = JSONRPCClient(socketPath: daemon.socketPath)
            try client.connect()
        }

        func device() throws -> DeviceSummary { try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices[0] }
        func status() throws -> DeviceStatus {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(path)]).decode(as: DeviceStatus.self)
        }
        func faults() throws -> [Fault] { try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults }
        func confirmed(_ name: String) throws -> Bool { try faults().contains { $0.name == name && $0.status == .confirmed } }

        func stop() {
            #expect(daemon.stop() == 0)
            sim.signal(SIGTERM)
            #expect(sim.waitForExit(within: 5))
            links.remove()
        }
    }

    @Test func activeStandardBatteryLowLockReadsItsLevelAndFaults() throws {
        let rig = try Rig(sim: ["--dialect", "tuya", "--scenario", "battery-low", "--activity", "0"]) { mcu, _ in
            ["--serial", mcu, "--dialect", "tuya"]
        }
        defer { rig.stop() }
        // The product layout is chosen by the PID in the MCU's product-information reply.
        #expect(try TestSupport.wait(upTo: 10) { try rig.device().online && rig.device().product == "wifi-lock" })
        let summary = try rig.device()
        #expect(summary.wireProtocol == "Tuya MCU")
        #expect(summary.dialect == "tuya")
        #expect(try TestSupport.wait(upTo: 10) { try rig.status().battery.percent != nil })
        let status = try rig.status()
        #expect((8...16).contains(status.battery.percent ?? -1), "battery \(String(describing: status.battery.percent))")
        #expect(status.tuya?.batteryBand == "low")
        #expect(status.tuya?.variant == "standard")
        #expect(status.tuya?.pid == "lockdiagsimstd01")
        #expect(status.tuya?.notAvailable.isEmpty == false)
        // Low battery from the lock's band and stored low_battery alarm, and from the percentage.
        #expect(try TestSupport.wait(upTo: 10) { try rig.confirmed("battery_low") })
        #expect(try TestSupport.wait(upTo: 10) { try rig.status().tuya?.alarms.contains { $0.alarm == "low_battery" } == true })

        // What the Tuya protocol cannot do is refused with the documented error and the reason.
        #expect {
            try rig.client.call(APIMethod.testsRun, params: ["device": .string(rig.path), "test": "motor", "confirm": true])
        } throws: { error in
            guard case .remote(let e) = error as? RPCClientError else { return false }
            return e.code == RPCError.Code.deviceRefused && e.message.contains("Tuya") && e.message.contains("no self-tests")
        }
        #expect {
            try rig.client.call(APIMethod.deviceActuate, params: ["device": .string(rig.path), "direction": "unlock", "confirm": true])
        } throws: { error in
            guard case .remote(let e) = error as? RPCClientError else { return false }
            return e.code == RPCError.Code.deviceRefused && e.message.contains("device.actuate")
        }

        // lockdiag status shows what a Tuya lock has, and says what it cannot have.
        let cli = try ChildProcess.run("lockdiag", ["status", rig.path, "--socket", rig.daemon.socketPath])
        #expect(cli.stdout.contains("Tuya MCU, lockdiag plays the module"), "\(cli.stdout)")
        #expect(cli.stdout.contains("level low"))
        #expect(cli.stdout.contains("low_battery → battery_low"))
        #expect(cli.stdout.contains("not available"))
        let list = try ChildProcess.run("lockdiag", ["list", "--socket", rig.daemon.socketPath])
        #expect(list.stdout.contains("serial (tuya)"), "\(list.stdout)")
    }

    @Test func activeLowPowerMotorStallLockReportsItsStoredAlarmAndAnUnlock() throws {
        let rig = try Rig(sim: ["--dialect", "tuya-lowpower", "--scenario", "motor-stall", "--activity", "0"]) { mcu, _ in
            ["--serial", mcu, "--dialect", "tuya-lowpower:wifi-lock"]
        }
        defer { rig.stop() }
        #expect(try TestSupport.wait(upTo: 10) { try rig.device().online })
        // The jam the lock stored while its module was off arrives as an acknowledged record report.
        #expect(try TestSupport.wait(upTo: 10) { try rig.confirmed("motor_stall") })
        let status = try rig.status()
        #expect(status.tuya?.variant == "lowpower")
        #expect((status.tuya?.records ?? 0) >= 1)
        #expect(status.tuya?.alarms.first { $0.alarm == "tongue_bad" }?.recordedAt != nil)
        #expect((75...95).contains(status.battery.percent ?? -1))
        #expect(status.tuya?.batteryBand == "high")
        let fault = try #require(try rig.faults().first { $0.name == "motor_stall" })
        #expect(fault.source == "device")
        #expect(fault.freezeFrame?.evidence.contains("tongue_bad") == true)

        // A user unlocking the lock shows as an unlock event (the lock's real-time report).
        rig.sim.send("actuate 0 unlock")
        #expect(rig.sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 10) { try rig.status().tuya?.events.contains { $0.kind == "unlock" } == true })
        // The daemon acknowledged every report: the simulator keeps none waiting.
        let stats = try rig.client.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        #expect(stats.devices[0].bytesOut > 0)
        #expect(stats.devices[0].crcErrors == 0)
    }

    /// A lock MCU that stops answering: each request is sent three times 500 ms apart before it
    /// counts as a timeout, and the lock shows unresponsive with a response-timeout fault.
    @Test func aHungTuyaMCUTimesOutAfterItsRetransmissions() throws {
        let rig = try Rig(sim: ["--dialect", "tuya", "--scenario", "healthy", "--activity", "0"]) { mcu, _ in
            ["--serial", mcu, "--dialect", "tuya"]
        }
        defer { rig.stop() }
        #expect(try TestSupport.wait(upTo: 10) { try rig.device().online })
        rig.sim.send("hang 0")
        #expect(rig.sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 10) { try rig.device().state == "unresponsive" })
        #expect(try TestSupport.wait(upTo: 15) { try rig.confirmed("response_timeout") })
        let stats = try rig.client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices[0]
        #expect(stats.timeouts >= 2)
        #expect(stats.requests >= 3 * stats.timeouts)
        rig.sim.send("resume 0")
        #expect(try TestSupport.wait(upTo: 10) { try rig.device().online })
    }

    @Test func passiveTapOnBothLinesNeverTransmitsAndReadsTheLock() throws {
        let rig = try Rig(sim: ["--dialect", "tuya-lowpower", "--scenario", "battery-low", "--activity", "0", "--tap"]) { mcu, module in
            ["--serial", mcu, "--serial-rx", module!, "--dialect", "tuya-sniff"]
        }
        defer { rig.stop() }
        #expect(try rig.device().dialect == "tuya-sniff")
        // The simulated module wakes every few seconds; the tap picks up the PID and the state.
        #expect(try TestSupport.wait(upTo: 20) { try rig.status().battery.percent != nil && rig.device().product == "wifi-lock" })
        let status = try rig.status()
        #expect(status.tuya?.variant == "lowpower")
        #expect((8...16).contains(status.battery.percent ?? -1))
        #expect(try TestSupport.wait(upTo: 10) { try rig.confirmed("battery_low") })
        // The tamper switch trips while the tap listens: the alarm is read off the line.
        rig.sim.send("tamper 0")
        #expect(rig.sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 20) { try rig.confirmed("tamper") })
        let stats = try rig.client.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        #expect(stats.devices[0].bytesOut == 0)
        #expect(stats.devices[0].requests == 0)
        #expect(stats.devices[0].frames > 0)
    }

    @Test func passiveTapOnTheMCULineAloneWithANamedProduct() throws {
        let rig = try Rig(sim: ["--dialect", "tuya", "--scenario", "tamper", "--activity", "0", "--tap"]) { mcu, _ in
            ["--serial", mcu, "--dialect", "tuya-sniff:wifi-lock"]
        }
        defer { rig.stop() }
        #expect(try TestSupport.wait(upTo: 10) { try rig.status().battery.percent != nil })
        #expect(try rig.status().tuya?.variant == "standard")
        rig.sim.send("tamper 0")
        #expect(rig.sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 10) { try rig.confirmed("tamper") })
        #expect(try rig.client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices[0].bytesOut == 0)
    }

    /// tuya-mcu.md §6.1: a lock whose PID no layout lists is read with Tuya's standard layout of
    /// residential locks (ms) — battery and alarms as for a known product — and says it was assumed.
    @Test(arguments: ["tuya", "tuya-lowpower"])
    func activeUnknownPIDLockIsReadWithTheStandardLayout(dialect: String) throws {
        let rig = try Rig(sim: ["--dialect", dialect, "--scenario", "battery-low", "--activity", "0", "--tuya-pid", Self.unknownPID]) { mcu, _ in
            ["--serial", mcu, "--dialect", dialect]
        }
        defer { rig.stop() }
        #expect(try TestSupport.wait(upTo: 10) { try rig.device().online && rig.status().tuya?.pid == Self.unknownPID })
        #expect(try TestSupport.wait(upTo: 10) { try rig.status().battery.percent != nil })
        let summary = try rig.device()
        #expect(summary.product == "standard-ms")
        #expect(summary.layoutAssumed == "product id \(Self.unknownPID) not known")
        let status = try rig.status()
        #expect((8...16).contains(status.battery.percent ?? -1), "battery \(String(describing: status.battery.percent))")
        #expect(status.tuya?.batteryBand == "low")
        #expect(status.tuya?.category == "ms")
        #expect(status.tuya?.layoutAssumed == "product id \(Self.unknownPID) not known")
        #expect(status.tuya?.categoryAssumed != nil)
        #expect(try TestSupport.wait(upTo: 10) { try rig.confirmed("battery_low") })
        #expect(try TestSupport.wait(upTo: 10) { try rig.status().tuya?.alarms.contains { $0.alarm == "low_battery" } == true })
        rig.sim.send("tamper 0")
        #expect(rig.sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 10) { try rig.confirmed("tamper") })

        let cli = try ChildProcess.run("lockdiag", ["status", rig.path, "--socket", rig.daemon.socketPath])
        #expect(cli.stdout.contains("standard ms (assumed: product id \(Self.unknownPID) not known)"), "\(cli.stdout)")
        #expect(cli.stdout.contains("PID \(Self.unknownPID)"))
        #expect(cli.stdout.contains("level low"))
    }

    @Test func passiveTapOnAnUnknownPIDLockIsReadWithTheStandardLayout() throws {
        let rig = try Rig(sim: ["--dialect", "tuya-lowpower", "--scenario", "battery-low", "--activity", "0", "--tap",
                                "--tuya-pid", Self.unknownPID]) { mcu, module in
            ["--serial", mcu, "--serial-rx", module!, "--dialect", "tuya-sniff"]
        }
        defer { rig.stop() }
        #expect(try TestSupport.wait(upTo: 20) { try rig.status().battery.percent != nil && rig.status().tuya?.pid == Self.unknownPID })
        let status = try rig.status()
        #expect((8...16).contains(status.battery.percent ?? -1))
        #expect(status.tuya?.product == "standard-ms")
        #expect(status.tuya?.layoutAssumed == "product id \(Self.unknownPID) not known")
        #expect(try rig.device().layoutAssumed == "product id \(Self.unknownPID) not known")
        #expect(try TestSupport.wait(upTo: 10) { try rig.confirmed("battery_low") })
        rig.sim.send("tamper 0")
        #expect(rig.sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 20) { try rig.confirmed("tamper") })
        #expect(try rig.status().tuya?.alarms.contains { $0.alarm == "pry" && $0.fault == "tamper" } == true)
        #expect(try rig.client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices[0].bytesOut == 0)
    }

    /// A product id no layout lists (a valid-looking Tuya PID).
    static let unknownPID = "0123abcd4567efgh"

    @Test func badDialectsAreRefusedWithWhatToWrite() throws {
        let unknown = try ChildProcess.run("lockdiagd", ["--serial", "/dev/null", "--dialect", "zigbee", "--no-discovery"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("use ldp, tuya, tuya-lowpower or tuya-sniff"))
        let product = try ChildProcess.run("lockdiagd", ["--serial", "/dev/null", "--dialect", "tuya:no-such-lock", "--no-discovery"])
        #expect(product.status == 64)
        #expect(product.stderr.contains("known: standard-ms, wifi-lock"))
        let rx = try ChildProcess.run("lockdiagd", ["--serial", "/dev/null", "--serial-rx", "/dev/null", "--dialect", "tuya", "--no-discovery"])
        #expect(rx.status == 64)
        #expect(rx.stderr.contains("--serial-rx is the second line of a tap"))
        // The simulator's product id goes into the MCU's JSON reply: only letters and digits.
        let pid = try ChildProcess.run("locksim", ["--pty", "--dialect", "tuya", "--tuya-pid", #"a"b"#])
        #expect(pid.status == 64)
        #expect(pid.stderr.contains("--tuya-pid: 1 to 32 ASCII letters and digits"), "\(pid.stderr)")
        let ldp = try ChildProcess.run("locksim", ["--pty", "--tuya-pid", "abc"])
        #expect(ldp.status == 64)
        #expect(ldp.stderr.contains("--tuya-pid needs --dialect tuya or tuya-lowpower"), "\(ldp.stderr)")
    }
}
