import BLEProtocol
import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// Carries ATT PDUs, one per packet: an L2CAP ATT channel, or the seam's Unix seqpacket socket.
public protocol ATTBearer: AnyObject {
    func send(_ pdu: [UInt8]) throws(GATTError)
    /// The next PDU, or nil once `deadlineNanoseconds` (monotonic) has passed or the bearer was
    /// told to give up.
    func receive(deadlineNanoseconds: UInt64) throws(GATTError) -> [UInt8]?
}

/// A seqpacket socket (either kind) as an ATT bearer, used blocking-with-deadline during set-up.
/// `wake`, when given, interrupts a wait (the daemon stopping).
public final class ATTSocket: ATTBearer {
    public let fd: Int32
    private let wake: Int32
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)

    public init(fd: Int32, wake: Int32 = -1) {
        self.fd = fd
        self.wake = wake
    }

    deinit { buffer.deallocate() }

    public func send(_ pdu: [UInt8]) throws(GATTError) {
        while true {
            do {
                if try SeqPacket.send(fd, pdu) { return }
            } catch {
                throw SeqPacket.isHangUp(error) ? .disconnected(error.message) : .io(error)
            }
            // The socket's buffer is full: wait for room, briefly (set-up sends little).
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 100)
        }
    }

    public func receive(deadlineNanoseconds: UInt64) throws(GATTError) -> [UInt8]? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            let n: Int?
            do { n = try SeqPacket.receive(fd, into: buffer) } catch {
                throw SeqPacket.isHangUp(error) ? .disconnected(error.message) : .io(error)
            }
            if let n {
                if n == 0 { throw .disconnected("the connection closed") }
                return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            guard MonotonicClock.nanoseconds() < deadlineNanoseconds else { return nil }
            do { _ = try Poll.wait(&fds, count: wake >= 0 ? 2 : 1, deadlineNanoseconds: deadlineNanoseconds) } catch { throw .io(error) }
            if wake >= 0 && fds[1].revents != 0 { return nil }
        }
    }
}

/// A notification or indication the client received.
public struct ATTNotification: Hashable, Sendable {
    public var handle: UInt16
    public var value: [UInt8]
    /// An indication (already confirmed by the client).
    public var indicated: Bool

    public init(handle: UInt16, value: [UInt8], indicated: Bool) {
        self.handle = handle
        self.value = value
        self.indicated = indicated
    }
}

/// A GATT client (Core Specification v5.3, Vol 3, Part G, §4) over an `ATTBearer`: one
/// transaction at a time, each bounded by the ATT transaction timeout. Notifications and
/// indications that arrive meanwhile are kept (indications confirmed at once); requests from the
/// peer get Request Not Supported (an MTU exchange is answered). After a timeout the client
/// refuses every further request: ATT forbids using that bearer again (Vol 3, Part F, §3.3.3).
public final class GATTClient {
    public let bearer: any ATTBearer
    public let transactionTimeoutNanoseconds: UInt64
    /// The ATT_MTU in force (23 until an exchange raises it).
    public private(set) var mtu = ATT.defaultMTU
    /// What this side can receive, told to the peer in an MTU exchange.
    public private(set) var receiveMTU = ATT.defaultMTU
    /// Received while waiting for responses, oldest first; `takeNotifications()` empties it.
    public private(set) var notifications: [ATTNotification] = []
    /// PDUs from the peer that were malformed or out of place (ignored).
    public private(set) var ignoredPDUs = 0
    private var poisoned: GATTError?

    public init(bearer: any ATTBearer, transactionTimeoutSeconds: Double = ATT.transactionTimeoutSeconds) {
        self.bearer = bearer
        transactionTimeoutNanoseconds = UInt64(max(0.001, transactionTimeoutSeconds) * 1e9)
    }

    public func takeNotifications() -> [ATTNotification] {
        defer { notifications.removeAll() }
        return notifications
    }

    // MARK: Transactions

    /// Sends a request and returns its response; an Error Response for it throws `.attError`.
    public func transact(_ request: ATTPDU) throws(GATTError) -> ATTPDU {
        if let poisoned { throw poisoned }
        guard let expected = request.opcode.response else { preconditionFailure("\(request.opcode) is not a request") }
        try bearer.send(request.bytes)
        let deadline = MonotonicClock.nanoseconds() + transactionTimeoutNanoseconds
        while true {
            guard let raw = try bearer.receive(deadlineNanoseconds: deadline) else {
                let error = GATTError.transactionTimedOut(request.opcode, seconds: Double(transactionTimeoutNanoseconds) / 1e9)
                poisoned = error
                throw error
            }
            let pdu: ATTPDU
            do { pdu = try ATTPDU(bytes: raw) } catch {
                // A malformed answer to this request ends the transaction; anything else malformed is dropped.
                if error.opcode == expected || error.opcode == .errorResponse { throw .malformed(error) }
                ignoredPDUs += 1
                continue
            }
            switch pdu {
            case .errorResponse(let e) where e.request == request.opcode:
                throw .attError(e)
            case _ where pdu.opcode == expected:
                return pdu
            default:
                try handleUnsolicited(pdu)
            }
        }
    }

