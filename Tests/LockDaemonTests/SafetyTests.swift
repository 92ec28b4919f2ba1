import Foundation
import Glibc
import JSONRPC
import LinuxIO
@testable @_spi(Fuzzing) import LockDaemon
import LockDiagTestSupport
import LockProtocol
import Logging
import SerialTransport
import Synchronization
import Testing

/// A lock on a pty that counts the requests it gets by type and answers only what it is told
/// to; it can also flood the host with event frames.
final class ScriptedDevice: Sendable {
    let pty: PseudoTerminal
    private let counts = Mutex<[UInt8: Int]>([:])
    private let answerStatus = Atomic<Bool>(true)
    private let floodFlag = Atomic<Bool>(false)
    private let stopFlag = Atomic<Bool>(false)

    init() throws {
        pty = try PseudoTerminal.open()
        let master = pty.master
        Thread.detachNewThread { [self] in
            let decoder = FrameDecoder()
            var buffer = [UInt8](repeating: 0, count: 1024)
            let flood = Event.faultRaised(DeviceFault(code: FaultCode.motorStall, status: [.testFailed], occurrences: 1, firstSeenSeconds: 1,
                                                      lastSeenSeconds: 1, snapshotBatteryMillivolts: 6000, snapshotMotorCurrentMilliamps: 0,
                                                      snapshotTemperatureDecicelsius: 200, snapshotBolt: .locked)).frame(seq: 0).encoded
            while !stopFlag.load(ordering: .relaxed) {
                if floodFlag.load(ordering: .relaxed) {
                    // As fast as the pty takes them.
                    var burst: [UInt8] = []
                    for _ in 0..<64 { burst += flood }
                    _ = try? burst.withUnsafeBytes { try FileIO.write(master, $0) }
                }
                var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, floodFlag.load(ordering: .relaxed) ? 0 : 20) > 0 else { continue }
                guard case .bytes(let n)? = try? buffer.withUnsafeMutableBytes({ try FileIO.read(master, into: $0) }) else { return }
                var replies = [UInt8]()
                decoder.feed(Array(buffer[0..<n])) { output in
                    guard case .frame(let f) = output, f.header.kind == .request else { return }
                    counts.withLock { $0[f.header.type, default: 0] += 1 }
                    guard answerStatus.load(ordering: .relaxed) else { return }
                    switch f.header.type {
                    case MessageType.identify.rawValue:
                        replies += Response.identify(Identity(capabilities: [.motor], traceSampleRateHz: 1000, traceCapacity: 64, model: "SCRIPT",
                                                              hardwareRevision: "T", firmwareVersion: "0.0.1", serial: "SCRIPT-1")).frame(seq: f.header.seq).encoded
                    case MessageType.readStatus.rawValue:
                        replies += Response.status(LockStatus(bolt: .locked, door: .closed, motor: .idle, flags: [], batteryMillivolts: 6000,
                                                              batteryPercent: 90, activeFaults: 0, temperatureDecicelsius: 200,
                                                              motorCurrentMilliamps: 0, actuations: 1, uptimeSeconds: 1)).frame(seq: f.header.seq).encoded
                    default:
                        break  // commands go unanswered: the answer was "lost"
                    }
                }
                try? FileIO.writeAll(master, replies)
            }
        }
    }

    func requests(of type: MessageType) -> Int { counts.withLock { $0[type.rawValue] ?? 0 } }
    func setFlooding(_ on: Bool) { floodFlag.store(on, ordering: .relaxed) }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        pty.close()
    }
}

@Suite(.serialized) struct SafetyTests {
    func makeLoop(eventsPerSecond: Int = 250) throws -> PollLoop {
        var configuration = PollLoopConfiguration()
        configuration.pollHz = 100
        configuration.maxDevices = 4
        configuration.maxEventsPerSecondPerDevice = eventsPerSecond
        return try PollLoop(configuration: configuration)
    }

