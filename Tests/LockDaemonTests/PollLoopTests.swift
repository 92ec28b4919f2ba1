import Foundation
import Glibc
import LinuxIO
@testable import LockDaemon
import LockDiagTestSupport
import LockProtocol
import SerialTransport
import Synchronization
import Testing

/// A bare LDP/1 responder on the master side of a pty: enough device to exercise the loop
/// without the simulator (which has its own tests and the end-to-end ones).
final class MiniDevice: Sendable {
    let pty: PseudoTerminal
    private let silent = Atomic<Bool>(false)
    private let stopFlag = Atomic<Bool>(false)
    private let requestCount = Atomic<Int>(0)

    init() throws {
        pty = try PseudoTerminal.open()
        let master = pty.master
        Thread.detachNewThread { [self] in
            let decoder = FrameDecoder()
            var buffer = [UInt8](repeating: 0, count: 1024)
            while !stopFlag.load(ordering: .relaxed) {
                var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 20) > 0 else { continue }
                guard case .bytes(let n)? = try? buffer.withUnsafeMutableBytes({ try FileIO.read(master, into: $0) }) else { return }
                var replies = [UInt8]()
                decoder.feed(Array(buffer[0..<n])) { output in
                    guard case .frame(let f) = output, let message = try? Message(f), case .request(let request) = message else { return }
                    requestCount.add(1, ordering: .relaxed)
                    if silent.load(ordering: .relaxed) { return }
                    switch request {
                    case .identify:
                        replies += Response.identify(Identity(capabilities: [.motor], traceSampleRateHz: 1000, traceCapacity: 64,
                                                              model: "MINI", hardwareRevision: "T", firmwareVersion: "0.0.1",
                                                              serial: "MINI-1")).frame(seq: f.header.seq).encoded
                    case .readStatus:
                        replies += Response.status(LockStatus(bolt: .locked, door: .closed, motor: .idle, flags: [], batteryMillivolts: 6000,
                                                              batteryPercent: 90, activeFaults: 0, temperatureDecicelsius: 200,
                                                              motorCurrentMilliamps: 0, actuations: 1, uptimeSeconds: 1)).frame(seq: f.header.seq).encoded
                    case .clearFaults:
                        replies += Response.faultsCleared(count: 0).frame(seq: f.header.seq).encoded
                    default:
                        replies += NakCode.unknownMessage.frame(seq: f.header.seq, type: f.header.type).encoded
                    }
                }
                try? FileIO.writeAll(master, replies)
            }
        }
    }

    var requests: Int { requestCount.load(ordering: .relaxed) }
    func setSilent(_ value: Bool) { silent.store(value, ordering: .relaxed) }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        pty.close()
    }
}

/// Drains a loop's ring on the test thread.
final class RingReader {
    struct Record {
        var header: RecordHeader
        var payload: [UInt8]
    }

    let loop: PollLoop
    private(set) var records: [Record] = []
    private var buffer = [UInt8](repeating: 0, count: RecordRing.slotPayload)

    init(_ loop: PollLoop) { self.loop = loop }

    func drain() {
        buffer.withUnsafeMutableBytes { raw in
            while let header = loop.ring.pop(into: raw) {
                records.append(Record(header: header, payload: Array(raw[0..<Int(header.length)])))
            }
        }
    }

    /// Waits (with a deadline) until a record matching `predicate` has arrived.
    func wait(seconds: Double = 3, for predicate: (Record) -> Bool) -> Record? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            drain()
            if let hit = records.first(where: predicate) { return hit }
            _ = loop.consumerDoorbell.wait(timeoutMilliseconds: 50)
        } while Date() < deadline
        return nil
    }
}

@Suite(.serialized) struct PollLoopTests {
    func makeLoop(hz: Int = 100) throws -> PollLoop {
        var configuration = PollLoopConfiguration()
        configuration.pollHz = hz
        configuration.maxDevices = 8
        configuration.reconnectIntervalNanoseconds = 50_000_000
        return try PollLoop(configuration: configuration)
    }

