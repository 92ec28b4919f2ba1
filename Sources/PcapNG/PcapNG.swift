// The pcapng capture file format, written from the IETF draft "PCAP Now Generic (pcapng) Capture
// File Format" (draft-ietf-opsawg-pcapng, https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/):
// §4.1 general block structure (type, total length, body, total length repeated; everything
// 32-bit aligned), §3.5 options (code, length, value padded to 32 bits, opt_endofopt last),
// §4.1 Section Header Block, §4.2 Interface Description Block, §4.3 Enhanced Packet Block.
// Link-type numbers from the tcpdump.org LINKTYPE registry (https://www.tcpdump.org/linktypes.html).
// Pure: builds byte arrays, does no I/O (the writer of the file is the caller).

/// Blocks of a pcapng file, in the host's byte order (the Section Header's byte-order magic
/// tells readers which: §4.1).
public enum PcapNG {
    /// Block types (draft §10.1).
    public static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    public static let interfaceDescriptionType: UInt32 = 0x0000_0001
    public static let enhancedPacketType: UInt32 = 0x0000_0006
    /// Written as 0x1A2B3C4D in the writer's byte order (§4.1).
    public static let byteOrderMagic: UInt32 = 0x1A2B_3C4D

    /// Option codes (§3.5, §4.1, §4.2, §4.3).
    enum OptionCode {
        static let endOfOptions: UInt16 = 0
        static let comment: UInt16 = 1
        static let shbHardware: UInt16 = 2
        static let shbOS: UInt16 = 3
        static let shbUserApplication: UInt16 = 4
        static let ifName: UInt16 = 2
        static let ifDescription: UInt16 = 3
        static let ifTimestampResolution: UInt16 = 9
        static let ifOS: UInt16 = 12
        static let ifHardware: UInt16 = 15
        static let epbFlags: UInt16 = 2
    }
}

/// A link-layer header type (LINKTYPE_* of tcpdump.org's registry) for an interface.
public struct LinkType: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// LINKTYPE_USER0 … LINKTYPE_USER15 (147 … 162): reserved for private use; Wireshark hands
    /// them to the dissector its "DLT_USER" table (or a Lua `wtap_encap` registration) names.
    public static func user(_ n: UInt16) -> LinkType {
        precondition(n <= 15, "user link types are USER0…USER15")
        return LinkType(rawValue: 147 + n)
    }
}

/// How an Enhanced Packet Block's timestamp is counted (`if_tsresol`, §4.2: a power of ten).
public enum TimestampResolution: Sendable {
    case microseconds
    case nanoseconds

    /// The `if_tsresol` byte: the negative power of ten.
    var optionByte: UInt8 { self == .microseconds ? 6 : 9 }
    /// Nanoseconds per unit.
    public var nanosecondsPerUnit: UInt64 { self == .microseconds ? 1000 : 1 }
}

/// Which way a packet went, as the EPB's `epb_flags` bits 0–1 say (§4.3.1).
public enum PacketDirection: UInt32, Sendable {
    case unknown = 0
    /// Received by the recording host (from the lock).
    case inbound = 1
    /// Sent by the recording host (to the lock).
    case outbound = 2
}

/// What the Section Header Block says about the file as a whole.
public struct SectionHeader: Sendable, Equatable {
    /// `shb_hardware`.
    public var hardware: String?
    /// `shb_os`.
    public var os: String?
    /// `shb_userappl`: the application that wrote the file.
    public var userApplication: String?
    /// `opt_comment`, one option each.
    public var comments: [String] = []

    public init(hardware: String? = nil, os: String? = nil, userApplication: String? = nil, comments: [String] = []) {
        self.hardware = hardware
        self.os = os
        self.userApplication = userApplication
        self.comments = comments
    }
}

/// One interface (for lockdiag: one link to one lock).
public struct InterfaceDescription: Sendable, Equatable {
    public var linkType: LinkType
    /// Bytes kept of each packet; 0 = no limit (§4.2).
    public var snapLength: UInt32 = 0
    /// `if_name`.
    public var name: String?
    /// `if_description`.
    public var description: String?
    /// `if_hardware`.
    public var hardware: String?
    /// `if_tsresol`.
    public var resolution: TimestampResolution = .microseconds
    /// `opt_comment`, one option each.
    public var comments: [String] = []

