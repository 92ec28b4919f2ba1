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
/// Three threads: one reads ep0's events (ENABLE when the host configured the gadget, DISABLE
/// or UNBIND when it was unplugged) and stalls control requests, one owns the lock and reads the
/// requests (OUT), one writes the answers (IN), all with blocking I/O (FunctionFS endpoint files
/// cannot be polled). OUT and IN are apart as in a real controller's endpoints: an answer the host
/// has not collected (its IN transfer timed out) never keeps the lock from taking the next request.
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
        /// The answer waiting for the host's next IN transfer.
        let answers: InEndpoint
        init(report: @escaping @Sendable (String) -> Void) throws(SystemError) {
            self.report = report
            answers = try InEndpoint()
        }
    }

    /// The IN side: the answer the writer thread offers the host, at most one. A newer answer
    /// replaces one the host never collected (usb.md §2.2: every exchange starts afresh with a
    /// request, and the host takes what comes first as that request's answer): the writer's
    /// blocked write is interrupted (SIGUSR2; FunctionFS then dequeues it) and the new one
    /// written instead. Without that the lock would answer each request with the previous one's
    /// answer from then on, or, writing, never read the next request: the kernel lab saw both.
    final class InEndpoint: Sendable {
        struct Answer: Sendable {
            var bytes: [UInt8]
            /// wMaxPacketSize now: an answer filling whole packets is ended by a zero-length one.
            var packet: Int
        }
        private struct State {
            var answer: Answer?
            var generation: UInt64 = 0
            /// The generation being written now, if any.
            var writing: UInt64?
        }
        private let state = Mutex(State())
        let doorbell: EventDoorbell
        let thread = Atomic<UInt>(0)

        init() throws(SystemError) { doorbell = try EventDoorbell() }

        /// Whether the writer is blocked on an answer now (tests).
        var isWriting: Bool { state.withLock { $0.writing != nil } }

        /// Offers `answer` (nil: drop whatever waits, at a plug change). An answer still being
        /// written is interrupted until the writer has let it go: a signal that lands just
        /// before the writer enters write(2) would not interrupt it, so it is sent again (every
        /// millisecond, for at most 50 ms; the host collecting the old answer also ends it).
        func offer(_ answer: Answer?) {
            let stale = state.withLock { s -> UInt64? in
                s.answer = answer
                s.generation &+= 1
                return s.writing
            }
            doorbell.ring()
            let writer = thread.load(ordering: .acquiring)
            guard let stale, writer != 0 else { return }
            for _ in 0..<50 {
                _ = pthread_kill(pthread_t(writer), SIGUSR2)
                if state.withLock({ $0.writing != stale }) { return }
                usleep(1_000)
            }
        }

        /// The writer thread: writes each answer as one IN transfer until the host takes it, the
        /// link goes, or a newer answer replaces it.
        func serve(_ inFD: Int32, running: borrowing Atomic<Bool>) {
            FunctionFSLock.acceptInterrupts()
            thread.store(UInt(pthread_self()), ordering: .releasing)
            while running.load(ordering: .relaxed) {
                guard let (answer, generation) = state.withLock({ s -> (Answer, UInt64)? in
                    guard let answer = s.answer else { return nil }
                    s.answer = nil
                    s.writing = s.generation
                    return (answer, s.generation)
                }) else {
                    _ = doorbell.wait(timeoutMilliseconds: 500)
                    continue
                }
                // Interrupted with no newer answer (a signal meant for the one before): again.
                _ = retryingOnInterrupt(while: { state.withLock { $0.generation == generation } }) { () -> Int in
                    var written = answer.bytes.isEmpty ? 0 : answer.bytes.withUnsafeBytes { Glibc.write(inFD, $0.baseAddress, $0.count) }
                    if written >= 0 && answer.bytes.count % answer.packet == 0 { written = Glibc.write(inFD, answer.bytes, 0) }
                    return written
                }
                state.withLock { $0.writing = nil }
            }
        }
    }

    /// wMaxPacketSize of the bulk endpoints at full and at high speed (usb.md §2.1).
    static let fullSpeedPacket: UInt16 = 64
    static let highSpeedPacket: UInt16 = 512
    /// The host reads IN transfers of this size (usb.md §2.2).
    static let transferBytes = 1024

    /// `report` gets a line at every plug change ("plugged commands=N", "unplugged
    /// commands=N") and for each command the lock accepts ("accepted commands=N"), on the
    /// simulator's own threads; `locksim` prints them.
    public init(configuration: SimulatorConfiguration, directory: String, report: @escaping @Sendable (String) -> Void) throws(SimulatorError) {
        self.configuration = configuration
        self.directory = directory
        do throws(SystemError) {
            shared = try Shared(report: report)
        } catch {
            throw .system(error)
        }
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
            _ = try JoinableThread(name: "locksim-ffs-ep0") { Self.serveEndpointZero(ep0, shared: shared) }
            _ = try JoinableThread(name: "locksim-ffs") { Self.serveExchanges(configuration: configuration, directory: directory, shared: shared) }
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
            // Interrupted when stopping: the loop's condition ends it.
            let n = events.withUnsafeMutableBytes { raw in
                retryingOnInterrupt(while: { shared.running.load(ordering: .relaxed) }) { Glibc.read(ep0, raw.baseAddress, raw.count) }
            }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }  // EINTR: stopping, which the loop checks
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
    /// Unblocks SIGUSR2 for the calling thread (a thread inherits its creator's mask).
    static func acceptInterrupts() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGUSR2)
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static func installInterruptHandler() {
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
            if fgets(&line, 32, file) != nil, String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).hasPrefix("full-speed") { return true }
        }
        return false
    }

    private static func serveExchanges(configuration: SimulatorConfiguration, directory: String, shared: Shared) {
        installInterruptHandler()
        acceptInterrupts()
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
                    shared.answers.offer(nil)
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
                shared.answers.offer(nil)
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
                let answers = shared.answers, endpoint = inFD
                do throws(SystemError) {
                    _ = try JoinableThread(name: "locksim-ffs-io") { answers.serve(endpoint, running: shared.running) }
                } catch {
                    shared.report("error cannot start the IN thread: \(error)")
                    return
                }
            }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(outFD, $0.baseAddress, $0.count) }
            // An error (ESHUTDOWN: the endpoint was disabled) or a plug change while blocked
            // (EINTR from ep0's thread): unplugged; wait for the next ENABLE.
            guard n >= 0, shared.enables.load(ordering: .acquiring) == seenEnables else {
                plugged = false
                shared.answers.offer(nil)
                shared.report("unplugged commands=\(lock.counters.commandsAccepted)")
                continue
            }
            let now = MonotonicClock.nanoseconds()
            // usb.md §2.2 step 3: the answer to this request first, then the events queued since
            // the last exchange (whole frames). The model runs up to the request's arrival first,
            // so the events it raised meanwhile are taken apart and sent after the answer.
            lock.advance(to: now)
            let queued = lock.takeOutput()
            let acceptedBefore = lock.counters.commandsAccepted
            buffer.withUnsafeBytes { lock.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
            // A command (an actuation, a self-test) is rare, and what a host must never resend.
            if lock.counters.commandsAccepted != acceptedBefore { shared.report("accepted commands=\(lock.counters.commandsAccepted)") }
            let answer = lock.takeOutput() + queued
            // Unplugged since the request came: the answer is lost with the link.
            guard shared.enabled.load(ordering: .acquiring), shared.enables.load(ordering: .acquiring) == seenEnables else { continue }
            // One IN transfer, ended short, written by the IN thread.
            shared.answers.offer(InEndpoint.Answer(bytes: answer, packet: packet))
        }
    }
}
