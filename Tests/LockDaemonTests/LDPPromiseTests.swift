import Foundation
import Glibc
import JSONRPC
import LinuxIO
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import Synchronization
import Testing

/// An LDP/1 lock on a pty, built from the LockProtocol codec, for what the host must do
/// (firmware-specs/ldp-v1.md §4–§7): it logs every request it gets (type, seq, and whether an
/// answer to an earlier request was still unsent), answers each request type as the test tells
/// it (normally, with a NAK, or not at all), and sends any frame the test gives it.
final class LDPTestLock: Sendable {
    enum Answer: Sendable, Equatable {
        case normal
        case nak(NakCode)
        case silent
        /// Stops process `host` (SIGSTOP), NAKs 30 ms later — after the host's next poll tick
        /// is due, well within the 100 ms deadline — and lets the host run again (SIGCONT) once
        /// the deadline has passed: a host woken late, as on a busy machine.
        case nakWhileHostStopped(NakCode, host: Int32)
    }

    struct Seen: Sendable {
        var type: UInt8
        var seq: UInt8
        /// An answer to an earlier request had not been sent yet when this one arrived.
        var whileAnswerPending: Bool
    }

    let pty: PseudoTerminal
    let serial: String
    /// Held while the lock lives, so its own pty is not one a finished test just freed: on a
    /// shared machine another test's daemon may still be reopening that /dev/pts/N (as root,
    /// TIOCEXCL does not stop it), and its requests would mix with this daemon's.
    private let decoys: [PseudoTerminal]
    private let capabilities: Capabilities
    private let answerDelayNanoseconds: UInt64
    private let seen = Mutex<[Seen]>([])
    /// How the next requests of a type are answered, one entry each; then `standing`.
    private let script = Mutex<[UInt8: [Answer]]>([:])
    private let standing = Mutex<[UInt8: Answer]>([:])
    private let outbox = Mutex<[UInt8]>([])
    private let status: Mutex<LockStatus>
    private let measurements: Mutex<[LockProtocol.Measurement]>
    private let stopFlag = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    static let healthyStatus = LockStatus(bolt: .locked, door: .closed, motor: .idle, flags: [.calibrated], batteryMillivolts: 6000,
                                          batteryPercent: 90, activeFaults: 0, temperatureDecicelsius: 200, motorCurrentMilliamps: 0,
                                          actuations: 1, uptimeSeconds: 1)

    init(serial: String = "LDP-TEST-1", capabilities: Capabilities = [.motor, .batteryLoadTest], answerDelayMilliseconds: UInt64 = 0,
         status: LockStatus = LDPTestLock.healthyStatus, measurements: [LockProtocol.Measurement] = []) throws {
        decoys = try (0..<8).map { _ in try PseudoTerminal.open() }
        pty = try PseudoTerminal.open()
        self.serial = serial
        self.capabilities = capabilities
        answerDelayNanoseconds = answerDelayMilliseconds * 1_000_000
        self.status = Mutex(status)
        self.measurements = Mutex(measurements)
        Thread.detachNewThread { [self] in serve() }
    }

    /// Answers the next `count` requests of `type` with `answer` (then as before).
    func answerNext(_ type: MessageType, _ answer: Answer, count: Int = 1) {
        script.withLock { $0[type.rawValue, default: []] += Array(repeating: answer, count: count) }
    }

    /// Answers every request of `type` with `answer` from now on.
    func answerAlways(_ type: MessageType, _ answer: Answer) { standing.withLock { $0[type.rawValue] = answer } }

    func send(_ frame: Frame) { outbox.withLock { $0 += frame.encoded } }
    func setStatus(_ value: LockStatus) { status.withLock { $0 = value } }

    var requests: [Seen] { seen.withLock { $0 } }
    func count(_ type: MessageType) -> Int { requests.filter { $0.type == type.rawValue }.count }

    /// Answers nothing any more: to the daemon the lock is offline. (Closing the pty instead
    /// would free its number for another test's pty while this test's daemon still reopens it.)
    func goSilent() {
        standing.withLock { s in for type in MessageType.allCases { s[type.rawValue] = .silent } }
        script.withLock { $0.removeAll() }
    }

