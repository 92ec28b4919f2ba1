import LinuxIO
import LockProtocol
import Logging
import PcapNG
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `lockdiagd --record FILE`: where and how much.
public struct RecordingConfiguration: Sendable, Equatable {
    /// The pcapng file; older ones become FILE.1, FILE.2, … when it rotates.
    public var path: String
    /// A file is closed and rotated before it would grow past this (`--record-max-bytes`).
    public var maxBytes: Int = 64 * 1024 * 1024
    /// Files kept, the current one included (`--record-files`); 1 starts the file afresh.
    public var keepFiles: Int = 4
    /// Slots of the loop → recorder ring (4 KiB each, 4 MiB in all): how far the recorder may fall
    /// behind. With 64 locks on a loaded 2-core machine (`make bench BENCH_ARGS="--record FILE"`),
    /// 256 slots drained every 20 ms dropped chunks; 1024 drained every 5 ms dropped none.
    public var ringSlots: Int = 1024
    /// Written into the section header (`shb_userappl`).
    public var applicationName = "lockdiagd"

    public init(path: String) { self.path = path }

    /// The smallest `--record-max-bytes`: a section header and the interfaces must fit with room for traffic.
    public static let minimumMaxBytes = 64 * 1024
}

/// Why a recording could not start, saying what to do.
public struct RecordingError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Drains the poll loop's `TrafficRing` into pcapng files on its own thread (`lockdiag-rec`):
/// a section header naming lockdiagd's version and the host, an interface per link with the
/// lock's identity, an Enhanced Packet Block per read or write with its time and direction
/// (firmware-specs/recording.md). File I/O, allocation and logging happen here, never on the loop.
///
/// `@unchecked Sendable`: the mutable state below `// Recorder-thread state` is touched only by
/// the recorder thread between `start()` and `stop()` (which joins it), and by `stop()` after the
/// join; the rest is immutable or atomic.
public final class TrafficRecorder: @unchecked Sendable {
    public let configuration: RecordingConfiguration
    /// The ring the poll loop copies into (`PollLoopConfiguration.traffic`).
    public let ring: TrafficRing
    private let logger: Logger
    private let running = Atomic<Bool>(false)
    private var thread: JoinableThread?
    private let packetsWritten = Atomic<UInt64>(0)
    private let filesRotated = Atomic<UInt64>(0)

    // Recorder-thread state.
    private var fd: Int32 = -1
    private var fileBytes = 0
    private var pending: [UInt8] = []
    private var interfaces: [InterfaceDescription] = []
    private var interfaceOfDevice: [UInt16: (identity: LinkIdentity, interface: UInt32)] = [:]
    private var awaitingIdentity: [UInt16: AwaitingIdentity] = [:]
    private var failed = false
    private var reportedDrops: UInt64 = 0
    /// Numbers usbmon records (the URB id); the packet being wrapped is built in `scratch`.
    private var urbID: UInt64 = 0
    private var scratch: [UInt8] = []
    private let section: SectionHeader
    private let wallMinusMonotonic: Int64
    private let payload: UnsafeMutableRawBufferPointer

    /// Opens the file (created 0600, any earlier one truncated) and writes its section header;
    /// throws a `RecordingError` saying what to do when it cannot.
    public init(configuration: RecordingConfiguration, version: String, logger: Logger) throws(RecordingError) {
        self.configuration = configuration
        self.logger = logger
        ring = TrafficRing(capacity: configuration.ringSlots)
        payload = .allocate(byteCount: TrafficRing.slotPayload, alignment: 8)
        var realtime = timespec(), monotonic = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        wallMinusMonotonic = (Int64(realtime.tv_sec) - Int64(monotonic.tv_sec)) * 1_000_000_000
            + Int64(realtime.tv_nsec) - Int64(monotonic.tv_nsec)
        section = SectionHeader(hardware: Self.hostDescription(), os: Self.osDescription(),
                                userApplication: "\(configuration.applicationName) \(version)",
                                comments: [Self.sensitiveNotice])
        try openFile()
    }

    deinit {
        payload.deallocate()
        if fd >= 0 { close(fd) }
    }

