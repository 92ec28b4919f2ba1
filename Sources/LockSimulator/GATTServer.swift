import BLEProtocol

/// How a simulated lock serves over Bluetooth LE: where (the seqpacket seam, or a real
/// controller), which services, its receive MTU.
public struct BLEServing: Sendable, Equatable {
    /// Where the lock's radio listens for a central.
    public enum Radio: Sendable, Equatable {
        /// The test seam: a Unix SOCK_SEQPACKET socket at this path, one ATT PDU per packet.
        case seam(path: String)
        /// A real Bluetooth controller (`hci0`): the L2CAP ATT fixed channel on its LE address,
        /// advertised through the kernel's management API (BluetoothRadio.swift).
        case adapter(String)
    }

    /// Which GATT services the lock exposes.
    public enum Services: String, Sendable, CaseIterable {
        /// Battery, Device Information and the LDP service: full diagnosis.
        case full
        /// Only Battery and Device Information, as many locks ship.
        case standard
    }

    public var radio: Radio
    public var services: Services
    /// The ATT_MTU the lock can receive (23…517); the link uses the smaller of both sides'.
    public var receiveMTU: Int
    /// Every value but the GAP and GATT services' needs an encrypted link: reads and writes are
    /// refused with Insufficient Authentication, as by a lock that wants pairing first.
    public var requirePairing: Bool
    /// The response/event characteristic indicates instead of notifying: one value at a time,
    /// each confirmed by the client before the next.
    public var ldpIndicates: Bool
    /// The command characteristic takes only Write Requests (each answered), not Write Commands.
    public var ldpWritesWithResponse: Bool

    public init(radio: Radio, services: Services = .full, receiveMTU: Int = 247, requirePairing: Bool = false,
                ldpIndicates: Bool = false, ldpWritesWithResponse: Bool = false) {
        self.ldpIndicates = ldpIndicates
        self.ldpWritesWithResponse = ldpWritesWithResponse
        self.radio = radio
        self.services = services
        self.receiveMTU = receiveMTU
        self.requirePairing = requirePairing
    }

    /// On the seam at `socketPath`.
    public init(socketPath: String, services: Services = .full, receiveMTU: Int = 247, requirePairing: Bool = false,
                ldpIndicates: Bool = false, ldpWritesWithResponse: Bool = false) {
        self.init(radio: .seam(path: socketPath), services: services, receiveMTU: receiveMTU, requirePairing: requirePairing,
                  ldpIndicates: ldpIndicates, ldpWritesWithResponse: ldpWritesWithResponse)
    }

    /// What the lock advertises (firmware-specs/ble-gatt.md §7): the LDP service's UUID (unless it
    /// has only the standard services) and the Battery Service's in the advertising data, behind
    /// the Flags the kernel adds; its device name in the scan response, shortened to fit.
    public func advertisement(deviceName: String) -> (data: [UInt8], scanResponse: [UInt8]) {
        var data = AdvertisingData()
        if services == .full {
            // The LDP service is the lock's one 128-bit service: the 128-bit list is complete.
            data.structures.append(ADStructure(type: ADType.completeUUID128, data: LDPGATT.service.fullLittleEndianBytes))
        }
        // GAP, GATT and Device Information are left out: the 16-bit list is incomplete.
        data.structures.append(ADStructure(type: ADType.incompleteUUID16, data: GATTUUID.batteryService.attBytes))
        let name = Array(deviceName.utf8)
        let room = Management.maximumAdvertisingBytes - 2
        let response = AdvertisingData(structures: [
            ADStructure(type: name.count <= room ? ADType.completeLocalName : ADType.shortenedLocalName, data: Array(name.prefix(room)))])
        return (data.bytes, response.bytes)
    }
}

/// The simulated lock's GATT server (Core Specification v5.3, Vol 3, Parts F and G): an
/// attribute database with the GAP and GATT services, Battery, Device Information and (unless
/// the lock is a standard-services one) the LDP service, and the server side of ATT. No I/O:
/// `handle` takes one request PDU and returns the response, and notifications come out of
/// `notifyLDP`/`notifyBattery` as PDUs for the caller to send.
public final class GATTServer {
    /// What the lock's firmware provides to the server.
    public struct Values: Sendable {
        public var deviceName: String
        public var manufacturer: String
        public var model: String
        public var serial: String
        public var hardwareRevision: String
        public var firmwareRevision: String
        public var softwareRevision: String

        public init(deviceName: String, manufacturer: String, model: String, serial: String, hardwareRevision: String,
                    firmwareRevision: String, softwareRevision: String) {
            self.deviceName = deviceName
            self.manufacturer = manufacturer
            self.model = model
            self.serial = serial
            self.hardwareRevision = hardwareRevision
            self.firmwareRevision = firmwareRevision
            self.softwareRevision = softwareRevision
        }
    }