    /// LDP/1 lets a host retry a request once; for one that moves the motor, a lost answer does
    /// not mean a lost request, so the loop reports the timeout instead of sending it again.
    @Test func aSelfTestOrActuationIsNeverResentButAReadIs() throws {
        let device = try ScriptedDevice()
        defer { device.stop() }
        let loop = try makeLoop()
        loop.attach(SerialPort(path: device.pty.slavePath), slot: 0)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        _ = reader.wait { $0.header.type == MessageType.identify.rawValue }

        for request in [Request.runSelfTest(.motor), .actuate(.unlock), .clearFaults(code: Request.clearAllFaults)] {
            let token = loop.nextToken()
            #expect(loop.send(request, to: 0, token: token))
            let timeout = try #require(reader.wait { $0.header.kind == .timeout && $0.header.token == token })
            #expect(timeout.header.type == request.type.rawValue)
        }
        #expect(device.requests(of: .runSelfTest) == 1)
        #expect(device.requests(of: .actuate) == 1)
        #expect(device.requests(of: .clearFaults) == 2, "CLEAR_FAULTS changes nothing twice, so it keeps its one retry")
        #expect(!LDPDriver.actuates(type: MessageType.readMotorTrace.rawValue))
    }

    /// A lock that floods event frames gets its budget per second and no more; the rest are
    /// counted, and the lock next to it is polled as before.
    @Test func aFloodingLockIsCappedAndItsNeighbourStillPolled() throws {
        let flooder = try ScriptedDevice()
        let neighbour = try ScriptedDevice()
        defer {
            flooder.stop()
            neighbour.stop()
        }
        let loop = try makeLoop(eventsPerSecond: 50)
        loop.attach(SerialPort(path: flooder.pty.slavePath), slot: 0)
        loop.attach(SerialPort(path: neighbour.pty.slavePath), slot: 1)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        _ = reader.wait { $0.header.type == MessageType.identify.rawValue && $0.header.device == 1 }
        flooder.setFlooding(true)
        // Counters come once a second; wait for one showing drops.
        let dropped = reader.wait(seconds: 10) { record in
            guard record.header.kind == .counters, record.header.device == 0, record.payload.count >= MemoryLayout<LinkCounters>.size else { return false }
            return record.payload.withUnsafeBytes { $0.loadUnaligned(as: LinkCounters.self) }.eventsDropped > 100
        }
        #expect(dropped != nil)
        let statusBefore = neighbourStatusCount(reader)
        #expect(reader.wait(seconds: 5) { _ in neighbourStatusCount(reader) >= statusBefore + 50 } != nil)
        flooder.setFlooding(false)
        // At most the budget per second (plus one window's edge) reached the ring from the flooder.
        let events = reader.records.filter { $0.header.device == 0 && $0.header.kind == .frame && $0.header.frameKind == .event }
        let first = try #require(events.first).header.timestampNanoseconds
        let last = try #require(events.last).header.timestampNanoseconds
        let seconds = Double(last - first) / 1e9
        #expect(Double(events.count) <= 50 * (seconds + 2))
    }

    func neighbourStatusCount(_ reader: RingReader) -> Int {
        reader.drain()
        return reader.records.filter { $0.header.device == 1 && $0.header.type == MessageType.readStatus.rawValue && $0.header.kind == .frame }.count
    }
}

@Suite struct AccessPolicyTests {
    let policy = AccessPolicy(readerGroup: RoleGroup(name: "lockdiag", gid: 4700), technicianGroup: RoleGroup(name: "lockdiag-admin", gid: 4701),
                              daemonUID: 999)

    @Test func rolesComeFromUidAndGroups() {
        #expect(policy.role(of: PeerCredentials(pid: 1, uid: 0, gid: 0, groups: [])) == .technician)
        #expect(policy.role(of: PeerCredentials(pid: 1, uid: 999, gid: 999, groups: [])) == .technician, "the daemon's own user")
        #expect(policy.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [4700])) == .reader)
        #expect(policy.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 4700, groups: [])) == .reader, "primary group counts")
        #expect(policy.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [4700, 4701])) == .technician)
        #expect(policy.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [4701])) == .technician)
        #expect(policy.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [27, 100])) == nil)
        #expect(policy.role(of: nil) == nil)
    }

