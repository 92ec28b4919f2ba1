import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// locksim and lockdiagd as two real processes: the simulator's fault injection pulls the
/// cable, hangs the lock and plugs it back while the daemon polls.
@Suite struct UnplugTests {
    @Test func unplugMidPollMarksOfflineWithALinkFaultAndRecovers() throws {
        let locks = try SimulatedPtyLocks(["--scenario", "healthy", "--activity", "0.5", "--seed", "9"])
        defer { locks.stop() }
        let sim = locks.child
        let path = locks.paths[0]
        #expect(path == locks.links.path + "/lock0")
        let daemon = try DaemonProcess(["--serial", path])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func device() throws -> DeviceSummary { try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices[0] }
        func faults() throws -> [Fault] { try client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults }

        #expect(try TestSupport.wait(upTo: 10) { try device().online })
        let id = try device().id
        #expect(id == "SIM-0009-000")

        // Pull the cable while the lock is being polled (and possibly actuating).
        sim.send("unplug 0")
        #expect(sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 5) { try !device().online && device().state == "offline" })
        #expect(try TestSupport.wait(upTo: 5) { try faults().contains { $0.name == "link_lost" && $0.status == .confirmed } })
        let offline = try client.call(APIMethod.deviceStatus, params: ["device": .string(id)]).decode(as: DeviceStatus.self)
        #expect(!offline.online)
        // Asking an offline lock to do something fails cleanly with the documented error.
        #expect {
            try client.call(APIMethod.faultsClear, params: ["device": .string(id)])
        } throws: { error in
            (error as? RPCClientError) == .remote(RPCError.deviceOffline(id))
        }

        sim.send("replug 0")
        #expect(sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 10) { try device().online })
        #expect(try TestSupport.wait(upTo: 10) { try faults().contains { $0.name == "link_lost" && $0.status == .healed } })
        let stats = try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        #expect(stats.devices[0].reconnects >= 1)

        // A hung lock (link up, no answers) shows as unresponsive with a timeout fault.
        sim.send("hang 0")
        #expect(sim.readLine(within: 5)?.hasPrefix("ok") == true)
        #expect(try TestSupport.wait(upTo: 10) { try device().state == "unresponsive" })
        #expect(try TestSupport.wait(upTo: 10) { try faults().contains { $0.name == "response_timeout" && $0.status == .confirmed } })
        sim.send("resume 0")
        #expect(try TestSupport.wait(upTo: 10) { try device().online })

        sim.signal(SIGTERM)
        #expect(sim.waitForExit(within: 5))
        #expect(try TestSupport.wait(upTo: 5) { try !device().online })
    }

    @Test func sigtermStopsTheDaemonCleanlyAndRemovesItsSocket() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy"])
        let socket = daemon.socketPath
        #expect(FileManager.default.fileExists(atPath: socket))
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: socket))
    }

    @Test func aMissingSerialDeviceIsListedWithTheReason() throws {
        let daemon = try DaemonProcess(["--serial", "/dev/ttyLOCKDIAG-missing"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        #expect(try TestSupport.wait(upTo: 5) {
            let d = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices[0]
            return d.state == "offline" && d.problem?.contains("check the cable") == true
        })
    }
}

@Suite struct RealtimeTests {
    /// Unprivileged, --realtime cannot have SCHED_FIFO or the PM QoS request; the daemon must
    /// still run and say exactly what it lacks and how to get it.
    @Test(.enabled(if: getuid() == 0, "needs root, to start the daemon as another user"))
    func realtimeSaysWhatItCouldNotGet() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--realtime"],
                                       launcher: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        defer { #expect(daemon.stop() == 0) }
        let log = daemon.child.allErrors
        #expect(log.contains("could not get SCHED_FIFO 80"))
        #expect(log.contains("CAP_SYS_NICE"))
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        let info = try client.call(APIMethod.daemonInfo).decode(as: DaemonInfo.self)
        #expect(info.realtime.requested)
        #expect(info.realtime.missing.contains { $0.hasPrefix("SCHED_FIFO") })
        #expect(info.realtime.granted.contains("timer slack 1 ns"))
    }
}
