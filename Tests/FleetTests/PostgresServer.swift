import Foundation
import Glibc
import LockDiagTestSupport

/// A real PostgreSQL server (Debian's postgresql package) in a temporary folder: `initdb` with a superuser password
/// (scram-sha-256), `pg_ctl start` on a private Unix socket folder and no TCP, stopped and removed at the end.
/// initdb refuses to run as root: as root the server runs as the `postgres` user (runuser), the folder given to it.
final class PostgresServer: @unchecked Sendable {
    // @unchecked: every property is a constant after init; stop/start run the external pg_ctl, which serialises itself.
    let directory: TemporaryDirectory
    let binaries: String
    let superuserPassword = "fleet-test-\(UInt32.random(in: 0...UInt32.max))"
    var dataDirectory: String { directory.path + "/data" }
    var socketDirectory: String { directory.path + "/sock" }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// The superuser's connection string.
    var adminURL: String { url(user: "postgres", password: superuserPassword) }

    func url(user: String, password: String?) -> String {
        "postgresql://\(user)\(password.map { ":" + $0 } ?? "")@/postgres?host=\(socketDirectory)"
    }

    init() throws {
        guard let bin = Self.findBinaries() else {
            throw Failed(description: "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): `make test` installs Debian's postgresql")
        }
        binaries = bin
        directory = try TemporaryDirectory(prefix: "pg")
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        let passwordFile = directory.path + "/pw"
        try superuserPassword.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else { throw Failed(description: "no postgres user: install Debian's postgresql package") }
            for path in [directory.path, socketDirectory, passwordFile] { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
        }
        try run("initdb", ["-D", dataDirectory, "-U", "postgres", "--auth=scram-sha-256", "--pwfile=\(passwordFile)", "-E", "UTF8",
                           "--no-sync", "--no-instructions"])
        try start()
    }

    func start() throws {
        // -w: pg_ctl waits, up to -t seconds, until the server accepts connections.
        try run("pg_ctl", ["-D", dataDirectory, "-l", directory.path + "/server.log", "-w", "-t", "60", "-o",
                           "-c listen_addresses='' -k \(socketDirectory) -c fsync=off -c max_connections=200", "start"])
    }

    func stop() throws {
        try run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    func remove() {
        try? stop()
        directory.remove()
    }

    /// psql as the superuser: the output of a query (unaligned, tuples only).
    func psql(_ sql: String, user: String = "postgres", password: String? = nil) throws -> String {
        let r = try runTool("/usr/bin/env", ["PGPASSWORD=\(password ?? superuserPassword)", binaries + "/psql", "-X", "-q", "-A", "-t",
                                             "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-U", user, "-d", "postgres", "-c", sql])
        guard r.status == 0 else { throw Failed(description: "psql failed: \(r.err)") }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// This process's open descriptors, from /proc/self/fd.
    static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }

    /// Runs a server tool to its end, its output in a file. posix_spawn and waitpid rather than Foundation's
    /// Process, which here lost the exit of `runuser` (left a zombie) and waited forever.
    private func run(_ tool: String, _ arguments: [String], within seconds: Double = 120) throws {
        let launcher = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
        let command = launcher + [binaries + "/" + tool] + arguments
        let output = directory.path + "/\(tool).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The server must not inherit the test process's descriptors: under the whole suite it
        // holds hundreds (ptys, sockets) that are not close-on-exec, and PostgreSQL then refused
        // to start ("insufficient file descriptors available", runuser's PAM session having set
        // the usual 1024). glibc ignores EBADF for a close action, so one closed meanwhile is fine.
        for fd in Self.openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw Failed(description: "cannot start \(command[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(seconds)
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard Date() < deadline else {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                throw Failed(description: "\(tool) did not finish within \(seconds) s")
            }
            var none = pollfd()
            _ = poll(&none, 0, 10)
        }
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let out = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            let log = (try? String(contentsOfFile: directory.path + "/server.log", encoding: .utf8)) ?? ""
            throw Failed(description: "\(tool) failed (status \(status)): \(out)\n\(log.suffix(2000))")
        }
    }

    static func findBinaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }
}
