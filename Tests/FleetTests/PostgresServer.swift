import Foundation
import Glibc
import LockDiagTestSupport

/// A real PostgreSQL server (Debian's postgresql package) in a temporary folder: `initdb` with a superuser password
/// (scram-sha-256), `pg_ctl start` on a private Unix socket folder and no TCP, stopped and removed at the end.
/// With `tls`, it also listens on 127.0.0.1 (a free port) and accepts only TLS there (`hostssl`; `hostnossl`
/// rejected), its certificate issued for `localhost` by the test CA; the user `certuser` logs in there by client
/// certificate alone (pg_hba `cert`). PostgreSQL's settings: the "SSL Support" chapter of its documentation.
/// initdb refuses to run as root: as root the server runs as the `postgres` user (runuser), the folder given to it.
final class PostgresServer: @unchecked Sendable {
    // @unchecked: every property is a constant after init; stop/start run the external pg_ctl, which serialises itself.
    let directory: TemporaryDirectory
    let binaries: String
    let superuserPassword = "fleet-test-\(UInt32.random(in: 0...UInt32.max))"
    var dataDirectory: String { directory.path + "/data" }
    var socketDirectory: String { directory.path + "/sock" }
    /// The TCP port on 127.0.0.1 when the server speaks TLS; otherwise the port that names the Unix socket.
    let port: Int
    let certificates: TestCertificates?

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// The superuser's connection string.
    var adminURL: String { url(user: "postgres", password: superuserPassword) }

    func url(user: String, password: String?) -> String {
        "postgresql://\(user)\(password.map { ":" + $0 } ?? "")@/postgres?host=\(socketDirectory)&port=\(port)"
    }

    /// A connection string over TCP to `host` (which the server's certificate names `localhost`), with `query`
    /// (`sslmode=…&sslrootcert=…`).
    func tcpURL(user: String, password: String?, host: String = "localhost", query: String) -> String {
        "postgresql://\(user)\(password.map { ":" + $0 } ?? "")@\(host):\(port)/postgres?\(query)"
    }

    init(tls: Bool = false) throws {
        guard let bin = Self.findBinaries() else {
            throw Failed(description: "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): `make test` installs Debian's postgresql")
        }
        binaries = bin
        directory = try TemporaryDirectory(prefix: "pg")
        certificates = tls ? try TestCertificates(in: directory.path + "/tls", clientUser: "certuser") : nil
        port = tls ? try Self.freeTCPPort() : 5432
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        let passwordFile = directory.path + "/pw"
        try superuserPassword.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        var owned = [directory.path, socketDirectory, passwordFile]
        if let certificates { owned += [certificates.folder, certificates.serverKey] }
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else { throw Failed(description: "no postgres user: install Debian's postgresql package") }
            for path in owned { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
        }
        try run("initdb", ["-D", dataDirectory, "-U", "postgres", "--auth=scram-sha-256", "--pwfile=\(passwordFile)", "-E", "UTF8",
                           "--no-sync", "--no-instructions"])
        if tls {
            // The first matching line wins: certuser by certificate, everyone else by password, and only over TLS.
            let rules = """
                local all all scram-sha-256
                hostssl all certuser 127.0.0.1/32 cert
                hostssl all all 127.0.0.1/32 scram-sha-256
                hostnossl all all 127.0.0.1/32 reject

                """
            try rules.write(toFile: dataDirectory + "/pg_hba.conf", atomically: false, encoding: .utf8)
        }
        try start()
    }

    /// Starts the server; `extra` settings go after the usual ones (the later wins: `-c ssl=off`).
    func start(extra: String = "") throws {
        var options = "-c listen_addresses='' -k \(socketDirectory) -c fsync=off -c max_connections=200"
        if let certificates {
            options = "-c listen_addresses=127.0.0.1 -c port=\(port) -k \(socketDirectory) -c fsync=off -c max_connections=200"
                + " -c ssl=on -c ssl_cert_file=\(certificates.serverCertificate) -c ssl_key_file=\(certificates.serverKey)"
                + " -c ssl_ca_file=\(certificates.authority)"
        }
        // -w: pg_ctl waits, up to -t seconds, until the server accepts connections.
        try run("pg_ctl", ["-D", dataDirectory, "-l", directory.path + "/server.log", "-w", "-t", "60", "-o", options + " " + extra, "start"])
    }

    /// A port on 127.0.0.1 nobody listens on now (the kernel's pick for a socket bound to port 0).
    static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failed(description: "bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
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
                                             "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port), "-U", user, "-d", "postgres", "-c", sql])
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
