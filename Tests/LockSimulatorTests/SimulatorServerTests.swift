import Foundation
import Glibc
import LinuxIO
import LockDiagTestSupport
import LockProtocol
import LockSimulator
import Testing

/// SimulatorServer over real ptys, with a client that does what lockdiagd's serial transport
/// does: open the path, raw mode, LDP/1 through a FrameDecoder.
@Suite struct SimulatorServerTests {
    /// A started server; `stop()` and the directory cleanup run in `finish`.
    static func serve(_ scenarios: [Scenario], links: Bool = true, activity: Double? = nil,
                      seed: UInt64 = 11) throws -> (SimulatorServer, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let configurations = SimulatorConfiguration.fleet(
            count: scenarios.count, scenarios: scenarios, seed: seed,
            activityIntervalNanoseconds: activity.map { UInt64($0 * 1e9) })
        let server = try SimulatorServer(configurations: configurations, linkDirectory: links ? directory.path + "/links" : nil)
        try server.start()
        return (server, directory)
    }

    @Test func aClientGetsIdentityAndTheStallTraceThroughTheLink() throws {
        let (server, directory) = try Self.serve([.motorStall, .healthy])
        defer { server.stop(); directory.remove() }
        #expect(server.devicePaths == [directory.path + "/links/lock0", directory.path + "/links/lock1"])
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: server.devicePaths[0])
        #expect(target.hasPrefix("/dev/pts/"))

        let client = try PtyClient(path: server.devicePaths[0])
        guard case .identify(let identity)? = try client.response(.identify) else { Issue.record("no IDENTIFY"); return }
        #expect(identity.serial == "SIM-000B-000")
        let (chunk, samples) = try #require(try client.readLatestTrace())
        #expect(chunk.complete)
        #expect(samples.count == Int(chunk.totalSamples))
        // A jam part-way out: the run ended early, on stall current.
        #expect(samples.count < 600)
        #expect(samples.suffix(15).allSatisfy { $0 > 1000 })
        guard case .faults(let faults)? = try client.response(.readFaults) else { Issue.record("no READ_FAULTS"); return }
        #expect(faults.contains { $0.code == FaultCode.motorStall && $0.status.contains(.confirmed) })

