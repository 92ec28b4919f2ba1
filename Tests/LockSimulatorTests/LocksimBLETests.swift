import Foundation
import Glibc
import LockDiagTestSupport
import Testing

/// `locksim --ble-att-socket` as a real process.
@Suite struct LocksimBLETests {
    @Test func servesSocketsThatComeAndGoWithTheLock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sim = try ChildProcess("locksim", ["--ble-att-socket", directory.path + "/locks", "--count", "2", "--activity", "0"])
        let paths = [sim.readLine(within: 10), sim.readLine(within: 10)]
        #expect(paths == [directory.path + "/locks/lock0", directory.path + "/locks/lock1"])
        func exists(_ i: Int) -> Bool { FileManager.default.fileExists(atPath: directory.path + "/locks/lock\(i)") }
        #expect(exists(0) && exists(1))
        sim.send("unplug 0")
        #expect(sim.readLine(within: 5) == "ok unplug 0")
        #expect(!exists(0))
        sim.send("status")
        #expect(sim.readLine(within: 5)?.hasSuffix("offline") == true)
        _ = sim.readLine(within: 5)
        sim.send("replug 0")
        #expect(sim.readLine(within: 5) == "ok replug 0 \(directory.path)/locks/lock0")
        #expect(exists(0))
        sim.signal(SIGTERM)
        #expect(sim.waitForExit(within: 5))
        #expect(sim.process.terminationStatus == 0)
        #expect(!exists(0) && !exists(1))
    }

    @Test func oneTransportAtATime() throws {
        let both = try ChildProcess.run("locksim", ["--pty", "--ble-att-socket", "/tmp/x.att"], timeoutSeconds: 10)
        #expect(both.status == 64)
        #expect(both.stderr.contains("exactly one of --pty"))
        let neither = try ChildProcess.run("locksim", [], timeoutSeconds: 10)
        #expect(neither.status == 64)
        let mtu = try ChildProcess.run("locksim", ["--ble-att-socket", "/tmp/x.att", "--ble-mtu", "22"], timeoutSeconds: 10)
        #expect(mtu.status == 64 && mtu.stderr.contains("--ble-mtu"))
        let adapterAndPty = try ChildProcess.run("locksim", ["--ble-adapter", "hci0", "--pty"], timeoutSeconds: 10)
        #expect(adapterAndPty.status == 64 && adapterAndPty.stderr.contains("--ble-adapter hciN"))
        let twice = try ChildProcess.run("locksim", ["--ble-adapter", "hci0", "--ble-adapter", "hci0"], timeoutSeconds: 10)
        #expect(twice.status == 64 && twice.stderr.contains("names one twice"))
    }

    /// `--ble-adapter` on a real controller is exercised by the kernel lab (docs/lab.md); here,
    /// where the kernel has no Bluetooth or the name is no controller's, it fails at start and
    /// says why.
    @Test func aBLEAdapterThatCannotBeUsedFailsAtStartAndSaysWhy() throws {
        let notAController = try ChildProcess.run("locksim", ["--ble-adapter", "wlan0"], timeoutSeconds: 10)
        #expect(notAController.status != 0 && notAController.stderr.contains("'wlan0' is not a controller name"))
        let adapter = try ChildProcess.run("locksim", ["--ble-adapter", "hci0"], timeoutSeconds: 10)
        #expect(adapter.status != 0)
        #expect(adapter.stderr.contains("the kernel has no Bluetooth") || adapter.stderr.contains("CAP_NET_ADMIN")
                    || adapter.stderr.contains("hci0"), "\(adapter.stderr)")
    }
}
