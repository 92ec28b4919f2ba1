import LinuxIO
import LockProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A vendor-bulk lock's firmware side (firmware-specs/usb.md §2) on a Linux USB gadget through
/// FunctionFS (`locksim --functionfs DIR`, the kernel lab): the descriptors and strings go to
/// DIR/ep0, then each exchange is one OUT transfer read from DIR/ep1 (the request) answered by one
/// IN transfer written to DIR/ep2 (the answer and queued events, ended short). The layouts of the
/// blobs and events are the kernel's `include/uapi/linux/usb/functionfs.h`.
///
/// Two threads: one reads ep0's events (ENABLE when the host configured the gadget, DISABLE
/// or UNBIND when it was unplugged) and stalls control requests, the other owns the lock and
/// does the exchanges with blocking I/O (FunctionFS endpoint files cannot be polled).
public final class FunctionFSLock: Sendable {
    public let configuration: SimulatorConfiguration
    public let directory: String
    private let shared: Shared

    /// What the two threads and the caller share.
    private final class Shared: Sendable {
        /// Counts ENABLE events: the exchange thread waits for a new one after an unplug.
        let enables = Atomic<UInt64>(0)
        let enabled = Atomic<Bool>(false)
        let running = Atomic<Bool>(true)
        /// The exchange thread (pthread_t), which ep0's thread interrupts with SIGUSR2 at every
        /// plug change: an OUT read or IN write blocked across an unplug would otherwise hand the
        /// host an answer from before it, or wait for one the host never asks for.
        let exchangeThread = Atomic<UInt>(0)
        /// Where a plug change is told, from the thread that saw it.
        let report: @Sendable (String) -> Void
        init(report: @escaping @Sendable (String) -> Void) { self.report = report }
    }

    /// wMaxPacketSize of the bulk endpoints at full and at high speed (usb.md §2.1).
    static let fullSpeedPacket: UInt16 = 64
    static let highSpeedPacket: UInt16 = 512
    /// The host reads IN transfers of this size (usb.md §2.2).
    static let transferBytes = 1024

    /// `report` gets a line at every plug change ("plugged commands=N", "unplugged
    /// commands=N") and for each command the lock accepts ("accepted commands=N"), on the
    /// simulator's own threads; `locksim` prints them.
    public init(configuration: SimulatorConfiguration, directory: String, report: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.directory = directory
        shared = Shared(report: report)
    }

    /// The descriptors blob (FUNCTIONFS_DESCRIPTORS_MAGIC_V2 with full- and high-speed sets):
    /// one vendor interface 0xFF/0x4C/0x01 with a bulk OUT (0x01) and a bulk IN (0x81) endpoint.
    public static var descriptors: [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func set(packet: UInt16) -> [UInt8] {
            let interface: [UInt8] = [9, 4, 0, 0, 2, 0xFF, 0x4C, 0x01, 1]
            func endpoint(_ address: UInt8) -> [UInt8] { [7, 5, address, 2, UInt8(packet & 0xFF), UInt8(packet >> 8), 0] }
            return interface + endpoint(0x01) + endpoint(0x81)
        }
        let body = le32(3) + le32(3) + set(packet: fullSpeedPacket) + set(packet: highSpeedPacket)  // fs_count, hs_count
        let flags: UInt32 = 1 | 2  // FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC
        return le32(3) + le32(UInt32(12 + body.count)) + le32(flags) + body
    }

    /// The strings blob (FUNCTIONFS_STRINGS_MAGIC): the interface's name in US English.
    public static var strings: [UInt8] {
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let body: [UInt8] = [0x09, 0x04] + Array("LDP/1 lock controller".utf8) + [0]
        return le32(2) + le32(UInt32(16 + body.count)) + le32(1) + le32(1) + body
    }

    /// Writes the descriptors and strings to ep0 (after which the gadget may be bound to a UDC)
    /// and starts both threads.
    public func start() throws(SimulatorError) {
        let ep0: Int32
        do throws(SystemError) {
            ep0 = try FileIO.open(directory + "/ep0", flags: O_RDWR)
            try Self.writeWhole(ep0, Self.descriptors, what: "descriptors")
            try Self.writeWhole(ep0, Self.strings, what: "strings")
        } catch {
            throw .system(error)
        }
        let shared = shared
        let configuration = configuration
        let directory = directory
        do throws(SystemError) {
            _ = try ServerThread { Self.serveEndpointZero(ep0, shared: shared) }
            _ = try ServerThread { Self.serveExchanges(configuration: configuration, directory: directory, shared: shared) }
        } catch {
            throw .system(error)
        }
    }

