// The query path's benchmark (`make bench-api`, issue 16): one raw-socket client measures
// lockdiagd's JSON-RPC calls and NUT upsd's `GET VAR` the same way — round trip (one request at
// a time) and pipelined rate (requests written back to back on one connection while the answers
// are read) — and the time from a lock's reading to 64 telemetry subscribers. scripts/bench-api.sh
// starts both servers; this program is only the client. A benchmark, not a test: it asserts
// nothing about time.

import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import LinuxIO
import Synchronization

@main
struct APIBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiag-api-bench",
        abstract: "Round trip and pipelined rate of lockdiagd's API against NUT's GET VAR.",
        usage: "lockdiag-api-bench --socket <path> --nut-port <port> [<options>]",
        discussion: "Run via `make bench-api`, which starts upsd (dummy-ups) and lockdiagd.")

    @Option(help: "lockdiagd's socket.")
    var socket: String

    @Option(help: "upsd's TCP port on 127.0.0.1.")
    var nutPort: UInt16

    @Option(help: "The NUT UPS name.")
    var ups = "bench"

    @Option(help: "The lockdiag device asked and subscribed to.")
    var device = "SIM-0001-000"

    @Option(help: "Measured round trips per call (after the warm-up).")
    var requests = 5000

    @Option(help: "Round trips before measuring.")
    var warmup = 500

    @Option(help: "Requests per pipelined round.")
    var pipelined = 20000

    @Option(help: "Pipelined rounds per call (after one warm-up round).")
    var rounds = 3

    @Option(help: "Telemetry subscribers.")
    var subscribers = 64

    @Option(help: "Seconds of telemetry measured.")
    var eventSeconds = 10.0

    mutating func run() throws {
        let socketPath = socket, port = nutPort, deviceID = device
        let calls = [
            Call(name: "NUT `GET VAR \(ups) battery.charge`", nut: true, connect: { try .tcp(port: port) },
                 request: { [ups] _ in Array("GET VAR \(ups) battery.charge\n".utf8) }),
            Call(name: "lockdiag `device.status`", nut: false, connect: { try .unix(socketPath) },
                 request: { id in Call.jsonRPC(id, "device.status", "{\"device\":\"\(deviceID)\"}") }),
            Call(name: "lockdiag `faults.list`", nut: false, connect: { try .unix(socketPath) },
                 request: { id in Call.jsonRPC(id, "faults.list", "{\"device\":\"\(deviceID)\"}") }),
            Call(name: "lockdiag `devices.list`", nut: false, connect: { try .unix(socketPath) },
                 request: { id in Call.jsonRPC(id, "devices.list", "{}") }),
        ]
        print("lockdiag-api-bench: round trip: \(requests) requests one at a time per call (10 blocks, the calls interleaved) after \(warmup) warm-up; "
              + "pipelined: \(pipelined) requests written back to back on one connection while the answers are read, "
              + "\(rounds) rounds after a warm-up round, the calls taking turns")
        // Interleaved — every call's round trips in blocks, every call's pipelined rounds in turn —
        // so a neighbour's load on the shared machine weighs on all of them alike.
        let roundTrip = try roundTrips(calls)
        let rates = try pipelinedRates(calls)
        let results = calls.indices.map {
            CallResult(call: calls[$0], replyBytes: roundTrip[$0].replyBytes, roundTripNanos: roundTrip[$0].samples, rates: rates[$0])
        }
        printTable(results)
        let events = try subscriberLatency()
        events.print(subscribers: subscribers, device: deviceID, seconds: eventSeconds)
    }

    // MARK: round trip

    /// Blocks of round trips taken from each call in turn, on one connection per call.
    func roundTrips(_ calls: [Call]) throws -> [(samples: [UInt64], replyBytes: Int)] {
        let blocks = 10
        let connections = try calls.map { try $0.connect() }
        var out = calls.map { _ in (samples: [UInt64](), replyBytes: 0) }
        var nextID = 1
        for block in -1..<blocks {
            for (k, call) in calls.enumerated() {
                // Block -1 is the warm-up.
                let count = block < 0 ? warmup : requests / blocks + (block < requests % blocks ? 1 : 0)
                for _ in 0..<count {
                    let request = call.request(nextID)
                    let t0 = MonotonicClock.nanoseconds()
                    try connections[k].write(request)
                    out[k].replyBytes = try connections[k].line { try call.check($0, id: nextID) }
                    let t1 = MonotonicClock.nanoseconds()
                    if block >= 0 { out[k].samples.append(t1 - t0) }
                    nextID += 1
                }
            }
        }
        return out
    }

    // MARK: pipelined

    /// Requests per second of each call's measured rounds, the calls taking turns.
    func pipelinedRates(_ calls: [Call]) throws -> [[Double]] {
        var rates = calls.map { _ in [Double]() }
        for round in 0...rounds {
            for (k, call) in calls.enumerated() {
                let rate = try pipelinedRate(call, count: round == 0 ? max(1, pipelined / 10) : pipelined)
                if round > 0 { rates[k].append(rate) }
            }
        }
        return rates
    }

    /// One round on a new connection: a writer thread writes `count` requests back to back while
    /// this thread reads every answer (writing them all first could fill both socket buffers and
    /// stall both sides); the time runs from the first write to the last answer.
    func pipelinedRate(_ call: Call, count: Int) throws -> Double {
        let connection = try call.connect()
        var batch: [UInt8] = []
        for i in 0..<count { batch += call.request(i + 1) }
        let fd = connection.fd
        let writeError = Mutex<String?>(nil)
        let payload = batch
        let t0 = MonotonicClock.nanoseconds()
        let writer = try JoinableThread(name: "bench-writer") {
            do { try payload.withUnsafeBytes { try LineConnection.writeAll(fd, $0) } } catch {
                writeError.withLock { $0 = "\(error)" }
            }
        }
        var answered = 0
        defer { if answered < count { shutdown(fd, Int32(SHUT_RDWR)) } ; writer.join() }
        while answered < count {
            _ = try connection.line { try call.check($0, id: nil) }
            answered += 1
        }
        let t1 = MonotonicClock.nanoseconds()
        if let error = writeError.withLock({ $0 }) { throw BenchError("\(call.name): writing failed: \(error)") }
        return Double(count) / (Double(t1 - t0) / 1e9)
    }

    // MARK: event → subscribers

    func subscriberLatency() throws -> EventLatency {
        var connections: [LineConnection] = []
        for _ in 0..<subscribers {
            let c = try LineConnection.unix(socket)
            try c.write(Call.jsonRPC(1, "telemetry.subscribe", "{\"device\":\"\(device)\"}"))
            // The hub may deliver a status before the reply reaches the connection: skip it.
            var subscribed = false
            while !subscribed {
                subscribed = try c.line { line in
                    guard let reply = JSONRPCLine(line) else { throw BenchError("not JSON-RPC: \(String(decoding: line, as: UTF8.self))") }
                    if reply.method == "telemetry" { return false }
                    guard reply.id == 1, reply.hasResult else {
                        throw BenchError("telemetry.subscribe #\(connections.count + 1) failed: \(String(decoding: line, as: UTF8.self))")
                    }
                    return true
                }
            }
            connections.append(c)
        }
        var fds = connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var arrivals: [Arrival] = []
        arrivals.reserveCapacity(Int(eventSeconds * 20) * subscribers)
        var lost = 0
        // Events first seen within the window; the window is then drained for a second so that
        // those reach every subscriber, while events first seen after it are ignored.
        let deadline = MonotonicClock.nanoseconds() + UInt64(eventSeconds * 1e9)
        let drainDeadline = deadline + 1_000_000_000
        var seen = Set<Int64>()
        while MonotonicClock.nanoseconds() < drainDeadline {
            let draining = MonotonicClock.nanoseconds() >= deadline
            let ready = retryingOnInterrupt { poll(&fds, nfds_t(fds.count), 100) }
            guard ready >= 0 else { throw SystemError.last("poll") }
            for k in fds.indices where fds[k].revents != 0 {
                guard try connections[k].fill() else { throw BenchError("lockdiagd closed subscriber \(k + 1)") }
                // Stamped as soon as read(2) returned, before any parsing.
                let mono = MonotonicClock.nanoseconds()
                let wallMicros = Self.wallMicroseconds()
                while let _: Void = connections[k].bufferedLine({ line in
                    if Self.lostCount(line) > 0 { lost += 1 }
                    if let stamp = UpdatedAt.milliseconds(in: line), !draining || seen.contains(stamp) {
                        seen.insert(stamp)
                        arrivals.append(Arrival(subscriber: k, updatedAtMillis: stamp, wallMicros: wallMicros, monoNanos: mono))
                    }
                }) {}
            }
        }
        return EventLatency(arrivals: arrivals, subscribers: subscribers, lostNotifications: lost)
    }

    static func wallMicroseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// The notification's `"lost":N` (docs/socket-api.md: notifications dropped before this one).
    static let lostKey: [UInt8] = Array("\"lost\":".utf8)

    static func lostCount(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        let key = lostKey
        guard line.count > key.count else { return 0 }
        for i in 0...(line.count - key.count) where line[i] == key[0] {
            if (0..<key.count).allSatisfy({ line[i + $0] == key[$0] }) {
                var j = i + key.count, value = 0
                while j < line.count, line[j] >= 0x30, line[j] <= 0x39 { value = value * 10 + Int(line[j] - 0x30); j += 1 }
                return value
            }
        }
        return 0
    }

    // MARK: output

    func printTable(_ results: [CallResult]) {
        guard let nut = results.first else { return }
        let nutP50 = Stats.percentile(nut.roundTripNanos, 50), nutP99 = Stats.percentile(nut.roundTripNanos, 99)
        let nutRate = Stats.median(nut.rates)
        print("")
        print("| call | reply bytes | round trip p50 µs | p99 µs | pipelined req/s, median (min–max) | round trip p50 / NUT | p99 / NUT | pipelined / NUT |")
        print("|---|---|---|---|---|---|---|---|")
        for r in results {
            let p50 = Stats.percentile(r.roundTripNanos, 50), p99 = Stats.percentile(r.roundTripNanos, 99)
            let rate = Stats.median(r.rates)
            print("| \(r.call.name) | \(r.replyBytes) | \(Stats.micros(p50)) | \(Stats.micros(p99)) | "
                  + "\(Stats.grouped(rate)) (\(Stats.grouped(r.rates.min() ?? 0))–\(Stats.grouped(r.rates.max() ?? 0))) | "
                  + "\(Stats.ratio(Double(p50) / Double(nutP50))) | \(Stats.ratio(Double(p99) / Double(nutP99))) | "
                  + "\(Stats.ratio(rate / nutRate)) |")
        }
    }
}