    /// Closes the master: to a daemon still running, the cable was pulled. Stop the daemon first.
    func stop() {
        guard !stopFlag.exchange(true, ordering: .relaxed) else { return }
        _ = TestSupport.wait(upTo: 2) { stopped.load(ordering: .relaxed) }
        pty.close()
        for decoy in decoys { decoy.close() }
    }

    private func serve() {
        defer { stopped.store(true, ordering: .relaxed) }
        // A lock answers within LDP/1's 100 ms whatever else the machine does; on a shared,
        // loaded test machine only a real-time thread does (as root; otherwise best effort).
        var priority = sched_param(sched_priority: 10)
        _ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority)
        let master = pty.master
        let decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pending: [(due: UInt64, bytes: [UInt8])] = []
        var eventSeq: UInt8 = 0
        var actuations: UInt16 = 100
        while !stopFlag.load(ordering: .relaxed) {
            var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 2) > 0 {
                guard case .bytes(let n)? = try? buffer.withUnsafeMutableBytes({ try FileIO.read(master, into: $0) }) else { return }
                decoder.feed(Array(buffer[0..<n])) { output in
                    guard case .frame(let f) = output, f.header.kind == .request else { return }
                    let type = f.header.type, seq = f.header.seq
                    seen.withLock { $0.append(Seen(type: type, seq: seq, whileAnswerPending: !pending.isEmpty)) }
                    let answer = script.withLock { s -> Answer? in
                        guard var queue = s[type], !queue.isEmpty else { return nil }
                        let first = queue.removeFirst()
                        s[type] = queue
                        return first
                    } ?? standing.withLock { $0[type] } ?? .normal
                    var reply: [UInt8] = []
                    var events: [Event] = []
                    switch answer {
                    case .silent: return
                    case .nak(let code): reply = code.frame(seq: seq, type: type).encoded
                    case .nakWhileHostStopped(let code, let host):
                        kill(host, SIGSTOP)
                        // Fixed delays on purpose: they make the late wake-up, they wait for nothing.
                        usleep(30_000)
                        try? FileIO.writeAll(master, code.frame(seq: seq, type: type).encoded)
                        usleep(150_000)
                        kill(host, SIGCONT)
                        return
                    case .normal:
                        guard let message = try? Message(f), case .request(let request) = message else {
                            reply = NakCode.unknownMessage.frame(seq: seq, type: type).encoded
                            break
                        }
                        switch request {
                        case .identify:
                            reply = Response.identify(Identity(capabilities: capabilities, traceSampleRateHz: 1000, traceCapacity: 64,
                                                               model: "LDP-TEST", hardwareRevision: "T", firmwareVersion: "1.0.0",
                                                               serial: serial)).frame(seq: seq).encoded
                        case .readStatus: reply = Response.status(status.withLock { $0 }).frame(seq: seq).encoded
                        case .readFaults: reply = Response.faults([]).frame(seq: seq).encoded
                        case .clearFaults: reply = Response.faultsCleared(count: 0).frame(seq: seq).encoded
                        case .runSelfTest(let kind) where kind == .fingerprint && !capabilities.contains(.fingerprint):
                            reply = NakCode.notAvailable.frame(seq: seq, type: type).encoded  // §6.7: capability absent
                        case .runSelfTest(let kind):
                            reply = Response.selfTestAccepted(kind, expectedDurationMilliseconds: 50).frame(seq: seq).encoded
                            events.append(.selfTestResult(SelfTestResult(test: kind, verdict: .pass, measurements: measurements.withLock { $0 })))
                        case .actuate where !capabilities.contains(.motor):
                            reply = NakCode.notAvailable.frame(seq: seq, type: type).encoded
                        case .actuate:
                            actuations &+= 1
                            reply = Response.actuationAccepted(actuation: actuations).frame(seq: seq).encoded
                        case .readMotorTrace, .readFingerprintStatus, .listParts, .provePart:
                            reply = NakCode.notAvailable.frame(seq: seq, type: type).encoded
                        }
                    }
                    for event in events {
                        eventSeq &+= 1
                        reply += event.frame(seq: eventSeq).encoded
                    }
                    pending.append((MonotonicClock.nanoseconds() + answerDelayNanoseconds, reply))
                }
            }
            let now = MonotonicClock.nanoseconds()
            while let first = pending.first, first.due <= now {
                pending.removeFirst()
                try? FileIO.writeAll(master, first.bytes)
            }
            let extra = outbox.withLock { o -> [UInt8] in defer { o.removeAll() }; return o }
            if !extra.isEmpty { try? FileIO.writeAll(master, extra) }
        }
    }
}

