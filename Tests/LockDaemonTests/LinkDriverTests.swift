import BLETransport
import Foundation
import HistoryStore
import LinuxIO
@_spi(Fuzzing) @testable import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import LockSimulator
import Logging
import Testing

/// The poll loop's driver contract (Drivers/LinkDriver.swift) as seen from outside: the link
/// picks its family's driver, and a lock with only the standard GATT services is reported as
/// what it is — its Battery Level and Device Information — with no LDP/1 frame made up for it.
@Suite(.serialized) struct LinkDriverTests {
    /// Two BLE locks attached alike: the one with the LDP service gets the LDP driver (requests,
    /// `.frame` records), the one with only Battery and Device Information the GATT driver
    /// (`.gattReading` records, no request, no frame).
    @Test func aBLELinkGetsItsFamilysDriverAtOpen() throws {
        let folder = try TemporaryDirectory(prefix: "drivers")
        defer { folder.remove() }
        let simulator = try SimulatorServer(configurations: [BLEServing.Services.standard, .full].enumerated().map { index, services in
            SimulatorConfiguration(scenario: .healthy, seed: 7, index: index, activityIntervalNanoseconds: 60_000_000_000,
                                   ble: BLEServing(socketPath: "\(folder.path)/lock\(index)", services: services, receiveMTU: 247))
        })
        try simulator.start()
        defer { simulator.stop() }
        var configuration = PollLoopConfiguration()
        configuration.maxDevices = 4
        configuration.reconnectIntervalNanoseconds = 50_000_000
        let loop = try PollLoop(configuration: configuration)
        var options = BLEOptions()
        options.initialBackoffSeconds = 0.2
        for (slot, path) in simulator.devicePaths.enumerated() {
            #expect(loop.attach(try BLELink(endpoint: .attSocket(path: path), options: options), slot: slot))
        }
        try loop.start()
        defer { loop.stop() }
        let reader = RingReader(loop)

        let model = try #require(reader.wait(seconds: 10) {
            $0.header.device == 0 && $0.header.kind == .gattReading && $0.header.type == GATTReadingField.model.rawValue
        })
        #expect(String(decoding: model.payload, as: UTF8.self) == "LX-300")
        let battery = try #require(reader.wait(seconds: 3) {
            $0.header.device == 0 && $0.header.kind == .gattReading && $0.header.type == GATTReadingField.batteryPercent.rawValue
        })
        #expect(battery.payload.count == 1 && battery.payload[0] > 80 && battery.payload[0] <= 100)
        #expect(reader.wait(seconds: 3) { $0.header.device == 0 && $0.header.type == GATTReadingField.informationComplete.rawValue } != nil)
        #expect(reader.wait(seconds: 10) { $0.header.device == 1 && $0.header.kind == .frame && $0.header.type == MessageType.identify.rawValue } != nil)

        // Counters go out once a second: one published a second after the link came up has seen
        // a second of the GATT lock's life, and the LDP lock's polls at 50 Hz meanwhile.
        let up = try #require(reader.records.first { $0.header.device == 0 && $0.header.kind == .linkUp }).header.timestampNanoseconds
        let later = try #require(reader.wait(seconds: 5) {
            $0.header.device == 0 && $0.header.kind == .counters && $0.header.timestampNanoseconds >= up + 1_000_000_000
        })
        let counters = later.payload.withUnsafeBytes { $0.loadUnaligned(as: LinkCounters.self) }
        #expect(counters.decoder.frames == 0 && counters.requests == 0 && counters.bytesOut == 0, "\(counters)")
        #expect(!reader.records.contains { $0.header.device == 0 && ($0.header.kind == .frame || $0.header.kind == .timeout) })
        #expect(reader.records.filter { $0.header.device == 1 && $0.header.kind == .frame }.count > 10)
        #expect(!reader.records.contains { $0.header.device == 1 && $0.header.kind == .gattReading })
    }

    /// A GATT-only lock through the hub: `device.status` has its battery percentage and says the
    /// rest is unknown; the LDP counters show it was never sent a request nor decoded a frame; asked
    /// to move or test, it is refused with the reason, and nothing is sent.
    @Test func aGATTOnlyLockShowsWhatItReportsAndIsNeverPolled() async throws {
        let rig = try BLEDiagnosisTests.Rig([(.healthy, .standard, 23)], activitySeconds: 60)
        defer { rig.stop() }
        let slot = rig.slots[0]
        #expect(await TestSupport.wait(upTo: 10) { rig.device(slot).online && rig.hub.status(of: slot)?.battery.percent != nil })
        // Counters reach the hub once a second; an LDP poll would show within the first two.
        let polled = await TestSupport.wait(upTo: 3) {
            let stats = rig.hub.linkStats()[slot]
            return stats.frames > 0 || stats.requests > 0 || stats.timeouts > 0 || stats.naks > 0
        }
        #expect(!polled, "\(rig.hub.linkStats()[slot])")
        let status = try #require(rig.hub.status(of: slot))
        #expect(status.wireProtocol == "GATT" && status.online)
        #expect((status.battery.percent ?? 0) > 80)
        #expect(status.motor.state == "unknown" && status.lock == "unknown" && status.door == "unknown")
        #expect(status.temperatureCelsius == nil && status.fingerprint == nil && status.updatedAt != nil)
        // Unknown, not 0: no voltage from the Battery Service, no motor current at all.
        #expect(status.battery.voltageMillivolts == nil && status.motor.currentMilliamps == nil)
        #expect(status.actuations == nil && status.uptimeSeconds == nil && status.activeFaults == nil)
        #expect(status.sources == ["battery.percent": .measured])
        #expect(rig.device(slot).model == "LX-300" && rig.device(slot).id == "SIM-0007-000")
        // The metrics see the percentage too, and no voltage (the Battery Service has none).
        let metrics = try #require(rig.hub.metricsDevices().first)
        #expect(metrics.batteryPercent == status.battery.percent && metrics.batteryMillivolts == nil)

        do {
            _ = try await rig.hub.actuate(.lock, on: slot)
            Issue.record("a GATT-only lock was actuated")
        } catch {
            guard case .refused(let reason) = error else { throw error }
            #expect(reason.contains("SIM-0007-000"))
        }
        do {
            _ = try await rig.hub.runTests(.motor, on: slot)
            Issue.record("a GATT-only lock ran a self-test")
        } catch {
            guard case .refused = error else { throw error }
        }
        #expect(rig.hub.linkStats()[slot].requests == 0)
    }

    /// A GATT-only lock's battery level goes into the telemetry log like any lock's readings,
    /// with its voltage unknown (NULL), and the lock is recorded with its Device Information.
    @Test func aGATTOnlyLocksReadingsReachTheHistory() async throws {
        let folder = try TemporaryDirectory(prefix: "gatt-history")
        defer { folder.remove() }
        let simulator = try SimulatorServer(configurations: [SimulatorConfiguration(
            scenario: .healthy, seed: 7, index: 0, activityIntervalNanoseconds: 60_000_000_000,
            ble: BLEServing(socketPath: folder.path + "/lock0", services: .standard, receiveMTU: 247))])
        try simulator.start()
        defer { simulator.stop() }
        let database = try HistoryDatabase(path: folder.path + "/history.sqlite")
        let recorder = HistoryRecorder(database: database, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        recorder.start()
        defer { recorder.stop() }
        let loop = try PollLoop()
        let hub = Hub(loop: loop, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, history: recorder)
        let slot = try #require(try hub.addBLEDevice(.attSocket(path: simulator.devicePaths[0]), options: BLEDiagnosisTests.Rig.fastOptions))
        try loop.start()
        hub.start()
        defer {
            hub.stop()
            loop.stop()
        }
        #expect(await TestSupport.wait(upTo: 10) { hub.status(of: slot)?.battery.percent != nil })
        let sampled = await TestSupport.wait(upTo: 10) {
            (try? database.statusSamples(device: "SIM-0007-000", fromMilliseconds: 0, toMilliseconds: .max))?.isEmpty == false
        }
        #expect(sampled, "no status sample for the GATT lock")
        let sample = try #require(try database.statusSamples(device: "SIM-0007-000", fromMilliseconds: 0, toMilliseconds: .max).first)
        #expect(sample.batteryPercent == hub.status(of: slot)?.battery.percent && sample.batteryMillivolts == nil)
        #expect(sample.motorCurrentMilliamps == nil && sample.bolt == nil)
    }

    /// The hub half takes a `.gattReading` it cannot read (an unknown reading, a Battery Level
    /// outside 0…100, a wrong length) as a decode error, counted, and keeps what it knew.
    @Test func badGATTReadingsAreCountedAndChangeNothing() throws {
        var configuration = PollLoopConfiguration()
        configuration.maxDevices = 2
        configuration.ringCapacity = 4
        let hub = Hub(loop: try PollLoop(configuration: configuration), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let slot = try #require(hub.addSerialDevice(path: "/dev/gatt-test"))
        var now: UInt64 = 1_000_000_000_000
        func feed(_ type: UInt8, _ payload: [UInt8]) {
            var header = RecordHeader()
            header.kind = .gattReading
            header.device = UInt16(slot)
            header.type = type
            header.length = UInt16(payload.count)
            header.timestampNanoseconds = now
            now += 1_000_000_000
            payload.withUnsafeBytes { hub.applyForFuzzing(header, payload: $0, periodicAt: now) }
        }
        feed(GATTReadingField.batteryPercent.rawValue, [42])
        feed(GATTReadingField.batteryPercent.rawValue, [101])
        feed(GATTReadingField.batteryPercent.rawValue, [])
        feed(GATTReadingField.batteryPercent.rawValue, [50, 0])
        feed(0, [1])
        feed(200, [])
        #expect(hub.linkStats()[slot].decodeErrors == 5)
        #expect(hub.state.withLock { $0.devices[slot]?.gatt?.batteryPercent } == 42)
    }
}
