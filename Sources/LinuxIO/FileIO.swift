import CLockDiagSys
#if canImport(Glibc)
import Glibc
#endif

/// Result of a non-blocking read or write.
public enum IOResult: Equatable, Sendable {
    /// This many bytes moved.
    case bytes(Int)
    /// Nothing ready now (EAGAIN); try again when poll/epoll says so.
    case wouldBlock
    /// The peer is gone: end of file or hang-up.
    case closed
}

/// Thin, typed wrappers over file-descriptor calls; EINTR is retried, errno becomes `SystemError`.
public enum FileIO {
    /// A descriptor that names the file at `path` without opening it for I/O (O_PATH), and
    /// names a symlink itself rather than its target (O_NOFOLLOW): fstat it to see what is
    /// really there before changing it.
    public static func openPathNoFollow(_ path: String) throws(SystemError) -> Int32 {
        let fd = retryingOnInterrupt { lockdiag_open_path_nofollow(path) }
        guard fd >= 0 else { throw .last("open", path: path) }
        return fd
    }

    /// Gives what `fd` (from `openPathNoFollow`) names the group `gid`; the owner stays.
    public static func changeGroup(_ fd: Int32, to gid: UInt32) throws(SystemError) {
        guard lockdiag_fchown_group(fd, gid) == 0 else { throw .last("chown") }
    }

    public static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(SystemError) -> Int32 {
        let fd = retryingOnInterrupt { Glibc.open(path, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw .last("open", path: path) }
        return fd
    }

    /// flock(LOCK_EX | LOCK_NB): takes the advisory lock every lockdiag link takes on what it
    /// opens; false when another open file holds it (in this process or another).
    public static func tryLockExclusive(_ fd: Int32, path: String? = nil) throws(SystemError) -> Bool {
        if retryingOnInterrupt({ flock(fd, LOCK_EX | LOCK_NB) }) == 0 { return true }
        if Glibc.errno == EWOULDBLOCK { return false }
        throw .last("flock", path: path)
    }

    /// Reads what is available without blocking (the descriptor must be O_NONBLOCK).
    /// EIO, ENXIO and a zero-byte read on a tty mean the device went away and come back as `.closed`.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult {
        let n = retryingOnInterrupt { Glibc.read(fd, buffer.baseAddress, buffer.count) }
        if n > 0 { return .bytes(n) }
        if n == 0 { return .closed }
        switch Glibc.errno {
        case EAGAIN: return .wouldBlock
        case EIO, ENXIO, ENODEV: return .closed
        default: throw .last("read")
        }
    }

    /// Writes as much as the descriptor takes now.
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult {
        if bytes.isEmpty { return .bytes(0) }
        let n = retryingOnInterrupt { Glibc.write(fd, bytes.baseAddress, bytes.count) }
        if n >= 0 { return .bytes(n) }
        switch Glibc.errno {
        case EAGAIN: return .wouldBlock
        case EIO, ENXIO, ENODEV, EPIPE: return .closed
        default: throw .last("write")
        }
    }

    /// Writes everything, waiting with poll(2) for room; for tools and tests, not the poll loop.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], timeoutMilliseconds: Int32 = 1000) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) -> IOResult in try write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            switch try result.get() {
            case .bytes(let n): offset += n
            case .wouldBlock:
                if try Poll.wait(fd, events: Int16(POLLOUT), deadlineNanoseconds: Poll.deadline(afterMilliseconds: timeoutMilliseconds)) == 0 {
                    throw SystemError("write", errno: ETIMEDOUT)
                }
            case .closed: throw SystemError("write", errno: EIO)
            }
        }
    }

    /// Every byte up to the end of the file, at most `limit`; nil when there are more.
    public static func readToEnd(_ fd: Int32, limit: Int, path: String? = nil) throws(SystemError) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { Glibc.read(fd, raw.baseAddress, raw.count) } }
            guard count >= 0 else { throw .last("read", path: path) }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            if bytes.count > limit { return nil }
        }
    }

    public static func close(_ fd: Int32) {
        // close(2) must not be retried on EINTR on Linux: the descriptor is gone either way.
        _ = Glibc.close(fd)
    }

    public static func setNonBlocking(_ fd: Int32) throws(SystemError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw .last("fcntl(O_NONBLOCK)") }
    }
}