/// `lockdiagd --serial` on an LDPTestLock's pty, and a client on its socket.
final class LDPTestRig {
    let lock: LDPTestLock
    let daemon: DaemonProcess
    let client: JSONRPCClient

    init(_ lock: LDPTestLock, _ arguments: [String] = []) throws {
        self.lock = lock
        daemon = try DaemonProcess(["--serial", lock.pty.slavePath, "--no-discovery"] + arguments, launcher: Self.realtime)
        client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
    }

    /// The daemon's threads at the test lock's real-time priority, so neither side misses
    /// LDP/1's deadlines because the machine is busy (needs root; otherwise as it comes).
    static let realtime = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/chrt") ? ["/usr/bin/chrt", "-f", "10"] : []

    func waitOnline() throws -> Bool {
        try TestSupport.wait(upTo: 10) { try device()?.online == true }
    }

    func device() throws -> DeviceSummary? { try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first }

    /// The JSON-RPC error a call ends with (nil if it succeeded).
    func error(_ method: String, _ params: JSONValue, timeoutSeconds: Double = 30) -> RPCError? {
        do {
            _ = try client.call(method, params: params, timeoutSeconds: timeoutSeconds)
            return nil
        } catch {
            if case .remote(let e) = error { return e }
            return RPCError(code: 0, message: "client error: \(error)")
        }
    }

    func linkStats() throws -> LinkStats? { try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).devices.first }

    func stop() {
        client.close()
        #expect(daemon.stop() == 0)
        lock.stop()
    }
}

/// One serialized suite: each test runs its own lockdiagd, and two at once on this shared machine
/// could delay the test lock's answers past LDP/1's 100 ms deadline.
@Suite(.serialized) struct LDPPromiseTests {
    let id: JSONValue = .string("LDP-TEST-1")

    /// ldp-v1.md §4.1: the host increments `seq` by one per request, wrapping from 255 to 0.
    /// And §4.2: one request in flight per device — while an answer is on its way (sent late,
    /// but within the 100 ms deadline), no other request is sent.
    @Test func seqGoesUpByOneAndWrapsWithOneRequestInFlight() throws {
        let rig = try LDPTestRig(try LDPTestLock(answerDelayMilliseconds: 15), ["--poll-hz", "200"])
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        #expect(TestSupport.wait(upTo: 30) { rig.lock.requests.count >= 300 })
        let seen = rig.lock.requests
        for (before, after) in zip(seen, seen.dropFirst()) {
            #expect(after.seq == before.seq &+ 1, "seq \(before.seq) then \(after.seq)")
        }
        #expect(seen.contains { $0.seq == 255 } && seen.contains { $0.seq == 0 })
        #expect(!seen.contains { $0.whileAnswerPending }, "a request was sent while an answer was on its way")
    }

    /// ldp-v1.md §4.3: an unknown event type is ignored and counted; unknown enumeration values
    /// are kept and shown as unknown; reserved flag bits are ignored.
    @Test func unknownEventsValuesAndReservedBitsAreCountedShownAndIgnored() throws {
        let rig = try LDPTestRig(try LDPTestLock())
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let before = try #require(try rig.linkStats()).decodeErrors
        rig.lock.send(Frame(kind: .event, seq: 1, type: 0xF0, payload: [1, 2, 3, 4]))
        #expect(try TestSupport.wait(upTo: 5) { try (rig.linkStats()?.decodeErrors ?? 0) > before })
        // Bolt 9 and door 7 are no known values; flag bits 3–7 are reserved (tamper is bit 1).
        var odd = LDPTestLock.healthyStatus
        odd.bolt = BoltState(rawValue: 9)
        odd.door = DoorState(rawValue: 7)
        odd.flags = StatusFlags(rawValue: 0xF9)
        odd.uptimeSeconds = 4242
        rig.lock.setStatus(odd)
        func status() throws -> DeviceStatus { try rig.client.call(APIMethod.deviceStatus, params: ["device": id]).decode(as: DeviceStatus.self) }
        #expect(try TestSupport.wait(upTo: 5) { try status().uptimeSeconds == 4242 })
        let shown = try status()
        #expect(shown.lock.hasPrefix("unknown") && shown.lock.contains("9"), "bolt 9 shown as \(shown.lock)")
        #expect(shown.door.hasPrefix("unknown") && shown.door.contains("7"), "door 7 shown as \(shown.door)")
        #expect(shown.calibrated == true)
        #expect(shown.tamperActive == false, "a reserved bit was read as tamper")
        #expect(shown.online)
        #expect(try rig.client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults.isEmpty)
    }

