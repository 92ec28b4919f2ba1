import BLETransport
import Foundation
import LinuxIO
import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import LockSimulator
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The air between a BLE lock's GATT server and the host, for tests: relays ATT PDUs between
/// the two seqpacket sockets (one PDU per packet, as on L2CAP) and makes the lock's
/// notifications late or lost, as slow connection events or a radio with no room for another
/// notification do (firmware-specs/ble-gatt.md §4). Everything else passes untouched.
final class RadioRelay: Sendable {
    struct Air: Sendable {
        /// How long each notification from the lock is held back.
        var notificationDelayNanoseconds: UInt64 = 0
        /// Loses every notification (a lock that no longer answers).
        var dropAllNotifications = false
        /// Loses every Nth notification that is one whole TRACE_CHUNK frame (0: none).
        var dropEveryNthTraceChunk = 0
    }

    let hostPath: String
    let air = Mutex(Air())
    /// Trace chunk notifications lost so far.
    let droppedTraceChunks = Atomic<Int>(0)
    /// READ_MOTOR_TRACE requests the host wrote so far.
    let traceReadRequests = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)
    private let listener: Int32
    private let lockPath: String
    private let finished = Atomic<Bool>(false)

    /// Listens at `hostPath`; each connection there is relayed to a new connection to `lockPath`.
    init(lockPath: String, hostPath: String) throws {
        self.lockPath = lockPath
        self.hostPath = hostPath
        listener = try SeqPacket.listen(hostPath)
        Thread { [self] in
            run()
            finished.store(true, ordering: .releasing)
        }.start()
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        while !finished.load(ordering: .acquiring) { usleep(10_000) }
        FileIO.close(listener)
    }

    private func run() {
        var host: Int32 = -1, lock: Int32 = -1
        var held: [(due: UInt64, pdu: [UInt8])] = []
        var chunks = 0
        var buffer = [UInt8](repeating: 0, count: 1024)
        func closeBoth() {
            if host >= 0 { FileIO.close(host) }
            if lock >= 0 { FileIO.close(lock) }
            host = -1
            lock = -1
            held.removeAll()
        }
        defer { closeBoth() }
        while running.load(ordering: .relaxed) {
            if host < 0, let accepted = try? SeqPacket.accept(listener) {
                host = accepted
                guard let connected = try? SeqPacket.connect(lockPath) else {
                    closeBoth()
                    continue
                }
                lock = connected
            }
            var fds = [pollfd(fd: host < 0 ? listener : host, events: Int16(POLLIN), revents: 0), pollfd(fd: lock, events: Int16(POLLIN), revents: 0)]
            let now = MonotonicClock.nanoseconds()
            let timeout = held.first.map { Int32(min(20, ($0.due > now ? $0.due - now : 0) / 1_000_000)) } ?? 20
            _ = poll(&fds, lock < 0 ? 1 : 2, timeout)
            guard host >= 0 else { continue }
            // Host → lock: passed on at once, READ_MOTOR_TRACE requests counted.
            if fds[0].revents != 0 {
                let n = receive(host, &buffer)
                if n < 0 { continue }
                if n == 0 {
                    closeBoth()
                    continue
                }
                let pdu = Array(buffer[0..<n])
                // Write Command (0x52) or Write Request (0x12): opcode, handle, value.
                if (pdu[0] == 0x52 || pdu[0] == 0x12) && pdu.count >= 9 && pdu[3] == 0xA5 && pdu[4] == 0x5A
                    && pdu[6] == 0x00 && pdu[8] == MessageType.readMotorTrace.rawValue {
                    traceReadRequests.add(1, ordering: .relaxed)
                }
                _ = try? SeqPacket.send(lock, pdu)
            }
            // Lock → host: notifications (0x1B) held back, lost, or passed on.
            if fds[1].revents != 0 {
                let n = receive(lock, &buffer)
                if n < 0 { continue }
                if n == 0 {
                    closeBoth()
                    continue
                }
                let pdu = Array(buffer[0..<n])
                let air = self.air.withLock { $0 }
                if pdu[0] == 0x1B {
                    if air.dropAllNotifications { continue }
                    if air.dropEveryNthTraceChunk > 0 && Self.isOneTraceChunk(pdu) {
                        chunks += 1
                        if chunks % air.dropEveryNthTraceChunk == 0 {
                            droppedTraceChunks.add(1, ordering: .relaxed)
                            continue
                        }
                    }
                    held.append((MonotonicClock.nanoseconds() + air.notificationDelayNanoseconds, pdu))
                } else if held.isEmpty {
                    _ = try? SeqPacket.send(host, pdu)
                } else {
                    held.append((0, pdu))
                }
            }
            let due = MonotonicClock.nanoseconds()
            while let first = held.first, first.due <= due {
                _ = try? SeqPacket.send(host, first.pdu)
                held.removeFirst()
            }
        }
    }

    /// One packet's length; -1 when none is waiting; 0 when the peer closed or failed.
    private func receive(_ fd: Int32, _ buffer: inout [UInt8]) -> Int {
        buffer.withUnsafeMutableBytes { raw in
            do { return try SeqPacket.receive(fd, into: raw) ?? -1 } catch { return 0 }
        }
    }

    /// A notification whose value is exactly one LDP/1 TRACE_CHUNK event frame (ldp-v1.md §3).
    static func isOneTraceChunk(_ pdu: [UInt8]) -> Bool {
        let value = pdu.dropFirst(3)
        guard value.count >= 9, value[value.startIndex] == 0xA5, value[value.startIndex + 1] == 0x5A,
              value[value.startIndex + 5] == MessageType.traceChunk.rawValue else { return false }
        let length = Int(value[value.startIndex + 6]) | Int(value[value.startIndex + 7]) << 8
        return value.count == 9 + length + 2
    }
}