    /// The comment every recording carries: it is a record of who opened which door.
    public static let sensitiveNotice = "lockdiag recording: every byte to and from the locks, which may hold unlock "
        + "events and commands (ACTUATE, lock state, fingerprint results). Keep it like a key log: share it "
        + "only with whom you would show the door's history."

    /// Chunks the ring dropped (the loop was faster than the disk), packets written, rotations.
    public var counts: (droppedChunks: UInt64, droppedBytes: UInt64, packets: UInt64, rotations: UInt64) {
        let dropped = ring.dropped
        return (dropped.chunks, dropped.bytes, packetsWritten.load(ordering: .relaxed), filesRotated.load(ordering: .relaxed))
    }

    public func start() throws(SystemError) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        thread = try JoinableThread(name: "lockdiag-rec") { [self] in run() }
    }

    /// Drains what is left, closes the file and waits for the thread to end. Call after the
    /// poll loop stopped, so its last bytes are in the file.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        thread?.join()
        thread = nil
        drain()
        for (device, waiting) in awaitingIdentity.sorted(by: { $0.key < $1.key }) { declare(device, waiting, hardware: nil) }
        awaitingIdentity.removeAll()
        flush()
        let c = counts
        logger.notice("recording \(configuration.path): \(c.packets) packet(s) written, \(c.rotations) rotation(s), \(c.droppedChunks) chunk(s) (\(c.droppedBytes) bytes) dropped")
        if fd >= 0 {
            fsync(fd)
            close(fd)
            fd = -1
        }
    }

    // MARK: - The recorder thread

    private func run() {
        // Polled, not rung: a doorbell would cost the loop a system call per cycle. Every 5 ms
        // keeps the ring (1024 slots by default) far from full at any lock's rate.
        while running.load(ordering: .acquiring) {
            MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 5_000_000)
            drain()
            flush()
            reportDrops()
        }
    }

    private func drain() {
        while let header = ring.pop(into: payload) {
            let bytes = UnsafeRawBufferPointer(rebasing: payload[0..<Int(header.length)])
            let device = header.device
            switch header.kind {
            case .linkOpened:
                linkOpened(device, identity: LinkIdentity(encoded: bytes) ?? LinkIdentity(transport: "?", path: "device \(device)", dialect: "?"))
            case .fromLock, .toLock:
                let wall = UInt64(clamping: Int64(bitPattern: header.timestampNanoseconds) &+ wallMinusMonotonic)
                guard var waiting = awaitingIdentity.removeValue(forKey: device) else {
                    write(bytes, kind: header.kind, device: device, wall: wall)
                    continue
                }
                waiting.packets.append((header.kind, wall, Array(bytes)))
                waiting.bytes += bytes.count
                if header.kind == .fromLock, let hardware = waiting.identified(by: bytes) {
                    declare(device, waiting, hardware: hardware)
                } else if waiting.bytes > Self.identityWaitBytes || header.timestampNanoseconds > waiting.since + Self.identityWaitNanoseconds {
                    declare(device, waiting, hardware: nil)
                } else {
                    awaitingIdentity[device] = waiting
                }
            }
        }
        // A link that went quiet before its IDENTIFY answer: declared without the lock's identity.
        let now = MonotonicClock.nanoseconds()
        for (device, waiting) in awaitingIdentity where now > waiting.since + Self.identityWaitNanoseconds {
            awaitingIdentity[device] = nil
            declare(device, waiting, hardware: nil)
        }
    }

    /// How long (and for how many bytes) an LDP/1 link's packets are held back for the lock's
    /// IDENTIFY answer, so its interface can name the lock. pcapng cannot amend an interface once
    /// declared, and a packet needs its interface before it: so the recorder thread (never the
    /// loop) keeps the link's first packets until the answer comes, then writes the interface
    /// with `if_hardware` and the packets after it, with their recorded times.
    static let identityWaitNanoseconds: UInt64 = 3_000_000_000
    static let identityWaitBytes = 256 * 1024

    /// An LDP/1 link opened whose interface waits for its IDENTIFY answer.
    struct AwaitingIdentity {
        let identity: LinkIdentity
        /// CLOCK_MONOTONIC of the link's opening.
        let since: UInt64
        var packets: [(kind: TrafficKind, wall: UInt64, bytes: [UInt8])] = []
        var bytes = 0
        let decoder = FrameDecoder()

        /// `model …, serial …, firmware …` once `bytes` (from the lock) complete an IDENTIFY response.
        func identified(by bytes: UnsafeRawBufferPointer) -> String? {
            var hardware: String?
            decoder.feed(bytes) { output in
                guard hardware == nil, case .frame(let frame) = output, frame.header.kind == .response,
                      case .identify(let identity)? = try? Response(type: frame.header.type, payload: frame.payload) else { return }
                hardware = TrafficRecorder.hardwareText(model: identity.model, serial: identity.serial, firmware: identity.firmwareVersion)
            }
            return hardware
        }
    }

    /// `if_hardware` of a lock's interface (Wireshark's interface "Hardware").
    static func hardwareText(model: String, serial: String, firmware: String) -> String {
        "model \(model), serial \(serial), firmware \(firmware)"
    }

    private func linkOpened(_ device: UInt16, identity: LinkIdentity) {
        if let waiting = awaitingIdentity[device] {
            guard waiting.identity != identity else { return } // reconnected before it answered: still waiting
            awaitingIdentity[device] = nil
            declare(device, waiting, hardware: nil)
        }
        // A link that comes back stays on its interface.
        if let known = interfaceOfDevice[device], known.identity == identity { return }
        if identity.dialect == "ldp" {
            awaitingIdentity[device] = AwaitingIdentity(identity: identity, since: MonotonicClock.nanoseconds())
        } else {
            interface(for: device, identity: identity, hardware: nil)
        }
    }

    /// Declares a waiting link's interface, then writes the packets it held.
    private func declare(_ device: UInt16, _ waiting: AwaitingIdentity, hardware: String?) {
        interface(for: device, identity: waiting.identity, hardware: hardware)
        for packet in waiting.packets {
            packet.bytes.withUnsafeBytes { write($0, kind: packet.kind, device: device, wall: packet.wall) }
        }
    }

    /// Writes one read or write of a device's link as the packet(s) its encapsulation makes.
    private func write(_ bytes: UnsafeRawBufferPointer, kind: TrafficKind, device: UInt16, wall: UInt64) {
        let known = interfaceOfDevice[device]
        let interface = known?.interface
            ?? interface(for: device, identity: LinkIdentity(transport: "?", path: "device \(device)", dialect: "?"), hardware: nil)
        let encapsulation = known?.identity.encapsulation ?? .stream(Self.ldpLinkType)
        let direction: PacketDirection = kind == .fromLock ? .inbound : .outbound
        urbID &+= 1
        encapsulation.packets(bytes, toLock: kind == .toLock, wallNanoseconds: wall, urbID: urbID, scratch: &scratch) { packet in
            // Straight into the pending buffer (no array per packet): the drain keeps up with bursts.
            makeRoom(for: PcapNG.enhancedPacketBlockSize(packetBytes: packet.count, direction: direction))
            guard !failed else { return }
            PcapNG.appendEnhancedPacketBlock(to: &pending, interface: interface, timestamp: wall, packet: packet, direction: direction)
            packetsWritten.add(1, ordering: .relaxed)
        }
    }

    /// Declares an interface for a device's link: a new one when the slot now reaches another lock.
    @discardableResult
    private func interface(for device: UInt16, identity: LinkIdentity, hardware: String?) -> UInt32 {
        if let known = interfaceOfDevice[device], known.identity == identity { return known.interface }
        var description = Self.interfaceDescription(identity)
        description.hardware = hardware
        let number = UInt32(interfaces.count)
        // Appended before it joins `interfaces`: a rotation inside `append` re-declares only the earlier ones.
        append(PcapNG.interfaceDescriptionBlock(description))
        interfaces.append(description)
        interfaceOfDevice[device] = (identity, number)
        return number
    }

    /// A byte stream of LDP/1 (serial) is LINKTYPE_USER0, of Tuya MCU LINKTYPE_USER1: the link
    /// types the dissectors in firmware-specs/wireshark/ register on. USB bulk and BLE links are
    /// written as the transport's own records (`LinkEncapsulation`), which those dissectors also read.
    static let ldpLinkType = LinkType.user(0)
    static let tuyaLinkType = LinkType.user(1)

    static func streamLinkType(dialect: String) -> LinkType {
        isTuya(dialect: dialect) ? tuyaLinkType : ldpLinkType
    }

    static func isTuya(dialect: String) -> Bool { ["tuya", "tuya-lowpower", "tuya-sniff"].contains(dialect) }

    static func interfaceDescription(_ identity: LinkIdentity) -> InterfaceDescription {
        let protocolName = isTuya(dialect: identity.dialect) ? "Tuya MCU" : identity.dialect == "ldp" ? "LDP/1" : identity.dialect
        let carriedAs: String = switch identity.encapsulation {
        case .stream: ""
        case .usb(let a):
            ", as usbmon records: bus \(a.bus) device \(a.device), bulk OUT endpoint \(hex(a.outEndpoint)), bulk IN \(hex(a.inEndpoint))"
        case .att(let a):
            ", as HCI ACL/ATT: writes to handle \(hex(a.commandHandle)), \(a.dataOpcode == ATTStreamAddress.indication ? "indications" : "notifications") from \(hex(a.dataHandle)), ATT_MTU \(a.mtu)"
        }
        return InterfaceDescription(linkType: identity.encapsulation.linkType, name: "\(identity.transport):\(identity.path)",
                                    description: "\(protocolName) lock on \(identity.transport) \(identity.path) (dialect \(identity.dialect))\(carriedAs)",
                                    resolution: .nanoseconds)
    }

    private static func hex<T: FixedWidthInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, MemoryLayout<T>.size * 2 - digits.count)) + digits
    }

    // MARK: Files

    private func append(_ block: [UInt8]) {
        makeRoom(for: block.count)
        if !failed { pending += block }
    }

    /// Rotates before a block of `size` bytes would take the file past its limit (a file with
    /// only its headers is kept whatever comes).
    private func makeRoom(for size: Int) {
        guard !failed else { return }
        if fileBytes + pending.count + size > configuration.maxBytes, fileBytes + pending.count > headerBytes {
            flush()
            rotate()
        }
    }

    /// What a fresh file starts with: the section header and every interface so far.
    private var headerBytes: Int {
        PcapNG.sectionHeaderBlock(section).count + interfaces.reduce(0) { $0 + PcapNG.interfaceDescriptionBlock($1).count }
    }

    private func flush() {
        guard !pending.isEmpty, !failed else { return }
        let ok = pending.withUnsafeBytes { OwnerOnlyFile.writeAll(fd, $0) }
        if ok {
            fileBytes += pending.count
        } else {
            failed = true
            logger.error("recording \(configuration.path): \(SystemError.last("write", path: configuration.path)) — the recording stopped here; free disk space or lower --record-max-bytes, then restart lockdiagd")
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func rotate() {
        close(fd)
        fd = -1
        let path = configuration.path
        if configuration.keepFiles > 1 {
            for n in stride(from: configuration.keepFiles - 1, through: 1, by: -1) {
                let from = n == 1 ? path : "\(path).\(n - 1)"
                rename(from, "\(path).\(n)")
            }
        }
        filesRotated.add(1, ordering: .relaxed)
        do {
            try openFile()
            for interface in interfaces { pending += PcapNG.interfaceDescriptionBlock(interface) }
        } catch {
            failed = true
            logger.error("\(error)")
        }
    }

    private func openFile() throws(RecordingError) {
        let path = configuration.path
        let opened: Int32
        do throws(OwnerOnlyFile.OpenError) { opened = try OwnerOnlyFile.create(path) } catch {
            throw RecordingError(description: "--record \(error)")
        }
        fd = opened
        fileBytes = 0
        pending = PcapNG.sectionHeaderBlock(section)
    }

    private func reportDrops() {
        let dropped = ring.dropped.chunks
        guard dropped != reportedDrops else { return }
        logger.warning("recording \(configuration.path): \(dropped - reportedDrops) chunk(s) dropped, the disk could not keep up (the poll loop never waits for it); \(dropped) in all")
        reportedDrops = dropped
    }

    // MARK: Who recorded

    static func hostDescription() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "host \(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) (\(machine))"
    }

    static func osDescription() -> String {
        var info = utsname()
        uname(&info)
        let system = withUnsafeBytes(of: &info.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let release = withUnsafeBytes(of: &info.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(system) \(release)"
    }
}
