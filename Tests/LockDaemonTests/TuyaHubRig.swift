import Glibc
import LinuxIO
@testable import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Testing
import TuyaProtocol

/// The real poll loop and hub with one Tuya link on a pty (by default a passive tap with the
/// Zen3515 layout); the test writes the pty's master side as the lock's MCU would.
final class TuyaHubRig {
    let pty: PseudoTerminal
    let loop: PollLoop
    let hub: Hub
    let slot: Int

    init(dialect: DialectSpec = DialectSpec(kind: .tuyaSniff, product: "zen3515-wifi-lock")) throws {
        pty = try PseudoTerminal.open()
        loop = try PollLoop(configuration: { var c = PollLoopConfiguration(); c.pollHz = 100; return c }())
        hub = Hub(loop: loop)
        slot = try #require(try hub.addTuyaDevice(path: pty.slavePath, baudRate: 9600, dialect: dialect))
        try loop.start()
        hub.start()
        // The loop opens the tty on its first tick, and opening it flushes what waits there:
        // the tests' reports go out after that.
        #expect(TestSupport.wait(upTo: 10) { loop.statistics.cycles >= 3 }, "the poll loop did not start")
    }

    func stop() {
        hub.stop()
        loop.stop()
        pty.close()
    }

    /// A frame as the MCU (or, with the module's version, the low-power MCU) frames it.
    func frame(_ command: UInt8, _ data: [UInt8], version: UInt8 = Tuya.mcuVersion) -> [UInt8] {
        TuyaFrameEncoder.encode(version: version, command: command, data: data)!
    }

    /// A real-time report (low-power protocol) of one DP.
    func report(_ id: UInt8, _ value: TuyaDPValue) -> [UInt8] {
        frame(TuyaLowPowerCommand.realtimeReport, TuyaDPCodec.encode([TuyaDataPoint(id: id, value: value)]), version: Tuya.moduleVersion)
    }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { try? FileIO.write(pty.master, $0) } }

    func fault(_ name: String) -> Fault? { hub.faults(of: slot).first { $0.name == name } }
    var tuya: TuyaReading? { hub.status(of: slot)?.tuya }
}
