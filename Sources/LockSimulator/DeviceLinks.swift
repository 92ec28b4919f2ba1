import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// Stable device names for served locks: `<directory>/lock<N>` symlinks to the current pty,
/// like the `/dev/serial/by-id` links udev keeps for real adapters. A replug repoints the link
/// with rename(2), so a reader of the link sees the old target or the new one, never neither.
struct DeviceLinks: Sendable {
    let directory: String

    func path(forLock index: Int) -> String { directory + "/lock\(index)" }

    /// Creates the directory and its parents as needed.
    func prepare() throws(SystemError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw .last("mkdir", path: prefix) }
        }
    }

    /// Points `lock<index>` at `target`, replacing any previous link atomically.
    func point(lock index: Int, at target: String) throws(SystemError) {
        let link = path(forLock: index)
        let temporary = link + ".new"
        _ = unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw .last("symlink", path: temporary) }
        guard rename(temporary, link) == 0 else {
            let error = SystemError.last("rename", path: link)
            _ = unlink(temporary)
            throw error
        }
    }

    /// Removes the link, as a device node vanishes when its cable is pulled.
    func remove(lock index: Int) {
        _ = unlink(path(forLock: index))
    }

    /// `lock<N>.module`: a Tuya tap's second line (`locksim --tap`).
    func path(forModule index: Int) -> String { path(forLock: index) + ".module" }

    func point(module index: Int, at target: String) throws(SystemError) {
        let link = path(forModule: index)
        let temporary = link + ".new"
        _ = unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw .last("symlink", path: temporary) }
        guard rename(temporary, link) == 0 else {
            let error = SystemError.last("rename", path: link)
            _ = unlink(temporary)
            throw error
        }
    }

    func remove(module index: Int) { _ = unlink(path(forModule: index)) }
}
