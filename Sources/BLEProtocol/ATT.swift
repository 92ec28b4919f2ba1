// The Attribute Protocol's PDUs (Core Specification v5.3, Vol 3, Part F, §3.4): a pure codec,
// no I/O. One PDU is one L2CAP packet on the ATT fixed channel (CID 4), so a decoder is handed
// exactly one PDU at a time and never has to find boundaries.

/// ATT protocol constants.
public enum ATT {
    /// The ATT_MTU every LE link starts with (Vol 3, Part F, §3.2.8).
    public static let defaultMTU = 23
    /// The largest ATT_MTU: the longest attribute value is 512 bytes, plus the 5 bytes of a
    /// Read By Type or prepare-write header (Vol 3, Part F, §3.2.9).
    public static let maxMTU = 517
    /// A transaction not completed in 30 s has failed, and no further ATT PDU may be sent on that
    /// bearer; it must be disconnected (Vol 3, Part F, §3.3.3).
    public static let transactionTimeoutSeconds = 30.0
    /// The L2CAP fixed channel of ATT on LE (Vol 3, Part A, §2.1).
    public static let fixedChannel: UInt16 = 0x0004
}

/// An ATT opcode (Vol 3, Part F, §3.4.8). Bit 6 marks a command (no response), bit 7 an
/// authentication signature.
public struct ATTOpcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let errorResponse = ATTOpcode(rawValue: 0x01)
    public static let exchangeMTURequest = ATTOpcode(rawValue: 0x02)
    public static let exchangeMTUResponse = ATTOpcode(rawValue: 0x03)
    public static let findInformationRequest = ATTOpcode(rawValue: 0x04)
    public static let findInformationResponse = ATTOpcode(rawValue: 0x05)
    public static let findByTypeValueRequest = ATTOpcode(rawValue: 0x06)
    public static let findByTypeValueResponse = ATTOpcode(rawValue: 0x07)
    public static let readByTypeRequest = ATTOpcode(rawValue: 0x08)
    public static let readByTypeResponse = ATTOpcode(rawValue: 0x09)
    public static let readRequest = ATTOpcode(rawValue: 0x0A)
    public static let readResponse = ATTOpcode(rawValue: 0x0B)
    public static let readBlobRequest = ATTOpcode(rawValue: 0x0C)
    public static let readBlobResponse = ATTOpcode(rawValue: 0x0D)
    public static let readMultipleRequest = ATTOpcode(rawValue: 0x0E)
    public static let readMultipleResponse = ATTOpcode(rawValue: 0x0F)
    public static let readByGroupTypeRequest = ATTOpcode(rawValue: 0x10)
    public static let readByGroupTypeResponse = ATTOpcode(rawValue: 0x11)
    public static let writeRequest = ATTOpcode(rawValue: 0x12)
    public static let writeResponse = ATTOpcode(rawValue: 0x13)
    public static let prepareWriteRequest = ATTOpcode(rawValue: 0x16)
    public static let prepareWriteResponse = ATTOpcode(rawValue: 0x17)
    public static let executeWriteRequest = ATTOpcode(rawValue: 0x18)
    public static let executeWriteResponse = ATTOpcode(rawValue: 0x19)
    public static let handleValueNotification = ATTOpcode(rawValue: 0x1B)
    public static let handleValueIndication = ATTOpcode(rawValue: 0x1D)
    public static let handleValueConfirmation = ATTOpcode(rawValue: 0x1E)
    public static let writeCommand = ATTOpcode(rawValue: 0x52)
    public static let signedWriteCommand = ATTOpcode(rawValue: 0xD2)

    static let names: [UInt8: String] = [
        0x01: "Error Response", 0x02: "Exchange MTU Request", 0x03: "Exchange MTU Response",
        0x04: "Find Information Request", 0x05: "Find Information Response", 0x06: "Find By Type Value Request",
        0x07: "Find By Type Value Response", 0x08: "Read By Type Request", 0x09: "Read By Type Response",
        0x0A: "Read Request", 0x0B: "Read Response", 0x0C: "Read Blob Request", 0x0D: "Read Blob Response",
        0x0E: "Read Multiple Request", 0x0F: "Read Multiple Response", 0x10: "Read By Group Type Request",
        0x11: "Read By Group Type Response", 0x12: "Write Request", 0x13: "Write Response",
        0x16: "Prepare Write Request", 0x17: "Prepare Write Response", 0x18: "Execute Write Request",
        0x19: "Execute Write Response", 0x1B: "Handle Value Notification", 0x1D: "Handle Value Indication",
        0x1E: "Handle Value Confirmation", 0x52: "Write Command", 0xD2: "Signed Write Command",
    ]

    /// An opcode of Core Specification v5.3 this codec names.
    public var isKnown: Bool { Self.names[rawValue] != nil }

    /// A command is never answered (bit 6).
    public var isCommand: Bool { rawValue & 0x40 != 0 }

    /// Requests this codec knows; a peer's unknown request is answered Request Not Supported.
    public var isRequest: Bool {
        switch rawValue {
        case 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C, 0x0E, 0x10, 0x12, 0x16, 0x18, 0x20: true
        default: false
        }
    }

    /// The response that completes this request's transaction, if it is one.
    public var response: ATTOpcode? { isRequest ? ATTOpcode(rawValue: rawValue + 1) : nil }

    public var description: String {
        Self.names[rawValue] ?? "opcode 0x" + BluetoothUUID.hex(UInt64(rawValue), digits: 2).uppercased()
    }
}

