import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The air between a BLE lock's GATT server and the host, for tests: relays ATT PDUs between
/// two Unix SOCK_SEQPACKET sockets (one PDU per packet, as on an L2CAP channel) and makes the
/// lock's notifications late or lost, as slow connection events or a radio with no room for
/// another notification do (firmware-specs/ble-gatt.md §4). Everything else passes untouched.
/// Plain Glibc, so any test target can use it.
public final class RadioRelay: Sendable {
    public struct Air: Sendable {
        /// How long each notification from the lock is held back.
        public var notificationDelayNanoseconds: UInt64 = 0
        /// Loses every notification (a lock that no longer answers).
        public var dropAllNotifications = false
        /// Loses every Nth notification that is one whole LDP/1 TRACE_CHUNK frame (0: none).
        public var dropEveryNthTraceChunk = 0
    }

    /// Where the host connects.
    public let hostPath: String
    public let air = Mutex(Air())
    /// Trace chunk notifications lost so far.
    public let droppedTraceChunks = Atomic<Int>(0)
    /// READ_MOTOR_TRACE requests the host wrote so far.
    public let traceReadRequests = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)
    private let finished = Atomic<Bool>(false)
    private let listener: Int32
    private let lockPath: String

    // LDP/1 (firmware-specs/ldp-v1.md §3): a frame is A5 5A, version, kind (0 request), seq,
    // type, length (LE16), header CRC, payload, CRC16.
    static let readMotorTrace: UInt8 = 0x03
    static let traceChunk: UInt8 = 0x83
    // ATT opcodes (Core Specification v5.3, Vol 3, Part F, §3.4.8).
    static let writeRequest: UInt8 = 0x12, writeCommand: UInt8 = 0x52, notification: UInt8 = 0x1B

    public struct SocketError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Listens at `hostPath`; each connection there is relayed to a new connection to `lockPath`.
    public init(lockPath: String, hostPath: String) throws {
        self.lockPath = lockPath
        self.hostPath = hostPath
        listener = try Self.socket(at: hostPath, listen: true)
        Thread { [self] in
            run()
            finished.store(true, ordering: .releasing)
        }.start()
    }

    public func stop() {
        running.store(false, ordering: .relaxed)
        // The relay thread polls with a 20 ms timeout: it sees `running` go false within that.
        _ = TestSupport.wait(upTo: 5) { finished.load(ordering: .acquiring) }
        close(listener)
        unlink(hostPath)
    }

    /// A non-blocking seqpacket socket listening at, or connected to, `path`.
    static func socket(at path: String, listen: Bool) throws -> Int32 {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(description: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SocketError(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        let rc: Int32 = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                if listen {
                    unlink(path)
                    return bind(fd, p, length) == 0 && Glibc.listen(fd, 4) == 0 ? 0 : -1
                }
                return connect(fd, p, length)
            }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw SocketError(description: "\(listen ? "listen" : "connect") \(path): errno \(code)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    private static func nanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    private func run() {
        var host: Int32 = -1, lock: Int32 = -1
        var held: [(due: UInt64, pdu: [UInt8])] = []
        var chunks = 0
        var written: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        func closeBoth() {
            if host >= 0 { close(host) }
            if lock >= 0 { close(lock) }
            host = -1
            lock = -1
            held.removeAll()
            written.removeAll()
        }
        defer { closeBoth() }
        while running.load(ordering: .relaxed) {
            if host < 0 {
                let accepted = accept(listener, nil, nil)
                if accepted >= 0 {
                    _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
                    host = accepted
                    guard let connected = try? Self.socket(at: lockPath, listen: false) else {
                        closeBoth()
                        continue
                    }
                    lock = connected
                }
            }
            var fds = [pollfd(fd: host < 0 ? listener : host, events: Int16(POLLIN), revents: 0), pollfd(fd: lock, events: Int16(POLLIN), revents: 0)]
            let now = Self.nanoseconds()
            let timeout = held.first.map { Int32(min(20, ($0.due > now ? $0.due - now : 0) / 1_000_000)) } ?? 20
            _ = poll(&fds, lock < 0 ? 1 : 2, timeout)
            guard host >= 0 else { continue }
            // Host → lock: passed on at once; READ_MOTOR_TRACE requests counted in the written stream.
            if fds[0].revents != 0 {
                let n = receive(host, &buffer)
                if n == 0 {
                    closeBoth()
                    continue
                }
                if n > 0 {
                    let pdu = Array(buffer[0..<n])
                    if (pdu[0] == Self.writeCommand || pdu[0] == Self.writeRequest) && pdu.count > 3 {
                        written += pdu[3...]
                        countTraceReads(in: &written)
                    }
                    deliver(pdu, to: lock)
                }
            }
            // Lock → host: notifications held back, lost, or passed on; the rest in order.
            if fds[1].revents != 0 {
                let n = receive(lock, &buffer)
                if n == 0 {
                    closeBoth()
                    continue
                }
                if n > 0 {
                    let pdu = Array(buffer[0..<n])
                    let air = self.air.withLock { $0 }
                    if pdu[0] == Self.notification && air.dropAllNotifications { continue }
                    if pdu[0] == Self.notification && air.dropEveryNthTraceChunk > 0 && Self.isOneTraceChunk(pdu) {
                        chunks += 1
                        if chunks % air.dropEveryNthTraceChunk == 0 {
                            droppedTraceChunks.add(1, ordering: .relaxed)
                            continue
                        }
                    }
                    let delay = pdu[0] == Self.notification ? air.notificationDelayNanoseconds : 0
                    held.append((Self.nanoseconds() + delay, pdu))
                }
            }
            let due = Self.nanoseconds()
            while let first = held.first, first.due <= due {
                deliver(first.pdu, to: host)
                held.removeFirst()
            }
        }
    }

    /// Counts whole request frames of type READ_MOTOR_TRACE at the front of `stream`, dropping
    /// what it has looked at; an incomplete frame stays for the next write.
    private func countTraceReads(in stream: inout [UInt8]) {
        while stream.count >= 9 {
            guard stream[0] == 0xA5, stream[1] == 0x5A else {
                stream.removeFirst()
                continue
            }
            let total = 9 + (Int(stream[6]) | Int(stream[7]) << 8) + 2
            guard stream.count >= total else { return }
            if stream[3] == 0x00 && stream[5] == Self.readMotorTrace { traceReadRequests.add(1, ordering: .relaxed) }
            stream.removeFirst(total)
        }
    }

    /// Sends one PDU, waiting while the receiver's buffer is full (a slow reader on a loaded
    /// machine): the relay loses only what its `Air` says.
    private func deliver(_ pdu: [UInt8], to fd: Int32) {
        let deadline = Self.nanoseconds() + 2_000_000_000
        while Self.nanoseconds() < deadline, running.load(ordering: .relaxed) {
            let sent = pdu.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            if sent >= 0 || (errno != EAGAIN && errno != EINTR) { return }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 50)
        }
    }

    /// One packet's length; -1 when none is waiting; 0 when the peer closed or failed.
    private func receive(_ fd: Int32, _ buffer: inout [UInt8]) -> Int {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 { return n }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return -1 }
        return 0
    }

    /// A notification whose value is exactly one LDP/1 TRACE_CHUNK event frame.
    static func isOneTraceChunk(_ pdu: [UInt8]) -> Bool {
        let value = Array(pdu.dropFirst(3))
        guard value.count >= 9, value[0] == 0xA5, value[1] == 0x5A, value[5] == traceChunk else { return false }
        return value.count == 9 + (Int(value[6]) | Int(value[7]) << 8) + 2
    }
}
