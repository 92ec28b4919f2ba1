import ArgumentParser
import Dispatch
import FleetSync
import Foundation
import LockDiagAPI
import LockDiagCLI
import Reports
import Synchronization

extension LockDiag {
    struct Fleet: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The fleet's PostgreSQL database: set it up, enroll stations, ask it questions.",
            discussion: """
                Many stations, one history (docs/fleet.md). An administrator creates the schema once \
                (`fleet init`), enrolls each station (`fleet enroll`: its login role and its report-signing \
                key, pending until `fleet approve`), and each station runs `lockdiagd --fleet URL`. Analysts ask \
                `fleet faults` and `fleet lock SERIAL`, or read the SQL views with their own tools.

                URL is a PostgreSQL connection string; the password comes from $PGPASSWORD unless \
                the URL has it. Where URL is optional, $LOCKDIAG_FLEET is used. For example:

                  postgresql://USER@HOST/DB?sslmode=verify-full
                """,
            subcommands: [Init.self, Enroll.self, Approve.self, Revoke.self, Keys.self, Faults.self, Lock.self])
    }
}

/// The fleet database's URL: the argument, else $LOCKDIAG_FLEET.
func fleetURL(_ text: String?) throws(CLIError) -> FleetURL {
    guard let text = text ?? ProcessInfo.processInfo.environment["LOCKDIAG_FLEET"] else {
        throw CLIError(status: .usage, message: "say which fleet database: give its URL, or set $LOCKDIAG_FLEET")
    }
    do { return try FleetURL(text) } catch { throw CLIError(status: .usage, message: error.description) }
}

/// Connects, runs `body`, closes: the command's whole conversation with the fleet database, on its own task while
/// the main thread waits (the CLI has nothing else to do).
func withFleet<T: Sendable>(_ url: FleetURL, _ body: @escaping @Sendable (FleetDatabase) async throws(FleetError) -> T) throws(CLIError) -> T {
    let outcome = Mutex<Result<T, FleetError>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let result: Result<T, FleetError>
        do {
            let db = try await FleetDatabase.connect(url)
            do {
                result = .success(try await body(db))
            } catch {
                result = .failure(FleetError.from(error, url: url))
            }
            await db.close()
        } catch {
            result = .failure(FleetError.from(error, url: url))
        }
        outcome.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    switch outcome.withLock({ $0 })! {
    case .success(let value): return value
    case .failure(let error): throw CLIError(status: .failure, message: DisplayText.safe(error.description))
    }
}

