import Foundation
import JSONRPC
import LinuxIO
import LockDiagAPI
import Logging
import PcapNG
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `record.start` / `record.stop`: one lock's bytes sent to a socket client as `record.chunk`
/// notifications, which `lockdiag record` writes into a pcapng file laid out as `--record`'s.
///
/// The poll loop copies into `ring` only while a recording runs (`TrafficRing.isWanted`); the
/// thread `lockdiag-tap` drains it every 5 ms, keeps each recording's lock's packets, and offers
/// them to the client with `trySendNotification`, which never waits: what a slow client cannot
/// take is dropped and counted (`lost_packets` in the next chunk and in `record.stop`), as are
/// chunks the ring dropped while the drain fell behind. No reply carries the traffic, so the
/// reply-size limit does not bound a recording's length.
public final class TrafficTaps: Sendable {
    /// Fed by the loop (`PollLoopConfiguration.taps`): 256 slots of 4 KiB.
    public let ring: TrafficRing
    /// Section header fields every recording gets (those of `--record`'s files).
    let application: String
    let hardware: String
    let os: String
    private let recordings = Mutex(Recordings())
    private let wake = DispatchSemaphore(value: 0)
    private let running = Atomic<Bool>(false)
    private let thread = Mutex<JoinableThread?>(nil)
    private let wallMinusMonotonic: Int64
    /// Raw bytes of packets per notification, at most (a notification is base64, a third larger).
    static let chunkBytes = 32 * 1024

    struct Recording {
        let device: Int
        let connection: RPCConnection
        let startedAtNanoseconds: UInt64
        /// How the link's bytes are wrapped: a USB or BLE lock's as usbmon or HCI ACL/ATT records.
        let encapsulation: LinkEncapsulation?
        var urbs: UInt64 = 0
        var pending: [RecordedBytes] = []
        var pendingBytes = 0
        var sent = 0
        var lost = 0
        var lostUnreported = 0
    }

    struct Recordings {
        var byID: [Int: Recording] = [:]
        var nextID = 1
    }

    public init(version: String, ringSlots: Int = 256) {
        ring = TrafficRing(capacity: ringSlots, alwaysWanted: false)
        application = "lockdiagd \(version)"
        hardware = TrafficRecorder.hostDescription()
        os = TrafficRecorder.osDescription()
        var realtime = timespec(), monotonic = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        wallMinusMonotonic = (Int64(realtime.tv_sec) - Int64(monotonic.tv_sec)) * 1_000_000_000
            + Int64(realtime.tv_nsec) - Int64(monotonic.tv_nsec)
    }

    /// Starts a recording of `device` for `connection`, its packets wrapped as `encapsulation`
    /// says (nil: the byte stream); returns its id.
    func start(device: Int, connection: RPCConnection, encapsulation: LinkEncapsulation?) throws(SystemError) -> Int {
        try startThread()
        let id = recordings.withLock { r in
            let id = r.nextID
            r.nextID += 1
            r.byID[id] = Recording(device: device, connection: connection, startedAtNanoseconds: MonotonicClock.nanoseconds(),
                                   encapsulation: encapsulation)
            return id
        }
        ring.addListener()
        wake.signal()
        return id
    }

    /// Ends a recording of `connection`'s: what it sent and lost, nil when it has no such recording.
    /// Packets still in the ring are sent first, so the client has every chunk before the reply.
    func stop(_ id: Int, connection: UInt64) -> RecordStopped? {
        guard recordings.withLock({ $0.byID[id]?.connection.id == connection }) else { return nil }
        drainer.withLock { $0.drain(self) }
        guard let ended = recordings.withLock({ $0.byID.removeValue(forKey: id) }) else { return nil }
        ring.removeListener()
        return RecordStopped(recording: id, packets: ended.sent, lostPackets: ended.lost + ended.lostUnreported)
    }

    /// Ends every recording of a connection that closed.
    func connectionClosed(_ connection: UInt64) {
        let ended = recordings.withLock { r in
            let ids = r.byID.filter { $0.value.connection.id == connection }.map(\.key)
            for id in ids { r.byID[id] = nil }
            return ids.count
        }
        for _ in 0..<ended { ring.removeListener() }
    }

    /// Whether `connection` runs a recording (it then waits for notifications: not idle).
    func isRecording(_ connection: UInt64) -> Bool {
        recordings.withLock { $0.byID.values.contains { $0.connection.id == connection } }
    }

