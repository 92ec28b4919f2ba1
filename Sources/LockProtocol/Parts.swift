// LDP/1.1 genuine-part messages and the part certificate (ldp-v1.md §6.9–§6.11). Pure bytes: the
// Ed25519 checks live with the host (GenuineParts) and the simulator, which have a crypto library.

/// A part kind of §6.9 (a certificate may also say `intermediate`).
public struct PartKind: NamedByte {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fingerprintModule = PartKind(rawValue: 1)
    public static let batteryPack = PartKind(rawValue: 2)
    public static let motorUnit = PartKind(rawValue: 3)
    /// A maker's issuing key, never a fitted part.
    public static let intermediate = PartKind(rawValue: 0x80)
    public static let names: [UInt8: String] = [1: "fingerprint_module", 2: "battery_pack", 3: "motor_unit", 0x80: "intermediate"]

    /// Words for a technician: "fingerprint module".
    public var title: String { String(name.map { $0 == "_" ? " " : $0 }) }
}

/// Why bytes are not a part certificate (§6.9.1).
public enum PartCertificateError: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongSize(Int)
    case unknownFormat(UInt8)
    case badSerial

    public var description: String {
        switch self {
        case .wrongSize(let n): "a part certificate is 117–149 bytes, this one \(n)"
        case .unknownFormat(let f): "certificate format \(f) is not 1 (a newer format, or not a certificate)"
        case .badSerial: "the certificate's serial is longer than 32 bytes, not UTF-8, or does not end where the signature starts"
        }
    }
}

/// A part certificate (§6.9.1), decoded but not verified.
public struct PartCertificate: Sendable, Equatable {
    public static let format: UInt8 = 1
    /// Without the serial's bytes.
    public static let fixedSize = 117
    public static let maxSize = fixedSize + 32
    /// What a certificate signature covers first: `"LDP/1 part-cert"` and a zero byte.
    public static let domain: [UInt8] = Array("LDP/1 part-cert".utf8) + [0]

    public var kind: PartKind
    public var makerID: UInt16
    /// Unix seconds, UTC.
    public var notBeforeSeconds: UInt32
    public var notAfterSeconds: UInt32
    /// First 8 bytes of SHA-256 of the issuer's public key.
    public var issuerKeyID: [UInt8]
    /// The subject's Ed25519 public key (32 bytes).
    public var publicKey: [UInt8]
    public var serial: String
    /// Ed25519 by the issuer over `signedBytes` (64 bytes).
    public var signature: [UInt8]

    public init(kind: PartKind, makerID: UInt16, notBeforeSeconds: UInt32, notAfterSeconds: UInt32, issuerKeyID: [UInt8],
                publicKey: [UInt8], serial: String, signature: [UInt8] = [UInt8](repeating: 0, count: 64)) {
        self.kind = kind
        self.makerID = makerID
        self.notBeforeSeconds = notBeforeSeconds
        self.notAfterSeconds = notAfterSeconds
        self.issuerKeyID = issuerKeyID
        self.publicKey = publicKey
        self.serial = serial
        self.signature = signature
    }

    public init(bytes: [UInt8]) throws(PartCertificateError) {
        guard bytes.count >= Self.fixedSize, bytes.count <= Self.maxSize else { throw .wrongSize(bytes.count) }
        guard bytes[0] == Self.format else { throw .unknownFormat(bytes[0]) }
        kind = PartKind(rawValue: bytes[1])
        makerID = UInt16(bytes[2]) | UInt16(bytes[3]) << 8
        notBeforeSeconds = Self.u32(bytes, at: 4)
        notAfterSeconds = Self.u32(bytes, at: 8)
        issuerKeyID = Array(bytes[12..<20])
        publicKey = Array(bytes[20..<52])
        let n = Int(bytes[52])
        guard n <= 32, bytes.count == Self.fixedSize + n,
              let text = String(validating: bytes[53..<(53 + n)], as: UTF8.self) else { throw .badSerial }
        serial = text
        signature = Array(bytes[(53 + n)...])
    }

    private static func u32(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// Bytes 0 … 52 + n: everything but the signature.
    public var body: [UInt8] {
        var w = ByteWriter()
        w.u8(Self.format)
        w.u8(kind.rawValue)
        w.u16(makerID)
        w.u32(notBeforeSeconds)
        w.u32(notAfterSeconds)
        w.bytes += issuerKeyID.prefix(8) + [UInt8](repeating: 0, count: max(0, 8 - issuerKeyID.count))
        w.bytes += publicKey.prefix(32) + [UInt8](repeating: 0, count: max(0, 32 - publicKey.count))
        w.string(serial, max: 32)
        return w.bytes
    }

    /// The message the issuer signs.
    public var signedBytes: [UInt8] { Self.domain + body }

    /// The certificate as it travels.
    public var encoded: [UInt8] { body + signature }
}

/// One part of a LIST_PARTS response (§6.10). Certificates stay bytes: a malformed one is a
/// verdict about the part (counterfeit), not a broken message.
public struct ListedPart: Sendable, Equatable {
    public var kind: PartKind
    public var serial: String
    /// The leaf first, then its intermediate (1–2).
    public var certificates: [[UInt8]]