    private enum Content {
        case fixed([UInt8])
        case battery
        case ldpCommand
        case ldpData
        case cccd(CCCD)
        case serviceChanged
    }

    enum CCCD: Int { case serviceChanged, battery, ldp }

    private struct Attribute {
        let handle: UInt16
        let type: BluetoothUUID
        let content: Content
        let readable: Bool
        let writable: Bool
        /// Refused without pairing when the lock requires it.
        let protected: Bool
    }

    public let serving: BLEServing
    public private(set) var mtu = ATT.defaultMTU
    private var attributes: [Attribute] = []
    private var cccds = [UInt16](repeating: 0, count: 3)
    private var mtuExchanged = false
    /// Indications waiting for the previous one's confirmation (ATT allows one outstanding).
    private var pendingIndications: [[UInt8]] = []
    private var awaitingConfirmation = false
    public private(set) var batteryHandle: UInt16 = 0
    public private(set) var ldpDataHandle: UInt16 = 0
    public private(set) var lastNotifiedBattery: UInt8?
    /// Requests answered with an Error Response, and PDUs that were not ATT at all.
    public private(set) var errorsSent: UInt64 = 0
    public private(set) var malformed: UInt64 = 0

    public init(serving: BLEServing, values: Values) {
        self.serving = serving
        build(values)
    }

    /// A new connection: MTU back to 23, every CCCD off (the client is not bonded).
    public func reset() {
        pendingIndications.removeAll()
        awaitingConfirmation = false
        mtu = ATT.defaultMTU
        mtuExchanged = false
        cccds = [0, 0, 0]
        lastNotifiedBattery = nil
    }

    public var ldpNotificationsEnabled: Bool { cccds[CCCD.ldp.rawValue] & 0x03 != 0 }
    public var batteryNotificationsEnabled: Bool { cccds[CCCD.battery.rawValue] & 0x01 != 0 }

    // MARK: Database

    private func build(_ v: Values) {
        var next: UInt16 = 1
        func add(_ type: BluetoothUUID, _ content: Content, readable: Bool = true, writable: Bool = false, protected: Bool = false) -> UInt16 {
            attributes.append(Attribute(handle: next, type: type, content: content, readable: readable, writable: writable,
                                        protected: protected && serving.requirePairing))
            defer { next += 1 }
            return next
        }
        func service(_ uuid: BluetoothUUID) { _ = add(GATTUUID.primaryService, .fixed(uuid.attBytes)) }
        func characteristic(_ uuid: BluetoothUUID, _ properties: GATTCharacteristicProperties, _ content: Content,
                            readable: Bool = true, writable: Bool = false, protected: Bool = true) -> UInt16 {
            let valueHandle = next + 1
            _ = add(GATTUUID.characteristic, .fixed([properties.rawValue, UInt8(truncatingIfNeeded: valueHandle), UInt8(valueHandle >> 8)] + uuid.attBytes))
            return add(uuid, content, readable: readable, writable: writable, protected: protected)
        }
        func text(_ s: String) -> Content { .fixed(Array(s.utf8.prefix(512))) }

        service(GATTUUID.genericAccessService)
        _ = characteristic(GATTUUID.deviceName, .read, text(v.deviceName), protected: false)
        _ = characteristic(GATTUUID.appearance, .read, .fixed([0x00, 0x00]), protected: false)
        service(GATTUUID.genericAttributeService)
        _ = characteristic(GATTUUID.serviceChanged, .indicate, .serviceChanged, readable: false, protected: false)
        _ = add(GATTUUID.clientCharacteristicConfiguration, .cccd(.serviceChanged), writable: true)

        service(GATTUUID.batteryService)
        batteryHandle = characteristic(GATTUUID.batteryLevel, [.read, .notify], .battery)
        _ = add(GATTUUID.clientCharacteristicConfiguration, .cccd(.battery), writable: true)

        service(GATTUUID.deviceInformationService)
        _ = characteristic(GATTUUID.manufacturerName, .read, text(v.manufacturer))
        _ = characteristic(GATTUUID.modelNumber, .read, text(v.model))
        _ = characteristic(GATTUUID.serialNumber, .read, text(v.serial))
        _ = characteristic(GATTUUID.hardwareRevision, .read, text(v.hardwareRevision))
        _ = characteristic(GATTUUID.firmwareRevision, .read, text(v.firmwareRevision))
        _ = characteristic(GATTUUID.softwareRevision, .read, text(v.softwareRevision))

        if serving.services == .full {
            service(LDPGATT.service)
            _ = characteristic(LDPGATT.command, serving.ldpWritesWithResponse ? .write : [.writeWithoutResponse, .write], .ldpCommand,
                               readable: false, writable: true)
            ldpDataHandle = characteristic(LDPGATT.responseEvent, serving.ldpIndicates ? .indicate : .notify, .ldpData, readable: false)
            _ = add(GATTUUID.clientCharacteristicConfiguration, .cccd(.ldp), writable: true)
        }
    }