    @Test func aGroupThatDoesNotExistGrantsNothing() {
        let strict = AccessPolicy(readerGroup: RoleGroup(name: "nope", gid: nil), technicianGroup: RoleGroup(name: "nope2", gid: nil), daemonUID: 999)
        #expect(strict.role(of: PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [4700])) == nil)
        #expect(strict.role(of: PeerCredentials(pid: 1, uid: 0, gid: 0, groups: [])) == .technician)
    }

    /// A user the group database lists as a member of a group other than its primary one
    /// (on Debian, for example, postgres in ssl-cert): (uid, that group's gid).
    static let listedMember: (uid: UInt32, gid: UInt32)? = {
        setgrent()
        defer { endgrent() }
        while let group = getgrent() {
            var member = group.pointee.gr_mem
            while let name = member?.pointee {
                if let user = getpwnam(name), user.pointee.pw_gid != group.pointee.gr_gid, group.pointee.gr_gid != 0 {
                    return (user.pointee.pw_uid, group.pointee.gr_gid)
                }
                member = member?.advanced(by: 1)
            }
        }
        return nil
    }()

    /// When SO_PEERGROUPS did not answer, only the kernel's gid counts: a group the database
    /// lists the user in, but the process may have dropped, grants nothing.
    @Test(.enabled(if: listedMember != nil, "needs a group database entry with a member"))
    func theGroupDatabaseIsNeverAskedWhenTheKernelDidNotSay() throws {
        let (uid, gid) = try #require(Self.listedMember)
        let strict = AccessPolicy(readerGroup: RoleGroup(name: "listed", gid: gid), technicianGroup: RoleGroup(name: "none", gid: nil),
                                  daemonUID: 4_000_000_000)
        let otherGID: UInt32 = 4_000_000_001
        #expect(strict.role(of: PeerCredentials(pid: 1, uid: uid, gid: otherGID, groups: nil)) == nil, "the database is not the process")
        #expect(AccessPolicy.groups(of: PeerCredentials(pid: 1, uid: uid, gid: otherGID, groups: nil)) == [otherGID])
        #expect(strict.role(of: PeerCredentials(pid: 1, uid: uid, gid: otherGID, groups: [gid])) == .reader, "the kernel's list counts")
        #expect(strict.role(of: PeerCredentials(pid: 1, uid: uid, gid: gid, groups: nil)) == .reader, "so does the kernel's gid")
    }

    @Test func refusalsNameTheGroupToJoin() {
        guard case .refuse(let refusal) = policy.admission(PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [])) else {
            Issue.record("a peer without a role is refused")
            return
        }
        #expect(refusal.code == RPCError.Code.permissionDenied)
        #expect(refusal.data?["group"] == "lockdiag")
        #expect(policy.admission(PeerCredentials(pid: 1, uid: 1000, gid: 1000, groups: [4700])) == .admit(privileged: false))
        let denial = policy.denial(of: "faults.clear")
        #expect(denial.data?["group"] == "lockdiag-admin" && denial.data?["role"] == "technician")
        #expect(denial.message.contains("sudo usermod -aG lockdiag-admin"))
        #expect(policy.requiredRole(for: "device.status") == .reader)
        #expect(policy.requiredRole(for: "history.delete") == .technician, "a method nobody classified needs the higher role")
    }

    @Test func groupZeroNeverGrantsARole() {
        #expect(RoleGroup.lookUp("0").gid == nil)
        #expect(RoleGroup.lookUp("root").gid == nil)
        #expect(RoleGroup.lookUp("4711").gid == 4711)
        #expect(RoleGroup.lookUp("no-such-group-lockdiag").gid == nil)
    }
}