    public init(linkType: LinkType, name: String? = nil, description: String? = nil, hardware: String? = nil,
                resolution: TimestampResolution = .microseconds, comments: [String] = []) {
        self.linkType = linkType
        self.name = name
        self.description = description
        self.hardware = hardware
        self.resolution = resolution
        self.comments = comments
    }
}

extension PcapNG {
    /// A Section Header Block with an unspecified section length (−1, §4.1).
    public static func sectionHeaderBlock(_ header: SectionHeader) -> [UInt8] {
        var body: [UInt8] = []
        body.appendUInt32(byteOrderMagic)
        body.appendUInt16(1) // major version
        body.appendUInt16(0) // minor version
        body.appendUInt64(UInt64.max) // section length: not specified
        var options = OptionList()
        for comment in header.comments { options.add(OptionCode.comment, string: comment) }
        options.add(OptionCode.shbHardware, string: header.hardware)
        options.add(OptionCode.shbOS, string: header.os)
        options.add(OptionCode.shbUserApplication, string: header.userApplication)
        return block(type: sectionHeaderType, body: body, options: options)
    }

    /// An Interface Description Block; interfaces are numbered 0, 1, … in the order their
    /// blocks appear in the section (§4.2).
    public static func interfaceDescriptionBlock(_ interface: InterfaceDescription) -> [UInt8] {
        var body: [UInt8] = []
        body.appendUInt16(interface.linkType.rawValue)
        body.appendUInt16(0) // reserved
        body.appendUInt32(interface.snapLength)
        var options = OptionList()
        for comment in interface.comments { options.add(OptionCode.comment, string: comment) }
        options.add(OptionCode.ifName, string: interface.name)
        options.add(OptionCode.ifDescription, string: interface.description)
        options.add(OptionCode.ifTimestampResolution, bytes: [interface.resolution.optionByte])
        options.add(OptionCode.ifHardware, string: interface.hardware)
        return block(type: interfaceDescriptionType, body: body, options: options)
    }

    /// Appends an Enhanced Packet Block: `timestamp` counts the interface's `if_tsresol` units
    /// since 1970-01-01 UTC; the direction goes into `epb_flags`, `comment` into an `opt_comment`.
    public static func appendEnhancedPacketBlock(to out: inout [UInt8], interface: UInt32, timestamp: UInt64,
                                                 packet: UnsafeRawBufferPointer, direction: PacketDirection, comment: String? = nil) {
        let padded = (packet.count + 3) & ~3
        var commentOption = OptionList()
        commentOption.add(OptionCode.comment, string: comment)
        let total = enhancedPacketBlockSize(packetBytes: packet.count, direction: direction) + commentOption.bytes.count
            + (direction == .unknown && !commentOption.bytes.isEmpty ? 4 : 0)
        out.reserveCapacity(out.count + total)
        out.appendUInt32(enhancedPacketType)
        out.appendUInt32(UInt32(total))
        out.appendUInt32(interface)
        out.appendUInt32(UInt32(truncatingIfNeeded: timestamp >> 32))
        out.appendUInt32(UInt32(truncatingIfNeeded: timestamp))
        out.appendUInt32(UInt32(packet.count)) // captured
        out.appendUInt32(UInt32(packet.count)) // original
        out.append(contentsOf: packet)
        out.append(contentsOf: repeatElement(0, count: padded - packet.count))
        out += commentOption.bytes
        if direction != .unknown {
            out.appendUInt16(OptionCode.epbFlags)
            out.appendUInt16(4)
            out.appendUInt32(direction.rawValue)
        }
        if direction != .unknown || !commentOption.bytes.isEmpty { out.appendUInt32(0) } // opt_endofopt
        out.appendUInt32(UInt32(total))
    }

    /// What `appendEnhancedPacketBlock` adds for a packet of this size (without a comment).
    public static func enhancedPacketBlockSize(packetBytes: Int, direction: PacketDirection) -> Int {
        let optionsLength = direction == .unknown ? 0 : 4 + 4 + 4 // epb_flags, then opt_endofopt
        return 12 + 20 + ((packetBytes + 3) & ~3) + optionsLength
    }