/// An ATT error code (Vol 3, Part F, §3.4.1.1, and the common profile codes of the Core
/// Specification Supplement, Part B).
public struct ATTErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let invalidHandle = ATTErrorCode(rawValue: 0x01)
    public static let readNotPermitted = ATTErrorCode(rawValue: 0x02)
    public static let writeNotPermitted = ATTErrorCode(rawValue: 0x03)
    public static let invalidPDU = ATTErrorCode(rawValue: 0x04)
    public static let insufficientAuthentication = ATTErrorCode(rawValue: 0x05)
    public static let requestNotSupported = ATTErrorCode(rawValue: 0x06)
    public static let invalidOffset = ATTErrorCode(rawValue: 0x07)
    public static let insufficientAuthorization = ATTErrorCode(rawValue: 0x08)
    public static let prepareQueueFull = ATTErrorCode(rawValue: 0x09)
    public static let attributeNotFound = ATTErrorCode(rawValue: 0x0A)
    public static let attributeNotLong = ATTErrorCode(rawValue: 0x0B)
    public static let encryptionKeySizeTooShort = ATTErrorCode(rawValue: 0x0C)
    public static let invalidAttributeValueLength = ATTErrorCode(rawValue: 0x0D)
    public static let unlikelyError = ATTErrorCode(rawValue: 0x0E)
    public static let insufficientEncryption = ATTErrorCode(rawValue: 0x0F)
    public static let unsupportedGroupType = ATTErrorCode(rawValue: 0x10)
    public static let insufficientResources = ATTErrorCode(rawValue: 0x11)
    public static let databaseOutOfSync = ATTErrorCode(rawValue: 0x12)
    public static let valueNotAllowed = ATTErrorCode(rawValue: 0x13)
    public static let writeRequestRejected = ATTErrorCode(rawValue: 0xFC)
    public static let cccdImproperlyConfigured = ATTErrorCode(rawValue: 0xFD)
    public static let procedureAlreadyInProgress = ATTErrorCode(rawValue: 0xFE)
    public static let outOfRange = ATTErrorCode(rawValue: 0xFF)

    static let names: [UInt8: String] = [
        0x01: "Invalid Handle", 0x02: "Read Not Permitted", 0x03: "Write Not Permitted", 0x04: "Invalid PDU",
        0x05: "Insufficient Authentication", 0x06: "Request Not Supported", 0x07: "Invalid Offset",
        0x08: "Insufficient Authorization", 0x09: "Prepare Queue Full", 0x0A: "Attribute Not Found",
        0x0B: "Attribute Not Long", 0x0C: "Encryption Key Size Too Short", 0x0D: "Invalid Attribute Value Length",
        0x0E: "Unlikely Error", 0x0F: "Insufficient Encryption", 0x10: "Unsupported Group Type",
        0x11: "Insufficient Resources", 0x12: "Database Out Of Sync", 0x13: "Value Not Allowed",
        0xFC: "Write Request Rejected", 0xFD: "Client Characteristic Configuration Descriptor Improperly Configured",
        0xFE: "Procedure Already in Progress", 0xFF: "Out of Range",
    ]

    public var name: String {
        if let name = Self.names[rawValue] { return name }
        if (0x80...0x9F).contains(rawValue) { return "application error 0x" + BluetoothUUID.hex(UInt64(rawValue), digits: 2).uppercased() }
        return "reserved error 0x" + BluetoothUUID.hex(UInt64(rawValue), digits: 2).uppercased()
    }

    /// Whether pairing (an encrypted, possibly authenticated link) would get past it.
    public var needsPairing: Bool {
        self == .insufficientAuthentication || self == .insufficientEncryption || self == .encryptionKeySizeTooShort
            || self == .insufficientAuthorization
    }

    public var description: String { "\(name) (0x\(BluetoothUUID.hex(UInt64(rawValue), digits: 2).uppercased()))" }
}

