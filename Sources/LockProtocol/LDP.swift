/// Constants and header types of the Lock Diagnostic Protocol v1 (firmware-specs/ldp-v1.md §3).
public enum LDP {
    public static let sync0: UInt8 = 0xA5
    public static let sync1: UInt8 = 0x5A
    /// The protocol major version carried in every frame.
    public static let version: UInt8 = 1
    /// The minor version this implementation speaks (IDENTIFY's `protocol_minor`).
    /// 1: LDP/1.1, with the genuine-part messages (§4.3, §6.9).
    public static let protocolMinor: UInt8 = 1
    /// Hard maximum of the `length` field.
    public static let maxPayload = 512
    /// sync0, sync1, version, kind, seq, type, length (2), hcrc.
    public static let headerSize = 9
    public static let trailerSize = 2
    public static let frameOverhead = headerSize + trailerSize
    public static let maxFrameSize = frameOverhead + maxPayload
    /// UART default of §2.
    public static let defaultBaudRate: UInt32 = 115_200
    /// Host's response deadline of §4.2.
    public static let responseDeadlineNanoseconds: UInt64 = 100_000_000
    /// Samples per TRACE_CHUNK event during streaming (§6.3).
    public static let streamChunkSamples = 32
    /// Most samples one READ_MOTOR_TRACE response may carry.
    public static let maxTraceSamplesPerFrame = 64
    /// Most fault records in one READ_FAULTS response.
    public static let maxFaultRecords = 24
}

/// The `kind` byte of a frame.
public enum FrameKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case request = 0
    case response = 1
    case event = 2
    case nak = 3

    public var description: String {
        switch self {
        case .request: "request"
        case .response: "response"
        case .event: "event"
        case .nak: "nak"
        }
    }
}

/// A frame header whose CRC-8 matched.
public struct FrameHeader: Sendable, Equatable {
    public var version: UInt8
    /// The raw kind byte; `frameKind` is nil for reserved values.
    public var kindByte: UInt8
    public var seq: UInt8
    public var type: UInt8
    public var length: UInt16

    public init(version: UInt8 = LDP.version, kind: FrameKind, seq: UInt8, type: UInt8, length: UInt16) {
        self.version = version
        self.kindByte = kind.rawValue
        self.seq = seq
        self.type = type
        self.length = length
    }

    init(version: UInt8, kindByte: UInt8, seq: UInt8, type: UInt8, length: UInt16) {
        self.version = version
        self.kindByte = kindByte
        self.seq = seq
        self.type = type
        self.length = length
    }

    /// Bits 2–7 are reserved and ignored by receivers (§3).
    public var kind: FrameKind { FrameKind(rawValue: kindByte & 0x03)! }
}