struct Call {
    let name: String
    let nut: Bool
    let connect: () throws -> LineConnection
    let request: (Int) -> [UInt8]

    static func jsonRPC(_ id: Int, _ method: String, _ params: String) -> [UInt8] {
        Array("{\"jsonrpc\":\"2.0\",\"id\":\(id),\"method\":\"\(method)\",\"params\":\(params)}\n".utf8)
    }

    /// Checks one answer (with `id`, that it answers that request) and returns its size in bytes
    /// with its newline; throws with the line when it is an error or malformed.
    func check(_ line: UnsafeBufferPointer<UInt8>, id: Int?) throws -> Int {
        if nut {
            guard case .variable = NUTReply(line) else { throw BenchError("\(name): \(String(decoding: line, as: UTF8.self))") }
        } else {
            guard let reply = JSONRPCLine(line), reply.hasResult, !reply.hasError, id == nil || reply.id == id else {
                throw BenchError("\(name): unexpected answer: \(String(decoding: line.prefix(400), as: UTF8.self))")
            }
        }
        return line.count + 1
    }
}

struct CallResult {
    let call: Call
    let replyBytes: Int
    let roundTripNanos: [UInt64]
    let rates: [Double]
}

struct Arrival {
    let subscriber: Int
    let updatedAtMillis: Int64
    let wallMicros: Int64
    let monoNanos: UInt64
}