/// A handle range, inclusive at both ends.
public struct ATTHandleRange: Hashable, Sendable {
    public var start: UInt16
    public var end: UInt16
    public init(start: UInt16, end: UInt16) {
        self.start = start
        self.end = end
    }

    public static let all = ATTHandleRange(start: 0x0001, end: 0xFFFF)
}

/// One entry of a Find Information response.
public struct ATTHandleUUID: Hashable, Sendable {
    public var handle: UInt16
    public var uuid: BluetoothUUID
    public init(handle: UInt16, uuid: BluetoothUUID) {
        self.handle = handle
        self.uuid = uuid
    }
}

/// One entry of a Read By Type response.
public struct ATTHandleValue: Hashable, Sendable {
    public var handle: UInt16
    public var value: [UInt8]
    public init(handle: UInt16, value: [UInt8]) {
        self.handle = handle
        self.value = value
    }
}

/// One entry of a Read By Group Type response.
public struct ATTGroupValue: Hashable, Sendable {
    public var handle: UInt16
    public var endGroupHandle: UInt16
    public var value: [UInt8]
    public init(handle: UInt16, endGroupHandle: UInt16, value: [UInt8]) {
        self.handle = handle
        self.endGroupHandle = endGroupHandle
        self.value = value
    }
}

/// The body of an Error Response: which request failed, on which handle, why.
public struct ATTErrorResponse: Hashable, Sendable, CustomStringConvertible {
    public var request: ATTOpcode
    public var handle: UInt16
    public var code: ATTErrorCode
    public init(request: ATTOpcode, handle: UInt16, code: ATTErrorCode) {
        self.request = request
        self.handle = handle
        self.code = code
    }

    public var description: String {
        "\(request) on handle 0x\(BluetoothUUID.hex(UInt64(handle), digits: 4).uppercased()) failed: \(code)"
    }
}

