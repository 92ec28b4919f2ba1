/// A request a host sends (§6).
public enum Request: Sendable, Equatable {
    case identify
    case readStatus
    case readMotorTrace(TraceRequest)
    case readFingerprintStatus
    case readFaults
    /// `0xFFFF` clears every record.
    case clearFaults(code: UInt16)
    case runSelfTest(SelfTestKind)
    case actuate(Direction)
    /// LDP/1.1: the part at this index (§6.10).
    case listParts(index: UInt8)
    /// LDP/1.1 (§6.11).
    case provePart(PartChallenge)

    public static let clearAllFaults: UInt16 = 0xFFFF

    public var type: MessageType {
        switch self {
        case .identify: .identify
        case .readStatus: .readStatus
        case .readMotorTrace: .readMotorTrace
        case .readFingerprintStatus: .readFingerprintStatus
        case .readFaults: .readFaults
        case .clearFaults: .clearFaults
        case .runSelfTest: .runSelfTest
        case .actuate: .actuate
        case .listParts: .listParts
        case .provePart: .provePart
        }
    }

    public var payload: [UInt8] {
        var w = ByteWriter()
        switch self {
        case .identify, .readStatus, .readFingerprintStatus, .readFaults: break
        case .listParts(let index): w.u8(index)
        case .provePart(let challenge): challenge.write(to: &w)
        case .readMotorTrace(let request): request.write(to: &w)
        case .clearFaults(let code): w.u16(code)
        case .runSelfTest(let kind): w.u8(kind.rawValue)
        case .actuate(let direction): w.u8(direction.rawValue)
        }
        return w.bytes
    }

    /// This request as a frame with sequence number `seq`.
    public func frame(seq: UInt8) -> Frame { Frame(kind: .request, seq: seq, type: type.rawValue, payload: payload) }

    public init(type: UInt8, payload: UnsafeRawBufferPointer) throws(MessageError) {
        var r = ByteReader(payload, type: type)
        switch MessageType(rawValue: type) {
        case .identify: self = .identify
        case .readStatus: self = .readStatus
        case .readMotorTrace: self = .readMotorTrace(try TraceRequest(reading: &r))
        case .readFingerprintStatus: self = .readFingerprintStatus
        case .readFaults: self = .readFaults
        case .clearFaults: self = .clearFaults(code: try r.u16())
        case .runSelfTest:
            let raw = try r.u8()
            guard let kind = SelfTestKind(rawValue: raw) else { throw .invalidField(type: type, field: "test", value: Int(raw)) }
            self = .runSelfTest(kind)
        case .actuate:
            let raw = try r.u8()
            guard let direction = Direction(rawValue: raw) else { throw .invalidField(type: type, field: "direction", value: Int(raw)) }
            self = .actuate(direction)
        case .listParts: self = .listParts(index: try r.u8())
        case .provePart: self = .provePart(try PartChallenge(reading: &r))
        default: throw .unknownMessageType(kind: .request, type: type)
        }
    }
}

/// A device's response to a request (§6).
public enum Response: Sendable, Equatable {
    case identify(Identity)
    case status(LockStatus)
    case motorTrace(TraceChunk)
    case fingerprint(FingerprintStatus)
    case faults([DeviceFault])
    case faultsCleared(count: UInt8)
    case selfTestAccepted(SelfTestKind, expectedDurationMilliseconds: UInt16)
    case actuationAccepted(actuation: UInt16)
    /// LDP/1.1 (§6.10).
    case parts(PartListing)
    /// LDP/1.1 (§6.11).
    case partProof(PartProof)

    public var type: MessageType {
        switch self {
        case .identify: .identify
        case .status: .readStatus
        case .motorTrace: .readMotorTrace
        case .fingerprint: .readFingerprintStatus
        case .faults: .readFaults
        case .faultsCleared: .clearFaults
        case .selfTestAccepted: .runSelfTest
        case .actuationAccepted: .actuate
        case .parts: .listParts
        case .partProof: .provePart
        }
    }

    public var payload: [UInt8] {
        var w = ByteWriter()
        switch self {
        case .identify(let identity): identity.write(to: &w)
        case .status(let status): status.write(to: &w)
        case .motorTrace(let chunk): chunk.write(to: &w)
        case .fingerprint(let fp): fp.write(to: &w)
        case .faults(let faults):
            let records = faults.prefix(LDP.maxFaultRecords)
            w.u8(UInt8(records.count))
            for f in records { f.write(to: &w) }
        case .faultsCleared(let count): w.u8(count)
        case .selfTestAccepted(let kind, let ms):
            w.u8(kind.rawValue)
            w.u16(ms)
        case .actuationAccepted(let id): w.u16(id)
        case .parts(let listing): listing.write(to: &w)
        case .partProof(let proof): proof.write(to: &w)
        }
        return w.bytes
    }

