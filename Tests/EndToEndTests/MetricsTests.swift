import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// `lockdiagd --metrics`: scraped over real HTTP and parsed with prometheus_client's parser.
@Suite struct MetricsTests {
    /// The port the daemon logged for `--metrics 127.0.0.1:0`.
    static func metricsURL(_ daemon: DaemonProcess) throws -> String {
        let log = daemon.child.allErrors
        let range = try #require(log.range(of: #"http://127\.0\.0\.1:\d+/metrics"#, options: .regularExpression), "\(log)")
        return String(log[range])
    }

    @Test func theEndpointParsesAndShowsEachLockTheFaultsAndThePollLoop() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,motor-stall,battery-low", "--simulate-activity", "0", "--metrics", "127.0.0.1:0"])
        defer { #expect(daemon.stop() == 0) }
        let url = try Self.metricsURL(daemon)
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        // Wait until every lock has identified, reported its battery and its last actuation.
        #expect(try TestSupport.wait(upTo: 10) {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.allSatisfy { $0.online && $0.serial != nil }
        })
        var scrape = try scrapeMetrics(url)
        #expect(try TestSupport.wait(upTo: 10) {
            scrape = try scrapeMetrics(url)
            return scrape.samples.filter { $0.name == "lockdiag_motor_last_peak_current_amperes" }.count == 3
                && scrape.samples.contains { $0.name == "lockdiag_faults" && $0.labels["name"] == "motor_stall" && $0.labels["status"] == "confirmed" && $0.value == 1 }
                // Link counters arrive from the poll loop once a second.
                && scrape.samples.contains { $0.name == "lockdiag_link_frames_total" && $0.labels["device"] == "SIM-0001-000" && $0.value > 0 }
        }, "\(scrape.raw)")
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            scrape.samples.first { sample in sample.name == name && labels.allSatisfy { key, v in sample.labels[key] == v } }?.value
        }
        #expect(value("lockdiag_devices") == 3 && value("lockdiag_devices_online") == 3)
        for id in ["SIM-0001-000", "SIM-0001-001", "SIM-0001-002"] {
            #expect(value("lockdiag_device_online", ["device": id]) == 1)
            let volts = try #require(value("lockdiag_battery_voltage_volts", ["device": id]))
            #expect((3.5...7).contains(volts))
            let peak = try #require(value("lockdiag_motor_last_peak_current_amperes", ["device": id]))
            #expect((0.5...3).contains(peak))
            #expect(value("lockdiag_device_info", ["device": id, "model": "LX-300", "firmware": "2.4.1"]) == 1)
        }
        #expect(value("lockdiag_device_faults", ["device": "SIM-0001-001", "status": "confirmed"]) ?? 0 >= 1)
        #expect(value("lockdiag_device_faults", ["device": "SIM-0001-000", "status": "confirmed"]) == 0)
        // The poll loop's own figures.
        #expect(scrape.types["lockdiag_poll_cycles"] == "counter")
        #expect(value("lockdiag_poll_cycles_total") ?? 0 > 0)
        #expect(scrape.types["lockdiag_poll_lateness_seconds"] == "histogram")
        let count = try #require(value("lockdiag_poll_lateness_seconds_count"))
        #expect(value("lockdiag_poll_lateness_seconds_bucket", ["le": "+Inf"]) == count)
        let buckets = scrape.samples.filter { $0.name == "lockdiag_poll_lateness_seconds_bucket" }.map(\.value)
        #expect(buckets == buckets.sorted(), "buckets must be cumulative")
        #expect(value("lockdiag_link_frames_total", ["device": "SIM-0001-000"]) ?? 0 > 0)

        // Bounded labels: only these label names, and no series per sample.
        let labelNames = Set(scrape.samples.flatMap(\.labels.keys))
        #expect(labelNames.isSubset(of: ["device", "transport", "model", "firmware", "status", "code", "name", "le", "version"]), "\(labelNames)")
        let first = scrape.samples.count
        scrape = try scrapeMetrics(url)
        #expect(scrape.samples.count == first, "the series set must not grow from scrape to scrape")
    }

    @Test func otherPathsAndMethodsGetPlainErrors() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--metrics", "127.0.0.1:0"])
        defer { #expect(daemon.stop() == 0) }
        let url = try Self.metricsURL(daemon)
        let base = String(url.dropLast("/metrics".count))
        let script = """
            import sys, urllib.request, urllib.error
            def status(url, method="GET"):
                try:
                    r = urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10)
                    return r.status, r.headers.get("Content-Type")
                except urllib.error.HTTPError as e:
                    return e.code, e.headers.get("Content-Type")
            print(status(sys.argv[1] + "/metrics"), status(sys.argv[1] + "/nope"), status(sys.argv[1] + "/metrics", "POST"))
            """
        let r = try runTool("/usr/bin/python3", ["-c", script, base])
        #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines)
                == "(200, 'text/plain; version=0.0.4; charset=utf-8') (404, 'text/plain; charset=utf-8') (405, 'text/plain; charset=utf-8')",
                "\(r.out)\(r.err)")
    }

    @Test func aBadMetricsAddressIsAUsageError() throws {
        let result = try ChildProcess.run("lockdiagd", ["--simulate", "healthy", "--metrics", "localhost:http"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("HOST:PORT"))
    }

    /// Bound like the API socket: at most 8 connections (the 9th gets 503), a request larger
    /// than --max-request-bytes gets 431, and a connection quiet for --idle-timeout is closed.
    @Test func theEndpointIsBoundedLikeTheSocket() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--metrics", "127.0.0.1:0",
                                        "--idle-timeout", "5", "--max-request-bytes", "2048"])
        defer { #expect(daemon.stop() == 0) }
        let url = try Self.metricsURL(daemon)
        let port = try #require(UInt16(url.split(separator: ":").last?.split(separator: "/").first ?? ""))
        let scrape = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
        // Eight scrapers connected and answered, keeping their connections.
        var held: [TCPConnection] = []
        for _ in 0..<8 {
            let connection = try TCPConnection(port: port)
            connection.send(scrape)
            #expect(connection.read(until: "lockdiag_", within: 10).hasPrefix("HTTP/1.1 200"))
            held.append(connection)
        }
        let ninth = try TCPConnection(port: port)
        #expect(ninth.read(until: "\n", within: 10).hasPrefix("HTTP/1.1 503"))
        #expect(ninth.readsEnd(within: 10))
        held.removeAll()
        // Too large a request: refused before it is parsed, the connection closed.
        let large = try TCPConnection(port: port)
        #expect(try TestSupport.wait(upTo: 10, pollEvery: 0.05) {
            // The eight closed connections may still count for a moment.
            let attempt = try TCPConnection(port: port)
            attempt.send("GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "x", count: 4000) + "\r\n\r\n")
            return attempt.read(until: "\n", within: 10).hasPrefix("HTTP/1.1 431")
        })
        // A connection that sends nothing is closed after the idle timeout.
        #expect(large.readsEnd(within: 30))
    }
}

/// A TCP connection to the metrics endpoint, read with deadlines.
final class TCPConnection {
    let fd: Int32
    private var received: [UInt8] = []

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    func send(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) } }

    /// What arrived until `marker` did (or the peer closed, or the deadline passed).
    func read(until marker: String, within seconds: Double) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while !String(decoding: received, as: UTF8.self).contains(marker), deadline.timeIntervalSinceNow > 0 {
            guard readSome(deadline) > 0 else { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the peer closes the connection before the deadline.
    func readsEnd(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while deadline.timeIntervalSinceNow > 0 {
            let n = readSome(deadline)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
        return false
    }

    /// One read: bytes read, 0 at end of stream, -1 on error, -2 when nothing came in time.
    private func readSome(_ deadline: Date) -> Int {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(max(0, deadline.timeIntervalSinceNow) * 1000) + 1) > 0 else { return -2 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n > 0 { received += chunk[0..<n] }
        return n
    }
}