    private static func block(type: UInt32, body: [UInt8], options: OptionList) -> [UInt8] {
        var optionBytes = options.bytes
        if !optionBytes.isEmpty { optionBytes.appendUInt32(0) } // opt_endofopt
        let total = 12 + body.count + optionBytes.count
        var out: [UInt8] = []
        out.reserveCapacity(total)
        out.appendUInt32(type)
        out.appendUInt32(UInt32(total))
        out += body
        out += optionBytes
        out.appendUInt32(UInt32(total))
        return out
    }
}

/// Options in the §3.5 layout: code, length, value, zero padding to 32 bits.
struct OptionList {
    private(set) var bytes: [UInt8] = []

    mutating func add(_ code: UInt16, string: String?) {
        guard let string, !string.isEmpty else { return }
        add(code, bytes: Array(string.utf8))
    }

    mutating func add(_ code: UInt16, bytes value: [UInt8]) {
        // An option's length field is 16 bits; longer text is cut (never a malformed block).
        let value = value.count > 0xFFF0 ? Array(value.prefix(0xFFF0)) : value
        bytes.appendUInt16(code)
        bytes.appendUInt16(UInt16(value.count))
        bytes += value
        bytes.append(contentsOf: repeatElement(0, count: ((value.count + 3) & ~3) - value.count))
    }
}

extension [UInt8] {
    mutating func appendUInt16(_ value: UInt16) { Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) } }
    mutating func appendUInt32(_ value: UInt32) { Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) } }
    mutating func appendUInt64(_ value: UInt64) { Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) } }
}

// MARK: - Reading

/// A file that is not pcapng, or is cut short or malformed, with what to do.
public struct PcapNGReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let problem: String
    public var description: String { "pcapng: \(problem) at byte \(offset)" }
}

/// One packet read back.
public struct RecordedPacket: Sendable, Equatable {
    public var interface: Int
    /// Nanoseconds since 1970-01-01 UTC.
    public var timestampNanoseconds: UInt64
    public var direction: PacketDirection
    public var bytes: [UInt8]

    public init(interface: Int, timestampNanoseconds: UInt64, direction: PacketDirection, bytes: [UInt8]) {
        self.interface = interface
        self.timestampNanoseconds = timestampNanoseconds
        self.direction = direction
        self.bytes = bytes
    }
}

/// A pcapng file's interfaces and packets (the first section's; §4.1: a later section starts a
/// new numbering, which lockdiag's own files never have).
public struct PcapNGFile: Sendable {
    public var section = SectionHeader()
    public var interfaces: [InterfaceDescription] = []
    public var packets: [RecordedPacket] = []