    /// ldp-v1.md §4.3: a host must not send requests for capabilities the device lacks. A lock
    /// with neither FAULT_MEMORY nor FINGERPRINT nor MOTOR_TRACE never gets READ_FAULTS,
    /// READ_FINGERPRINT_STATUS or READ_MOTOR_TRACE; one that has them gets them.
    @Test func noRequestsForCapabilitiesTheLockLacks() throws {
        let bare = try LDPTestRig(try LDPTestLock(capabilities: [.motor]), ["--poll-hz", "100"])
        defer { bare.stop() }
        #expect(try bare.waitOnline())
        let full = try LDPTestRig(try LDPTestLock(serial: "LDP-TEST-2", capabilities: [.motor, .motorTrace, .faultMemory, .fingerprint]),
                                  ["--poll-hz", "100"])
        defer { full.stop() }
        #expect(try full.waitOnline())
        #expect(TestSupport.wait(upTo: 10) {
            [MessageType.readFaults, .readFingerprintStatus, .readMotorTrace].allSatisfy { full.lock.count($0) > 0 }
        }, "the lock with the capabilities was not asked (the check below could not fail)")
        // The bare lock has been polled at least as long (its poll intervals have passed).
        #expect(TestSupport.wait(upTo: 10) { bare.lock.count(.readStatus) >= 150 })
        for type in [MessageType.readFaults, .readFingerprintStatus, .readMotorTrace] {
            #expect(bare.lock.count(type) == 0, "\(type) sent to a lock without the capability")
        }
    }

    /// ldp-v1.md §4.3 for self-tests: `tests.run` "all" on a lock without a fingerprint sensor
    /// runs the tests it has and asks for no fingerprint test; asking for that one alone is
    /// refused (-32007) without sending anything.
    @Test func selfTestsTheLockLacksAreNeverRequested() throws {
        let rig = try LDPTestRig(try LDPTestLock(capabilities: [.motor, .batteryLoadTest]))
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let run = try rig.client.call(APIMethod.testsRun, params: ["device": id, "test": "all", "confirm": true], timeoutSeconds: 60)
            .decode(as: TestRun.self)
        #expect(run.results.map(\.test) == [.motor, .battery])
        let fingerprint = rig.error(APIMethod.testsRun, ["device": id, "test": "fingerprint"])
        #expect(fingerprint?.code == RPCError.Code.deviceRefused, "\(String(describing: fingerprint))")
        #expect(fingerprint?.message.contains("fingerprint") == true)
        #expect(rig.lock.count(.runSelfTest) == 2, "RUN_SELFTEST sent \(rig.lock.count(.runSelfTest)) times; motor and battery only")
    }

    /// The same for the motor: a lock whose IDENTIFY lists no MOTOR is never sent ACTUATE or a
    /// motor self-test; device.actuate and tests.run motor are refused (-32007) saying why.
    @Test func aLockWithoutAMotorIsNeverAskedToMoveIt() throws {
        let rig = try LDPTestRig(try LDPTestLock(capabilities: [.batteryLoadTest]))
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let actuate = rig.error(APIMethod.deviceActuate, ["device": id, "direction": "unlock", "confirm": true])
        #expect(actuate?.code == RPCError.Code.deviceRefused, "\(String(describing: actuate))")
        #expect(actuate?.message.contains("MOTOR") == true, "\(String(describing: actuate))")
        let motor = rig.error(APIMethod.testsRun, ["device": id, "test": "motor", "confirm": true])
        #expect(motor?.code == RPCError.Code.deviceRefused, "\(String(describing: motor))")
        #expect(rig.lock.count(.actuate) == 0 && rig.lock.count(.runSelfTest) == 0)
    }

    /// ldp-v1.md §5 and socket-api.md: BUSY is retried later (within 8 s); NOT_AVAILABLE and
    /// UNKNOWN_MESSAGE are not retried; REFUSED is shown (-32007); a code the host does not
    /// know is shown as unknown.
    @Test func eachNakCodeGetsItsReaction() throws {
        let rig = try LDPTestRig(try LDPTestLock())
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let battery: JSONValue = ["device": id, "test": "battery"]

        rig.lock.answerNext(.runSelfTest, .nak(.busy), count: 2)
        let run = try rig.client.call(APIMethod.testsRun, params: battery).decode(as: TestRun.self)
        #expect(run.verdict == .pass)
        #expect(rig.lock.count(.runSelfTest) == 3, "BUSY twice, then accepted: 3 requests")

        for (code, text) in [(NakCode.notAvailable, "no battery self-test"), (.unknownMessage, "unknown_message"),
                             (.refused, "refused"), (NakCode(rawValue: 0x7E), "unknown")] {
            let sent = rig.lock.count(.runSelfTest)
            rig.lock.answerNext(.runSelfTest, .nak(code))
            let error = rig.error(APIMethod.testsRun, battery)
            #expect(error?.code == RPCError.Code.deviceRefused, "\(code): \(String(describing: error))")
            #expect(error?.message.contains(text) == true, "\(code): \(error?.message ?? "no error")")
            #expect(rig.lock.count(.runSelfTest) == sent + 1, "\(code) was retried")
        }
    }

    /// An answer that came within LDP/1's deadline is the answer, even when the host wakes too
    /// late to read it in time (a busy machine): a refused ACTUATE is -32007, not a -32005
    /// timeout for an answer sitting unread behind the poll timer.
    @Test func anAnswerInTimeCountsThoughTheHostWakesLate() throws {
        let rig = try LDPTestRig(try LDPTestLock())
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        rig.lock.answerNext(.actuate, .nakWhileHostStopped(.refused, host: rig.daemon.child.process.processIdentifier))
        let refused = rig.error(APIMethod.deviceActuate, ["device": id, "direction": "unlock", "confirm": true])
        #expect(refused?.code == RPCError.Code.deviceRefused, "\(String(describing: refused))")
        #expect(rig.lock.count(.actuate) == 1)
    }

    /// socket-api.md: -32005 when the lock did not answer RUN_SELFTEST for the motor test (it
    /// may have started anyway), and the request is not resent.
    @Test func anUnansweredMotorSelfTestIsATimeoutAndIsNotResent() throws {
        let rig = try LDPTestRig(try LDPTestLock())
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        rig.lock.answerNext(.runSelfTest, .silent, count: 2)
        let error = rig.error(APIMethod.testsRun, ["device": id, "test": "motor", "confirm": true])
        #expect(error?.code == RPCError.Code.timeout, "\(String(describing: error))")
        #expect(error?.message.contains("may have started anyway") == true)
        #expect(error?.message.contains("check the bolt") == true)
        #expect(rig.lock.count(.runSelfTest) == 1)
    }

    /// socket-api.md faults.clear: -32005 when the lock answers neither CLEAR_FAULTS nor its one
    /// retry (LDP/1 §4.2: a host may retry a command once), and the daemon's faults stay.
    @Test func anUnansweredClearFaultsIsATimeoutAfterOneRetry() throws {
        let rig = try LDPTestRig(try LDPTestLock())
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        rig.lock.answerNext(.clearFaults, .silent, count: 2)
        let error = rig.error(APIMethod.faultsClear, ["device": id])
        #expect(error?.code == RPCError.Code.timeout, "\(String(describing: error))")
        #expect(rig.lock.count(.clearFaults) == 2, "CLEAR_FAULTS sent \(rig.lock.count(.clearFaults)) times, not once and one retry")
        // Answered again, it clears.
        #expect(rig.error(APIMethod.faultsClear, ["device": id]) == nil)
        #expect(rig.lock.count(.clearFaults) == 3)
    }

    /// socket-api.md: a lock that NAKs REFUSED gives -32007 naming the refusal, for
    /// device.actuate and faults.clear; device.actuate on a busy lock is -32003 after 8 s, and
    /// on an offline lock -32002.
    @Test func refusedBusyAndOfflineAreTheDocumentedErrors() throws {
        let rig = try LDPTestRig(try LDPTestLock())
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let actuate: JSONValue = ["device": id, "direction": "unlock", "confirm": true]

        rig.lock.answerNext(.actuate, .nak(.refused))
        let refused = rig.error(APIMethod.deviceActuate, actuate)
        #expect(refused?.code == RPCError.Code.deviceRefused, "\(String(describing: refused))")
        #expect(refused?.message.contains("refused") == true)
        #expect(refused?.data?["device"] == id)

        rig.lock.answerNext(.clearFaults, .nak(.refused), count: 2)
        let clear = rig.error(APIMethod.faultsClear, ["device": id])
        #expect(clear?.code == RPCError.Code.deviceRefused, "\(String(describing: clear))")
        #expect(clear?.message.contains("refused") == true)

        rig.lock.answerAlways(.actuate, .nak(.busy))
        let busy = rig.error(APIMethod.deviceActuate, actuate)
        #expect(busy?.code == RPCError.Code.busy, "\(String(describing: busy)) after \(rig.lock.count(.actuate)) ACTUATE")
        #expect(busy?.message.contains("busy for 8 s") == true)
        #expect(rig.lock.count(.actuate) > 2, "BUSY was not retried")

        rig.lock.goSilent()
        #expect(try TestSupport.wait(upTo: 10) { try rig.device()?.online == false })
        let offline = rig.error(APIMethod.deviceActuate, actuate)
        #expect(offline?.code == RPCError.Code.deviceOffline, "\(String(describing: offline))")
    }
}

