#if canImport(Glibc)
import Glibc
#endif

extension DefaultPaths {
    /// Where lockdiagd keeps its state: `/var/lib/lockdiag` as root, `$XDG_STATE_HOME/lockdiag`
    /// otherwise (`~/.local/state/lockdiag` when XDG_STATE_HOME is unset, as the XDG Base
    /// Directory Specification says).
    public static var stateDirectory: String {
        if getuid() == 0 { return "/var/lib/lockdiag" }
        if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), state.hasPrefix("/") {
            return state + "/lockdiag"
        }
        if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty {
            return home + "/.local/state/lockdiag"
        }
        return "/tmp/lockdiag-\(getuid())/state"
    }

    /// The history database (`lockdiagd --db`).
    public static var historyDatabase: String { stateDirectory + "/history.sqlite" }

    /// The station's signing key: `station.key` in the history database's folder, so one `--db`
    /// elsewhere (a bench rig's own disk, a test) brings its own key (`lockdiagd --key` to change).
    public static func stationKey(nextTo database: String) -> String {
        let directory = database.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (directory.isEmpty ? (database.hasPrefix("/") ? "" : ".") : directory) + "/station.key"
    }
}
