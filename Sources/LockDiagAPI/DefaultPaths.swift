#if canImport(Glibc)
import Glibc
#endif

/// Where lockdiagd listens unless told otherwise; the CLI looks in the same place.
public enum DefaultPaths {
    /// `/run/lockdiag/lockdiag.sock` as root, `$XDG_RUNTIME_DIR/lockdiag.sock` otherwise
    /// (`/tmp/lockdiag-UID/lockdiag.sock` when XDG_RUNTIME_DIR is unset).
    public static var socket: String {
        if getuid() == 0 { return systemSocket }
        if let runtime = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), !runtime.isEmpty {
            return runtime + "/lockdiag.sock"
        }
        return "/tmp/lockdiag-\(getuid())/lockdiag.sock"
    }

    /// The environment variable that overrides `socket` for both programs.
    public static let socketEnvironmentVariable = "LOCKDIAG_SOCKET"

    /// The system daemon's socket (the systemd service's, or a lockdiagd run as root).
    public static let systemSocket = "/run/lockdiag/lockdiag.sock"

    /// Where a client looks: `$LOCKDIAG_SOCKET` if set; else the system daemon's socket when it
    /// is there — even when this user may not open it, so the error names the group to join —
    /// else `socket`.
    public static var effectiveClientSocket: String {
        if let value = getenv(socketEnvironmentVariable).map({ String(cString: $0) }), !value.isEmpty { return value }
        var info = stat()
        if stat(systemSocket, &info) == 0 || errno == EACCES { return systemSocket }
        return socket
    }

    /// `$LOCKDIAG_SOCKET` if set, else `socket`.
    public static var effectiveSocket: String {
        if let value = getenv(socketEnvironmentVariable).map({ String(cString: $0) }), !value.isEmpty { return value }
        return socket
    }
}