    /// The service groups: declaration handle, end handle, UUID.
    private var groups: [(start: UInt16, end: UInt16, uuid: [UInt8])] {
        var result: [(UInt16, UInt16, [UInt8])] = []
        for (i, a) in attributes.enumerated() where a.type == GATTUUID.primaryService {
            let end = attributes[(i + 1)...].first { $0.type == GATTUUID.primaryService }.map { $0.handle - 1 } ?? attributes.last!.handle
            if case .fixed(let uuid) = a.content { result.append((a.handle, end, uuid)) }
        }
        return result
    }

    private func attribute(_ handle: UInt16) -> Attribute? {
        guard handle >= 1, Int(handle) <= attributes.count else { return nil }
        return attributes[Int(handle) - 1]
    }

    private func value(of a: Attribute, batteryPercent: UInt8) -> [UInt8] {
        switch a.content {
        case .fixed(let bytes): bytes
        case .battery: [batteryPercent]
        case .cccd(let which): [UInt8(truncatingIfNeeded: cccds[which.rawValue]), UInt8(cccds[which.rawValue] >> 8)]
        case .ldpCommand, .ldpData, .serviceChanged: []
        }
    }

    // MARK: Requests

    /// Answers one PDU from the client. `ldpWrite` gets the bytes written to the LDP command
    /// characteristic. Returns the response to send, or nil (commands, confirmations).
    public func handle(_ bytes: [UInt8], batteryPercent: UInt8, ldpWrite: ([UInt8]) -> Void) -> [UInt8]? {
        let pdu: ATTPDU
        do { pdu = try ATTPDU(bytes: bytes) } catch {
            malformed += 1
            guard let op = error.opcode, !op.isCommand else { return nil }
            let handle: UInt16 = if case .invalidRange(_, let range) = error { range.start } else { 0 }
            return fail(op, handle, error.responseCode)
        }
        switch pdu {
        case .exchangeMTURequest(let clientMTU):
            if !mtuExchanged {
                mtuExchanged = true
                mtu = max(ATT.defaultMTU, min(serving.receiveMTU, Int(clientMTU)))
            }
            return ATTPDU.exchangeMTUResponse(serverReceiveMTU: UInt16(serving.receiveMTU)).bytes
        case .readByGroupTypeRequest(let range, let type):
            guard type == GATTUUID.primaryService else { return fail(pdu.opcode, range.start, .unsupportedGroupType) }
            var list: [ATTGroupValue] = []
            for g in groups where g.start >= range.start && g.start <= range.end {
                if let first = list.first, first.value.count != g.uuid.count { break }
                guard 2 + (list.count + 1) * (4 + g.uuid.count) <= mtu else { break }
                list.append(ATTGroupValue(handle: g.start, endGroupHandle: g.end, value: g.uuid))
            }
            return list.isEmpty ? fail(pdu.opcode, range.start, .attributeNotFound) : ATTPDU.readByGroupTypeResponse(list).bytes
        case .readByTypeRequest(let range, let type):
            var list: [ATTHandleValue] = []
            for a in attributes where a.handle >= range.start && a.handle <= range.end && a.type == type {
                if list.isEmpty {
                    if !a.readable { return fail(pdu.opcode, a.handle, .readNotPermitted) }
                    if a.protected { return fail(pdu.opcode, a.handle, .insufficientAuthentication) }
                } else if !a.readable || a.protected {
                    break
                }
                let v = Array(value(of: a, batteryPercent: batteryPercent).prefix(min(mtu - 4, 253)))
                if let first = list.first, first.value.count != v.count { break }
                guard 2 + (list.count + 1) * (2 + v.count) <= mtu else { break }
                list.append(ATTHandleValue(handle: a.handle, value: v))
            }
            return list.isEmpty ? fail(pdu.opcode, range.start, .attributeNotFound) : ATTPDU.readByTypeResponse(list).bytes
        case .findInformationRequest(let range):
            var list: [ATTHandleUUID] = []
            for a in attributes where a.handle >= range.start && a.handle <= range.end {
                if let first = list.first, (first.uuid.shortValue == nil) != (a.type.shortValue == nil) { break }
                let entry = 2 + a.type.attBytes.count
                guard 2 + (list.count + 1) * entry <= mtu else { break }
                list.append(ATTHandleUUID(handle: a.handle, uuid: a.type))
            }
            return list.isEmpty ? fail(pdu.opcode, range.start, .attributeNotFound) : ATTPDU.findInformationResponse(list).bytes
        case .findByTypeValueRequest(let range, let type, let wanted):
            guard type == 0x2800 else { return fail(pdu.opcode, range.start, .attributeNotFound) }
            var list: [ATTHandleRange] = []
            for g in groups where g.start >= range.start && g.start <= range.end && g.uuid == wanted {
                guard 1 + (list.count + 1) * 4 <= mtu else { break }
                list.append(ATTHandleRange(start: g.start, end: g.end))
            }
            return list.isEmpty ? fail(pdu.opcode, range.start, .attributeNotFound) : ATTPDU.findByTypeValueResponse(list).bytes
        case .readRequest(let handle), .readBlobRequest(let handle, _):
            guard let a = attribute(handle) else { return fail(pdu.opcode, handle, .invalidHandle) }
            guard a.readable else { return fail(pdu.opcode, handle, .readNotPermitted) }
            guard !a.protected else { return fail(pdu.opcode, handle, .insufficientAuthentication) }
            let v = value(of: a, batteryPercent: batteryPercent)
            guard case .readBlobRequest(_, let rawOffset) = pdu else { return ATTPDU.readResponse(Array(v.prefix(mtu - 1))).bytes }
            let offset = Int(rawOffset)
            guard offset <= v.count else { return fail(pdu.opcode, handle, .invalidOffset) }
            guard v.count > mtu - 1 else { return fail(pdu.opcode, handle, .attributeNotLong) }
            return ATTPDU.readBlobResponse(Array(v[offset..<min(v.count, offset + mtu - 1)])).bytes
        case .writeRequest(let handle, let value), .writeCommand(let handle, let value):
            let answered = pdu.opcode == .writeRequest
            guard let a = attribute(handle) else { return answered ? fail(pdu.opcode, handle, .invalidHandle) : nil }
            guard a.writable else { return answered ? fail(pdu.opcode, handle, .writeNotPermitted) : nil }
            guard !a.protected else { return answered ? fail(pdu.opcode, handle, .insufficientAuthentication) : nil }
            switch a.content {
            case .cccd(let which):
                guard value.count == 2 else { return answered ? fail(pdu.opcode, handle, .invalidAttributeValueLength) : nil }
                cccds[which.rawValue] = UInt16(value[0]) | UInt16(value[1]) << 8
                if which == .battery { lastNotifiedBattery = batteryPercent }
            case .ldpCommand:
                ldpWrite(value)
            default:
                break
            }
            return answered ? ATTPDU.writeResponse.bytes : nil
        case .handleValueConfirmation:
            awaitingConfirmation = false
            return nil
        case .writeResponse, .handleValueNotification, .errorResponse:
            return nil
        default:
            // Prepared and signed writes, Read Multiple, anything newer: not offered.
            return pdu.opcode.isCommand ? nil : fail(pdu.opcode, 0, .requestNotSupported)
        }
    }