        let other = try PtyClient(path: server.devicePaths[1])
        guard case .identify(let second)? = try other.response(.identify) else { Issue.record("no IDENTIFY from lock 1"); return }
        #expect(second.serial == "SIM-000B-001")
    }

    @Test func chunksStreamLiveDuringAnActuation() throws {
        let (server, directory) = try Self.serve([.healthy], links: false)
        defer { server.stop(); directory.remove() }
        #expect(server.devicePaths[0].hasPrefix("/dev/pts/"))
        let client = try PtyClient(path: server.devicePaths[0])
        let number = try #require(try server.trigger(actuation: .unlock, lock: 0))
        #expect(try server.trigger(actuation: .lock, lock: 0) == nil, "busy")
        var finished: ActuationFinished?
        try client.pump(upTo: 3) {
            finished = client.events.lazy.compactMap { if case .actuationFinished(let e) = $0, e.actuation == number { e } else { nil } }.first
            return finished != nil
        }
        let result = try #require(finished)
        #expect(result.result == .reached)
        let chunkTimes = zip(client.frames, client.arrivals).filter { $0.0.header.type == MessageType.traceChunk.rawValue }.map(\.1)
        #expect(chunkTimes.count >= 20)
        // Spread over the ~0.8 s actuation, not delivered in one burst at the end.
        let spreadMilliseconds = Double((chunkTimes.last ?? 0) - (chunkTimes.first ?? 0)) / 1e6
        #expect(spreadMilliseconds > 400)
        let started = client.events.compactMap { if case .actuationStarted(let e) = $0 { e } else { nil } }
        #expect(started.first?.source == .user)
    }

    @Test func unplugHangsUpTheClientAndReplugComesBackOnTheSamePath() throws {
        let (server, directory) = try Self.serve([.healthy])
        defer { server.stop(); directory.remove() }
        let path = server.devicePaths[0]
        let client = try PtyClient(path: path)
        guard case .identify? = try client.response(.identify) else { Issue.record("no IDENTIFY"); return }
        let oldTarget = try FileManager.default.destinationOfSymbolicLink(atPath: path)

        try server.unplug(lock: 0)
        var p = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 2000) == 1)
        #expect(p.revents & Int16(POLLHUP) != 0)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(try buffer.withUnsafeMutableBytes { try FileIO.read(client.fd, into: $0) } == .closed)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: SimulatorError.alreadyUnplugged(0)) { try server.unplug(lock: 0) }
        #expect(try server.snapshots()[0].isOnline == false)

        let replugged = try server.replug(lock: 0)
        #expect(replugged == path)
        let newTarget = try FileManager.default.destinationOfSymbolicLink(atPath: path)
        #expect(newTarget.hasPrefix("/dev/pts/"))
        #expect(try server.snapshots()[0].ptyPath == newTarget)
        _ = oldTarget
        let again = try PtyClient(path: path)
        guard case .identify(let identity)? = try again.response(.identify) else { Issue.record("no IDENTIFY after replug"); return }
        #expect(identity.serial == "SIM-000B-000")
        #expect(throws: SimulatorError.alreadyPlugged(0)) { try server.replug(lock: 0) }
    }

    @Test func aNoisyLineCorruptsFramesButValidOnesStillArrive() throws {
        let (server, directory) = try Self.serve([.noisyLine])
        defer { server.stop(); directory.remove() }
        let client = try PtyClient(path: server.devicePaths[0])
        // Small batches, read as they come, so the lock's transmit buffer never overflows; a
        // batch whose answers were damaged beyond counting is given up on after 100 ms.
        func outcomes() -> UInt64 { client.decoder.counters.frames + client.decoder.counters.rejected }
        for _ in 0..<20 {
            let before = outcomes()
            for i in 0..<8 { try client.send(i % 2 == 0 ? .readStatus : .readMotorTrace(TraceRequest(firstIndex: 0))) }
            try client.pump(upTo: 0.1) { outcomes() >= before + 8 }
        }
        let counters = client.decoder.counters
        #expect(counters.frames >= 100, "most of the 160 answers arrive intact")
        #expect(counters.crcErrors > 0)
        let rejected = Double(counters.crcErrors + counters.headerErrors)
        #expect(rejected / Double(counters.frames + counters.crcErrors + counters.headerErrors) > 0.02)
        #expect(try server.snapshots()[0].counters.bytesCorrupted > 0)
    }

    @Test func aFlakyLockDropsSomeResponses() throws {
        let (server, directory) = try Self.serve([.flaky])
        defer { server.stop(); directory.remove() }
        let client = try PtyClient(path: server.devicePaths[0])
        var answered = 0
        var missed = 0
        for _ in 0..<60 {
            // The protocol's own host deadline (§4.2).
            if try client.ask(.readStatus, timeout: 0.1) != nil { answered += 1 } else { missed += 1 }
        }
        #expect(missed >= 2)
        #expect(answered >= 40)
        // Every drop is a miss; a very slow machine could add a late answer to the misses.
        let counters = try server.snapshots()[0].counters
        #expect(counters.responsesDropped >= 2)
        #expect(counters.responsesDropped <= UInt64(missed))
    }

    @Test func hangAndResumeOverThePty() throws {
        let (server, directory) = try Self.serve([.healthy])
        defer { server.stop(); directory.remove() }
        let client = try PtyClient(path: server.devicePaths[0])
        try server.hang(lock: 0)
        #expect(try client.ask(.identify, timeout: 0.2) == nil)
        #expect(try server.snapshots()[0].isHung)
        try server.resume(lock: 0)
        guard case .response(.identify)? = try client.ask(.identify) else { Issue.record("no answer after resume"); return }
    }

    @Test func scenarioChangesReachTheRightLock() throws {
        let (server, directory) = try Self.serve([.healthy, .healthy])
        defer { server.stop(); directory.remove() }
        try server.setScenario(.motorOpen, lock: 1)
        #expect(try server.snapshots().map(\.scenario) == [.healthy, .motorOpen])
        let client = try PtyClient(path: server.devicePaths[1])
        guard case .actuationAccepted(let number)? = try client.response(.actuate(.unlock)) else { Issue.record("refused"); return }
        var finished: ActuationFinished?
        try client.pump(upTo: 2) {
            finished = client.events.lazy.compactMap { if case .actuationFinished(let e) = $0, e.actuation == number { e } else { nil } }.first
            return finished != nil
        }
        #expect(finished?.result == .openCircuit)
        try server.setScenario(.batteryLow)
        #expect(try server.snapshots().map(\.scenario) == [.batteryLow, .batteryLow])
        #expect(throws: SimulatorError.noSuchLock(2, count: 2)) { try server.hang(lock: 2) }
    }

    @Test func stopHangsUpClientsRemovesLinksAndRefusesLaterCalls() throws {
        let (server, directory) = try Self.serve([.healthy])
        defer { directory.remove() }
        let path = server.devicePaths[0]
        let client = try PtyClient(path: path)
        server.stop()
        var p = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 2000) == 1)
        #expect(p.revents & Int16(POLLHUP) != 0)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: SimulatorError.notRunning) { try server.snapshots() }
        server.stop()
    }

    @Test func theConsoleAnswersEveryCommandWithOkOrError() throws {
        let (server, directory) = try Self.serve([.motorStall, .healthy])
        defer { server.stop(); directory.remove() }
        let console = SimulatorConsole(server: server)
        let status = try #require(console.execute("status")).split(separator: "\n")
        #expect(status.count == 2)
        #expect(status[0].hasPrefix("ok 0 \(server.devicePaths[0]) motor-stall bolt=intermediate battery_mv="))
        #expect(status[0].hasSuffix(" online"))
        #expect(status[1].contains(" healthy bolt=locked "))
        #expect(console.execute("scenario 1 clutch-slip") == "ok scenario 1 clutch-slip")
        #expect(console.execute("scenario all tamper") == "ok scenario all tamper")
        #expect(console.execute("actuate 1 unlock")?.hasPrefix("ok actuate 1 unlock actuation=") == true)
        #expect(console.execute("actuate 1 unlock")?.hasPrefix("error lock 1 is busy") == true)
        #expect(console.execute("finger 0") == "ok finger 0")
        #expect(console.execute("tamper 0") == "ok tamper 0")
        #expect(console.execute("door 0 open") == "ok door 0 open")
        #expect(console.execute("door 0 closed") == "ok door 0 closed")
        #expect(console.execute("hang 0") == "ok hang 0")
        #expect(try #require(console.execute("status")).split(separator: "\n")[0].hasSuffix(" hung"))
        #expect(console.execute("resume 0") == "ok resume 0")
        #expect(console.execute("unplug 0") == "ok unplug 0")
        #expect(try #require(console.execute("status")).split(separator: "\n")[0].hasSuffix(" offline"))
        let replug = try #require(console.execute("replug 0"))
        #expect(replug.hasPrefix("ok replug 0 \(server.devicePaths[0]) pty=/dev/pts/"))
        #expect(console.execute("help")?.hasPrefix("ok commands:") == true)
        #expect(console.execute("") == nil)
        #expect(console.execute("# a comment") == nil)
        for bad in ["launch 0", "scenario 0 exploding", "hang 7", "hang x", "actuate 0 sideways", "unplug", "replug 0", "door 0 ajar", "door 0"] {
            #expect(console.execute(bad)?.hasPrefix("error ") == true, "\(bad)")
        }
    }
}
