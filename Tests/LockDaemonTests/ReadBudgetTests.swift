import Foundation
import Glibc
import LinuxIO
@testable import LockDaemon
import LockDiagTestSupport
import LockProtocol
import SerialTransport
import Synchronization
import Testing

/// A link over one end of a Unix stream socket pair. A pty cannot stand in for a line that never
/// stops sending: the tty layer hands bytes over at its own pace, slower than the loop reads
/// them, so even an unbounded read loop would find it empty. A socket has no such brake: two
/// writer threads keep it full, faster than the loop can decode.
final class SocketLink: DeviceLink {
    let fd: Int32
    /// The largest read the loop asked for.
    let largestRead: ReadSize
    var transport: String { "serial" }
    var path: String { "socketpair:\(fd)" }
    var fileDescriptor: Int32 { fd }

    init(_ fd: Int32, largestRead: ReadSize) {
        self.fd = fd
        self.largestRead = largestRead
    }

    func open() throws {}
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult {
        largestRead.bytes.max(buffer.count, ordering: .relaxed)
        return try FileIO.read(fd, into: buffer)
    }
    // Requests go nowhere: nothing on this line answers.
    func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult { .bytes(bytes.count) }
    func close() {}
}

/// A size, written by the loop thread and read by the test's.
final class ReadSize: Sendable {
    let bytes = Atomic<Int>(0)
}

/// docs/security.md Limits: the poll loop reads at most 16 × 4 KiB from one lock per wake-up;
/// the rest waits for the next, so one lock cannot starve the others or the timer. A line that
/// never stops sending bytes (noise) beside a lock that answers normally.
@Suite(.serialized) struct ReadBudgetTests {
    @Test func aLineThatNeverStopsSendingStarvesNeitherTheTimerNorItsNeighbour() throws {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &pair) == 0)
        let neighbour = try ScriptedDevice()
        let stop = Atomic<Bool>(false)
        let writers = Atomic<Int>(0)
        let largestRead = ReadSize()
        defer {
            stop.store(true, ordering: .relaxed)
            _ = TestSupport.wait(upTo: 5) { writers.load(ordering: .relaxed) == 0 }
            close(pair[0])
            close(pair[1])
            neighbour.stop()
        }
        var configuration = PollLoopConfiguration()
        configuration.pollHz = 100
        configuration.maxDevices = 4
        // The documented budget is the default (with an unbounded one this test fails: both
        // the neighbour and the timer starve).
        #expect(configuration.maxReadsPerWake == 16)
        let loop = try PollLoop(configuration: configuration)
        loop.attach(SocketLink(pair[0], largestRead: largestRead), slot: 0)
        loop.attach(SerialPort(path: neighbour.pty.slavePath), slot: 1)
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)
        #expect(reader.wait(seconds: 10) { $0.header.type == MessageType.identify.rawValue && $0.header.device == 1 } != nil)
        let master = pair[1]
        let noise = [UInt8](repeating: 0x55, count: 4096)
        for _ in 0..<2 {
            writers.add(1, ordering: .relaxed)
            Thread.detachNewThread {
                defer { writers.subtract(1, ordering: .relaxed) }
                while !stop.load(ordering: .relaxed) {
                    var p = pollfd(fd: master, events: Int16(POLLOUT), revents: 0)
                    guard poll(&p, 1, 10) > 0 else { continue }
                    _ = try? noise.withUnsafeBytes { try FileIO.write(master, $0) }
                }
            }
        }
        // The flood is being read: counters show megabytes of noise skipped.
        let flooding = reader.wait(seconds: 10) { record in
            guard record.header.kind == .counters, record.header.device == 0, record.payload.count >= MemoryLayout<LinkCounters>.size else { return false }
            return record.payload.withUnsafeBytes { $0.loadUnaligned(as: LinkCounters.self) }.bytesIn > 1 << 20
        }
        #expect(flooding != nil, "the flood never reached the loop")
        // Meanwhile the timer keeps ticking and the neighbour keeps being polled.
        let cycles = loop.statistics.cycles
        let statusBefore = neighbourStatusCount(reader)
        #expect(reader.wait(seconds: 10) { _ in neighbourStatusCount(reader) >= statusBefore + 100 } != nil,
                "the neighbour was starved: \(neighbourStatusCount(reader) - statusBefore) answers")
        // The loop publishes its figures every 100 ms: wait for them rather than read them once.
        #expect(TestSupport.wait(upTo: 10) { loop.statistics.cycles >= cycles + 100 }, "the timer was starved: \(loop.statistics.cycles - cycles) ticks")
        #expect(largestRead.bytes.load(ordering: .relaxed) == 4096, "reads of 4 KiB")
    }

    /// Status answers from slot 1 so far (SafetyTests counts them the same way).
    func neighbourStatusCount(_ reader: RingReader) -> Int { SafetyTests().neighbourStatusCount(reader) }
}