    /// Waits for the next notification or indication (from the queue first), until the deadline.
    public func nextNotification(deadlineNanoseconds: UInt64) throws(GATTError) -> ATTNotification? {
        if !notifications.isEmpty { return notifications.removeFirst() }
        while true {
            guard let raw = try bearer.receive(deadlineNanoseconds: deadlineNanoseconds) else { return nil }
            guard let pdu = try? ATTPDU(bytes: raw) else {
                ignoredPDUs += 1
                continue
            }
            try handleUnsolicited(pdu)
            if !notifications.isEmpty { return notifications.removeFirst() }
        }
    }

    private func handleUnsolicited(_ pdu: ATTPDU) throws(GATTError) {
        switch pdu {
        case .handleValueNotification(let handle, let value):
            notifications.append(ATTNotification(handle: handle, value: value, indicated: false))
        case .handleValueIndication(let handle, let value):
            notifications.append(ATTNotification(handle: handle, value: value, indicated: true))
            try bearer.send(ATTPDU.handleValueConfirmation.bytes)
        case .exchangeMTURequest(let theirs):
            try bearer.send(ATTPDU.exchangeMTUResponse(serverReceiveMTU: UInt16(receiveMTU)).bytes)
            mtu = max(ATT.defaultMTU, min(receiveMTU, Int(theirs)))
        case _ where pdu.opcode.isRequest || (!pdu.opcode.isCommand && !pdu.opcode.isKnown):
            try bearer.send(ATTPDU.errorResponse(ATTErrorResponse(request: pdu.opcode, handle: 0, code: .requestNotSupported)).bytes)
        default:
            ignoredPDUs += 1
        }
    }

    // MARK: Procedures

    /// Exchange MTU (§4.3.1): tells the server what this side receives; the link then uses the
    /// smaller of both, and never less than 23. A server without the procedure keeps 23.
    @discardableResult
    public func exchangeMTU(receiveMTU ours: Int) throws(GATTError) -> Int {
        receiveMTU = min(ATT.maxMTU, max(ATT.defaultMTU, ours))
        do {
            guard case .exchangeMTUResponse(let theirs) = try transact(.exchangeMTURequest(clientReceiveMTU: UInt16(receiveMTU))) else {
                return mtu
            }
            mtu = max(ATT.defaultMTU, min(receiveMTU, Int(theirs)))
        } catch .attError(let e) where e.code == .requestNotSupported {
            mtu = ATT.defaultMTU
        }
        return mtu
    }

    /// A server answers discovery with handles inside the range asked, in ascending order
    /// (Core v5.3, Vol 3, Part F, §3.4.3–3.4.4); anything else is a broken or hostile server,
    /// and the arithmetic that follows (end handles from the next declaration) relies on it.
    static func checkAscending(_ handles: [UInt16], within range: ATTHandleRange, after previous: UInt16?, _ what: String) throws(GATTError) {
        var last = previous
        for handle in handles {
            guard handle >= range.start, handle <= range.end, last.map({ handle > $0 }) ?? true else {
                throw .handlesOutOfRange("\(what): 0x\(String(handle, radix: 16)) where 0x\(String(range.start, radix: 16))–0x\(String(range.end, radix: 16)) was asked"
                                         + (last.map { " after 0x\(String($0, radix: 16))" } ?? ""))
            }
            last = handle
        }
    }

    /// Discover All Primary Services (§4.4.1).
    public func discoverPrimaryServices() throws(GATTError) -> [GATTService] {
        var services: [GATTService] = []
        var start: UInt16 = 0x0001
        while true {
            let entries: [ATTGroupValue]
            do {
                guard case .readByGroupTypeResponse(let list) = try transact(.readByGroupTypeRequest(ATTHandleRange(start: start, end: 0xFFFF),
                                                                                                      type: GATTUUID.primaryService)) else { break }
                entries = list
            } catch .attError(let e) where e.code == .attributeNotFound {
                break
            }
            try Self.checkAscending(entries.map(\.handle), within: ATTHandleRange(start: start, end: 0xFFFF), after: services.last?.handles.end,
                                    "in service discovery")
            for entry in entries {
                do { services.append(try GATTService(entry)) } catch { throw .badDeclaration(error) }
            }
            guard let last = entries.last else { break }
            guard last.endGroupHandle >= start else { throw .noProgress("in service discovery (end handle \(last.endGroupHandle) before \(start))") }
            if last.endGroupHandle == 0xFFFF { break }
            start = last.endGroupHandle + 1
        }
        return services
    }