/// One ATT PDU. `init(bytes:)` checks every length the specification fixes and throws a
/// typed error otherwise; `bytes` encodes.
public enum ATTPDU: Hashable, Sendable {
    case errorResponse(ATTErrorResponse)
    case exchangeMTURequest(clientReceiveMTU: UInt16)
    case exchangeMTUResponse(serverReceiveMTU: UInt16)
    case findInformationRequest(ATTHandleRange)
    /// All UUIDs the same size (the PDU's format byte says which).
    case findInformationResponse([ATTHandleUUID])
    case findByTypeValueRequest(ATTHandleRange, type: UInt16, value: [UInt8])
    /// Found attribute handle and its group's end handle, per match.
    case findByTypeValueResponse([ATTHandleRange])
    case readByTypeRequest(ATTHandleRange, type: BluetoothUUID)
    /// Values all the same length (the PDU's length byte says which).
    case readByTypeResponse([ATTHandleValue])
    case readRequest(handle: UInt16)
    case readResponse([UInt8])
    case readBlobRequest(handle: UInt16, offset: UInt16)
    case readBlobResponse([UInt8])
    case readByGroupTypeRequest(ATTHandleRange, type: BluetoothUUID)
    case readByGroupTypeResponse([ATTGroupValue])
    case writeRequest(handle: UInt16, value: [UInt8])
    case writeResponse
    case writeCommand(handle: UInt16, value: [UInt8])
    case handleValueNotification(handle: UInt16, value: [UInt8])
    case handleValueIndication(handle: UInt16, value: [UInt8])
    case handleValueConfirmation
    /// A PDU this codec carries but does not model (Read Multiple, prepared writes, signed
    /// writes, newer opcodes): its opcode and raw parameters.
    case other(ATTOpcode, parameters: [UInt8])

    public var opcode: ATTOpcode {
        switch self {
        case .errorResponse: .errorResponse
        case .exchangeMTURequest: .exchangeMTURequest
        case .exchangeMTUResponse: .exchangeMTUResponse
        case .findInformationRequest: .findInformationRequest
        case .findInformationResponse: .findInformationResponse
        case .findByTypeValueRequest: .findByTypeValueRequest
        case .findByTypeValueResponse: .findByTypeValueResponse
        case .readByTypeRequest: .readByTypeRequest
        case .readByTypeResponse: .readByTypeResponse
        case .readRequest: .readRequest
        case .readResponse: .readResponse
        case .readBlobRequest: .readBlobRequest
        case .readBlobResponse: .readBlobResponse
        case .readByGroupTypeRequest: .readByGroupTypeRequest
        case .readByGroupTypeResponse: .readByGroupTypeResponse
        case .writeRequest: .writeRequest
        case .writeResponse: .writeResponse
        case .writeCommand: .writeCommand
        case .handleValueNotification: .handleValueNotification
        case .handleValueIndication: .handleValueIndication
        case .handleValueConfirmation: .handleValueConfirmation
        case .other(let opcode, _): opcode
        }
    }

    // MARK: Decoding

