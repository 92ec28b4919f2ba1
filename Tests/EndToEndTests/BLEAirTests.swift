import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// firmware-specs/ble-gatt.md §4 with real processes: locksim's GATT server on a seqpacket
/// socket, lockdiagd --ble-att-socket, and between them a `RadioRelay` that loses some of the
/// lock's notifications, as a radio with no room for another one does.
@Suite struct BLEAirTests {
    /// Trace chunks lost on the air are re-read with READ_MOTOR_TRACE, so the actuation is
    /// analysed from its whole trace.
    @Test func motorTraceChunksLostOnTheAirAreReadAgain() throws {
        let directory = try TemporaryDirectory(prefix: "bleair")
        defer { directory.remove() }
        let sim = try ChildProcess("locksim", ["--ble-att-socket", directory.path + "/lock", "--activity", "0", "--seed", "7"])
        defer { sim.signal(SIGTERM) }
        let lockPath = try #require(sim.readLine(within: 10))
        let relay = try RadioRelay(lockPath: lockPath, hostPath: directory.path + "/air")
        defer { relay.stop() }
        let daemon = try DaemonProcess(["--ble-att-socket", relay.hostPath, "--no-discovery"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        func status() throws -> DeviceStatus? {
            guard let id = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first?.id else { return nil }
            return try client.call(APIMethod.deviceStatus, params: ["device": .string(id)]).decode(as: DeviceStatus.self)
        }
        #expect(try TestSupport.wait(upTo: 15) { try status()?.updatedAt != nil && status()?.lock != "unknown" })
        let bolt = try #require(try status()).lock

        relay.air.withLock { $0.dropEveryNthTraceChunk = 4 }
        let readsBefore = relay.traceReadRequests.load(ordering: .relaxed)
        // A full stroke (some 25 chunks), away from the end the bolt is at.
        sim.send("actuate 0 \(bolt == "locked" ? "unlock" : "lock")")
        let answer = try #require(sim.readLine(within: 10))
        let actuation = try #require(answer.split(separator: "=").last.flatMap { Int($0) }, "\(answer)")
        #expect(try TestSupport.wait(upTo: 20) { try status()?.lastActuation?.actuation == actuation },
                "actuation \(actuation): dropped \(relay.droppedTraceChunks.load(ordering: .relaxed)); \(daemon.child.allErrors)")
        let dropped = relay.droppedTraceChunks.load(ordering: .relaxed)
        #expect(dropped >= 3, "the relay lost \(dropped) trace chunks")
        #expect(relay.traceReadRequests.load(ordering: .relaxed) >= readsBefore + dropped)
        let summary = try #require(try status()?.lastActuation)
        #expect(summary.analysis == "normal" && summary.result == "reached", "\(summary)")
        #expect(!daemon.child.allErrors.contains("trace incomplete"))
    }
}
