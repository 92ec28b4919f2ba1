import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// A rack of simulated locks (locksim, a separate process) polled by a real lockdiagd, with one
/// lock misbehaving as locksim's fault injection makes it. Each test ends with the daemon still
/// serving and every other lock still polled.
final class Rack {
    let locks: SimulatedPtyLocks
    let ids: [String]
    var sim: ChildProcess { locks.child }
    var paths: [String] { locks.paths }

    init(count: Int = 3, seed: Int = 21) throws {
        locks = try SimulatedPtyLocks(count: count, ["--scenario", "healthy", "--activity", "0", "--seed", "\(seed)"])
        // locksim's serials: SIM-<seed, 4 hex digits>-<index, 3 digits>.
        ids = (0..<count).map { String(format: "SIM-%04X-%03d", seed, $0) }
    }

    var serialArguments: [String] { paths.flatMap { ["--serial", $0] } }

    /// Sends a stdin command; returns its one-line answer.
    @discardableResult
    func command(_ line: String) -> String? { locks.command(line) }

    /// locksim's `commands=` for a lock: RUN_SELFTEST and ACTUATE requests it accepted.
    func commandsAccepted(lock index: Int) -> Int? {
        sim.send("status")
        var answer: Int?
        for _ in paths.indices {
            guard let line = sim.readLine(within: 10) else { return nil }
            if line.hasPrefix("ok \(index) "), let match = line.firstMatch(of: /commands=(\d+)/) { answer = Int(match.1) }
        }
        return answer
    }

    func allOnline(_ client: JSONRPCClient) async throws -> Bool {
        try await TestSupport.wait(upTo: 20, pollEvery: 0.1) { () async throws -> Bool in try devices(client).filter(\.online).count == ids.count }
    }

    deinit { locks.stop() }

    struct RackError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

@Suite(.serialized) struct FaultInjectionTests {
    @Test func bitErrorsOnOneLineAreCountedAndNobodyElseNotices() async throws {
        let rack = try Rack()
        let daemon = try DaemonProcess(rack.serialArguments)
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try await rack.allOnline(client))
        let noisy = rack.ids[0]
        #expect(rack.command("noise 0 0.001") == "ok noise 0 0.001")
        // ~2 KB/s each way at 50 Hz: a damaged frame every second or so.
        #expect(try await TestSupport.wait(upTo: 30, pollEvery: 0.2) { () async throws -> Bool in try (linkStats(client)[noisy]?.checkErrorsTotal ?? 0) >= 3 })
        #expect(try await stillPolled(Array(rack.ids.dropFirst()), by: client))
        #expect(try await stillPolled([noisy], by: client), "the noisy lock itself is still read")
        let stats = try linkStats(client)
        #expect(stats[noisy]?.decodeErrors == 0, "no damaged frame got past the CRCs")
        // Their lines stay clean. (Timeouts are not compared: on two busy shared cores a healthy
        // lock can miss the 100 ms deadline now and then, which has nothing to do with the noise.)
        for id in rack.ids.dropFirst() { #expect(stats[id]?.checkErrorsTotal == 0) }
        #expect(rack.command("noise 0 0") == "ok noise 0 0.0")
        #expect(daemonServes(daemon.socketPath))
    }

    @Test func aLockThatHangsMidFrameIsMarkedUnresponsiveAndRecovers() async throws {
        let rack = try Rack()
        let daemon = try DaemonProcess(rack.serialArguments)
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try await rack.allOnline(client))
        let hung = rack.ids[0]
        #expect(rack.command("hang 0 mid-frame") == "ok hang 0 mid-frame")
        #expect(try await TestSupport.wait(upTo: 10) { () async throws -> Bool in try devices(client).first { $0.id == hung }?.state == "unresponsive" })
        #expect(try await stillPolled(Array(rack.ids.dropFirst()), by: client))
        #expect(daemonServes(daemon.socketPath))
        // The half frame is still in the decoder; the lock's next frames must be found behind it.
        #expect(rack.command("resume 0") == "ok resume 0")
        #expect(try await TestSupport.wait(upTo: 10) { () async throws -> Bool in try devices(client).first { $0.id == hung }?.online == true })
        #expect(try await stillPolled(rack.ids, by: client))
    }