/// Daemon and CLI promises that need a lock whose requests a test can see.
extension LDPPromiseTests {
    /// reports.md: a history file that fails `PRAGMA quick_check` is refused with "move it
    /// aside", and lockdiagd stops before touching any lock.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"), "needs sqlite3 to checkpoint the WAL"))
    func aCorruptHistoryIsRefusedBeforeAnyLockIsAsked() throws {
        let state = try TemporaryDirectory(prefix: "corrupt")
        defer { state.remove() }
        let first = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"], directory: state)
        #expect(first.stop() == 0)
        let path = first.databasePath
        // Everything into the main file, so scribbling over it reaches real pages.
        let checkpoint = try runTool("/usr/bin/sqlite3", [path, "PRAGMA wal_checkpoint(TRUNCATE);"])
        #expect(checkpoint.status == 0, "\(checkpoint.err)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size >= 3 * 4096, "a history of \(size) bytes")
        // Every page after the first is a b-tree page: scribble over the headers of those in the middle.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        for page in 1..<(size / 4096 - 1) {
            try handle.seek(toOffset: UInt64(page * 4096))
            handle.write(Data(repeating: 0xA5, count: 64))
        }
        try handle.close()

        let lock = try LDPTestLock()
        defer { lock.stop() }
        let second = try ChildProcess("lockdiagd", ["--serial", lock.pty.slavePath, "--no-discovery", "--db", path,
                                                    "--socket", state.path + "/again.sock"])
        #expect(second.waitForExit(within: 30))
        #expect(second.process.terminationStatus != 0)
        #expect(second.allErrors.contains("move it aside"), "\(second.allErrors)")
        #expect(lock.requests.isEmpty, "the lock was asked \(lock.requests.count) things")
    }

    /// lockdiag status (Status.swift; README exit statuses): exit 4 when the lock is offline.
    @Test func statusOfAnOfflineLockExitsFour() throws {
        let rig = try LDPTestRig(try LDPTestLock())
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        let online = try ChildProcess.run("lockdiag", ["status", "LDP-TEST-1", "--socket", rig.daemon.socketPath])
        #expect(online.status == 0, "\(online.stdout)\n\(online.stderr)")
        rig.lock.goSilent()
        #expect(try TestSupport.wait(upTo: 10) { try rig.device()?.online == false })
        let offline = try ChildProcess.run("lockdiag", ["status", "LDP-TEST-1", "--socket", rig.daemon.socketPath])
        #expect(offline.status == 4, "\(offline.stdout)\n\(offline.stderr)")
        #expect((offline.stdout + offline.stderr).contains("offline"))
    }
}
