import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// BLE locks through real processes: locksim serves GATT on seqpacket sockets (the seam that
/// stands in for L2CAP on this kernel), lockdiagd connects with --ble-att-socket, the CLI asks.
@Suite struct BLEProcessTests {
    /// Whether this kernel has Bluetooth sockets (the failure tests only mean something without).
    static let hostHasBluetooth: Bool = {
        let fd = socket(31, Int32(SOCK_SEQPACKET.rawValue), 0)  // AF_BLUETOOTH, BTPROTO_L2CAP
        if fd >= 0 { close(fd) }
        return fd >= 0
    }()

    /// Starts locksim serving `count` BLE locks; returns it and their socket paths.
    static func simulator(_ arguments: [String], count: Int, in directory: TemporaryDirectory) throws -> (ChildProcess, [String]) {
        let sim = try ChildProcess("locksim", ["--ble-att-socket", directory.path + "/locks", "--count", "\(count)"] + arguments)
        var paths: [String] = []
        for _ in 0..<count { paths.append(try #require(sim.readLine(within: 10))) }
        return (sim, paths)
    }

    @Test func everyFaultyScenarioIsDiagnosedOverBLE() throws {
        let scenarios = DaemonProcessTests.faulty.map(\.scenario) + ["healthy"]
        let directory = try TemporaryDirectory(prefix: "bsim")
        defer { directory.remove() }
        let (sim, paths) = try Self.simulator(["--scenario", scenarios.joined(separator: ","), "--activity", "0.7", "--seed", "5"],
                                              count: scenarios.count, in: directory)
        defer { sim.signal(SIGTERM) }
        let daemon = try DaemonProcess(paths.flatMap { ["--ble-att-socket", $0] })
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func devices() throws -> [DeviceSummary] { try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices }
        #expect(try TestSupport.wait(upTo: 15) { try devices().allSatisfy { $0.serial != nil } })
        let listed = try devices()
        #expect(listed.map(\.path) == paths)
        #expect(listed.allSatisfy { $0.transport == "ble" && $0.wireProtocol == "LDP/1" && $0.ble?.mtu == 247 })
        for (device, (scenario, category)) in zip(listed, DaemonProcessTests.faulty) {
            let confirmed = try TestSupport.wait(upTo: 20, pollEvery: 0.1) {
                let faults = try client.call(APIMethod.faultsList, params: ["device": .string(device.id)]).decode(as: FaultsList.self).faults
                return faults.contains { $0.status == .confirmed && $0.category == category }
            }
            #expect(confirmed, "\(scenario) over BLE (\(device.id)) has no confirmed \(category) fault")
        }
        let healthy = try #require(listed.last)
        let faults = try client.call(APIMethod.faultsList, params: ["device": .string(healthy.id)]).decode(as: FaultsList.self).faults
        #expect(faults.isEmpty, "healthy BLE lock has faults: \(faults.map(\.name))")
    }

    /// A lock with only Battery and Device Information at MTU 23, through the CLI; then out of
    /// range and back, with one log line for the outage.
    @Test func standardServicesLockThroughTheCLIAndAnOutage() throws {
        let directory = try TemporaryDirectory(prefix: "bsim")
        defer { directory.remove() }
        let (sim, paths) = try Self.simulator(["--gatt-services", "standard", "--ble-mtu", "23", "--scenario", "battery-low"], count: 1, in: directory)
        defer { sim.signal(SIGTERM) }
        let daemon = try DaemonProcess(["--ble-att-socket", paths[0]])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func device() throws -> DeviceSummary { try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices[0] }
        #expect(try TestSupport.wait(upTo: 10) { try device().online && device().serial != nil })

        let list = try ChildProcess.run("lockdiag", ["list", "--json", "--socket", daemon.socketPath])
        let listed = try JSONDecoder().decode(DevicesList.self, from: Data(list.stdout.utf8)).devices[0]
        #expect(listed.manufacturer == "Lockdiag Simulated Lock Controllers")
        #expect(listed.wireProtocol == "GATT" && listed.ble?.mtu == 23)
        #expect(try TestSupport.wait(upTo: 10) {
            try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults.contains { $0.name == "battery_low" && $0.status == .confirmed }
        })
        let status = try ChildProcess.run("lockdiag", ["status", listed.id, "--socket", daemon.socketPath])
        #expect(status.status == 2)  // the confirmed battery_low
        #expect(status.stdout.contains("battery level only"))
        #expect(status.stdout.contains("via ble \(paths[0])"))
        // What it cannot report shows as unknown, never as 0.
        #expect(status.stdout.contains("calibration     —") && !status.stdout.contains(" 0 mA") && !status.stdout.contains(" mV"))

        sim.send("unplug 0")
        #expect(sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 5) { try device().state == "offline" && device().problem?.contains("next attempt") == true })
        // Several attempts fail while it is away; the log says so once.
        #expect(try TestSupport.wait(upTo: 8) { try (device().ble?.connectionAttempts ?? 0) >= 3 })
        sim.send("replug 0")
        #expect(sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 20) { try device().online })
        let log = daemon.child.allErrors.split(separator: "\n")
        // One line for the loss, at most one with the reason it could not reconnect, whatever the attempts.
        #expect(log.filter { $0.contains("link lost on") }.count == 1, "\(log.joined(separator: "\n"))")
        #expect(log.filter { $0.contains("no GATT server there") || $0.contains("link lost:") }.count <= 1, "\(log.joined(separator: "\n"))")
    }

    @Test(.enabled(if: !hostHasBluetooth, "this host has Bluetooth"))
    func bleFailsCleanlyWithoutBluetooth() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try ChildProcess.run("lockdiagd", ["--ble", "C4:7C:8D:6A:1B:2E/random", "--socket", directory.path + "/s.sock",
                                                        "--db", directory.path + "/h.sqlite"], timeoutSeconds: 20)
        #expect(daemon.status == 1)
        #expect(daemon.stderr.contains("lockdiagd: Bluetooth is not available on this host: "))
        #expect(daemon.stderr.contains("--ble-att-socket"))
        #expect(!daemon.stderr.contains("Fatal error") && !daemon.stderr.contains("Usage:"))

        for arguments in [["scan"], ["scan", "--seconds", "1", "--json"]] {
            let scan = try ChildProcess.run("lockdiag", arguments, timeoutSeconds: 20)
            #expect(scan.status == 1)
            #expect(scan.stderr.hasPrefix("lockdiag: Bluetooth is not available on this host: "))
            #expect(scan.stdout.isEmpty)
        }
    }

    @Test func badAddressesAreUsageErrors() throws {
        let run = try ChildProcess.run("lockdiagd", ["--ble", "C4:7C:8D:6A:1B", "--socket", "/tmp/never.sock"], timeoutSeconds: 20)
        #expect(run.status == 64)
        #expect(run.stderr.contains("is not a Bluetooth address"))
        let type = try ChildProcess.run("lockdiagd", ["--ble", "C4:7C:8D:6A:1B:2E/static", "--socket", "/tmp/never.sock"], timeoutSeconds: 20)
        #expect(type.status == 64)
        #expect(type.stderr.contains("unknown address type 'static'"))
        let adapter = try ChildProcess.run("lockdiagd", ["--ble", "C4:7C:8D:6A:1B:2E", "--ble-adapter", "bt0", "--socket", "/tmp/never.sock"],
                                           timeoutSeconds: 20)
        #expect(adapter.status == 64)
        #expect(adapter.stderr.contains("--ble-adapter takes a controller name such as hci0"))
    }
}
