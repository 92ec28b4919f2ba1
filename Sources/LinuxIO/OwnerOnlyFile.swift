#if canImport(Glibc)
import Glibc
#endif

/// Opening a file only its owner may read (a traffic recording: a log of who opened which door).
public enum OwnerOnlyFile {
    /// Why a path cannot be opened, saying what to do.
    public enum OpenError: Error, Sendable, CustomStringConvertible {
        /// A device, FIFO, directory or symlink: never truncated or re-moded.
        case notRegular(String)
        case system(SystemError)

        public var description: String {
            switch self {
            case .notRegular(let path): "\(path): not a regular file (a device, FIFO, directory or symlink) — give the path of a new or regular file"
            case .system(let error): "\(error) — choose a file in a directory this user may write"
            }
        }
    }

    /// Opens `path` for writing, created 0600 or truncated and made 0600. Only a regular file (or
    /// none yet): a FIFO would block the open, and a device such as /dev/null must never be
    /// truncated or made 0600 by a program running as root.
    public static func create(_ path: String) throws(OpenError) -> Int32 {
        var existing = stat()
        if lstat(path, &existing) == 0, existing.st_mode & S_IFMT != S_IFREG { throw .notRegular(path) }
        let opened = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard opened >= 0 else { throw .system(SystemError.last("open", path: path)) }
        // An existing file keeps its mode through O_TRUNC: make it owner-only like a new one.
        fchmod(opened, 0o600)
        return opened
    }

    /// Writes all of `bytes`, retrying after EINTR; false (errno set) when the write fails.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}
