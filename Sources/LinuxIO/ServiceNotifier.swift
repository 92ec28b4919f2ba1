#if canImport(Glibc)
import Glibc
#endif

/// systemd's service notification protocol, spoken directly (no libsystemd): each message is one
/// datagram of newline-separated `KEY=VALUE` assignments (`READY=1`, `STATUS=…`, `WATCHDOG=1`,
/// `STOPPING=1`) sent to the AF_UNIX datagram socket named by `$NOTIFY_SOCKET`; a name starting
/// with `@` is in the abstract namespace. As described in sd_notify(3) and systemd's
/// "Notification socket protocol" page; the reference implementation is sd_notify() in libsystemd.
public struct ServiceNotifier: Sendable, Equatable {
    /// The socket as `$NOTIFY_SOCKET` names it: an absolute path, or `@name` (abstract).
    public let socketName: String

    public init?(socketName: String) {
        guard socketName.hasPrefix("/") || (socketName.hasPrefix("@") && socketName.utf8.count > 1) else { return nil }
        // sun_path holds 108 bytes; a path needs its terminating NUL, an abstract name does not.
        guard socketName.utf8.count <= (socketName.hasPrefix("@") ? 108 : 107) else { return nil }
        self.socketName = socketName
    }

    /// The notifier systemd asked for (`$NOTIFY_SOCKET`), or nil when not run as a notify service.
    public static func fromEnvironment() -> ServiceNotifier? {
        guard let value = getenv("NOTIFY_SOCKET") else { return nil }
        return ServiceNotifier(socketName: String(cString: value))
    }

    /// The watchdog timeout systemd set for this process (`$WATCHDOG_USEC`, honoured only when
    /// `$WATCHDOG_PID` is unset or names this process, as sd_watchdog_enabled(3) does), in
    /// microseconds; nil when there is no watchdog. Keep-alives are due at half of it.
    public static func watchdogMicroseconds() -> UInt64? {
        watchdogMicroseconds(usec: getenv("WATCHDOG_USEC").map { String(cString: $0) },
                             pid: getenv("WATCHDOG_PID").map { String(cString: $0) }, ownPID: getpid())
    }

    /// The same decision from the two variables' values.
    public static func watchdogMicroseconds(usec: String?, pid: String?, ownPID: Int32) -> UInt64? {
        if let pid, Int32(pid) != ownPID { return nil }
        guard let usec, let value = UInt64(usec), value > 0 else { return nil }
        return value
    }

    /// Sends one message, e.g. `"READY=1\nSTATUS=3 locks online"`. Never blocks: the socket is
    /// non-blocking and systemd reads promptly; a full queue (EAGAIN) is reported as an error.
    public func send(_ message: String) throws(SystemError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .last("socket", path: socketName) }
        defer { FileIO.close(fd) }
        let address = try UnixSocketAddress(socketName)
        let bytes = Array(message.utf8)
        let sent = bytes.withUnsafeBytes { payload in
            address.withSockaddr { sockaddrPointer, length in
                retryingOnInterrupt { sendto(fd, payload.baseAddress, payload.count, Int32(MSG_NOSIGNAL), sockaddrPointer, length) }
            }
        }
        guard sent == bytes.count else { throw .last("sendto", path: socketName) }
    }
}
