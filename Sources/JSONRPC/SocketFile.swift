#if canImport(Glibc)
import Glibc
#endif
import LinuxIO

/// Why the server could not start, with what to do about it.
public enum JSONRPCServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A Unix socket path must fit sockaddr_un.sun_path (108 bytes with its NUL).
    case socketPathTooLong(path: String, maxBytes: Int)
    /// Something answers on the socket already: another server is running.
    case anotherServerIsListening(path: String)
    /// The path exists and is not a socket: not ours to remove.
    case pathIsNotASocket(path: String)
    /// `start()` on a server that is running or was stopped.
    case alreadyStarted
    /// A system call failed (mkdir, chmod, bind…).
    case system(SystemError)
    /// Binding failed for a reason that is not an errno.
    case bindFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .socketPathTooLong(let path, let maxBytes):
            "socket path '\(path)' is \(path.utf8.count) bytes; Unix sockets allow at most \(maxBytes) — choose a shorter path"
        case .anotherServerIsListening(let path):
            "another server is already listening on \(path) — stop it first (sudo systemctl stop lockdiagd) or use another --socket path"
        case .pathIsNotASocket(let path):
            "\(path) exists and is not a socket — remove it by hand if it is stale, or use another --socket path"
        case .alreadyStarted:
            "the server was already started; a stopped server cannot be started again — make a new one"
        case .system(let error):
            error.description
        case .bindFailed(let path, let reason):
            "cannot listen on \(path): \(reason)"
        }
    }
}

/// The file-system side of a listening Unix socket: its directory, a stale file left by a
/// crashed server, its mode, and knowing that the file is still ours when we remove it.
enum SocketFile {
    /// sun_path holds 108 bytes on Linux (unix(7)), one of them the terminating NUL.
    static let maxPathBytes = 107

    /// Device and inode of the socket file we bound, so `remove` never deletes a socket that a
    /// newer server put at the same path after us.
    struct Identity: Sendable, Equatable {
        var device: UInt64
        var inode: UInt64
    }

    static func checkLength(_ path: String) throws(JSONRPCServerError) {
        if path.utf8.count > maxPathBytes || path.isEmpty {
            throw .socketPathTooLong(path: path, maxBytes: maxPathBytes)
        }
    }

    /// Creates the missing directories above `path` with `mode` (exactly: the umask is undone
    /// with chmod) and, given `groupID`, that group. Existing directories are left as they are.
    static func ensureParentDirectory(of path: String, mode: UInt32, groupID: UInt32? = nil) throws(JSONRPCServerError) {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in components {
            prefix += "/" + component
            if mkdir(prefix, mode_t(mode)) == 0 {
                guard chmod(prefix, mode_t(mode)) == 0 else { throw .system(.last("chmod", path: prefix)) }
                if let groupID, chown(prefix, uid_t.max, gid_t(groupID)) != 0 { throw .system(.last("chown", path: prefix)) }
                continue
            }
            let error = errno
            guard error == EEXIST else { throw .system(SystemError("mkdir", errno: error, path: prefix)) }
            var info = stat()
            guard stat(prefix, &info) == 0 else { throw .system(.last("stat", path: prefix)) }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw .system(SystemError("mkdir", errno: ENOTDIR, path: prefix))
            }
        }
    }

    /// Makes the path free for bind: nothing there, or a socket nobody answers on (a crashed
    /// server's leftover), which is removed. A live server's socket and non-socket files are
    /// refused.
    static func clearStale(at path: String) throws(JSONRPCServerError) {
        var info = stat()
        if lstat(path, &info) != 0 {
            let error = errno
            if error == ENOENT { return }
            throw .system(SystemError("lstat", errno: error, path: path))
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .pathIsNotASocket(path: path) }
        switch probe(path) {
        case .listening:
            throw .anotherServerIsListening(path: path)
        case .refused:
            guard unlink(path) == 0 || errno == ENOENT else { throw .system(.last("unlink", path: path)) }
        case .failed(let error):
            throw .system(error)
        }
    }

    enum ProbeResult {
        case listening
        case refused
        case failed(SystemError)
    }

    /// Connects to see whether a server is behind a socket file. Non-blocking, so a live server
    /// with a full accept backlog (EAGAIN) counts as live instead of hanging us.
    static func probe(_ path: String) -> ProbeResult {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failed(.last("socket")) }
        defer { FileIO.close(fd) }
        let result = withUnixAddress(path) { address, length in
            retryingOnInterrupt { connect(fd, address, length) }
        }
        if result == 0 { return .listening }
        switch errno {
        case EAGAIN, EINPROGRESS: return .listening
        case ECONNREFUSED, ENOENT: return .refused
        default: return .failed(.last("connect", path: path))
        }
    }

    static func identity(of path: String) -> Identity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Removes the socket file if it is still the one we bound.
    static func remove(_ path: String, ifStill identity: Identity?) {
        guard let identity, self.identity(of: path) == identity else { return }
        unlink(path)
    }

    /// Runs `body` with a sockaddr_un for `path` (which must fit; see `checkLength`).
    static func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(maxPathBytes))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