    /// Discover All Characteristics of a Service (§4.6.1), with each one's end handle.
    public func discoverCharacteristics(of service: GATTService) throws(GATTError) -> [GATTCharacteristic] {
        var found: [GATTCharacteristic] = []
        var start = service.handles.start
        while start <= service.handles.end {
            let entries: [ATTHandleValue]
            do {
                guard case .readByTypeResponse(let list) = try transact(.readByTypeRequest(ATTHandleRange(start: start, end: service.handles.end),
                                                                                            type: GATTUUID.characteristic)) else { break }
                entries = list
            } catch .attError(let e) where e.code == .attributeNotFound {
                break
            }
            try Self.checkAscending(entries.map(\.handle), within: ATTHandleRange(start: start, end: service.handles.end),
                                    after: found.last?.declarationHandle, "in characteristic discovery")
            for entry in entries {
                do { found.append(try GATTCharacteristic(declaration: entry)) } catch { throw .badDeclaration(error) }
            }
            guard let last = entries.last, last.handle >= start else { throw .noProgress("in characteristic discovery") }
            if last.handle == 0xFFFF { break }
            start = last.handle + 1
        }
        for i in found.indices {
            found[i].endHandle = i + 1 < found.count ? found[i + 1].declarationHandle - 1 : service.handles.end
            if found[i].endHandle < found[i].valueHandle { found[i].endHandle = found[i].valueHandle }
        }
        return found
    }

    /// Discover All Characteristic Descriptors (§4.7.1).
    public func discoverDescriptors(of characteristic: GATTCharacteristic) throws(GATTError) -> [ATTHandleUUID] {
        guard characteristic.hasDescriptorRange else { return [] }
        var found: [ATTHandleUUID] = []
        var start = characteristic.valueHandle + 1
        while start <= characteristic.endHandle {
            let entries: [ATTHandleUUID]
            do {
                guard case .findInformationResponse(let list) = try transact(.findInformationRequest(ATTHandleRange(start: start, end: characteristic.endHandle))) else { break }
                entries = list
            } catch .attError(let e) where e.code == .attributeNotFound {
                break
            }
            try Self.checkAscending(entries.map(\.handle), within: ATTHandleRange(start: start, end: characteristic.endHandle),
                                    after: found.last?.handle, "in descriptor discovery")
            found += entries
            guard let last = entries.last, last.handle >= start else { throw .noProgress("in descriptor discovery") }
            if last.handle == 0xFFFF { break }
            start = last.handle + 1
        }
        return found
    }

    /// Read Characteristic Value (§4.8.1), continued with Read Blob requests while each part
    /// fills the MTU (Read Long Characteristic Values, §4.8.3). At most 512 bytes, the longest
    /// attribute value.
    public func read(_ handle: UInt16) throws(GATTError) -> [UInt8] {
        guard case .readResponse(var value) = try transact(.readRequest(handle: handle)) else { return [] }
        var part = value.count
        while part == mtu - 1 && value.count < 512 {
            let piece: [UInt8]
            do {
                guard case .readBlobResponse(let bytes) = try transact(.readBlobRequest(handle: handle, offset: UInt16(value.count))) else { break }
                piece = bytes
            } catch .attError(let e) where e.code == .attributeNotLong || e.code == .invalidOffset {
                break
            }
            value += piece
            part = piece.count
        }
        return Array(value.prefix(512))
    }

    /// Write Characteristic Value (§4.9.3): a Write Request, answered by a Write Response.
    public func write(_ handle: UInt16, _ value: [UInt8]) throws(GATTError) {
        guard value.count <= mtu - 3 else { throw .valueTooLong(value.count, maximum: mtu - 3) }
        _ = try transact(.writeRequest(handle: handle, value: value))
    }

    /// Write Without Response (§4.9.1): a Write Command, never answered.
    public func writeWithoutResponse(_ handle: UInt16, _ value: [UInt8]) throws(GATTError) {
        if let poisoned { throw poisoned }
        guard value.count <= mtu - 3 else { throw .valueTooLong(value.count, maximum: mtu - 3) }
        try bearer.send(ATTPDU.writeCommand(handle: handle, value: value).bytes)
    }

    /// Writes a Client Characteristic Configuration descriptor (§3.3.3.3): bit 0 notifications,
    /// bit 1 indications.
    public func configure(cccd handle: UInt16, notifications notify: Bool, indications indicate: Bool) throws(GATTError) {
        try write(handle, [(notify ? 0x01 : 0) | (indicate ? 0x02 : 0), 0x00])
    }
}
