import Foundation
import JSONRPC
@_spi(Fuzzing) import LockDaemon
import LockDiagAPI
import LockProtocol
import LockSimulator
import Logging

extension FuzzTarget {
    /// What a lock sends, as far as the daemon's diagnosis: frames of any kind, type and body,
    /// link changes, counters and standard-GATT readings, in any order, through the hub exactly as the poll loop hands
    /// them over; then every API view of the device must still encode.
    static let hubRecords = FuzzTarget(
        name: "hub-records",
        summary: "The hub (device state, trace assembly, diagnosis) fed ring records built from the input: frames of any kind/type/body, link up/down, timeouts, counters, standard-GATT readings; then every API view of the device must encode as JSON."
    ) { input in
        guard let feed = HubFeed() else { return ["cannot create a poll loop"] }
        let hub = feed.hub
        guard let slot = hub.addSerialDevice(path: "/dev/fuzz") else { return ["no device slot"] }
        var reader = FuzzReader(input)
        // The loop's own tallies: they only grow, by what a lock's bytes can make them grow.
        var counters = LinkCounters()
        while !reader.isAtEnd {
            let op = reader.u8()
            var header = feed.header(slot: slot, after: UInt64(reader.u8()) * 1_000_000)
            var payload: [UInt8] = []
            switch op % 9 {
            case 0: header.kind = .linkUp
            case 1: header.kind = .linkDown
            case 2: header.kind = .timeout
                header.type = reader.u8()
            case 3:
                header.kind = .counters
                counters.decoder.frames += UInt64(reader.u8())
                counters.decoder.noiseBytes += UInt64(reader.u16())
                counters.decoder.headerErrors += UInt64(reader.u8())
                counters.decoder.crcErrors += UInt64(reader.u8())
                counters.decoder.oversized += UInt64(reader.u8() & 3)
                counters.decoder.unsupportedVersion += UInt64(reader.u8() & 3)
                counters.decoder.truncated += UInt64(reader.u8() & 3)
                counters.bytesIn += UInt64(reader.u16())
                counters.bytesOut += UInt64(reader.u8())
                counters.requests += UInt64(reader.u8())
                counters.timeouts += UInt64(reader.u8() & 15)
                counters.naks += UInt64(reader.u8() & 15)
                counters.unexpected += UInt64(reader.u8() & 15)
                counters.reconnects += UInt64(reader.u8() & 1)
                counters.eventsDropped += UInt64(reader.u8())
                payload = withUnsafeBytes(of: counters) { [UInt8]($0) }
            case 8:
                // What a standard-services BLE lock reports (Drivers/GATT), any field, any bytes.
                header.kind = .gattReading
                header.type = reader.u8() % 10
                payload = [UInt8](reader.take(Int(reader.u8()) % 64))
            default:
                header.kind = .frame
                header.frameKind = FrameKind(rawValue: op % 4)!
                header.type = reader.u8()
                header.seq = reader.u8()
                payload = [UInt8](reader.take(Int(reader.u16()) % (LDP.maxPayload + 1)))
            }
            feed.apply(header, payload)
        }
        return feed.apiViewProblems(slot: slot)
    }

    /// Encodes as APIService does; a failure there would be -32603 for every client asking.
    static func encodingProblem(_ what: String, _ value: some Encodable) -> String? {
        do {
            _ = try JSONValue(encoding: value)
            return nil
        } catch {
            return "\(what) does not encode: \(error)"
        }
    }


    /// The simulator's firmware reading whatever a host sends: raw bytes, or (when the first
    /// byte is odd) well-formed request frames of any type and body. Every byte it answers with
    /// must be an intact frame that decodes.
    static let simulatorRequests = FuzzTarget(
        name: "simulator-requests",
        summary: "The simulated lock's firmware (locksim) reading host bytes: raw, or valid frames of any type and body built from the input; every answer must be an intact LDP/1 frame that decodes."
    ) { input in
        var reader = FuzzReader(input)
        let framed = reader.u8() & 1 == 1
        var now: UInt64 = 1_000_000_000
        let lock = SimulatedLock(configuration: SimulatorConfiguration(scenario: .healthy, seed: 1), now: now)
        var findings: [String] = []
        let decoder = FrameDecoder()
        var seq: UInt8 = 0
        while !reader.isAtEnd {
            now += UInt64(reader.u8()) * 1_000_000
            if framed {
                let kind = FrameKind(rawValue: reader.u8() & 0x03)!
                let type = reader.u8()
                let body = [UInt8](reader.take(Int(reader.u8())))
                seq &+= 1
                lock.receive(Frame(kind: kind, seq: seq, type: type, payload: body).encoded, now: now)
            } else {
                lock.receive(reader.take(Int(reader.u8()) + 1), now: now)
            }
            lock.advance(to: now)
            decoder.feed(lock.takeOutput()) { output in
                switch output {
                case .frame(let frame):
                    if frame.header.kind == .request { findings.append("the lock sent a request") }
                    if (try? Message(frame)) == nil {
                        findings.append("the lock sent a \(frame.header.kind) of type 0x\(String(frame.header.type, radix: 16)) that does not decode")
                    }
                case .error(let error):
                    findings.append("the lock sent a damaged frame: \(error)")
                }
            }
        }
        return findings
    }
}

/// A fresh hub over a poll loop that never starts, and a clock: what the record targets feed a
/// lock's records through, exactly as the hub thread applies them, with the once-a-second checks.
final class HubFeed {
    let hub: Hub
    private var now: UInt64 = 1_000_000_000_000
    private var nextPeriodic: UInt64 = 1_000_000_000_000

    init?() {
        // Small, so each input starts from a fresh hub cheaply.
        var configuration = PollLoopConfiguration()
        configuration.ringCapacity = 4
        configuration.maxDevices = 2
        guard let loop = try? PollLoop(configuration: configuration) else { return nil }
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        hub = Hub(loop: loop, logger: logger)
    }

    /// A record header for `slot`, `nanoseconds` after the previous one.
    func header(slot: Int, after nanoseconds: UInt64) -> RecordHeader {
        now += nanoseconds
        var header = RecordHeader()
        header.device = UInt16(slot)
        header.timestampNanoseconds = now
        return header
    }

    func apply(_ header: RecordHeader, _ payload: [UInt8]) {
        var header = header
        header.length = UInt16(payload.count)
        let periodic: UInt64? = now >= nextPeriodic ? now : nil
        if periodic != nil { nextPeriodic = now + 1_000_000_000 }
        payload.withUnsafeBytes { hub.applyForFuzzing(header, payload: $0, periodicAt: periodic) }
    }

    /// Every API view of the device must encode, as APIService encodes it.
    func apiViewProblems(slot: Int) -> [String] {
        [
            FuzzTarget.encodingProblem("device.status", hub.status(of: slot)),
            FuzzTarget.encodingProblem("devices.list", DevicesList(devices: hub.devices())),
            FuzzTarget.encodingProblem("faults.list", FaultsList(faults: hub.faults(of: nil))),
            FuzzTarget.encodingProblem("daemon.stats devices", hub.linkStats()),
            FuzzTarget.encodingProblem("last trace", hub.lastTrace(of: slot)),
        ].compactMap { $0 }
    }
}
