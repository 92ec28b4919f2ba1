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
    /// A directory above the socket, or the socket file itself, is not safely ours: owned by
    /// someone else, writable by others without the sticky bit, or a symlink (someone could
    /// point the server at a file of their choosing).
    case unsafePath(path: String, reason: String)
    /// The socket needs the reader group, and changing a file's group is not allowed here.
    case groupChangeRefused(path: String, groupID: UInt32, errno: Int32)

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
        case .unsafePath(let path, let reason):
            "refusing \(path): \(reason) — use a directory only you (or root) can write, e.g. --socket $XDG_RUNTIME_DIR/lockdiag.sock"
        case .groupChangeRefused(let path, let groupID, let errno):
            "cannot give \(path) group \(groupID): chown: \(String(cString: strerror(errno))) — run lockdiagd with that group "
                + "as its primary group (the unit's Group=), so the socket is created with it and needs no chown"
        }
    }
}

extension JSONRPCServer.Configuration {
    /// Creates the socket's directory as `start()` would (mode, group, safety checks), for a
    /// program that puts other things there before the server starts.
    public func prepareSocketDirectory() throws(JSONRPCServerError) {
        try SocketFile.checkLength(socketPath)
        try SocketFile.ensureParentDirectory(of: socketPath, mode: directoryMode, groupID: socketGroupID)
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

    /// Creates the missing directories above `path` with `mode` (exactly: the umask is undone)
    /// and, given `groupID`, that group. Existing directories are left as they are, but the one
    /// that will hold the socket must be safe: owned by us or root, and not writable by others
    /// unless sticky (like /tmp) — a fallback such as /tmp/lockdiag-UID made by someone else
    /// first would let them replace or read what we put there.
    static func ensureParentDirectory(of path: String, mode: UInt32, groupID: UInt32? = nil) throws(JSONRPCServerError) {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var prefix = path.hasPrefix("/") ? "" : "."
        for (index, component) in components.enumerated() {
            prefix += "/" + component
            if mkdir(prefix, mode_t(mode)) == 0 {
                try setAttributes(of: prefix, type: S_IFDIR, mode: mode, groupID: groupID)
                continue
            }
            let error = errno
            guard error == EEXIST else { throw .system(SystemError("mkdir", errno: error, path: prefix)) }
            var info = stat()
            guard stat(prefix, &info) == 0 else { throw .system(.last("stat", path: prefix)) }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw .system(SystemError("mkdir", errno: ENOTDIR, path: prefix))
            }
            if index == components.count - 1 { try checkHolder(prefix, info) }
        }
    }

    /// The directory that holds the socket, found already there.
    private static func checkHolder(_ directory: String, _ info: stat) throws(JSONRPCServerError) {
        let owner = UInt32(info.st_uid)
        if owner != geteuid() && owner != 0 {
            throw .unsafePath(path: directory, reason: "the directory belongs to uid \(owner), not to this user (uid \(geteuid()))")
        }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 && info.st_mode & S_ISVTX == 0 {
            throw .unsafePath(path: directory, reason: "others may write to the directory (mode \(String(info.st_mode & 0o7777, radix: 8))) and it is not sticky")
        }
    }

    /// Gives the file at `path` — which must be of `type` and ours — `mode` and, when it does not
    /// have it yet, `groupID`. Works through a descriptor opened with O_PATH|O_NOFOLLOW, so a
    /// symlink put at `path` is refused instead of followed (chmod(2) and chown(2) follow links).
    /// The group is left alone when the file has it already: that is what lets a service whose
    /// primary group is the reader group run where chown is filtered (`~@privileged`).
    static func setAttributes(of path: String, type: mode_t, mode: UInt32, groupID: UInt32?) throws(JSONRPCServerError) {
        let fd: Int32
        do { fd = try FileIO.openPathNoFollow(path) } catch { throw .system(error) }
        defer { FileIO.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(.last("fstat", path: path)) }
        guard info.st_mode & S_IFMT == type else {
            throw .unsafePath(path: path, reason: info.st_mode & S_IFMT == S_IFLNK ? "it is a symlink" : "it is not what was created there")
        }
        guard UInt32(info.st_uid) == geteuid() else {
            throw .unsafePath(path: path, reason: "it belongs to uid \(info.st_uid), not to this user (uid \(geteuid()))")
        }
        if UInt32(info.st_mode & 0o7777) != mode {
            // An O_PATH descriptor has no fchmod; its /proc link reaches the same inode, never a symlink's target.
            guard chmod("/proc/self/fd/\(fd)", mode_t(mode)) == 0 else { throw .system(.last("chmod", path: path)) }
        }
        if let groupID, UInt32(info.st_gid) != groupID {
            do { try FileIO.changeGroup(fd, to: groupID) } catch {
                throw .groupChangeRefused(path: path, groupID: groupID, errno: error.errno)
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

    /// Runs `body` with `path` as a Unix socket address (a file path, never an abstract name),
    /// or returns -1 with errno ENAMETOOLONG for one `checkLength` would refuse.
    static func withUnixAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        guard let address = try? UnixSocketAddress(path, allowingAbstract: false) else {
            errno = ENAMETOOLONG
            return -1
        }
        return address.withSockaddr(body)
    }
}