    @Test func pollsIdentifyThenStatusAndMeasuresItself() throws {
        let device = try MiniDevice()
        defer { device.stop() }
        let loop = try makeLoop()
        let attached = loop.attach(SerialPort(path: device.pty.slavePath), slot: 3)
        #expect(attached)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        #expect(reader.wait { $0.header.kind == .linkUp && $0.header.device == 3 } != nil)
        let identify = try #require(reader.wait { $0.header.kind == .frame && $0.header.type == MessageType.identify.rawValue })
        let identity = try identify.payload.withUnsafeBytes { try Response(type: 1, payload: $0) }
        guard case .identify(let id) = identity else { Issue.record("not an identity: \(identity)"); return }
        #expect(id.serial == "MINI-1")
        // Status keeps coming, one per tick.
        #expect(reader.wait { r in r.header.type == MessageType.readStatus.rawValue && reader.records.filter { $0.header.type == 2 }.count >= 20 } != nil)
        #expect(reader.wait { $0.header.kind == .counters } != nil)
        // The figures are published at most every 100 ms: wait for a publication past ten cycles
        // (a loaded machine can deliver the twenty statuses before the next one).
        #expect(TestSupport.wait(upTo: 10) { loop.statistics.cycles > 10 && loop.statistics.lateness.count > 10 }, "\(loop.statistics)")
        let stats = loop.statistics
        #expect(stats.pollHz == 100)
        #expect(loop.realtime?.granted.contains("timer slack 1 ns") == true)
    }

    @Test func commandsAreAnsweredWithTheirToken() throws {
        let device = try MiniDevice()
        defer { device.stop() }
        let loop = try makeLoop()
        loop.attach(SerialPort(path: device.pty.slavePath), slot: 0)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        _ = reader.wait { $0.header.type == MessageType.identify.rawValue }
        let token = loop.nextToken()
        #expect(loop.send(.clearFaults(code: Request.clearAllFaults), to: 0, token: token))
        let answer = try #require(reader.wait { $0.header.token == token })
        #expect(answer.header.kind == .frame && answer.header.frameKind == .response && answer.header.type == MessageType.clearFaults.rawValue)
        let nakToken = loop.nextToken()
        #expect(loop.send(.runSelfTest(.battery), to: 0, token: nakToken))
        let nak = try #require(reader.wait { $0.header.token == nakToken })
        #expect(nak.header.frameKind == .nak && nak.payload == [NakCode.unknownMessage.rawValue])
        // A command for an empty slot fails at once instead of hanging its caller.
        let lost = loop.nextToken()
        #expect(loop.send(.readStatus, to: 5, token: lost))
        #expect(reader.wait { $0.header.token == lost }?.header.kind == .commandFailed)
    }

    @Test func silenceCountsTimeoutsAndCommandsRetryOnce() throws {
        let device = try MiniDevice()
        defer { device.stop() }
        let loop = try makeLoop()
        loop.attach(SerialPort(path: device.pty.slavePath), slot: 1)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        _ = reader.wait { $0.header.type == MessageType.identify.rawValue }
        device.setSilent(true)
        #expect(reader.wait { $0.header.kind == .timeout && $0.header.token == 0 } != nil)
        let token = loop.nextToken()
        _ = loop.send(.clearFaults(code: 0x0101), to: 1, token: token)
        let final = try #require(reader.wait { $0.header.kind == .timeout && $0.header.token == token })
        #expect(final.header.type == MessageType.clearFaults.rawValue)
        // The retry went out: exactly one timeout for the command carries its token.
        #expect(reader.records.filter { $0.header.token == token }.count == 1)
        device.setSilent(false)
        let count = reader.records.count
        #expect(reader.wait { r in r.header.kind == .frame && reader.records.count > count } != nil)
    }

