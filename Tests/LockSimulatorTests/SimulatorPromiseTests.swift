import Foundation
import Glibc
import LinuxIO
import LockDiagTestSupport
import LockProtocol
@testable import LockSimulator
import Testing

/// What docs/simulator.md and firmware-specs/ldp-v1.md promise of the simulator, in memory on
/// simulated time where the docs speak of time, else through its real pty and socket.
@Suite struct SimulatorPromiseTests {
    static let second: UInt64 = 1_000_000_000

    /// simulator.md: "the baud rate is accepted and ignored" — a host that sets 9600 talks to
    /// the lock as one at 115200 does.
    @Test func theBaudRateIsAcceptedAndIgnored() throws {
        let server = try SimulatorServer(configurations: [SimulatorConfiguration(scenario: .healthy, seed: 5)])
        try server.start()
        defer { server.stop() }
        for baud: UInt32 in [9600, 115_200] {
            let client = try PtyClient(path: server.devicePaths[0])
            try Termios.configureRaw(client.fd, baud: baud)
            var settings = termios()
            #expect(tcgetattr(client.fd, &settings) == 0)
            #expect(cfgetospeed(&settings) == (baud == 9600 ? speed_t(B9600) : speed_t(B115200)), "the rate was not set")
            guard case .identify(let identity)? = try client.response(.identify) else {
                Issue.record("no IDENTIFY at \(baud) baud")
                continue
            }
            #expect(identity.serial == "SIM-0005-000")
        }
    }