    public init(kind: PartKind, serial: String, certificates: [[UInt8]]) {
        self.kind = kind
        self.serial = serial
        self.certificates = certificates
    }
}

/// LIST_PARTS response (§6.10).
public struct PartListing: Sendable, Equatable {
    public static let maxParts = 16
    public static let maxChainLength = 2
    public var count: UInt8
    public var index: UInt8
    public var makerID: UInt16
    /// Present when `index` < `count`.
    public var part: ListedPart?

    public init(count: UInt8, index: UInt8, makerID: UInt16, part: ListedPart?) {
        self.count = count
        self.index = index
        self.makerID = makerID
        self.part = part
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        count = try r.u8()
        guard Int(count) <= Self.maxParts else { throw .invalidField(type: r.type, field: "count", value: Int(count)) }
        index = try r.u8()
        makerID = try r.u16()
        guard index < count else {
            part = nil
            return
        }
        let kind = PartKind(rawValue: try r.u8())
        let serial = try r.string("serial", max: 32)
        let chain = Int(try r.u8())
        guard (1...Self.maxChainLength).contains(chain) else { throw .invalidField(type: r.type, field: "chain_length", value: chain) }
        var certificates = [[UInt8]]()
        for _ in 0..<chain { certificates.append(try r.bytes(Int(try r.u8()))) }
        part = ListedPart(kind: kind, serial: serial, certificates: certificates)
    }

    func write(to w: inout ByteWriter) {
        w.u8(count)
        w.u8(index)
        w.u16(makerID)
        guard let part, index < count else { return }
        w.u8(part.kind.rawValue)
        w.string(part.serial, max: 32)
        let chain = part.certificates.prefix(Self.maxChainLength)
        w.u8(UInt8(chain.count))
        for certificate in chain {
            let bytes = certificate.prefix(255)
            w.u8(UInt8(bytes.count))
            w.bytes += bytes
        }
    }
}

/// PROVE_PART request (§6.11).
public struct PartChallenge: Sendable, Equatable {
    public static let lengths = 16...32
    public var index: UInt8
    /// Fresh random bytes, 16–32.
    public var challenge: [UInt8]

    public init(index: UInt8, challenge: [UInt8]) {
        self.index = index
        self.challenge = challenge
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        index = try r.u8()
        let n = Int(try r.u8())
        guard Self.lengths.contains(n) else { throw .invalidField(type: r.type, field: "challenge_length", value: n) }
        challenge = try r.bytes(n)
    }

    func write(to w: inout ByteWriter) {
        w.u8(index)
        let bytes = challenge.prefix(Self.lengths.upperBound)
        w.u8(UInt8(bytes.count))
        w.bytes += bytes
    }
}

/// PROVE_PART response (§6.11).
public struct PartProof: Sendable, Equatable {
    public static let signatureSize = 64
    /// What a proof signature covers first: `"LDP/1 prove-part"` and a zero byte.
    public static let domain: [UInt8] = Array("LDP/1 prove-part".utf8) + [0]

    public var index: UInt8
    /// The serial the part signed.
    public var partSerial: String
    /// The challenge the part signed (an echo).
    public var challenge: [UInt8]
    public var signature: [UInt8]

    public init(index: UInt8, partSerial: String, challenge: [UInt8], signature: [UInt8]) {
        self.index = index
        self.partSerial = partSerial
        self.challenge = challenge
        self.signature = signature
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        index = try r.u8()
        partSerial = try r.string("part_serial", max: 32)
        let n = Int(try r.u8())
        guard PartChallenge.lengths.contains(n) else { throw .invalidField(type: r.type, field: "challenge_length", value: n) }
        challenge = try r.bytes(n)
        signature = try r.bytes(Self.signatureSize)
    }

    func write(to w: inout ByteWriter) {
        w.u8(index)
        w.string(partSerial, max: 32)
        let bytes = challenge.prefix(PartChallenge.lengths.upperBound)
        w.u8(UInt8(bytes.count))
        w.bytes += bytes
        w.bytes += signature.prefix(Self.signatureSize) + [UInt8](repeating: 0, count: max(0, Self.signatureSize - signature.count))
    }

    /// The message a part signs (§6.11).
    public static func signedMessage(kind: PartKind, partSerial: String, lockSerial: String, challenge: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.bytes = domain
        w.u8(kind.rawValue)
        w.string(partSerial, max: 32)
        w.string(lockSerial, max: 32)
        w.u8(UInt8(truncatingIfNeeded: challenge.count))
        w.bytes += challenge
        return w.bytes
    }
}
