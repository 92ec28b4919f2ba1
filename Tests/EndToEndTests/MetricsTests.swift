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
}