struct EventLatency {
    let arrivals: [Arrival]
    let subscribers: Int
    let lostNotifications: Int

    func print(subscribers: Int, device: String, seconds: Double) {
        // Only events that reached every subscriber: the first may have started before the last
        // subscription, and a subscriber the hub skipped would hide in a partial one.
        var count: [Int64: Int] = [:]
        for a in arrivals { count[a.updatedAtMillis, default: 0] += 1 }
        let complete = arrivals.filter { count[$0.updatedAtMillis] == subscribers }
        // Latency on the wall clock: the hub stamps the reading in whole ms (truncated), so
        // arrival − stamp is at least the true latency and less than 1 ms more than it.
        let wall = complete.map { UInt64(max(0, $0.wallMicros - $0.updatedAtMillis * 1000)) }.sorted()
        // Fan-out on the monotonic clock: each arrival after the event's first arrival.
        var first: [Int64: UInt64] = [:]
        for a in complete { first[a.updatedAtMillis] = min(first[a.updatedAtMillis] ?? .max, a.monoNanos) }
        let spread = complete.map { ($0.monoNanos - first[$0.updatedAtMillis]!) / 1000 }.sorted()
        Swift.print("")
        Swift.print("telemetry: \(subscribers) subscribers of \(device) for \(seconds) s — \(count.count) status events, \(first.count) "
                    + "of them delivered to all \(subscribers) (\(complete.count) deliveries measured), \(lostNotifications) "
                    + "notifications reporting losses")
        Swift.print("")
        Swift.print("| event → subscriber, µs | p50 | p99 | max |")
        Swift.print("|---|---|---|---|")
        Swift.print("| reading stamped (`updated_at`, wall clock, whole ms) → line read by the subscriber (wall clock); "
                    + "an upper bound, < 1 ms above the true value | \(Stats.percentile(wall, 50)) | \(Stats.percentile(wall, 99)) | \(wall.last ?? 0) |")
        Swift.print("| the event's first subscriber → each subscriber (monotonic): the fan-out | \(Stats.percentile(spread, 50)) | "
                    + "\(Stats.percentile(spread, 99)) | \(spread.last ?? 0) |")
    }
}

enum Stats {
    /// Nearest-rank percentile of `sorted` (or unsorted: sorted here).
    static func percentile(_ values: [UInt64], _ p: Int) -> UInt64 {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        let rank = max(1, Int((Double(p) / 100 * Double(s.count)).rounded(.up)))
        return s[min(s.count, rank) - 1]
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func micros(_ nanos: UInt64) -> String { String(nanos / 1000) }

    /// 159000 → "159 000".
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(" ") }
            out.append(ch)
        }
        return out
    }

    static func ratio(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)×"
    }
}