    /// Parses a whole file: Section Header, Interface Description and Enhanced Packet Blocks;
    /// other block types are skipped. Both byte orders are read (§4.1's byte-order magic).
    public init(bytes: [UInt8]) throws(PcapNGReadError) {
        var offset = 0
        var bigEndian = false
        func u16(_ at: Int) -> UInt16 {
            let v = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
            return bigEndian ? v.byteSwapped : v
        }
        func u32(_ at: Int) -> UInt32 {
            let v = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            return bigEndian ? v.byteSwapped : v
        }
        var resolutions: [UInt64] = []
        var sections = 0
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw PcapNGReadError(offset: offset, problem: "the file ends inside a block header (cut short: copy it again)") }
            func raw32(_ at: Int) -> UInt32 {
                UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            }
            // 0x0A0D0D0A reads the same in either byte order; its magic then says which (§4.1).
            if raw32(offset) == PcapNG.sectionHeaderType {
                let magic = raw32(offset + 8)
                guard magic == PcapNG.byteOrderMagic || magic == PcapNG.byteOrderMagic.byteSwapped else {
                    throw PcapNGReadError(offset: offset, problem: "section header with a bad byte-order magic (corrupt file)")
                }
                bigEndian = magic != PcapNG.byteOrderMagic
                sections += 1
                if sections > 1 { return }
            } else if offset == 0 {
                throw PcapNGReadError(offset: 0, problem: "not a pcapng file (no section header: a classic .pcap or another format)")
            }
            let type = u32(offset)
            let length = Int(u32(offset + 4))
            guard length >= 12, length % 4 == 0, offset + length <= bytes.count else {
                throw PcapNGReadError(offset: offset, problem: "block of \(length) bytes does not fit the file (cut short or corrupt)")
            }
            let body = offset + 8
            let end = offset + length - 4
            switch type {
            case PcapNG.sectionHeaderType:
                var header = SectionHeader()
                Self.options(bytes, from: body + 16, to: end, u16: u16) { code, value in
                    let text = String(decoding: value, as: UTF8.self)
                    switch code {
                    case PcapNG.OptionCode.comment: header.comments.append(text)
                    case PcapNG.OptionCode.shbHardware: header.hardware = text
                    case PcapNG.OptionCode.shbOS: header.os = text
                    case PcapNG.OptionCode.shbUserApplication: header.userApplication = text
                    default: break
                    }
                }
                section = header
            case PcapNG.interfaceDescriptionType:
                guard end - body >= 8 else { throw PcapNGReadError(offset: offset, problem: "interface description too short") }
                var interface = InterfaceDescription(linkType: LinkType(rawValue: u16(body)))
                interface.snapLength = u32(body + 4)
                var unitsPerSecondExponent: UInt8 = 6
                Self.options(bytes, from: body + 8, to: end, u16: u16) { code, value in
                    let text = String(decoding: value, as: UTF8.self)
                    switch code {
                    case PcapNG.OptionCode.comment: interface.comments.append(text)
                    case PcapNG.OptionCode.ifName: interface.name = text
                    case PcapNG.OptionCode.ifDescription: interface.description = text
                    case PcapNG.OptionCode.ifHardware: interface.hardware = text
                    case PcapNG.OptionCode.ifTimestampResolution: if let first = value.first { unitsPerSecondExponent = first }
                    default: break
                    }
                }
                // Powers of ten up to nanoseconds; a power-of-two resolution (top bit) is not one lockdiag writes.
                guard unitsPerSecondExponent & 0x80 == 0, unitsPerSecondExponent <= 9 else {
                    throw PcapNGReadError(offset: offset, problem: "interface timestamp resolution 0x\(String(unitsPerSecondExponent, radix: 16)) is not 10^-0…10^-9")
                }
                interface.resolution = unitsPerSecondExponent == 9 ? .nanoseconds : .microseconds
                var perUnit: UInt64 = 1
                for _ in 0..<(9 - Int(unitsPerSecondExponent)) { perUnit *= 10 }
                resolutions.append(perUnit)
                interfaces.append(interface)
            case PcapNG.enhancedPacketType:
                guard end - body >= 20 else { throw PcapNGReadError(offset: offset, problem: "enhanced packet block too short") }
                let interface = Int(u32(body))
                guard interface < interfaces.count else {
                    throw PcapNGReadError(offset: offset, problem: "packet on interface \(interface), which no interface block declared")
                }
                let units = UInt64(u32(body + 4)) << 32 | UInt64(u32(body + 8))
                let captured = Int(u32(body + 12))
                let data = body + 20
                guard data + captured <= end else { throw PcapNGReadError(offset: offset, problem: "packet data runs past its block") }
                var direction = PacketDirection.unknown
                Self.options(bytes, from: data + ((captured + 3) & ~3), to: end, u16: u16) { code, value in
                    guard code == PcapNG.OptionCode.epbFlags, value.count == 4 else { return }
                    let flags = value.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
                    direction = PacketDirection(rawValue: (bigEndian ? flags.byteSwapped : flags) & 3) ?? .unknown
                }
                packets.append(RecordedPacket(interface: interface, timestampNanoseconds: units &* resolutions[interface], direction: direction,
                                              bytes: Array(bytes[data..<(data + captured)])))
            default:
                break
            }
            offset += length
        }
    }

    private static func options(_ bytes: [UInt8], from start: Int, to end: Int, u16: (Int) -> UInt16, _ each: (UInt16, ArraySlice<UInt8>) -> Void) {
        var at = start
        while at + 4 <= end {
            let code = u16(at), length = Int(u16(at + 2))
            if code == PcapNG.OptionCode.endOfOptions || at + 4 + length > end { return }
            each(code, bytes[(at + 4)..<(at + 4 + length)])
            at += 4 + ((length + 3) & ~3)
        }
    }
}
