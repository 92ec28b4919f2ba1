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
    /// since 1970-01-01 UTC; the direction goes into `epb_flags`.
    public static func appendEnhancedPacketBlock(to out: inout [UInt8], interface: UInt32, timestamp: UInt64,
                                                 packet: UnsafeRawBufferPointer, direction: PacketDirection) {
        let padded = (packet.count + 3) & ~3
        let optionsLength = direction == .unknown ? 0 : 4 + 4 + 4 // epb_flags, then opt_endofopt
        let total = 12 + 20 + padded + optionsLength
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
        if direction != .unknown {
            out.appendUInt16(OptionCode.epbFlags)
            out.appendUInt16(4)
            out.appendUInt32(direction.rawValue)
            out.appendUInt32(0) // opt_endofopt
        }
        out.appendUInt32(UInt32(total))
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