    /// simulator.md: a BLE lock "accepts one central at a time (a second is turned away)".
    @Test func aSecondCentralIsTurnedAway() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/lock.att"
        let sim = try ChildProcess("locksim", ["--ble-att-socket", path, "--activity", "0"])
        #expect(sim.readLine(within: 10) == path)
        defer { sim.terminate() }
        let exchangeMTU: [UInt8] = [0x02, 23, 0]  // ATT_EXCHANGE_MTU_REQ, client MTU 23
        /// The first packet back within `seconds`; [] when the lock closed the connection.
        func answer(_ fd: Int32, within seconds: Double) -> [UInt8]? {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 600)
            let n = read(fd, &buffer, buffer.count)
            return n > 0 ? Array(buffer[0..<n]) : []
        }
        let first = try SeqPacket.connect(path)
        defer { FileIO.close(first) }
        _ = exchangeMTU.withUnsafeBytes { write(first, $0.baseAddress, $0.count) }
        #expect(answer(first, within: 5)?.first == 0x03, "the first central got no MTU answer")
        let second = try SeqPacket.connect(path)
        defer { FileIO.close(second) }
        _ = exchangeMTU.withUnsafeBytes { write(second, $0.baseAddress, $0.count) }
        #expect(answer(second, within: 5) == [], "the second central was not turned away")
        _ = exchangeMTU.withUnsafeBytes { write(first, $0.baseAddress, $0.count) }
        #expect(answer(first, within: 5)?.first == 0x03, "the first central lost its link")
    }

    /// simulator.md: "After power is cut the motor brakes for 20 ms (`motor` = braking)". A
    /// host asking READ_STATUS every simulated millisecond sees the drive, then 20 ms of
    /// braking, then idle.
    @Test func theMotorBrakesFor20MillisecondsAfterTheRun() throws {
        let host = LockHarness(.healthy)
        guard case .actuationAccepted = host.response(.actuate(.unlock)) else {
            Issue.record("ACTUATE refused")
            return
        }
        var states: [MotorState] = []
        while states.last != .idle && states.count < 5_000 {
            host.run(milliseconds: 1)
            guard case .status(let status)? = host.response(.readStatus) else { break }
            states.append(status.motor)
        }
        let driving = states.prefix { $0 == .unlockingDrive }.count
        let braking = states.dropFirst(driving).prefix { $0 == .braking }.count
        #expect(driving > 100, "\(driving) ms of drive")
        #expect((19...20).contains(braking), "\(braking) ms of braking")
        #expect(states.dropFirst(driving + braking) == [.idle], "\(states.suffix(5))")
    }

    /// simulator.md and ldp-v1.md §4.2: FAULT_RAISED at most once per code per second, however
    /// often the fault occurs.
    @Test func faultRaisedAtMostOncePerCodePerSecond() throws {
        let host = LockHarness(.motorStall)
        var raisedAt: [(code: UInt16, at: UInt64)] = []
        var seen = 0
        func note() {
            let raised = host.raisedFaults
            for fault in raised[seen...] { raisedAt.append((fault.code, host.now)) }
            seen = raised.count
        }
        var stalls = 0
        let end = host.now + 6 * Self.second
        while host.now < end {
            // Locking jams, unlocking frees the bolt again: a stall every other actuation.
            for direction in [Direction.lock, .unlock] {
                guard case .actuationAccepted(let number)? = host.response(.actuate(direction)) else { continue }
                host.run(upTo: 5_000) {
                    note()
                    return host.finishedActuations.contains { $0.actuation == number }
                }
                if host.finishedActuations.last?.result == .stalled { stalls += 1 }
                host.run(milliseconds: 50)
            }
        }
        host.run(milliseconds: 1_500)
        note()
        let stallRaises = raisedAt.filter { $0.code == FaultCode.motorStall }
        #expect(stalls > stallRaises.count, "\(stalls) stalls, \(stallRaises.count) FAULT_RAISED: the cap was never needed")
        #expect(!stallRaises.isEmpty)
        for code in Set(raisedAt.map(\.code)) {
            let times = raisedAt.filter { $0.code == code }.map(\.at)
            for (a, b) in zip(times, times.dropFirst()) {
                #expect(b - a >= Self.second, "FAULT_RAISED \(code) twice within \(Double(b - a) / 1e6) ms of simulated time")
            }
        }
    }

    /// ldp-v1.md §4.2: a device sends at most 50 events a second besides TRACE_CHUNK. A busy
    /// lock: used every 0.2 s (actuations and finger touches) with a failing fingerprint sensor.
    @Test func atMostFiftyEventsASecondBesidesTraceChunks() {
        let host = LockHarness(.fingerprintDegraded, activitySeconds: 0.2)
        var windows: [UInt64: Int] = [:]
        var seen = 0
        let start = host.now
        host.run(upTo: 20_000) {
            let frames = host.frames
            for frame in frames[seen...] where frame.header.kind == .event && frame.header.type != MessageType.traceChunk.rawValue {
                windows[(host.now - start) / Self.second, default: 0] += 1
            }
            seen = frames.count
            return false
        }
        #expect(windows.values.reduce(0, +) > 20, "a quiet session proves nothing: \(windows)")
        #expect(windows.values.allSatisfy { $0 <= 50 }, "\(windows.sorted { $0.key < $1.key })")
    }

    /// simulator.md: `nextWakeNanoseconds` is at most 32 ms ahead while the motor runs (so a
    /// TRACE_CHUNK of 32 samples goes out on time).
    @Test func theLockWakesAtLeastEvery32MillisecondsWhileTheMotorRuns() throws {
        let host = LockHarness(.healthy)
        guard case .actuationAccepted(let number)? = host.response(.actuate(.unlock)) else {
            Issue.record("ACTUATE refused")
            return
        }
        var wakes = 0
        host.run(upTo: 5_000) {
            if host.finishedActuations.contains(where: { $0.actuation == number }) { return true }
            let ahead = Int64(bitPattern: host.lock.nextWakeNanoseconds &- host.now)
            #expect(ahead <= 32_000_000, "next wake \(Double(ahead) / 1e6) ms ahead while the motor runs")
            wakes += 1
            return false
        }
        #expect(host.finishedActuations.contains { $0.actuation == number })
        #expect(wakes > 10)
    }

    /// ldp-v1.md §6.8: the actuation number wraps and is never 0xFFFF (which means "latest" in
    /// READ_MOTOR_TRACE).
    @Test func theActuationNumberSkips0xFFFF() throws {
        let host = LockHarness(.healthy)
        host.lock.lastActuationNumber = 0xFFFD
        var numbers: [UInt16] = []
        for direction in [Direction.unlock, .lock, .unlock] {
            let finished = try #require(host.actuate(direction))
            numbers.append(finished.actuation)
        }
        #expect(numbers == [0xFFFE, 0, 1])
    }
}
