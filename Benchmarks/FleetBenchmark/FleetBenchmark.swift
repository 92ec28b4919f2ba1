import ArgumentParser
import FleetSync
import Foundation
import HistoryStore
import LockDiagAPI
import Logging

/// `make bench-fleet` (a benchmark, not a test; scripts/bench-fleet.sh starts the PostgreSQL and enrolls the
/// stations): fault events per second from local histories into PostgreSQL through the real sync link (FleetLink),
/// for one station and for many at once, and the sync lag (written locally → committed in PostgreSQL) p50/p99
/// while stations record events live.
@main
struct FleetBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiag-fleet-bench",
        abstract: "Fleet sync throughput and lag against a PostgreSQL with enrolled bench_N stations.")

    @Option(help: ArgumentHelp("A superuser's connection string: the schema is applied and stations bench_N enrolled.", valueName: "url"))
    var adminURL: String

    @Option(help: ArgumentHelp("Where the stations' SQLite histories go.", valueName: "path"))
    var directory: String

    @Option(help: "Stations syncing at once in the second and third runs.")
    var stations = 50

    @Option(help: "Fault events in each station's backlog.")
    var events = 10_000

    @Option(help: "Seconds of live recording for the lag figures.")
    var liveSeconds = 20.0

    @Option(help: "Fault events per second each station records live.")
    var liveRate = 5.0

    func run() async throws {
        var logger = Logger(label: "fleet-bench")
        logger.logLevel = .error
        let admin = try await FleetDatabase.connect(try FleetURL(adminURL), logger: logger)
        try await admin.migrate()
        for n in 1...(stations + 1) {
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            _ = try await admin.enroll(station: "bench_\(n)", publicKey: key, password: Self.stationPassword)
        }
        await admin.close()
        print("fleet sync: \(events) fault events per station backlog, batches of \(FleetLink.Configuration(url: try FleetURL(adminURL)).batchRows)")
        let single = try await drain(numbers: [1], logger: logger)
        print(String(format: "  1 station:   %6.0f events/s (%d events in %.2f s)", Double(events) / single, events, single))
        let many = Array(2...(stations + 1))
        let all = try await drain(numbers: many, logger: logger)
        let total = Double(events * many.count)
        print(String(format: "  %d stations: %6.0f events/s in all, %.0f per station (%d events in %.2f s)",
                     many.count, total / all, total / all / Double(many.count), events * many.count, all))
        try await live(numbers: many, logger: logger)
    }

    func history(_ n: Int) throws -> HistoryDatabase {
        try HistoryDatabase(path: "\(directory)/station-\(n).sqlite")
    }

    static let stationPassword = "bench-station"

    /// Station n's connection string: the admin's, with its user and password.
    func url(_ n: Int) throws -> FleetURL {
        var url = try FleetURL(adminURL)
        url.user = "bench_\(n)"
        url.password = Self.stationPassword
        return url
    }

    static func event(device: String, atMilliseconds: Int64, code: String) -> HistoryRecord {
        .fault(FaultEvent(device: device, code: code, name: "motor_stall", title: "Motor stall", severity: "error", event: .raised,
                          status: .pending, at: APITime.format(milliseconds: atMilliseconds), count: 1,
                          firstSeen: APITime.format(milliseconds: atMilliseconds), source: "bench", evidence: "bench event",
                          freezeFrame: nil, advice: "none"), atMilliseconds: atMilliseconds)
    }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Fills each station's history with `events` fault events, then times their links until the database has all.
    func drain(numbers: [Int], logger: Logger) async throws -> Double {
        for n in numbers {
            let db = try history(n)
            let start = Self.nowMilliseconds()
            try db.write((0..<events).map { Self.event(device: "BENCH-\(n)", atMilliseconds: start + Int64($0), code: "0x0101") })
        }
        let links = try numbers.map { n in (FleetLink(configuration: FleetLink.Configuration(url: try url(n)), logger: logger), try history(n)) }
        let started = Date()
        for (link, db) in links { link.start(history: db) }
        while !links.allSatisfy({ ($0.0.info().highWater["fault_event"] ?? 0) >= Int64(events) }) {
            try await Task.sleep(for: .milliseconds(5))
            if Date().timeIntervalSince(started) > 600 { throw ValidationError("the links did not drain within 600 s") }
        }
        let seconds = Date().timeIntervalSince(started)
        for (link, _) in links { link.stop() }
        for (link, _) in links { await link.stopped() }
        return seconds
    }

    /// Stations record events live; lag = PostgreSQL's commit time minus the local write time.
    func live(numbers: [Int], logger: Logger) async throws {
        let links = try numbers.map { n in (FleetLink(configuration: FleetLink.Configuration(url: try url(n)), logger: logger), try history(n)) }
        for (link, db) in links { link.start(history: db) }
        let interval = 1.0 / liveRate
        let started = Date()
        var written = 0
        while Date().timeIntervalSince(started) < liveSeconds {
            let now = Self.nowMilliseconds()
            for (_, db) in links { try db.write([Self.event(device: "LIVE", atMilliseconds: now, code: "0x0FFF")]) }
            written += links.count
            try await Task.sleep(for: .seconds(interval))
        }
        let expected = links.map { $0.1 }.map { (try? $0.newestSequenceNumbers().faults) ?? 0 }
        while !zip(links, expected).allSatisfy({ ($0.0.info().highWater["fault_event"] ?? 0) >= $1 }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        for (link, _) in links { link.stop() }
        for (link, _) in links { await link.stopped() }
        let admin = try await FleetDatabase.connect(try FleetURL(adminURL), logger: logger)
        let rows = try await admin.rows("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - at)) AS p50,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - at)) AS p99,
                   max(extract(epoch FROM received_at - at))::float8 AS worst, count(*) AS n
            FROM fleet.fault_event WHERE code = '0x0FFF'
            """)
        await admin.close()
        let row = rows[0].makeRandomAccess()
        let p50 = try row["p50"].decode(Double.self), p99 = try row["p99"].decode(Double.self)
        let worst = try row["worst"].decode(Double.self), count = try row["n"].decode(Int64.self)
        // The achieved rate: each write is a synced SQLite transaction, so 50 stations in one process may fall short of the asked one.
        print(String(format: "  sync lag, %d stations recording live (%.1f events/s each, %lld events in %.0f s): p50 %.0f ms, p99 %.0f ms, max %.0f ms",
                     links.count, Double(written) / liveSeconds / Double(links.count), count, liveSeconds, p50 * 1000, p99 * 1000, worst * 1000))
    }
}