    private func fail(_ op: ATTOpcode, _ handle: UInt16, _ code: ATTErrorCode) -> [UInt8] {
        errorsSent += 1
        return ATTPDU.errorResponse(ATTErrorResponse(request: op, handle: handle, code: code)).bytes
    }

    // MARK: Notifications

    /// The lock's LDP output as notifications on the response/event characteristic, each at
    /// most ATT_MTU − 3 bytes; empty while the client has not enabled them (the bytes are lost,
    /// as on a UART nobody listens to).
    public func notifyLDP(_ bytes: [UInt8]) -> [[UInt8]] {
        guard ldpDataHandle != 0, ldpNotificationsEnabled else { return [] }
        let chunks = bytes.isEmpty ? [] : LDPGATT.fragment(bytes, mtu: mtu)
        guard serving.ldpIndicates else { return chunks.map { ATTPDU.handleValueNotification(handle: ldpDataHandle, value: $0).bytes } }
        // Indications: one in flight; the rest wait here (bounded, as a radio's queue is).
        pendingIndications += chunks
        if pendingIndications.count > 256 { pendingIndications.removeFirst(pendingIndications.count - 256) }
        guard !awaitingConfirmation, !pendingIndications.isEmpty else { return [] }
        awaitingConfirmation = true
        return [ATTPDU.handleValueIndication(handle: ldpDataHandle, value: pendingIndications.removeFirst()).bytes]
    }

    /// A Battery Level notification when the level changed since the last one and the client
    /// asked for them.
    public func notifyBattery(_ percent: UInt8) -> [UInt8]? {
        guard batteryNotificationsEnabled, percent != lastNotifiedBattery, !serving.requirePairing else { return nil }
        lastNotifiedBattery = percent
        return ATTPDU.handleValueNotification(handle: batteryHandle, value: [percent]).bytes
    }
}
