import BLEProtocol
import LinuxIO
import LockProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Why a BLE link cannot be opened now. Its text is the connection's live status, read when the
/// poll loop reports it (once per outage).
public struct BLELinkNotReady: Error, CustomStringConvertible {
    let status: BLELinkStatus
    public var description: String { status.problem() ?? "connecting over Bluetooth LE" }
}

/// A BLE lock as the poll loop drives it: the `DeviceLink` shape (open, read, write, close, a
/// descriptor to watch) over a GATT connection another thread set up.
///
/// - `open()` never blocks: it takes the connection its `BLEConnector` thread has set up (MTU
///   exchange, discovery, reads, notifications enabled) or fails at once; the connector keeps
///   trying with backoff meanwhile, so the loop is never stalled by Bluetooth.
/// - With the LDP service, `write` fragments the LDP/1 byte stream into Write Commands (or Write
///   Requests) of at most ATT_MTU − 3 bytes on the command characteristic, and `read` returns the
///   bytes of the notifications (or indications) on the response/event characteristic, in order:
///   the loop's frame decoder reassembles frames exactly as from a serial line.
/// - Without it (`carriesLDP` false), the link carries no LDP bytes: it offers what the standard
///   services report — Device Information as read at set-up, each Battery Level notification or
///   read (`takeBatteryLevel`) — to the daemon's GATT driver, and re-reads Battery Level
///   periodically from `serviceTimers` (which also proves the lock's GATT server alive: a read
///   unanswered within the ATT transaction timeout closes the link).
///
/// `fileDescriptor` is a small epoll set of the socket and an eventfd for LDP bytes that arrived
/// during set-up, so they wake the loop like arriving ones. After `open()` nothing here
/// allocates, locks or logs; status goes out through atomics.
public final class BLELink {
    public let endpoint: BLEEndpoint
    public let options: BLEOptions
    /// Shared with the hub: connection progress, GATT profile, battery, counters.
    public let status: BLELinkStatus
    public var transport: String { "ble" }
    public var path: String { endpoint.description }
    public private(set) var fileDescriptor: Int32 = -1
    /// LDP/1's response deadline over this link.
    public var responseTimeoutNanoseconds: UInt64? { UInt64(options.ldpResponseTimeoutSeconds * 1e9) }

    private let connector: BLEConnector
    private let readiness: Epoll
    private let localReady: EventDoorbell
    private var socket: Int32 = -1
    private var mtu = ATT.defaultMTU
    private var ldp: LDPEndpoints?
    private var battery: BatteryEndpoint?
    /// The latest Battery Level (0…100) not yet taken, or -1.
    private var freshBatteryPercent: Int16 = -1
    /// The Device Information Service's strings as read at set-up (empty without the service).
    public private(set) var deviceInformation = DeviceInformation()
    private var local = ByteQueue(capacity: 16 * 1024)
    private let packet = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
    private let outgoing = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
    /// The opcode of this link's ATT request in flight (0: none) and its deadline.
    private var outstanding: UInt8 = 0
    private var outstandingDeadline: UInt64 = 0
    private var nextBatteryRead: UInt64 = 0
    private var closedReason: StaticString?
    private var closedDetail: Int32 = 0

    private static let socketToken: UInt64 = 1
    private static let localToken: UInt64 = 2

    /// Starts connecting at once (on the connector's thread); the loop opens the link later.
    public init(endpoint: BLEEndpoint, options: BLEOptions = BLEOptions()) throws(SystemError) {
        self.endpoint = endpoint
        self.options = options
        status = BLELinkStatus(endpoint: endpoint, options: options)
        connector = try BLEConnector(status: status)
        readiness = try Epoll(capacity: 4)
        localReady = try EventDoorbell()
        do {
            try readiness.add(localReady.fd, events: .readable, token: Self.localToken)
            try connector.start()
        } catch {
            readiness.close()
            localReady.close()
            throw error
        }
    }

    deinit {
        connector.stop()
        closeSocket()
        readiness.close()
        localReady.close()
        packet.deallocate()
        outgoing.deallocate()
        local.deallocate()
    }

