#if canImport(Glibc)
import Glibc
#endif

/// Where lockdiagd listens unless told otherwise; the CLI looks in the same place.
public enum DefaultPaths {
    /// `/run/lockdiag/lockdiag.sock` as root, `$XDG_RUNTIME_DIR/lockdiag.sock` otherwise
    /// (`/tmp/lockdiag-UID/lockdiag.sock` when XDG_RUNTIME_DIR is unset).
    public static var socket: String {
        if getuid() == 0 { return "/run/lockdiag/lockdiag.sock" }
        if let runtime = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), !runtime.isEmpty {
            return runtime + "/lockdiag.sock"
        }
        return "/tmp/lockdiag-\(getuid())/lockdiag.sock"
    }

    /// The environment variable that overrides `socket` for both programs.
    public static let socketEnvironmentVariable = "LOCKDIAG_SOCKET"

    /// `$LOCKDIAG_SOCKET` if set, else `socket`.
    public static var effectiveSocket: String {
        if let value = getenv(socketEnvironmentVariable).map({ String(cString: $0) }), !value.isEmpty { return value }
        return socket
    }
}