    public func frame(seq: UInt8) -> Frame { Frame(kind: .response, seq: seq, type: type.rawValue, payload: payload) }

    public init(type: UInt8, payload: UnsafeRawBufferPointer) throws(MessageError) {
        var r = ByteReader(payload, type: type)
        switch MessageType(rawValue: type) {
        case .identify: self = .identify(try Identity(reading: &r))
        case .readStatus: self = .status(try LockStatus(reading: &r))
        case .readMotorTrace: self = .motorTrace(try TraceChunk(reading: &r))
        case .readFingerprintStatus: self = .fingerprint(try FingerprintStatus(reading: &r))
        case .readFaults:
            let count = Int(try r.u8())
            guard count <= LDP.maxFaultRecords else { throw .invalidField(type: type, field: "count", value: count) }
            try r.require(count * DeviceFault.size)
            var faults = [DeviceFault]()
            faults.reserveCapacity(count)
            for _ in 0..<count { faults.append(try DeviceFault(reading: &r)) }
            self = .faults(faults)
        case .clearFaults: self = .faultsCleared(count: try r.u8())
        case .runSelfTest:
            try r.require(3)
            let raw = try r.u8()
            guard let kind = SelfTestKind(rawValue: raw) else { throw .invalidField(type: type, field: "test", value: Int(raw)) }
            self = .selfTestAccepted(kind, expectedDurationMilliseconds: try r.u16())
        case .actuate: self = .actuationAccepted(actuation: try r.u16())
        case .listParts: self = .parts(try PartListing(reading: &r))
        case .provePart: self = .partProof(try PartProof(reading: &r))
        default: throw .unknownMessageType(kind: .response, type: type)
        }
    }
}

/// An event a device sends on its own (§7).
public enum Event: Sendable, Equatable {
    case actuationStarted(ActuationStarted)
    case actuationFinished(ActuationFinished)
    case traceChunk(TraceChunk)
    case faultRaised(DeviceFault)
    case selfTestResult(SelfTestResult)
    case tamper(TamperEvent)

    public var type: MessageType {
        switch self {
        case .actuationStarted: .actuationStarted
        case .actuationFinished: .actuationFinished
        case .traceChunk: .traceChunk
        case .faultRaised: .faultRaised
        case .selfTestResult: .selfTestResult
        case .tamper: .tamper
        }
    }

    public var payload: [UInt8] {
        var w = ByteWriter()
        switch self {
        case .actuationStarted(let e): e.write(to: &w)
        case .actuationFinished(let e): e.write(to: &w)
        case .traceChunk(let e): e.write(to: &w)
        case .faultRaised(let e): e.write(to: &w)
        case .selfTestResult(let e): e.write(to: &w)
        case .tamper(let e): e.write(to: &w)
        }
        return w.bytes
    }

    public func frame(seq: UInt8) -> Frame { Frame(kind: .event, seq: seq, type: type.rawValue, payload: payload) }

    public init(type: UInt8, payload: UnsafeRawBufferPointer) throws(MessageError) {
        var r = ByteReader(payload, type: type)
        switch MessageType(rawValue: type) {
        case .actuationStarted: self = .actuationStarted(try ActuationStarted(reading: &r))
        case .actuationFinished: self = .actuationFinished(try ActuationFinished(reading: &r))
        case .traceChunk: self = .traceChunk(try TraceChunk(reading: &r))
        case .faultRaised: self = .faultRaised(try DeviceFault(reading: &r))
        case .selfTestResult: self = .selfTestResult(try SelfTestResult(reading: &r))
        case .tamper: self = .tamper(try TamperEvent(reading: &r))
        default: throw .unknownMessageType(kind: .event, type: type)
        }
    }
}

/// Any decoded LDP/1 frame body.
public enum Message: Sendable, Equatable {
    case request(Request)
    case response(Response)
    case event(Event)
    case nak(NakCode)

    /// Decodes a frame's payload according to its kind and type.
    public init(_ frame: FrameView) throws(MessageError) {
        let type = frame.header.type
        switch frame.header.kind {
        case .request: self = .request(try Request(type: type, payload: frame.payload))
        case .response: self = .response(try Response(type: type, payload: frame.payload))
        case .event: self = .event(try Event(type: type, payload: frame.payload))
        case .nak:
            var r = ByteReader(frame.payload, type: type)
            self = .nak(NakCode(rawValue: try r.u8()))
        }
    }

    public init(_ frame: Frame) throws(MessageError) {
        let result: Result<Message, MessageError> = frame.payload.withUnsafeBytes { payload in
            do throws(MessageError) {
                return .success(try Message(FrameView(header: frame.header, payload: payload)))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }
}

extension NakCode {
    /// A NAK frame answering the request with `seq` and `type`.
    public func frame(seq: UInt8, type: UInt8) -> Frame { Frame(kind: .nak, seq: seq, type: type, payload: [rawValue]) }
}