    @Test func unplugMarksTheLinkDownAndReplugBringsItBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loop-\(getpid())-\(Int.random(in: 0...1_000_000))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let link = directory.appendingPathComponent("lock").path
        let first = try MiniDevice()
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: first.pty.slavePath)
        let loop = try makeLoop()
        loop.attach(SerialPort(path: link), slot: 2)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        #expect(reader.wait { $0.header.type == MessageType.identify.rawValue } != nil)
        // Unplugged: the link goes with the pty (as udev's do), or a reopen could reach whatever
        // pty next takes its /dev/pts number.
        try FileManager.default.removeItem(atPath: link)
        first.stop()
        #expect(reader.wait { $0.header.kind == .linkDown && $0.header.device == 2 } != nil)

        let second = try MiniDevice()
        defer { second.stop() }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: second.pty.slavePath)
        let before = reader.records.count
        #expect(reader.wait { r in r.header.kind == .linkUp && reader.records.firstIndex { $0.header.kind == .linkDown }! < before } != nil)
        #expect(reader.wait { r in r.header.type == MessageType.identify.rawValue && reader.records.lastIndex { $0.header.type == 1 }! >= before } != nil)
        reader.drain()
        let counters = try #require(reader.records.last { $0.header.kind == .counters })
        _ = counters
    }

    @Test func aMissingDeviceReportsWhyOnceAndKeepsTrying() throws {
        let loop = try makeLoop()
        loop.attach(SerialPort(path: "/dev/lockdiag-missing-\(getpid())"), slot: 0)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        let failure = try #require(reader.wait { $0.header.kind == .openFailed })
        #expect(String(decoding: failure.payload, as: UTF8.self).contains("check the cable"))
        // Several retries later there is still exactly one report.
        let cycles = loop.statistics.cycles
        _ = TestSupport.wait(upTo: 2) { loop.statistics.cycles > cycles + 30 }
        reader.drain()
        #expect(reader.records.filter { $0.header.kind == .openFailed }.count == 1)
    }

    /// Whether this process may read another thread's /proc/TID/timerslack_ns: proc(5) asks for
    /// CAP_SYS_NICE (bit 23 of CapEff in /proc/self/status, capabilities(7)).
    static var mayReadOtherThreadsTimerSlack: Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = line.split(separator: "\t").last.flatMap({ UInt64($0, radix: 16) }) else { return false }
        return mask & (1 << 23) != 0
    }

    /// The kernel's view, not the loop's report: /proc/TID/timerslack_ns of the poll thread
    /// (proc(5)) reads 1 ns, where a normal thread has 50 000.
    @Test(.enabled(if: mayReadOtherThreadsTimerSlack, "reading another thread's timer slack needs CAP_SYS_NICE (proc(5))"))
    func thePollThreadRunsWithOneNanosecondTimerSlack() throws {
        let loop = try makeLoop()
        try loop.start()
        defer { loop.stop() }
        let slack = try String(contentsOfFile: "/proc/\(loop.threadID)/timerslack_ns", encoding: .utf8)
        #expect(slack.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    /// The kernel's view again: sched_getattr(2) on the poll thread reads the 100 µs slice
    /// (Linux 6.12+ reports a fair thread's slice there; this project's machines run 6.18).
    @Test func thePollThreadAsksTheFairSchedulerForAShortSlice() throws {
        let loop = try makeLoop()
        try loop.start()
        defer { loop.stop() }
        #expect(Realtime.fairSlice(thread: loop.threadID) == PollLoopConfiguration.fairSliceNanoseconds)
        #expect(loop.realtime?.granted.contains("fair-scheduler slice 100 µs") == true)
    }

    /// A wake-up that overslept a period is as late as its first missed deadline, the way
    /// cyclictest counts it, not as its last (which would read 0.5 ms for a 1.5 ms-late wake-up).
    @Test func latenessCountsFromTheFirstMissedDeadline() {
        let ms: UInt64 = 1_000_000
        // Deadlines at 10, 11, 12 … ms; three served, so the next is 13 ms. Woken at 14.5 ms with
        // two expirations pending: 1.5 ms late.
        #expect(PollLoop.lateness(at: 14 * ms + ms / 2, start: 10 * ms, period: ms, servedExpirations: 3) == 1_500_000)
        #expect(PollLoop.lateness(at: 13 * ms + 20_000, start: 10 * ms, period: ms, servedExpirations: 3) == 20_000)
        #expect(PollLoop.lateness(at: 12 * ms, start: 10 * ms, period: ms, servedExpirations: 3) == 0)
    }
}

@Suite struct RecordRingTests {
    @Test func dropsWhenFullAndCountsIt() {
        let ring = RecordRing(capacity: 4)
        var header = RecordHeader()
        for i in 0..<6 {
            header.token = UInt32(i)
            [UInt8(i)].withUnsafeBytes { _ = ring.push(header, payload: $0) }
        }
        #expect(ring.dropped == 2)
        var buffer = [UInt8](repeating: 0, count: RecordRing.slotPayload)
        var tokens = [UInt32]()
        buffer.withUnsafeMutableBytes { raw in
            while let h = ring.pop(into: raw) {
                tokens.append(h.token)
                #expect(raw[0] == UInt8(h.token))
            }
        }
        #expect(tokens == [0, 1, 2, 3])
    }

    @Test func histogramPercentiles() {
        var h = LatenessHistogram()
        for v in 1...100 { h.record(microseconds: UInt64(v)) }
        h.record(microseconds: 50_000)
        #expect(h.percentile(0.5) == 51)
        #expect(LatenessHistogram.upperEdge(of: LatenessHistogram.bucket(for: 1234)) == 1239)
        #expect(LatenessHistogram.upperEdge(of: LatenessHistogram.bucket(for: 999)) == 999)
        #expect(LatenessHistogram.bucket(for: 5_000_000) == LatenessHistogram.bucketCount - 1)
        #expect(h.percentile(0.99) == 100)
        #expect(h.maxMicroseconds == 50_000)
        #expect(h.percentile(1.0) == 50_000)
    }
}
