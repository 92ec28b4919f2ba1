import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// The lock's end of an existing tty (`locksim --tty`), such as a USB gadget's `/dev/ttyGS0`: the
/// firmware side of a CDC-ACM lock. When the gadget is unplugged (its UDC unbound) the kernel hangs
/// the tty up (u_serial's `gserial_disconnect` calls `tty_hangup`); the line then closes its
/// descriptor and reopens the path every `retryNanoseconds`, as firmware re-opens its port after a
/// USB reset.
struct TTYLine {
    let path: String
    /// -1 while hung up.
    private(set) var fd: Int32
    /// When to try reopening after a hang-up.
    private(set) var retryAt: UInt64 = 0

    static let retryNanoseconds: UInt64 = 100_000_000

    init(path: String) {
        self.path = path
        fd = -1
    }

    /// Opens `path` raw at LDP/1's line rate, non-blocking; the queues are flushed, so bytes
    /// written while the host was away are not delivered after a replug.
    static func open(_ path: String) throws(SystemError) -> Int32 {
        let fd = try FileIO.open(path, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
        do throws(SystemError) {
            try Termios.configureRaw(fd, baud: 115_200, path: path)
        } catch {
            FileIO.close(fd)
            throw error
        }
        return fd
    }

    var isOpen: Bool { fd >= 0 }

    /// Tries to (re)open the tty when due; true if it opened now.
    mutating func reopenIfDue(now: UInt64) -> Bool {
        guard fd < 0, now >= retryAt else { return false }
        do throws(SystemError) {
            fd = try Self.open(path)
            return true
        } catch {
            retryAt = now &+ Self.retryNanoseconds
            return false
        }
    }

    /// The tty hung up: close it and reopen it later.
    mutating func hangUp(now: UInt64) {
        guard fd >= 0 else { return }
        FileIO.close(fd)
        fd = -1
        retryAt = now &+ Self.retryNanoseconds
    }
}
