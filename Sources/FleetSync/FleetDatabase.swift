import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// One connection to the fleet database, on an event loop of its own: nothing the daemon runs waits on it.
public final class FleetDatabase: Sendable {
    public let url: FleetURL
    let connection: PostgresConnection
    let logger: Logger
    /// How long one statement may take before the connection is given up (closed) and the statement fails.
    public let queryTimeoutSeconds: Double

    /// The event loop every fleet connection of this process runs on: one thread of its own (NIO names it NIO-ELT-…).
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    init(url: FleetURL, connection: PostgresConnection, logger: Logger, queryTimeoutSeconds: Double) {
        self.url = url
        self.connection = connection
        self.logger = logger
        self.queryTimeoutSeconds = queryTimeoutSeconds
    }

    /// Connects and logs in; throws `.unreachable` (worth retrying) or `.server` (a refused login).
    public static func connect(_ url: FleetURL, queryTimeoutSeconds: Double = 600,
                               logger: Logger = Logger(label: "lockdiag.fleet")) async throws(FleetError) -> FleetDatabase {
        let configuration = try url.configuration()
        do {
            let connection = try await PostgresConnection.connect(on: eventLoops.next(), configuration: configuration, id: 1, logger: logger)
            return FleetDatabase(url: url, connection: connection, logger: logger, queryTimeoutSeconds: queryTimeoutSeconds)
        } catch {
            throw FleetError.from(error, url: url)
        }
    }

    public func close() async {
        try? await connection.close()
    }

    public var isClosed: Bool { connection.isClosed }

    /// Runs one statement with bound parameters and returns its rows. A statement the server does not answer within
    /// `queryTimeoutSeconds` fails with `.unreachable` and closes the connection: a server stopped under a
    /// statement in flight left postgres-nio's query waiting for good.
    @discardableResult
    public func rows(_ query: PostgresQuery) async throws(FleetError) -> [PostgresRow] {
        let (connection, logger, url, timeout) = (self.connection, self.logger, self.url, queryTimeoutSeconds)
        guard !connection.isClosed else { throw .unreachable(url: url.description, reason: "the connection was closed") }
        let result: Result<[PostgresRow], FleetError> = await withCheckedContinuation { continuation in
            let once = Once()
            let timer = Task {
                try? await Task.sleep(for: .seconds(timeout))
                guard !Task.isCancelled, once.claim() else { return }
                try? await connection.close()
                continuation.resume(returning: .failure(.unreachable(url: url.description,
                                                                     reason: "no answer within \(Int(timeout)) s; the connection is closed")))
            }
            Task {
                let outcome: Result<[PostgresRow], FleetError>
                do {
                    var rows: [PostgresRow] = []
                    for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
                    outcome = .success(rows)
                } catch {
                    outcome = .failure(FleetError.from(error, url: url))
                }
                timer.cancel()
                if once.claim() { continuation.resume(returning: outcome) }
            }
        }
        return try result.get()
    }

    /// Runs statements with no parameters, several separated by `;`. postgres-nio speaks only the extended query
    /// protocol (one statement per message), so they run as one PL/pgSQL `EXECUTE`, which takes several
    /// (PostgreSQL 15 documentation, SPI_execute: "may contain multiple SQL commands").
    public func script(_ sql: String) async throws(FleetError) {
        precondition(!sql.contains("$lockdiag_script$"))
        try await rows(PostgresQuery(unsafeSQL: "DO $lockdiag_script$ BEGIN EXECUTE $lockdiag_sql$\(sql)$lockdiag_sql$; END $lockdiag_script$"))
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    public func transaction<T: Sendable>(_ body: (FleetDatabase) async throws(FleetError) -> T) async throws(FleetError) -> T {
        try await rows("BEGIN")
        do {
            let value = try await body(self)
            try await rows("COMMIT")
            return value
        } catch {
            try? await rows("ROLLBACK")
            throw error
        }
    }

    /// Decodes one column of a row, naming the column in the error.
    static func decode<T: PostgresDecodable>(_ row: PostgresRow, _ column: String, as type: T.Type = T.self) throws(FleetError) -> T {
        do {
            return try row.makeRandomAccess()[column].decode(T.self)
        } catch {
            throw .server(sqlState: "XX000", message: "unexpected value in column \(column): \(error)", hint: "is the fleet schema newer than this lockdiag?")
        }
    }
}

/// True for the first caller of `claim()` only: who resumes a continuation raced by two tasks.
final class Once: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}