    public var isOpen: Bool { socket >= 0 }

    // MARK: DeviceLink

    /// Takes the connection the connector has set up; throws at once when there is none yet.
    public func open() throws(BLELinkNotReady) {
        guard socket < 0 else { return }
        guard let ready = connector.takeReady() else { throw BLELinkNotReady(status: status) }
        do {
            try readiness.add(ready.fd, events: [.readable, .readHangUp], token: Self.socketToken)
        } catch {
            FileIO.close(ready.fd)
            connector.sessionEnded(reason: "epoll_ctl failed: \(error.message)")
            throw BLELinkNotReady(status: status)
        }
        socket = ready.fd
        let profile = ready.profile
        mtu = profile.mtu
        ldp = profile.ldp
        battery = profile.battery
        deviceInformation = profile.deviceInformation
        freshBatteryPercent = profile.batteryPercent.map { Int16($0) } ?? -1
        local.removeAll()
        localReady.drain()
        if !profile.pendingLDPBytes.isEmpty {
            profile.pendingLDPBytes.withUnsafeBytes { local.append($0) }
            localReady.ring()
        }
        outstanding = 0
        closedReason = nil
        closedDetail = 0
        nextBatteryRead = MonotonicClock.nanoseconds() + UInt64(options.batteryReadIntervalSeconds * 1e9)
        status.publishBattery(profile.batteryPercent)
        status.update { $0.phase = .connected }
        fileDescriptor = readiness.fd
    }

