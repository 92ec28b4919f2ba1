import FleetSync
import Testing

/// Connection strings as libpq spells them (PostgreSQL docs, libpq "Connection URIs").
struct FleetURLTests {
    @Test func aUnixSocketFolderAPortAndADatabase() throws {
        let url = try FleetURL("postgresql://bench_3:s%40cret@/lockdiag_fleet?host=/run/postgresql&port=5433", environment: [:])
        #expect(url.user == "bench_3" && url.password == "s@cret" && url.socketDirectory == "/run/postgresql")
        #expect(url.port == 5433 && url.database == "lockdiag_fleet" && url.host == nil && url.sslMode == .disable)
        #expect(!url.description.contains("s@cret") && url.description.contains("***"))
    }

    @Test func tcpWithTLSAndThePasswordFromTheEnvironment() throws {
        let url = try FleetURL("postgres://bench_3@db.example.com:6432/fleet?sslmode=verify-full", environment: ["PGPASSWORD": "pw"])
        #expect(url.host == "db.example.com" && url.port == 6432 && url.database == "fleet" && url.password == "pw")
        #expect(url.sslMode == .verifyFull)
        let plain = try FleetURL("postgresql://analyst@[::1]/fleet", environment: [:])
        #expect(plain.host == "::1" && plain.port == 5432 && plain.sslMode == .prefer && plain.password == nil)
    }

    @Test func badStringsSayWhatIsWrong() {
        for (text, says) in [("mysql://x@h/db", "not a PostgreSQL connection string"), ("postgresql://u@h:99999/db", "port"),
                             ("postgresql://u@h/db?sslmode=maybe", "sslmode=maybe"), ("postgresql://u@h/db?sslcert=/c.pem", "both sslcert and sslkey"),
                             ("postgresql://@h/db", "no user name")] {
            #expect {
                _ = try FleetURL(text, environment: [:])
            } throws: { error in
                "\(error)".contains(says)
            }
        }
    }
}
