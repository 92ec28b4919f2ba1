import Foundation
@testable import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Logging
import Synchronization
import Testing

/// The exposition renderer alone, with hostile label values, parsed by prometheus_client.
@Suite struct MetricsExpositionTests {
    static func parse(_ text: String) throws -> [[String: String]] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for f in text_string_to_metric_families(sys.stdin.read()):
                for s in f.samples:
                    d = dict(s.labels); d["__name__"] = s.name; d["__value__"] = repr(s.value); out.append(d)
            print(json.dumps(out))
            """
        let r = try runTool("/usr/bin/python3", ["-c", script], input: text)
        guard r.status == 0 else { throw MetricsParseFailed(message: r.err) }
        return try JSONDecoder().decode([[String: String]].self, from: Data(r.out.utf8))
    }

    @Test func labelValuesAreEscapedSoAnySerialParses() throws {
        let nasty = "evil\"} 1\nlockdiag_devices 999\\"
        let device = MetricsSnapshot.Device(id: nasty, transport: "serial", model: "LX-300", firmware: "2.4.1", online: true,
                                            batteryMillivolts: 6120, batteryPercent: 85, lifetimeActuations: 12,
                                            faults: [(code: "0x0101", name: "motor_stall", status: .confirmed)],
                                            link: LinkStats(device: nasty, frames: 10))
        let text = MetricsExposition.render(MetricsSnapshot(version: "0.1.0", uptimeSeconds: 1.5, devices: [device], loop: LoopStatistics()))
        let samples = try Self.parse(text)
        #expect(samples.filter { $0["__name__"] == "lockdiag_devices" }.map { $0["__value__"] } == ["1.0"])
        #expect(samples.contains { $0["__name__"] == "lockdiag_device_online" && $0["device"] == nasty })
        #expect(samples.contains { $0["__name__"] == "lockdiag_battery_voltage_volts" && $0["__value__"] == "6.12" })
        #expect(samples.contains { $0["__name__"] == "lockdiag_faults" && $0["code"] == "0x0101" && $0["status"] == "confirmed" && $0["__value__"] == "1.0" })
        #expect(samples.contains { $0["__name__"] == "lockdiag_faults" && $0["status"] == "healed" && $0["__value__"] == "0.0" })
        // A lock with no readings yet has no battery or motor series, but still its online and fault series.
        #expect(!samples.contains { $0["__name__"] == "lockdiag_motor_last_peak_current_amperes" })
    }

    /// docs/architecture.md § Threads: the metrics loop never touches the poll loop. A scrape
    /// of a hub whose loop never runs (stalled, as it would be under a wedged lock driver) still
    /// renders at once, shows the lock, and leaves nothing for the loop to do.
    @Test func aScrapeNeverAsksThePollLoop() throws {
        let loop = try PollLoop(configuration: PollLoopConfiguration())  // never started
        let hub = Hub(loop: loop, logger: Logger(label: "test"))
        _ = try #require(hub.addSerialDevice(path: "/dev/lockdiag-metrics-test"))
        let asked = loop.inboxPending
        let rendered = Mutex<String?>(nil)
        Thread.detachNewThread { rendered.withLock { $0 = MetricsExposition.render(hub.metricsSnapshot(version: "0.1.0", uptimeSeconds: 1)) } }
        #expect(TestSupport.wait(upTo: 10) { rendered.withLock { $0 != nil } }, "a scrape waited for a poll loop that does not run")
        #expect(loop.inboxPending == asked, "a scrape left work in the poll loop's inbox")
        let samples = try Self.parse(try #require(rendered.withLock { $0 }))
        #expect(samples.filter { $0["__name__"] == "lockdiag_devices" }.map { $0["__value__"] } == ["1.0"])
        #expect(samples.contains { $0["__name__"] == "lockdiag_device_online" && $0["__value__"] == "0.0" })
    }

    @Test func theLatenessHistogramIsCumulative() throws {
        var loop = LoopStatistics()
        for us: UInt64 in [10, 60, 60, 900, 3_000, 2_000_000] { loop.lateness.record(microseconds: us) }
        loop.cycles = 6
        let text = MetricsExposition.render(MetricsSnapshot(version: "0.1.0", uptimeSeconds: 1, devices: [], loop: loop))
        let buckets = try Self.parse(text).filter { $0["__name__"] == "lockdiag_poll_lateness_seconds_bucket" }
        let counts = buckets.map { Double($0["__value__"]!)! }
        #expect(counts == counts.sorted())
        #expect(buckets.first { $0["le"] == "5e-05" }?["__value__"] == "1.0")
        #expect(buckets.first { $0["le"] == "0.001" }?["__value__"] == "4.0")
        #expect(buckets.first { $0["le"] == "+Inf" }?["__value__"] == "6.0")
    }

    @Test func metricsAddressesDefaultToLoopback() throws {
        #expect(try MetricsAddress(parsing: "9464") == MetricsAddress(host: "127.0.0.1", port: 9464))
        #expect(try MetricsAddress(parsing: ":9100") == MetricsAddress(host: "127.0.0.1", port: 9100))
        #expect(try MetricsAddress(parsing: "[::1]:9464") == MetricsAddress(host: "::1", port: 9464))
        #expect(try MetricsAddress(parsing: "0.0.0.0:9464").isLoopback == false)
        #expect(try MetricsAddress(parsing: "localhost:9464").isLoopback)
        for bad in ["", "host:", "host:http", "::1:9464", "[::1]9464", "1.2.3.4:70000"] {
            #expect(throws: MetricsAddressError.self) { try MetricsAddress(parsing: bad) }
        }
    }
}