    /// Stops the thread (at shutdown, after the socket server).
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        thread.withLock { $0 }?.join()
    }

    private func startThread() throws(SystemError) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let started = try JoinableThread(name: "lockdiag-tap") { [self] in run() }
        thread.withLock { $0 = started }
    }

    private func run() {
        while running.load(ordering: .acquiring) {
            if !ring.isWanted {
                wake.wait() // until a recording starts or the daemon stops
                continue
            }
            MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 5_000_000)
            drainer.withLock { $0.drain(self) }
        }
    }

    /// The ring's one consumer: the thread, or `stop` sending what is left (under this lock).
    private let drainer = Mutex(Drainer())

    struct Drainer: ~Copyable {
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: TrafficRing.slotPayload, alignment: 8)
        var reportedDrops: UInt64 = 0
        var scratch: [UInt8] = []

        deinit { payload.deallocate() }

        mutating func drain(_ taps: TrafficTaps) {
            let dropped = taps.ring.dropped.chunks
            let newDrops = Int(dropped - reportedDrops)
            reportedDrops = dropped
            var packets: [(device: Int, at: UInt64, wall: UInt64, toLock: Bool, bytes: [UInt8])] = []
            while let header = taps.ring.pop(into: payload) {
                guard header.kind != .linkOpened else { continue }
                let wall = UInt64(clamping: Int64(bitPattern: header.timestampNanoseconds) &+ taps.wallMinusMonotonic)
                packets.append((Int(header.device), header.timestampNanoseconds, wall, header.kind == .toLock,
                                Array(UnsafeRawBufferPointer(rebasing: payload[0..<Int(header.length)]))))
            }
            taps.recordings.withLock { r in
                for id in r.byID.keys.sorted() {
                    var recording = r.byID[id]!
                    // The ring cannot say whose chunks it dropped: every recording counts them.
                    recording.lostUnreported += newDrops
                    for p in packets where p.device == recording.device && p.at >= recording.startedAtNanoseconds {
                        recording.urbs &+= 1
                        let encapsulation = recording.encapsulation ?? .stream(TrafficRecorder.ldpLinkType)
                        p.bytes.withUnsafeBytes { bytes in
                            encapsulation.packets(bytes, toLock: p.toLock, wallNanoseconds: p.wall, urbID: recording.urbs, scratch: &scratch) { packet in
                                recording.pending.append(RecordedBytes(timeNanoseconds: p.wall, direction: p.toLock ? RecordedBytes.toLock : RecordedBytes.fromLock,
                                                                       data: Data(packet).base64EncodedString()))
                                recording.pendingBytes += packet.count
                                if recording.pendingBytes >= TrafficTaps.chunkBytes { Self.send(&recording, id: id) }
                            }
                        }
                    }
                    Self.send(&recording, id: id)
                    r.byID[id] = recording
                }
            }
        }

        /// Offers the pending packets as one `record.chunk`; a client that is not reading loses them (counted).
        static func send(_ recording: inout Recording, id: Int) {
            guard !recording.pending.isEmpty else { return }
            let chunk = RecordChunk(recording: id, lostPackets: recording.lostUnreported, packets: recording.pending)
            let count = recording.pending.count
            recording.pending.removeAll(keepingCapacity: true)
            recording.pendingBytes = 0
            if let params = try? APIJSON.bytes(chunk),
               recording.connection.trySendNotification(NotificationLine(method: APIMethod.recordChunkNotification, encodedParams: params)) {
                recording.sent += count
                recording.lost += recording.lostUnreported
                recording.lostUnreported = 0
            } else {
                recording.lostUnreported += count
            }
        }
    }
}

extension Hub {
    /// The lock's link as `--record` names its interface (wrapped as `encapsulation` says), with the lock's model and serial
    /// (`if_hardware`) once IDENTIFY gave them; nil for a slot with no device. `gattOnly`: a BLE
    /// lock with only the standard services, whose link carries no byte stream to record.
    func recordedInterface(of index: Int, encapsulation: LinkEncapsulation?) -> (interface: RecordedInterface, gattOnly: Bool)? {
        state.read { s -> (interface: RecordedInterface, gattOnly: Bool)? in
            guard let device = s.devices[index] else { return nil }
            let dialect: String
            if let tuya = device.tuya {
                dialect = tuya.role == .passive ? "tuya-sniff" : tuya.variant == .lowPower ? "tuya-lowpower" : "tuya"
            } else {
                dialect = "ldp"
            }
            let description = TrafficRecorder.interfaceDescription(LinkIdentity(transport: device.transport, path: device.path, dialect: dialect,
                                                                                encapsulation: encapsulation))
            let hardware = device.identity.map { TrafficRecorder.hardwareText(model: $0.model, serial: $0.serial, firmware: $0.firmwareVersion) }
            return (RecordedInterface(linkType: Int(description.linkType.rawValue), name: description.name ?? "",
                                      description: description.description ?? "", hardware: hardware), device.isGATTOnly)
        }
    }
}