    /// LDP bytes from the lock: notifications on the response/event characteristic, in order
    /// (none without the LDP service). Other PDUs (battery, responses to this link's own requests,
    /// requests from the lock) are handled on the way.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult {
        guard socket >= 0, closedReason == nil else { return .closed }
        localReady.drain()
        var written = local.pop(into: buffer)
        // More than one buffer's worth of local bytes: make sure the loop comes back for the rest.
        if !local.isEmpty { localReady.ring() }
        // Room for one more notification's value before each receive, so none is ever cut.
        while buffer.count - written >= mtu {
            let n: Int?
            do { n = try SeqPacket.receive(socket, into: packet) } catch {
                return fail("the connection failed", errno: error.errno)
            }
            guard let n else { break }
            if n == 0 { return fail("the lock disconnected") }
            status.countIn()
            written += handlePacket(length: n, into: UnsafeMutableRawBufferPointer(rebasing: buffer[written...]))
            if closedReason != nil { return .closed }
        }
        if !checkTimers(MonotonicClock.nanoseconds()) { return .closed }
        return written > 0 ? .bytes(written) : .wouldBlock
    }

    /// LDP bytes for the lock: fragmented into writes on the command characteristic. A lock
    /// without the LDP service has nowhere to take them: they are dropped.
    public func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult {
        guard socket >= 0, closedReason == nil else { return .closed }
        if !checkTimers(MonotonicClock.nanoseconds()) { return .closed }
        guard let ldp, !bytes.isEmpty else { return .bytes(bytes.count) }
        let chunk = LDPGATT.chunkSize(mtu: mtu)
        if ldp.commandWithoutResponse {
            var sent = 0
            while sent < bytes.count {
                let count = min(chunk, bytes.count - sent)
                let accepted: Bool
                do {
                    accepted = try sendWrite(opcode: ATTOpcode.writeCommand.rawValue, handle: ldp.commandHandle,
                                             UnsafeRawBufferPointer(rebasing: bytes[sent..<(sent + count)]))
                } catch {
                    return sent > 0 ? .bytes(sent) : fail("the connection failed", errno: error.errno)
                }
                guard accepted else { break }
                sent += count
            }
            return sent > 0 ? .bytes(sent) : .wouldBlock
        }
        // Write Requests: one in flight; the rest goes when its Write Response is back.
        guard outstanding == 0 else { return .wouldBlock }
        let count = min(chunk, bytes.count)
        do {
            guard try sendWrite(opcode: ATTOpcode.writeRequest.rawValue, handle: ldp.commandHandle, UnsafeRawBufferPointer(rebasing: bytes[0..<count])) else {
                return .wouldBlock
            }
        } catch {
            return fail("the connection failed", errno: error.errno)
        }
        startRequest(ATTOpcode.writeRequest.rawValue)
        return .bytes(count)
    }

    /// Closes the connection (idempotent); the connector reconnects after its backoff.
    public func close() {
        guard socket >= 0 else { return }
        closeSocket()
        let reason: String = switch closedReason?.description {
        case nil: "closed by lockdiagd"
        case let text?: closedDetail != 0 ? "\(text) (\(SystemError("recv", errno: closedDetail).message))" : text
        }
        connector.sessionEnded(reason: reason)
    }

    private func closeSocket() {
        guard socket >= 0 else { return }
        readiness.remove(socket)
        FileIO.close(socket)
        socket = -1
        fileDescriptor = -1
        local.removeAll()
        localReady.drain()
    }

    // MARK: PDUs

    /// Handles one received PDU; returns the LDP bytes it put into `buffer`.
    private func handlePacket(length n: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let opcode = packet[0]
        switch opcode {
        case ATTOpcode.handleValueNotification.rawValue, ATTOpcode.handleValueIndication.rawValue:
            guard n >= 3 else { return 0 }
            if opcode == ATTOpcode.handleValueIndication.rawValue {
                outgoing[0] = ATTOpcode.handleValueConfirmation.rawValue
                sendRaw(count: 1)
            }
            status.countNotification()
            let handle = UInt16(packet[1]) | UInt16(packet[2]) << 8
            let value = UnsafeRawBufferPointer(rebasing: packet[3..<n])
            if let ldp, handle == ldp.dataHandle {
                let count = min(value.count, buffer.count)
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: value[0..<count]))
                return count
            }
            if let battery, handle == battery.valueHandle { batteryLevel(value) }
        case ATTOpcode.readResponse.rawValue:
            if outstanding == ATTOpcode.readRequest.rawValue {
                outstanding = 0
                batteryLevel(UnsafeRawBufferPointer(rebasing: packet[1..<n]))
            }
        case ATTOpcode.writeResponse.rawValue:
            if outstanding == ATTOpcode.writeRequest.rawValue { outstanding = 0 }
        case ATTOpcode.errorResponse.rawValue:
            if n >= 5, packet[1] == outstanding { outstanding = 0 }
            status.countErrorResponse()
        case ATTOpcode.exchangeMTURequest.rawValue:
            // The lock may start an MTU exchange of its own; answer with what we receive.
            outgoing[0] = ATTOpcode.exchangeMTUResponse.rawValue
            outgoing[1] = UInt8(truncatingIfNeeded: options.receiveMTU)
            outgoing[2] = UInt8(truncatingIfNeeded: options.receiveMTU >> 8)
            sendRaw(count: 3)
            if n >= 3 { mtu = max(ATT.defaultMTU, min(options.receiveMTU, Int(UInt16(packet[1]) | UInt16(packet[2]) << 8))) }
        default:
            let op = ATTOpcode(rawValue: opcode)
            if op.isRequest || (!op.isCommand && !op.isKnown) {
                outgoing[0] = ATTOpcode.errorResponse.rawValue
                outgoing[1] = opcode
                outgoing[2] = 0
                outgoing[3] = 0
                outgoing[4] = ATTErrorCode.requestNotSupported.rawValue
                sendRaw(count: 5)
            }
        }
        return 0
    }

    private func batteryLevel(_ value: UnsafeRawBufferPointer) {
        guard let first = value.first, first <= 100 else { return }
        freshBatteryPercent = Int16(first)
        status.publishBattery(Int(first))
    }

    // MARK: Standard services (a lock without LDP)

    /// Whether the lock has the LDP service (its bytes go through `read`/`write`); false: only
    /// the standard services, offered through `deviceInformation` and `takeBatteryLevel`.
    /// Known once open.
    public var carriesLDP: Bool { ldp != nil }

    /// The LDP service's handles and how they are written, once open (a recording names them).
    public var ldpEndpoints: LDPEndpoints? { ldp }
    /// The connection's ATT_MTU once open.
    public var attMTU: Int { mtu }

    /// The Battery Level (0…100 %) the lock reported (set-up read, notification or periodic read)
    /// since the last call, nil when none came.
    public func takeBatteryLevel() -> Int? {
        guard freshBatteryPercent >= 0 else { return nil }
        defer { freshBatteryPercent = -1 }
        return Int(freshBatteryPercent)
    }

    /// Runs the link's timers when nothing else does (a lock without LDP is never written to):
    /// the periodic Battery Level read and the ATT transaction timeout. False when the link must
    /// close (`close` then tells the connection status why).
    public func serviceTimers(now: UInt64) -> Bool {
        guard socket >= 0, closedReason == nil else { return false }
        return checkTimers(now)
    }

    /// A write PDU (opcode, handle, value) built in the preallocated buffer and sent.
    private func sendWrite(opcode: UInt8, handle: UInt16, _ value: UnsafeRawBufferPointer) throws(SystemError) -> Bool {
        outgoing[0] = opcode
        outgoing[1] = UInt8(truncatingIfNeeded: handle)
        outgoing[2] = UInt8(truncatingIfNeeded: handle >> 8)
        UnsafeMutableRawBufferPointer(rebasing: outgoing[3..<(3 + value.count)]).copyMemory(from: value)
        let sent = try SeqPacket.send(socket, UnsafeRawBufferPointer(rebasing: outgoing[0..<(3 + value.count)]))
        if sent { status.countOut() }
        return sent
    }

    /// Sends a short PDU from `outgoing`; a failure shows on the next read.
    private func sendRaw(count: Int) {
        if (try? SeqPacket.send(socket, UnsafeRawBufferPointer(rebasing: outgoing[0..<count]))) == true { status.countOut() }
    }

    private func startRequest(_ opcode: UInt8) {
        outstanding = opcode
        outstandingDeadline = MonotonicClock.nanoseconds() + UInt64(options.transactionTimeoutSeconds * 1e9)
    }

    /// The ATT transaction timeout, and a standard-services lock's periodic Battery Level read.
    /// False when the link must close.
    private func checkTimers(_ now: UInt64) -> Bool {
        if outstanding != 0 && now >= outstandingDeadline {
            closedReason = "no ATT response within the transaction timeout (the lock's GATT server hung)"
            return false
        }
        if ldp == nil, outstanding == 0, let battery, battery.readable, now >= nextBatteryRead {
            nextBatteryRead = now + UInt64(options.batteryReadIntervalSeconds * 1e9)
            outgoing[0] = ATTOpcode.readRequest.rawValue
            outgoing[1] = UInt8(truncatingIfNeeded: battery.valueHandle)
            outgoing[2] = UInt8(truncatingIfNeeded: battery.valueHandle >> 8)
            do {
                if try SeqPacket.send(socket, UnsafeRawBufferPointer(rebasing: outgoing[0..<3])) {
                    status.countOut()
                    startRequest(ATTOpcode.readRequest.rawValue)
                }
            } catch {
                _ = fail("the connection failed", errno: error.errno)
                return false
            }
        }
        return true
    }

    private func fail(_ reason: StaticString, errno: Int32 = 0) -> IOResult {
        closedReason = reason
        closedDetail = errno
        return .closed
    }
}

/// A fixed-capacity byte FIFO (no allocation after init); bytes that do not fit are dropped, as
/// a UART drops what its receiver cannot take.
struct ByteQueue {
    private let storage: UnsafeMutableRawBufferPointer
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { storage = .allocate(byteCount: capacity, alignment: 8) }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes.prefix(storage.count - count) {
            storage[(head + count) % storage.count] = byte
            count += 1
        }
    }

    mutating func pop(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(count, buffer.count)
        for i in 0..<n { buffer[i] = storage[(head + i) % storage.count] }
        head = (head + n) % storage.count
        count -= n
        return n
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }

    func deallocate() { storage.deallocate() }
}