    private static func writeWhole(_ fd: Int32, _ bytes: [UInt8], what: String) throws(SystemError) {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw SystemError("write(\(what)) to FunctionFS ep0", errno: n < 0 ? errno : EIO) }
    }

    // MARK: ep0

    private static func serveEndpointZero(_ ep0: Int32, shared: Shared) {
        var events = [UInt8](repeating: 0, count: 12 * 4)
        while shared.running.load(ordering: .relaxed) {
            let n = events.withUnsafeMutableBytes { Glibc.read(ep0, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                shared.report("error ep0: read: errno \(errno)")
                return
            }
            var offset = 0
            while offset + 12 <= n {
                let requestType = events[offset]
                switch events[offset + 8] {
                case 2:  // FUNCTIONFS_ENABLE: the host set the configuration
                    shared.enabled.store(true, ordering: .releasing)
                    shared.enables.add(1, ordering: .releasing)
                    interruptExchanges(shared)
                case 1, 3, 5:  // UNBIND, DISABLE, SUSPEND
                    shared.enabled.store(false, ordering: .releasing)
                    interruptExchanges(shared)
                case 4:  // SETUP: the lock has no control requests of its own; stall them
                    // (FunctionFS stalls a request when ep0 is read for an IN one, written for an OUT one).
                    if requestType & 0x80 != 0 { _ = Glibc.read(ep0, nil, 0) } else { _ = Glibc.write(ep0, nil, 0) }
                default:
                    break
                }
                offset += 12
            }
        }
    }

    // MARK: Exchanges

    private static func interruptExchanges(_ shared: Shared) {
        let thread = shared.exchangeThread.load(ordering: .acquiring)
        if thread != 0 { _ = pthread_kill(pthread_t(thread), SIGUSR2) }
    }

    /// SIGUSR2 without SA_RESTART: it makes the exchange thread's blocked FunctionFS I/O return
    /// EINTR (FunctionFS then dequeues the request).
    private static func installInterruptHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        _ = sigaction(SIGUSR2, &action, nil)
    }

    /// Whether a UDC runs at full speed (/sys/class/udc/*/current_speed): the packet size decides
    /// when an answer needs a zero-length packet to end short.
    private static func negotiatedFullSpeed() -> Bool {
        guard let udcs = opendir("/sys/class/udc") else { return false }
        defer { closedir(udcs) }
        while let entry = readdir(udcs) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !name.hasPrefix("."), let file = fopen("/sys/class/udc/\(name)/current_speed", "r") else { continue }
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 32)
            if fgets(&line, 32, file) != nil, String(cString: line).hasPrefix("full-speed") { return true }
        }
        return false
    }

    private static func serveExchanges(configuration: SimulatorConfiguration, directory: String, shared: Shared) {
        installInterruptHandler()
        shared.exchangeThread.store(UInt(pthread_self()), ordering: .releasing)
        let lock = SimulatedLock(configuration: configuration, now: MonotonicClock.nanoseconds())
        var buffer = [UInt8](repeating: 0, count: transferBytes)
        var outFD: Int32 = -1, inFD: Int32 = -1
        var seenEnables: UInt64 = 0
        var plugged = false
        var packet = Int(highSpeedPacket)
        while shared.running.load(ordering: .relaxed) {
            let enables = shared.enables.load(ordering: .acquiring)
            guard shared.enabled.load(ordering: .acquiring), enables != seenEnables || plugged else {
                if plugged {
                    plugged = false
                    shared.report("unplugged commands=\(lock.counters.commandsAccepted)")
                }
                lock.advance(to: MonotonicClock.nanoseconds())
                // Firmware idles until the host configures it again.
                usleep(10_000)
                continue
            }
            if !plugged {
                seenEnables = enables
                plugged = true
                // Queued while nobody listened: lost, as a UART's bytes are (and as ServerLoop does).
                _ = lock.takeOutput()
                packet = Int(negotiatedFullSpeed() ? fullSpeedPacket : highSpeedPacket)
                shared.report("plugged commands=\(lock.counters.commandsAccepted) packet=\(packet)")
            }
            if outFD < 0 {
                outFD = (try? FileIO.open(directory + "/ep1", flags: O_RDWR)) ?? -1
                inFD = (try? FileIO.open(directory + "/ep2", flags: O_RDWR)) ?? -1
                guard outFD >= 0, inFD >= 0 else {
                    shared.report("error cannot open \(directory)/ep1 and ep2: errno \(errno)")
                    return
                }
            }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(outFD, $0.baseAddress, $0.count) }
            // An error (ESHUTDOWN: the endpoint was disabled) or a plug change while blocked
            // (EINTR from ep0's thread): unplugged; wait for the next ENABLE.
            guard n >= 0, shared.enables.load(ordering: .acquiring) == seenEnables else {
                plugged = false
                shared.report("unplugged commands=\(lock.counters.commandsAccepted)")
                continue
            }
            let now = MonotonicClock.nanoseconds()
            let acceptedBefore = lock.counters.commandsAccepted
            buffer.withUnsafeBytes { lock.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
            // A command (an actuation, a self-test) is rare, and what a host must never resend.
            if lock.counters.commandsAccepted != acceptedBefore { shared.report("accepted commands=\(lock.counters.commandsAccepted)") }
            lock.advance(to: now)
            let answer = lock.takeOutput()
            // Unplugged since the request came: the answer is lost with the link.
            guard shared.enabled.load(ordering: .acquiring), shared.enables.load(ordering: .acquiring) == seenEnables else { continue }
            // One IN transfer, ended short: a zero-length packet when the answer fills whole packets.
            var written = answer.isEmpty ? 0 : answer.withUnsafeBytes { Glibc.write(inFD, $0.baseAddress, $0.count) }
            if written >= 0 && answer.count % packet == 0 {
                written = Glibc.write(inFD, buffer, 0)
            }
            if written < 0 {
                plugged = false
                shared.report("unplugged commands=\(lock.counters.commandsAccepted)")
            }
        }
    }
}