    /// Decodes one PDU (the whole of one L2CAP packet).
    public init(bytes: [UInt8]) throws(ATTDecodeError) {
        var r = WireReader(bytes)
        guard let raw = r.u8() else { throw .empty }
        let op = ATTOpcode(rawValue: raw)
        func need(_ count: Int) throws(ATTDecodeError) {
            guard r.has(count) else { throw .truncated(op, needed: count, got: r.remaining) }
        }
        func range() throws(ATTDecodeError) -> ATTHandleRange {
            try need(4)
            let range = ATTHandleRange(start: r.u16()!, end: r.u16()!)
            guard range.start != 0, range.start <= range.end else { throw .invalidRange(op, range) }
            return range
        }
        func uuid() throws(ATTDecodeError) -> BluetoothUUID {
            let rest = r.rest()
            guard rest.count == 2 || rest.count == 16, let uuid = BluetoothUUID(littleEndian: rest) else {
                throw .badUUIDLength(op, rest.count)
            }
            return uuid
        }
        switch op {
        case .errorResponse:
            try need(4)
            self = .errorResponse(ATTErrorResponse(request: ATTOpcode(rawValue: r.u8()!), handle: r.u16()!,
                                                   code: ATTErrorCode(rawValue: r.u8()!)))
        case .exchangeMTURequest, .exchangeMTUResponse:
            try need(2)
            let mtu = r.u16()!
            self = op == .exchangeMTURequest ? .exchangeMTURequest(clientReceiveMTU: mtu) : .exchangeMTUResponse(serverReceiveMTU: mtu)
        case .findInformationRequest:
            self = .findInformationRequest(try range())
        case .findInformationResponse:
            try need(1)
            let format = r.u8()!
            let uuidSize: Int
            switch format {
            case 0x01: uuidSize = 2
            case 0x02: uuidSize = 16
            default: throw .badFormat(op, format)
            }
            let entry = 2 + uuidSize
            guard r.remaining >= entry, r.remaining % entry == 0 else { throw .badListLength(op, entry: entry, total: r.remaining) }
            var list: [ATTHandleUUID] = []
            while !r.isAtEnd {
                let handle = r.u16()!
                list.append(ATTHandleUUID(handle: handle, uuid: BluetoothUUID(littleEndian: r.take(uuidSize)!)!))
            }
            self = .findInformationResponse(list)
        case .findByTypeValueRequest:
            let range = try range()
            try need(2)
            self = .findByTypeValueRequest(range, type: r.u16()!, value: r.rest())
        case .findByTypeValueResponse:
            guard r.remaining >= 4, r.remaining % 4 == 0 else { throw .badListLength(op, entry: 4, total: r.remaining) }
            var list: [ATTHandleRange] = []
            while !r.isAtEnd { list.append(ATTHandleRange(start: r.u16()!, end: r.u16()!)) }
            self = .findByTypeValueResponse(list)
        case .readByTypeRequest, .readByGroupTypeRequest:
            let range = try range()
            let type = try uuid()
            self = op == .readByTypeRequest ? .readByTypeRequest(range, type: type) : .readByGroupTypeRequest(range, type: type)
        case .readByTypeResponse:
            try need(1)
            let entry = Int(r.u8()!)
            guard entry >= 2, r.remaining >= entry, r.remaining % entry == 0 else { throw .badListLength(op, entry: entry, total: r.remaining) }
            var list: [ATTHandleValue] = []
            while !r.isAtEnd {
                let handle = r.u16()!
                list.append(ATTHandleValue(handle: handle, value: r.take(entry - 2)!))
            }
            self = .readByTypeResponse(list)
        case .readByGroupTypeResponse:
            try need(1)
            let entry = Int(r.u8()!)
            guard entry >= 4, r.remaining >= entry, r.remaining % entry == 0 else { throw .badListLength(op, entry: entry, total: r.remaining) }
            var list: [ATTGroupValue] = []
            while !r.isAtEnd {
                let handle = r.u16()!, end = r.u16()!
                list.append(ATTGroupValue(handle: handle, endGroupHandle: end, value: r.take(entry - 4)!))
            }
            self = .readByGroupTypeResponse(list)
        case .readRequest:
            try need(2)
            self = .readRequest(handle: r.u16()!)
        case .readResponse:
            self = .readResponse(r.rest())
        case .readBlobRequest:
            try need(4)
            self = .readBlobRequest(handle: r.u16()!, offset: r.u16()!)
        case .readBlobResponse:
            self = .readBlobResponse(r.rest())
        case .writeRequest, .writeCommand, .handleValueNotification, .handleValueIndication:
            try need(2)
            let handle = r.u16()!
            let value = r.rest()
            switch op {
            case .writeRequest: self = .writeRequest(handle: handle, value: value)
            case .writeCommand: self = .writeCommand(handle: handle, value: value)
            case .handleValueNotification: self = .handleValueNotification(handle: handle, value: value)
            default: self = .handleValueIndication(handle: handle, value: value)
            }
        case .writeResponse, .handleValueConfirmation:
            self = op == .writeResponse ? .writeResponse : .handleValueConfirmation
        default:
            self = .other(op, parameters: r.rest())
        }
    }

    // MARK: Encoding