/// The sd_notify side, against a real AF_UNIX datagram socket standing in for systemd.
@Suite struct ServiceManagerLinkTests {
    @Test func keepAlivesStopWhileSomethingStallsAndResumeAfter() throws {
        let receiver = try NotifySocket()
        defer { receiver.close() }
        let link = ServiceManagerLink(notifier: try #require(ServiceNotifier(socketName: receiver.name)), watchdogMicroseconds: 100_000,
                                      logger: Logger(label: "test"))
        #expect(link.pingIntervalSeconds == 0.05)
        let counter = Atomic<UInt64>(0)
        let frozen = Atomic<Bool>(false)
        link.ready(status: "starting")
        #expect(receiver.next() == "READY=1\nSTATUS=starting")
        link.startKeepAlive(progress: {
            if !frozen.load(ordering: .relaxed) { counter.add(1, ordering: .relaxed) }
            return [("poll loop", counter.load(ordering: .relaxed))]
        }, check: { nil }, status: { "all well" })
        #expect(receiver.next()?.hasPrefix("WATCHDOG=1") == true)
        #expect(receiver.next() == "WATCHDOG=1")
        frozen.store(true, ordering: .relaxed)
        // The stall is announced; no keep-alive may come until it is over.
        var sawStall = false
        while let message = receiver.next() {
            if message.hasPrefix("STATUS=stalled: poll loop made no progress") {
                sawStall = true
                break
            }
            #expect(message.hasPrefix("WATCHDOG=1"), "only keep-alives sent before the stall was seen")
        }
        #expect(sawStall)
        frozen.store(false, ordering: .relaxed)
        // Resumed: keep-alives again, with the status restored.
        #expect(receiver.next() == "WATCHDOG=1\nSTATUS=all well")
        link.stopping()
        link.stopKeepAlive()
        var stopping = false
        while let message = receiver.next() {
            if message == "STOPPING=1\nSTATUS=shutting down" {
                stopping = true
                break
            }
        }
        #expect(stopping)
    }

    @Test func anExtraCheckCanWithholdTheKeepAlive() throws {
        let receiver = try NotifySocket()
        defer { receiver.close() }
        let link = ServiceManagerLink(notifier: try #require(ServiceNotifier(socketName: receiver.name)), watchdogMicroseconds: 100_000,
                                      logger: Logger(label: "test"))
        let counter = Atomic<UInt64>(0)
        link.startKeepAlive(progress: { [("hub", counter.add(1, ordering: .relaxed).newValue)] },
                            check: { "the socket server's event loop did not answer within 1 s" }, status: { "x" })
        defer { link.stopKeepAlive() }
        #expect(receiver.next() == "STATUS=stalled: the socket server's event loop did not answer within 1 s")
    }
}

/// Crashes `make fuzz` found, kept as tests (their inputs are also replayed from
/// Fuzz/regressions by FuzzRegressionTests).
@Suite struct FuzzFoundTests {
    /// hub-records crash-d1dd6efe: link counters that went backwards (or sat near 2^64) made
    /// the hub's link check trap on an overflowing sum. Counters now wrap.
    @Test func countersNearTheirLimitWrap() {
        var near = LinkCounters()
        near.decoder.headerErrors = .max
        near.decoder.crcErrors = 2
        #expect(near.checkErrors == 1)
    }

    /// The kernel lab's replug crash (issue 13): a CDC-ACM lock unplugged and plugged back
    /// started its link counters from zero, the hub's once-a-second link check took the
    /// difference across the two links, and the evidence string's sum trapped ("arithmetic
    /// overflow" in Hub.checkLink); an earlier replug raised a false comm_crc_errors the same way.
    /// Both orders are fed: the link re-announced (linkDown, linkUp) and counters alone going back.
    @Test(arguments: [true, false]) func aReattachedLinkNeitherTrapsNorRaisesALinkFault(announced: Bool) throws {
        let rig = try HubRecordFeeder()
        // A healthy first link: 1 000 frames, a few CRC errors, growing each second.
        rig.feed(.linkUp)
        var counters = LinkCounters()
        for second in 1...4 {
            counters.decoder.frames = UInt64(1000 * second)
            counters.decoder.crcErrors = UInt64(second)
            counters.requests = UInt64(1000 * second)
            rig.feed(.counters, counters)
        }
        if announced { rig.feed(.linkDown); rig.feed(.linkUp) }
        // The new link starts from zero: three frames, three requests, no errors.
        for second in 1...4 {
            var fresh = LinkCounters()
            fresh.decoder.frames = UInt64(3 * second)
            fresh.requests = UInt64(3 * second)
            rig.feed(.counters, fresh)
        }
        let names = rig.faultNames
        #expect(!names.contains("comm_crc_errors"), "a replug is not a CRC problem: \(names)")
        #expect(!names.contains("response_timeout"), "a replug is not a timeout problem: \(names)")
        #expect(rig.hub.linkStats().count == 1)
    }
}