extension LockDiag.Fleet {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update the fleet schema, roles, functions and views.",
            discussion: """
                Run as a PostgreSQL superuser (or a role with CREATEROLE that owns the database). Safe to run \
                again: only migrations not yet applied are applied. Creates the group roles fleet_station, \
                fleet_analyst, fleet_enroller and fleet_admin; grant the last three to people's logins.
                """)

        @Argument(help: ArgumentHelp("The fleet database (default $LOCKDIAG_FLEET).", valueName: "url"))
        var url: String?

        func run() throws {
            try perform { () throws(CLIError) in
                let url = try fleetURL(url)
                let applied = try withFleet(url) { db throws(FleetError) in try await db.migrate() }
                Output.out(applied.isEmpty ? "\(url): the fleet schema is up to date"
                                           : "\(url): applied \(applied.joined(separator: ", "))")
                return .ok
            }
        }
    }

    struct Enroll: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a station and its report-signing key (pending until approved).",
            usage: "lockdiag fleet enroll [<url>] [--station <name>] [<options>]",
            discussion: """
                Run by a login in fleet_enroller or fleet_admin. Creates the station's PostgreSQL login role \
                (a member of fleet_station) the first time, with the password in --password-file if given \
                (else set one up for certificate or other authentication yourself), and records the key as \
                pending. An administrator then runs `lockdiag fleet approve URL FINGERPRINT`.
                """)

        @Argument(help: ArgumentHelp("The fleet database (default $LOCKDIAG_FLEET).", valueName: "url"))
        var url: String?

        @Option(help: ArgumentHelp("The station's name and PostgreSQL role (default: this host's name).", valueName: "name"))
        var station: String?

        @Option(help: ArgumentHelp("The station's public key: base64, or a file holding it (lockdiagd's key file, station.pub).",
                                   valueName: "pub"))
        var key: String = DefaultPaths.stationKey(nextTo: DefaultPaths.historyDatabase)

        @Option(help: ArgumentHelp("A file whose first line is the station's new database password.", valueName: "path"))
        var passwordFile: String?

        func run() throws {
            try perform { () throws(CLIError) in
                let url = try fleetURL(url)
                guard let parsed = TrustedKey.parse(key), case .key(let publicKey) = parsed else {
                    throw CLIError(status: .failure, message: "--key \(DisplayText.safe(key)): no public key there — give the base64 key `lockdiag key --public` prints, or the key file")
                }
                var password: String?
                if let passwordFile {
                    guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8),
                          let line = text.split(separator: "\n").first, !line.isEmpty else {
                        throw CLIError(status: .failure, message: "cannot read a password from \(passwordFile)")
                    }
                    password = String(line)
                }
                let name = station ?? Self.stationName(host: ProcessInfo.processInfo.hostName)
                let base64 = publicKey.base64
                let fingerprint = try withFleet(url) { [password] db throws(FleetError) in
                    try await db.enroll(station: name, publicKey: base64, password: password)
                }
                Output.out("""
                    station \(name) enrolled with key \(fingerprint) (pending)
                    approve it: lockdiag fleet approve URL \(fingerprint)
                         or in SQL: SELECT fleet.approve_key('\(fingerprint)');
                    then on the station: lockdiagd --fleet postgresql://\(name)@HOST/DB
                    """)
                return .ok
            }
        }

        /// A host name as a station name: lower case, letters, digits and _ only, starting with a letter.
        static func stationName(host: String) -> String {
            let short = host.split(separator: ".").first.map(String.init) ?? host
            var name = String(short.lowercased().map { $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII ? $0 : "_" })
            if !(name.first?.isLetter ?? false) { name = "station_" + name }
            return String(name.prefix(63))
        }
    }

    /// The database and the key an administrator acts on.
    struct KeyArguments: ParsableArguments {
        @Argument(help: ArgumentHelp("The fleet database.", valueName: "url"))
        var url: String

        @Argument(help: ArgumentHelp("The key's SHA256: fingerprint (`lockdiag fleet keys` lists them).", valueName: "fingerprint"))
        var fingerprint: String
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a pending station key (fleet_admin); reports it signs then verify with --fleet.")

        @OptionGroup var key: KeyArguments

        func run() throws {
            try perform { () throws(CLIError) in
                let url = try fleetURL(key.url)
                let fingerprint = key.fingerprint
                try withFleet(url) { db throws(FleetError) in try await db.approve(fingerprint: fingerprint) }
                Output.out("key \(fingerprint) approved")
                return .ok
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a station key (fleet_admin): reports it signed from --at on are flagged.",
            usage: "lockdiag fleet revoke <url> <fingerprint> [--at <time>] [<options>]")

        @OptionGroup var key: KeyArguments

        @Option(help: ArgumentHelp("Since when the key is not to be trusted, ISO 8601 (default: now).", valueName: "time"))
        var at: String?

        @Option(help: ArgumentHelp("Why (kept with the key).", valueName: "text"))
        var reason: String?

        func run() throws {
            try perform { () throws(CLIError) in
                let url = try fleetURL(key.url)
                var time: Date?
                if let at {
                    guard let parsed = ISO8601DateFormatter().date(from: at) else {
                        throw CLIError(status: .usage, message: "--at \(DisplayText.safe(at)) is not an ISO 8601 time like 2026-12-01T09:30:00Z")
                    }
                    time = parsed
                }
                let (fingerprint, reason) = (key.fingerprint, reason)
                try withFleet(url) { [time] db throws(FleetError) in try await db.revoke(fingerprint: fingerprint, at: time, reason: reason) }
                Output.out("key \(fingerprint) revoked from \(time.map { ISO8601DateFormatter().string(from: $0) } ?? "now") on")
                return .ok
            }
        }
    }

    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stations' keys and their status (fleet_analyst).")

        @Argument(help: ArgumentHelp("The fleet database (default $LOCKDIAG_FLEET).", valueName: "url"))
        var url: String?

        func run() throws {
            try perform { () throws(CLIError) in
                let url = try fleetURL(url)
                let keys = try withFleet(url) { db throws(FleetError) in try await db.keys() }
                let time = ISO8601DateFormatter()
                for k in keys {
                    Output.out("\(k.station)  \(k.fingerprint)  \(k.status)  enrolled \(time.string(from: k.enrolledAt))"
                               + (k.revokedAt.map { "  revoked from \(time.string(from: $0))" } ?? ""))
                }
                if keys.isEmpty { Output.out("no station keys enrolled") }
                return .ok
            }
        }
    }
}