    /// The PDU's bytes. Lists must be uniform (one UUID size, one value length), as the
    /// specification requires; a caller building responses keeps them so.
    public var bytes: [UInt8] {
        var w = WireWriter()
        w.u8(opcode.rawValue)
        switch self {
        case .errorResponse(let e):
            w.u8(e.request.rawValue)
            w.u16(e.handle)
            w.u8(e.code.rawValue)
        case .exchangeMTURequest(let mtu), .exchangeMTUResponse(let mtu):
            w.u16(mtu)
        case .findInformationRequest(let range):
            w.u16(range.start)
            w.u16(range.end)
        case .findInformationResponse(let list):
            w.u8(list.first.map { $0.uuid.shortValue == nil ? 0x02 : 0x01 } ?? 0x01)
            for entry in list {
                w.u16(entry.handle)
                w.append(entry.uuid.attBytes)
            }
        case .findByTypeValueRequest(let range, let type, let value):
            w.u16(range.start)
            w.u16(range.end)
            w.u16(type)
            w.append(value)
        case .findByTypeValueResponse(let list):
            for entry in list {
                w.u16(entry.start)
                w.u16(entry.end)
            }
        case .readByTypeRequest(let range, let type), .readByGroupTypeRequest(let range, let type):
            w.u16(range.start)
            w.u16(range.end)
            w.append(type.attBytes)
        case .readByTypeResponse(let list):
            w.u8(UInt8(truncatingIfNeeded: 2 + (list.first?.value.count ?? 0)))
            for entry in list {
                w.u16(entry.handle)
                w.append(entry.value)
            }
        case .readByGroupTypeResponse(let list):
            w.u8(UInt8(truncatingIfNeeded: 4 + (list.first?.value.count ?? 0)))
            for entry in list {
                w.u16(entry.handle)
                w.u16(entry.endGroupHandle)
                w.append(entry.value)
            }
        case .readRequest(let handle):
            w.u16(handle)
        case .readResponse(let value), .readBlobResponse(let value):
            w.append(value)
        case .readBlobRequest(let handle, let offset):
            w.u16(handle)
            w.u16(offset)
        case .writeRequest(let handle, let value), .writeCommand(let handle, let value),
             .handleValueNotification(let handle, let value), .handleValueIndication(let handle, let value):
            w.u16(handle)
            w.append(value)
        case .writeResponse, .handleValueConfirmation:
            break
        case .other(_, let parameters):
            w.append(parameters)
        }
        return w.bytes
    }
}

/// Why bytes are not a well-formed ATT PDU.
public enum ATTDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case truncated(ATTOpcode, needed: Int, got: Int)
    case invalidRange(ATTOpcode, ATTHandleRange)
    case badUUIDLength(ATTOpcode, Int)
    case badFormat(ATTOpcode, UInt8)
    case badListLength(ATTOpcode, entry: Int, total: Int)

    public var description: String {
        switch self {
        case .empty: "empty ATT PDU"
        case .truncated(let op, let needed, let got): "\(op): \(got) parameter bytes where at least \(needed) are needed"
        case .invalidRange(let op, let range): "\(op): invalid handle range 0x\(BluetoothUUID.hex(UInt64(range.start), digits: 4))–0x\(BluetoothUUID.hex(UInt64(range.end), digits: 4))"
        case .badUUIDLength(let op, let count): "\(op): a UUID of \(count) bytes (ATT has 2 or 16)"
        case .badFormat(let op, let format): "\(op): unknown format 0x\(BluetoothUUID.hex(UInt64(format), digits: 2))"
        case .badListLength(let op, let entry, let total): "\(op): \(total) bytes of list are not a whole number of \(entry)-byte entries"
        }
    }

    /// The error code a server answers a malformed request with.
    public var responseCode: ATTErrorCode {
        switch self {
        case .invalidRange: .invalidHandle
        default: .invalidPDU
        }
    }

    /// The opcode of the PDU that failed, when known.
    public var opcode: ATTOpcode? {
        switch self {
        case .empty: nil
        case .truncated(let op, _, _), .invalidRange(let op, _), .badUUIDLength(let op, _), .badFormat(let op, _), .badListLength(let op, _, _): op
        }
    }
}
