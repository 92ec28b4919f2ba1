import Foundation
import Glibc
import LinuxIO
import LockProtocol
import LockSimulator
import Testing

/// `locksim --tty`: a lock served on an existing tty, the firmware side of a real line (in the
/// kernel lab, a USB gadget's /dev/ttyGS0). Here the tty is a pty's slave and the test is the
/// host on its master.
@Suite struct TTYServingTests {
    static func serve(on path: String, scenario: Scenario = .healthy) throws -> SimulatorServer {
        var configuration = SimulatorConfiguration(scenario: scenario, seed: 5)
        configuration.ttyPath = path
        let server = try SimulatorServer(configurations: [configuration])
        try server.start()
        return server
    }

    /// IDENTIFY, asked until answered or `seconds` pass (a request sent while the lock reopens
    /// its tty is flushed with the line's queues, as on a real replug).
    static func identify(_ client: PtyClient, within seconds: Double) throws -> Identity? {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        while MonotonicClock.nanoseconds() < deadline {
            if case .identify(let identity)? = try client.response(.identify, timeout: 0.5) { return identity }
        }
        return nil
    }

    @Test func aLockAnswersOnTheTTYItWasGiven() throws {
        let line = try PseudoTerminal.open()
        defer { line.close() }
        let server = try Self.serve(on: line.slavePath, scenario: .motorStall)
        defer { server.stop() }
        #expect(server.devicePaths == [line.slavePath])
        let host = PtyClient(taking: dup(line.master))
        let identity = try #require(try Self.identify(host, within: 5))
        #expect(identity.serial == "SIM-0005-000")
        guard case .faults(let faults)? = try host.response(.readFaults) else { Issue.record("no READ_FAULTS"); return }
        #expect(faults.contains { $0.code == FaultCode.motorStall && $0.status.contains(.confirmed) })
    }

    /// A USB gadget's tty is hung up when the gadget is unplugged (u_serial's gserial_disconnect);
    /// the lock must reopen it and serve again once the host is back, as firmware does after a
    /// USB reset. TIOCVHANGUP (root only) hangs a tty up the same way.
    @Test(.enabled(if: getuid() == 0, "TIOCVHANGUP needs CAP_SYS_ADMIN"))
    func aHungUpTTYIsReopenedAndServedAgain() throws {
        let line = try PseudoTerminal.open()
        defer { line.close() }
        let server = try Self.serve(on: line.slavePath)
        defer { server.stop() }
        let host = PtyClient(taking: dup(line.master))
        #expect(try Self.identify(host, within: 5) != nil)

        let slave = try FileIO.open(line.slavePath, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
        defer { FileIO.close(slave) }
        #expect(ioctl(slave, UInt(TIOCVHANGUP)) == 0, "TIOCVHANGUP: errno \(errno)")

        #expect(try Self.identify(host, within: 5) != nil, "the lock did not come back on its tty after the hang-up")
        let snapshot = try #require(try server.snapshots().first)
        #expect(snapshot.isOnline)
        #expect(snapshot.ptyPath == line.slavePath)
    }

    @Test func unpluggingATTYLockSaysToUnplugTheDeviceItself() throws {
        let line = try PseudoTerminal.open()
        defer { line.close() }
        let server = try Self.serve(on: line.slavePath)
        defer { server.stop() }
        #expect(throws: SimulatorError.externalLine(0, path: line.slavePath)) { try server.unplug(lock: 0) }
        #expect(throws: SimulatorError.externalLine(0, path: line.slavePath)) { try server.replug(lock: 0) }
    }

    @Test func aMissingTTYIsReportedAtStart() throws {
        var configuration = SimulatorConfiguration()
        configuration.ttyPath = "/dev/lockdiag-no-such-tty"
        let server = try SimulatorServer(configurations: [configuration])
        #expect(throws: SimulatorError.self) { try server.start() }
    }
}