/// firmware-specs/ble-gatt.md §4 and the driver contract (docs/architecture.md): the response
/// deadline over BLE, and motor-trace chunks lost on the air re-read with READ_MOTOR_TRACE. The
/// real GATT servers of the simulator, the real BLE link, poll loop and hub; between them, a
/// `RadioRelay`.
@Suite(.serialized) struct BLEPromiseTests {
    final class Rig {
        let directory: TemporaryDirectory
        let simulator: SimulatorServer
        let relays: [RadioRelay]
        let loop: PollLoop
        let hub: Hub
        let slots: [Int]
        let log = BLEDiagnosisTests.LogLines()

        /// One healthy lock per entry of `options`, each behind its own relay.
        init(_ options: [BLEOptions]) throws {
            directory = try TemporaryDirectory(prefix: "bleair")
            let folder = directory.path
            simulator = try SimulatorServer(configurations: options.indices.map { index in
                SimulatorConfiguration(scenario: .healthy, seed: 7, index: index, activityIntervalNanoseconds: 3_600_000_000_000,
                                       ble: BLEServing(socketPath: "\(folder)/lock\(index)", services: .full, receiveMTU: 247))
            })
            try simulator.start()
            let lockPaths = simulator.devicePaths
            relays = try lockPaths.indices.map { try RadioRelay(lockPath: lockPaths[$0], hostPath: "\(folder)/air\($0)") }
            loop = try PollLoop(configuration: PollLoopConfiguration())
            let sink = log
            hub = Hub(loop: loop, logger: Logger(label: "test.ble.air") { _ in BLEDiagnosisTests.CapturingHandler(sink: sink) })
            var added: [Int] = []
            for (relay, o) in zip(relays, options) {
                guard let slot = try hub.addBLEDevice(.attSocket(path: relay.hostPath), options: o) else { throw BLEDiagnosisTests.Rig.SlotsFull() }
                added.append(slot)
            }
            slots = added
            try loop.start()
            hub.start()
        }

        func stop() {
            hub.stop()
            loop.stop()
            for relay in relays { relay.stop() }
            simulator.stop()
            directory.remove()
        }

        func stats(_ slot: Int) -> LinkStats { hub.linkStats()[slots.firstIndex(of: slot)!] }
    }

    /// Answers 250 ms late (past serial's 100 ms, within BLE's 500 ms) are not timeouts over
    /// BLE; the same answers on a link held to 100 ms are. Unanswered requests are timeouts.
    @Test func theResponseDeadlineOverBLEIs500Milliseconds() async throws {
        var serialDeadline = BLEOptions()
        serialDeadline.ldpResponseTimeoutSeconds = 0.1
        let rig = try Rig([BLEOptions(), serialDeadline])
        defer { rig.stop() }
        let ble = rig.slots[0], strict = rig.slots[1]
        #expect(BLEOptions().ldpResponseTimeoutSeconds == 0.5)
        for slot in rig.slots { #expect(await TestSupport.wait(upTo: 10) { rig.hub.status(of: slot)?.updatedAt != nil }) }
        for relay in rig.relays { relay.air.withLock { $0.notificationDelayNanoseconds = 250_000_000 } }
        // Counters are published once a second: wait for a dozen late answers on the BLE deadline.
        let base = rig.stats(ble)
        #expect(await TestSupport.wait(upTo: 15) { rig.stats(ble).frames >= base.frames + 12 && rig.stats(strict).timeouts >= 3 })
        let late = rig.stats(ble)
        #expect(late.timeouts == base.timeouts, "late answers counted as timeouts under the 500 ms deadline: \(late)")
        #expect(rig.hub.devices().first { $0.id == "SIM-0007-000" }?.online == true)

        // No answer at all: timeouts.
        rig.relays[0].air.withLock { $0.dropAllNotifications = true }
        #expect(await TestSupport.wait(upTo: 10) { rig.stats(ble).timeouts >= late.timeouts + 2 }, "\(rig.stats(ble))")
    }

    /// Trace chunks lost on the air are re-read with READ_MOTOR_TRACE, so the actuation is
    /// analysed from its whole trace.
    @Test func motorTraceChunksLostOnTheAirAreReadAgain() async throws {
        let rig = try Rig([BLEOptions()])
        defer { rig.stop() }
        let slot = rig.slots[0]
        #expect(await TestSupport.wait(upTo: 10) { rig.hub.status(of: slot)?.updatedAt != nil })
        let before = rig.hub.status(of: slot)?.lastActuation?.actuation ?? 0
        let readsBefore = rig.relays[0].traceReadRequests.load(ordering: .relaxed)
        rig.relays[0].air.withLock { $0.dropEveryNthTraceChunk = 4 }
        let actuation = try #require(try rig.simulator.trigger(actuation: .unlock, lock: 0))
        #expect(await TestSupport.wait(upTo: 15) { rig.hub.status(of: slot)?.lastActuation?.actuation == Int(actuation) })
        let dropped = rig.relays[0].droppedTraceChunks.load(ordering: .relaxed)
        #expect(dropped >= 3, "the relay lost \(dropped) trace chunks")
        #expect(rig.relays[0].traceReadRequests.load(ordering: .relaxed) >= readsBefore + dropped)
        let summary = try #require(rig.hub.status(of: slot)?.lastActuation)
        #expect(summary.actuation != before)
        #expect(summary.analysis == "normal" && summary.result == "reached", "\(summary)")
        #expect(rig.log.count(containing: "trace incomplete") == 0)
    }
}
