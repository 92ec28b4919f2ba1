import LinuxIO
import SerialTransport
import TuyaProtocol

/// A Tuya link's role and timing (firmware-specs/tuya-mcu.md §1, §3, §4).
public struct TuyaLinkConfiguration: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        /// lockdiag plays the module: heartbeats, queries, acknowledgements.
        case active
        /// A tap on the module↔MCU line: listen, never transmit.
        case passive
    }

    public var role: Role
    /// The protocol an active link speaks; a passive one learns it from the traffic.
    public var variant: TuyaVariant
    /// Reply deadline before a request is sent again (500 ms, Tuya's Wi-Fi lock protocol).
    public var replyTimeoutNanoseconds: UInt64 = 500_000_000
    /// Transmissions of one request before it counts as a timeout (1 + 2 retransmissions).
    public var attempts = 3
    /// Heartbeat (standard) or product-query probe (low-power) cadence. A module heartbeats every
    /// 15 s; lockdiag every second, so a dead MCU shows within the daemon's 2 s silence window.
    public var keepAliveNanoseconds: UInt64 = 1_000_000_000
    /// DP query cadence after the first (standard protocol).
    public var dpQueryNanoseconds: UInt64 = 60_000_000_000
    /// Quiet time after which a half-received frame is given up (TuyaFrameDecoder.expire).
    public var quietNanoseconds: UInt64 = 100_000_000

    public init(role: Role, variant: TuyaVariant) {
        self.role = role
        self.variant = variant
    }
}

/// A passive tap on both directions of a module↔MCU line: two USB-UART adapters whose RX pins
/// are clipped onto the MCU's TX and the module's TX. The poll loop watches one descriptor per
/// device, so both ports sit in an epoll of their own whose descriptor the loop watches.
/// Never transmits.
public final class TuyaTapLink: DeviceLink {
    public let mcuPort: SerialPort
    public let modulePort: SerialPort
    private var epoll: Epoll?

    public init(mcuPath: String, modulePath: String, baudRate: UInt32) {
        mcuPort = SerialPort(path: mcuPath, baudRate: baudRate)
        modulePort = SerialPort(path: modulePath, baudRate: baudRate)
    }

    deinit { close() }

    public var transport: String { "serial" }
    public var path: String { mcuPort.path }
    public var fileDescriptor: Int32 { epoll?.fd ?? -1 }

    public func open() throws {
        close()
        try mcuPort.open()
        do {
            try modulePort.open()
            let set = try Epoll(capacity: 2)
            epoll = set
            try set.add(mcuPort.fileDescriptor, events: [.readable, .readHangUp], token: 0)
            try set.add(modulePort.fileDescriptor, events: [.readable, .readHangUp], token: 1)
        } catch {
            close()
            throw error
        }
    }

    /// Which lines have bytes (or hung up) now. A raw tty read with nothing waiting returns 0,
    /// which reads as a hang-up, so each line is read only when its own epoll says so.
    public func readiness() -> (mcu: Bool, module: Bool, hangUp: Bool) {
        var mcu = false
        var module = false
        var hangUp = false
        _ = try? epoll?.wait(timeoutMilliseconds: 0) { token, events in
            if events.contains(.readable) { if token == 0 { mcu = true } else { module = true } }
            if events.contains(.hangUp) || events.contains(.error) { hangUp = true }
        }
        return (mcu, module, hangUp)
    }

    /// The MCU's side (what the lock says).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult { try mcuPort.read(into: buffer) }

    /// The module's side.
    public func readModule(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult { try modulePort.read(into: buffer) }

    /// A tap never transmits; the passive driver never calls this, and a bug that did would
    /// take the link down rather than put a byte on someone else's line.
    public func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult { throw TapWriteRefused() }

    public func close() {
        epoll?.close()
        epoll = nil
        mcuPort.close()
        modulePort.close()
    }

    public var failureReason: String? { nil }
}

/// Why a tap refused to write.
struct TapWriteRefused: Error, CustomStringConvertible {
    var description: String { "a passive Tuya tap never transmits" }
}