    @Test func aLockThatFloodsFramesIsCappedAndTheOthersAreStillPolled() async throws {
        let rack = try Rack()
        let daemon = try DaemonProcess(rack.serialArguments)
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try await rack.allOnline(client))
        let flooder = rack.ids[0]
        // 1500 frames a second: four times what a 115 200-baud line could carry, six times the
        // daemon's budget per lock (and light enough not to starve the other tests of CPU).
        #expect(rack.command("flood 0 1500") == "ok flood 0 1500.0")
        #expect(try await TestSupport.wait(upTo: 15, pollEvery: 0.2) { () async throws -> Bool in try (linkStats(client)[flooder]?.eventsDropped ?? 0) > 1000 })
        #expect(try await stillPolled(Array(rack.ids.dropFirst()), by: client))
        #expect(daemonServes(daemon.socketPath))
        let stats = try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        #expect(stats.ringDropped == 0, "the flood did not crowd the other locks' readings out of the ring")
        #expect(rack.command("flood 0 off") == "ok flood 0 off")
        #expect(try await stillPolled(rack.ids, by: client))
    }

    /// The cable is pulled while the motor self-test runs: the caller is told at once what state
    /// the lock may be in, and the motor command is not sent again when the lock comes back.
    @Test func unplugDuringTheMotorTestFailsItAndNothingIsResent() async throws {
        let rack = try Rack()
        let daemon = try DaemonProcess(rack.serialArguments)
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try await rack.allOnline(client))
        let lock = rack.ids[0]
        #expect(rack.commandsAccepted(lock: 0) == 0)
        _ = try client.call(APIMethod.telemetrySubscribe, params: ["device": .string(lock)])
        let request = try client.send(APIMethod.testsRun, params: ["device": .string(lock), "test": "motor", "confirm": true], timeoutSeconds: 60)
        // The motor runs once trace samples stream.
        var running = false
        let deadline = Date().addingTimeInterval(15)
        while !running, Date() < deadline, let event = try client.poll(timeoutSeconds: 1) {
            if case .notification(_, let params) = event, params["trace"] != nil { running = true }
        }
        #expect(running)
        #expect(rack.command("unplug 0") == "ok unplug 0")
        var outcome: Result<JSONValue, RPCError>?
        let replyBy = Date().addingTimeInterval(5)
        while outcome == nil, Date() < replyBy, let event = try client.poll(timeoutSeconds: 1) {
            if case .reply(let id, let result) = event, id == request { outcome = result }
        }
        guard case .failure(let error)? = outcome else {
            Issue.record("expected an error within 5 s of the unplug, got \(String(describing: outcome))")
            return
        }
        #expect(error.code == RPCError.Code.deviceOffline)
        #expect(error.message.contains("link went away during the motor self-test"), "\(error.message)")
        #expect(error.message.contains("does not repeat the test"))

        #expect(rack.command("replug 0")?.hasPrefix("ok replug 0") == true)
        #expect(try await TestSupport.wait(upTo: 10) { () async throws -> Bool in try devices(client).first { $0.id == lock }?.online == true })
        // Two seconds of polling after the replug: a resent command would have gone out first.
        #expect(try await stillPolled([lock], by: client, frames: 100))
        #expect(rack.commandsAccepted(lock: 0) == 1, "the motor test was asked for once")
        #expect(try await stillPolled(Array(rack.ids.dropFirst()), by: client))
        #expect(daemon.child.allErrors.contains("command=tests.run") && daemon.child.allErrors.contains("→ failed -32002"))
    }

    /// lockdiagd stopped (gracefully, then by a crash) while clients are connected: they get a
    /// clear error, not a hang, and once a new daemon is up on the same socket they carry on and
    /// every lock is polled again.
    @Test func restartingTheDaemonUnderConnectedClients() async throws {
        let rack = try Rack(count: 2, seed: 22)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = directory.path + "/lockdiag.sock"
        func startDaemon() throws -> ChildProcess {
            let daemon = try ChildProcess("lockdiagd", rack.serialArguments + ["--socket", socket])
            guard daemon.waitForErrorLine(containing: "ready:", within: 30) != nil else { throw Rack.RackError("not ready: \(daemon.allErrors)") }
            return daemon
        }
        var daemon = try startDaemon()
        let caller = JSONRPCClient(socketPath: socket)
        let watcher = JSONRPCClient(socketPath: socket)
        #expect(try await rack.allOnline(caller))

        for crash in [false, true] {
            _ = try watcher.call(APIMethod.telemetrySubscribe, params: ["device": .string(rack.ids[0])])
            #expect(try watcher.nextNotification(timeoutSeconds: 5)?.method == APIMethod.telemetryNotification)
            daemon.signal(crash ? SIGKILL : SIGTERM)
            #expect(daemon.waitForExit(within: 15))
            if !crash { #expect(daemon.process.terminationStatus == 0) }
            // Each client finds out, with an error that says what happened.
            #expect(throws: RPCClientError.self) { try caller.call(APIMethod.daemonInfo, timeoutSeconds: 5) }
            #expect {
                while try watcher.nextNotification(timeoutSeconds: 5) != nil {}
            } throws: { error in
                (error as? RPCClientError) == .connectionClosed
            }
            // A crash leaves its socket file behind; the new daemon replaces it and reopens the locks.
            #expect(FileManager.default.fileExists(atPath: socket) == crash)
            daemon = try startDaemon()
            #expect(try await rack.allOnline(caller), "the caller reconnects by itself")
            #expect(try await stillPolled(rack.ids, by: caller))
        }
        _ = try watcher.call(APIMethod.telemetrySubscribe, params: ["device": .string(rack.ids[1])])
        #expect(try watcher.nextNotification(timeoutSeconds: 5)?.method == APIMethod.telemetryNotification)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(within: 15) && daemon.process.terminationStatus == 0)
    }
}

extension LinkStats {
    var checkErrorsTotal: UInt64 { crcErrors + headerErrors }
}
