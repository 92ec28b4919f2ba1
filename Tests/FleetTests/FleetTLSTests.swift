import FleetSync
import Foundation
import LockDiagTestSupport
import PostgresNIO
import Testing

/// The fleet link over TCP and TLS, against a real PostgreSQL that accepts only TLS on 127.0.0.1: libpq's sslmode
/// meanings (PostgreSQL documentation, "SSL Support" → "Protection Provided in Different Modes") and client
/// certificates, end to end through lockdiagd's own link.
@Suite(.serialized) struct FleetTLSTests {
    /// The backend of `user`'s connections as PostgreSQL's pg_stat_ssl sees them: "true|TLSv1.3" per connection.
    static func sslSessions(_ pg: PostgresServer, user: String) throws -> [String] {
        let text = try pg.psql("""
            SELECT s.ssl || '|' || coalesce(s.version, '') FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.usename = '\(user)'
            """)
        return text.isEmpty ? [] : text.split(separator: "\n").map(String.init)
    }

    @Test(.timeLimit(.minutes(3)))
    func aStationSyncsOverTLSCheckingTheServersCertificateAndName() async throws {
        try await offPool {
            let pg = try PostgresServer(tls: true)
            defer { pg.remove() }
            let certificates = try #require(pg.certificates)
            let initialised = try ChildProcess.run("lockdiag", ["fleet", "init", pg.adminURL], timeoutSeconds: 60)
            try #require(initialised.status == 0, "\(initialised.stderr)")
            _ = try enrollStation("site_tls", in: pg)
            let url = pg.tcpURL(user: "site_tls", password: "pw-site_tls",
                                query: "sslmode=verify-full&sslrootcert=\(certificates.authority)")
            let daemon = try DaemonProcess(["--simulate", "motor-stall", "--simulate-activity", "0.5", "--fleet", url])
            defer { daemon.stop() }
            #expect(try TestSupport.wait(upTo: 60, pollEvery: 0.2) {
                try pg.psql("SELECT count(*) FROM fleet.fault_event WHERE station = 'site_tls'") != "0"
            }, "no fault event reached the fleet over TLS: \(String(describing: try? fleetInfo(daemon.socketPath)?.lastError))")
            let sessions = try Self.sslSessions(pg, user: "site_tls")
            #expect(!sessions.isEmpty && sessions.allSatisfy { $0.hasPrefix("true|TLSv1.") }, "\(sessions)")
            let info = try #require(try fleetInfo(daemon.socketPath))
            #expect(!info.database.contains("pw-site_tls"), "daemon.info shows the password: \(info.database)")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func eachSSLModeTrustsWhatLibpqDocumentsAndNoMore() async throws {
        let pg = try await offPool { try PostgresServer(tls: true) }
        defer { pg.remove() }
        let certificates = try #require(pg.certificates)
        let password = pg.superuserPassword
        func connect(_ query: String, host: String = "localhost") async throws(FleetError) -> String {
            let db = try await FleetDatabase.connect(try FleetURL(pg.tcpURL(user: "postgres", password: password, host: host, query: query)))
            defer { Task { await db.close() } }
            let rows = try await db.rows("SELECT ssl::text AS tls FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            return (try? rows.first?.decode(String.self)) ?? "?"
        }
        let trusted = "sslrootcert=\(certificates.authority)"
        let untrusted = "sslrootcert=\(certificates.otherAuthority)"
        // The right authority and name: TLS, checked.
        #expect(try await connect("sslmode=verify-full&\(trusted)") == "true")
        // verify-ca checks the chain, not the name: 127.0.0.1 is not in the certificate and still passes.
        #expect(try await connect("sslmode=verify-ca&\(trusted)", host: "127.0.0.1") == "true")
        // require without a root certificate encrypts without checking who answers (libpq's meaning).
        #expect(try await connect("sslmode=require") == "true")
        // prefer takes TLS when the server offers it.
        #expect(try await connect("sslmode=prefer") == "true")

        // Refused: another authority's root, the wrong name under verify-full, and no TLS at all.
        for (query, host, says) in [("sslmode=verify-full&\(untrusted)", "localhost", "is not signed by the authority in sslrootcert"),
                                    ("sslmode=verify-ca&\(untrusted)", "localhost", "is not signed by the authority in sslrootcert"),
                                    ("sslmode=require&\(untrusted)", "localhost", "is not signed by the authority in sslrootcert"),
                                    ("sslmode=verify-full&\(trusted)", "127.0.0.1", "does not name the host 127.0.0.1"),
                                    ("sslmode=disable", "localhost", "no encryption")] {
            do {
                let tls = try await connect(query, host: host)
                Issue.record("\(query) to \(host) connected (tls \(tls))")
            } catch {
                #expect(error.description.contains(says), "\(query) to \(host): \(error)")
                #expect(!error.description.contains(password), "the error shows the password: \(error)")
            }
        }

        // The same server without TLS: require is refused saying so, prefer falls back to plain text
        // (which this server's pg_hba then rejects: hostnossl).
        try await offPool {
            try pg.stop()
            try pg.start(extra: "-c ssl=off")
        }
        do {
            _ = try await connect("sslmode=require")
            Issue.record("sslmode=require connected to a server without TLS")
        } catch {
            #expect(error.description.contains("the server does not offer TLS"), "\(error)")
        }
        do {
            _ = try await connect("sslmode=prefer")
            Issue.record("a server that rejects hostnossl let a plain-text login in")
        } catch {
            #expect(error.description.contains("no encryption"), "\(error)")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func aClientCertificateLogsInWithoutAPasswordAndNothingElseDoes() async throws {
        let pg = try await offPool { try PostgresServer(tls: true) }
        defer { pg.remove() }
        let certificates = try #require(pg.certificates)
        _ = try await offPool { try pg.psql("CREATE ROLE certuser LOGIN") }
        let base = "sslmode=verify-full&sslrootcert=\(certificates.authority)"
        let db = try await FleetDatabase.connect(try FleetURL(pg.tcpURL(
            user: "certuser", password: nil, query: base + "&sslcert=\(certificates.clientCertificate)&sslkey=\(certificates.clientKey)")))
        let rows = try await db.rows("SELECT current_user::text AS who")
        #expect(try rows.first?.decode(String.self) == "certuser")
        await db.close()
        do {
            _ = try await FleetDatabase.connect(try FleetURL(pg.tcpURL(user: "certuser", password: "guess", query: base)))
            Issue.record("certuser logged in without its certificate")
        } catch {
            #expect(error.description.contains("certificate"), "\(error)")
        }
        #expect {
            try FleetURL(pg.tcpURL(user: "certuser", password: nil, query: base + "&sslcert=\(certificates.clientCertificate)"))
        } throws: { "\($0)".contains("a client certificate needs both sslcert and sslkey") }
    }
}
