#if canImport(Glibc)
import Glibc
#endif

/// Unix SOCK_SEQPACKET sockets: connection-oriented, reliable, and each send is one record the
/// peer receives whole — the same shape as an L2CAP channel, which is why the BLE transport and
/// the simulator's GATT server use them as the stand-in for one (one packet = one ATT PDU).
public enum SeqPacket {
    /// Connects to a listening socket at `path`; the descriptor is non-blocking.
    public static func connect(_ path: String) throws(SystemError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .last("socket(AF_UNIX, SOCK_SEQPACKET)") }
        do throws(SystemError) {
            try withAddress(path) { address, length throws(SystemError) in
                guard retryingOnInterrupt({ Glibc.connect(fd, address, length) }) == 0 else { throw .last("connect", path: path) }
            }
        } catch {
            FileIO.close(fd)
            throw error
        }
        return fd
    }

    /// Listens at `path` (a stale socket file there is replaced); non-blocking.
    public static func listen(_ path: String, backlog: Int32 = 4) throws(SystemError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .last("socket(AF_UNIX, SOCK_SEQPACKET)") }
        do throws(SystemError) {
            _ = unlink(path)
            try withAddress(path) { address, length throws(SystemError) in
                guard bind(fd, address, length) == 0 else { throw .last("bind", path: path) }
            }
            guard Glibc.listen(fd, backlog) == 0 else { throw .last("listen", path: path) }
        } catch {
            FileIO.close(fd)
            throw error
        }
        return fd
    }

    /// Accepts one waiting connection (non-blocking); nil when none is waiting.
    public static func accept(_ listener: Int32) throws(SystemError) -> Int32? {
        let fd = retryingOnInterrupt { Glibc.accept(listener, nil, nil) }
        guard fd >= 0 else {
            if errno == EAGAIN || errno == ECONNABORTED { return nil }
            throw .last("accept")
        }
        // accept4 needs _GNU_SOURCE, which Swift's Glibc module lacks: set the flags after.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        do { try FileIO.setNonBlocking(fd) } catch {
            FileIO.close(fd)
            throw error
        }
        return fd
    }

    /// A connected pair (both non-blocking), for tests and in-process peers.
    public static func pair() throws(SystemError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw .last("socketpair(AF_UNIX, SOCK_SEQPACKET)")
        }
        return (fds[0], fds[1])
    }

    /// Sends one packet without blocking; false when the socket's buffer is full (EAGAIN).
    /// A peer that went away throws with EPIPE/ECONNRESET (`isDisconnect` is not enough: check
    /// `SeqPacket.isHangUp`).
    public static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Bool {
        let n = retryingOnInterrupt { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        if n >= 0 { return true }
        if errno == EAGAIN { return false }
        throw .last("send")
    }

    public static func send(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) -> Bool {
        try bytes.withUnsafeBytes { raw in Result { () throws(SystemError) -> Bool in try send(fd, raw) } }.get()
    }

    /// Receives one packet without blocking: its length, nil when none is waiting, 0 when the
    /// peer closed. A packet longer than `buffer` is cut (the rest discarded, as SOCK_SEQPACKET does).
    public static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        let n = retryingOnInterrupt { recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT)) }
        if n >= 0 { return n }
        if errno == EAGAIN { return nil }
        throw .last("recv")
    }

    /// Errors meaning the connection is gone rather than misused.
    public static func isHangUp(_ error: SystemError) -> Bool {
        [EPIPE, ECONNRESET, ENOTCONN, ETIMEDOUT, EHOSTDOWN, EHOSTUNREACH, ECONNABORTED, ENETDOWN, EIO].contains(error.errno)
    }

    /// Calls `body` with `path` as a Unix socket address.
    public static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R) throws(SystemError) -> R {
        try UnixSocketAddress(path).withSockaddr(body)
    }
}

extension SeqPacket {
    /// Removes a socket file (ignoring a missing one).
    public static func unlink(_ path: String) { _ = Glibc.unlink(path) }
}
