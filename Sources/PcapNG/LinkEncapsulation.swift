// How a lock link's bytes are wrapped so Wireshark decodes the transport they really crossed:
//
// - USB bulk: LINKTYPE_USB_LINUX_MMAPPED (220, tcpdump.org's LINKTYPE registry): each packet
//   starts with the 64-byte header of the Linux kernel's binary usbmon interface
//   (Documentation/usb/usbmon.rst, "Raw binary format and API": struct usbmon_packet — URB id,
//   event type 'S'/'C', transfer type, endpoint address, device address, bus number, setup and
//   data flags, timestamp seconds and microseconds, status, length, captured length, the setup
//   or ISO union, interval, start frame, transfer flags, ISO descriptor count), in the byte
//   order of the machine that wrote it, followed by the data.
// - Bluetooth LE: LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR (201): a 4-byte big-endian direction
//   (0 sent by the host, 1 received), the H4 packet type (0x02 ACL data), the HCI ACL header
//   (Bluetooth Core v5.3 Vol 4 Part E §5.4.2: 12-bit handle, PB flag 0b10 "first automatically
//   flushable", BC 0, 16-bit length), the L2CAP basic header (Vol 3 Part A §3.1: length, CID
//   0x0004 for ATT), then the ATT PDU (Vol 3 Part F §3.4: opcode, attribute handle, value).
// Pure: builds and parses bytes, no I/O.

/// Link types of the transports a lock's bytes cross.
extension LinkType {
    /// LINKTYPE_USB_LINUX_MMAPPED: a 64-byte usbmon header, then the transfer's data.
    public static let usbLinuxMmapped = LinkType(rawValue: 220)
    /// LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR: a direction word, then an H4 HCI packet.
    public static let bluetoothHCIH4WithPHDR = LinkType(rawValue: 201)
}

/// Where a vendor-bulk USB lock's transfers go: what a usbmon record names.
public struct USBMonitorAddress: Sendable, Hashable {
    public var bus: UInt16
    public var device: UInt8
    /// Endpoint addresses as the descriptors give them (OUT without, IN with bit 0x80).
    public var outEndpoint: UInt8
    public var inEndpoint: UInt8

    public init(bus: UInt16, device: UInt8, outEndpoint: UInt8, inEndpoint: UInt8) {
        self.bus = bus
        self.device = device
        self.outEndpoint = outEndpoint
        self.inEndpoint = inEndpoint
    }
}

/// Where a BLE lock's LDP byte stream goes: the LDP service's value handles GATT discovery found.
public struct ATTStreamAddress: Sendable, Hashable {
    /// The command characteristic's value handle (host → lock).
    public var commandHandle: UInt16
    /// ATT Write Command (0x52) or Write Request (0x12): what the host sends on it.
    public var writeOpcode: UInt8
    /// The response/event characteristic's value handle (lock → host).
    public var dataHandle: UInt16
    /// Handle Value Notification (0x1B) or Indication (0x1D): what the lock sends on it.
    public var dataOpcode: UInt8
    /// ATT_MTU of the connection: a value carries at most ATT_MTU − 3 bytes.
    public var mtu: UInt16
    /// The HCI ACL connection handle written in the ACL header (12 bits).
    public var connectionHandle: UInt16

    public static let writeCommand: UInt8 = 0x52
    public static let writeRequest: UInt8 = 0x12
    public static let notification: UInt8 = 0x1B
    public static let indication: UInt8 = 0x1D

    public init(commandHandle: UInt16, writeOpcode: UInt8, dataHandle: UInt16, dataOpcode: UInt8, mtu: UInt16, connectionHandle: UInt16) {
        self.commandHandle = commandHandle
        self.writeOpcode = writeOpcode
        self.dataHandle = dataHandle
        self.dataOpcode = dataOpcode
        self.mtu = mtu
        self.connectionHandle = connectionHandle
    }

    /// Bytes of the stream one PDU carries.
    public var valueBytes: Int { max(Int(mtu) - 3, 1) }
}

/// How one link's bytes are written as packets.
public enum LinkEncapsulation: Sendable, Hashable {
    /// The byte stream itself (serial LDP/1: USER0; Tuya MCU: USER1).
    case stream(LinkType)
    /// usbmon records of bulk transfers (220).
    case usb(USBMonitorAddress)
    /// HCI ACL packets carrying ATT on L2CAP (201).
    case att(ATTStreamAddress)

    public var linkType: LinkType {
        switch self {
        case .stream(let type): type
        case .usb: .usbLinuxMmapped
        case .att: .bluetoothHCIH4WithPHDR
        }
    }

    public static let usbmonHeaderBytes = 64
    /// Direction word + H4 type + ACL header + L2CAP header + ATT opcode and handle.
    public static let attHeaderBytes = 4 + 1 + 4 + 4 + 3

    /// Calls `packet` once per record that carries `bytes` one way: the stream as one packet, a
    /// bulk OUT as one submission ('S') with its data, a bulk IN as one completion ('C') with its
    /// data, BLE bytes as one ATT PDU per ATT_MTU − 3 bytes. `scratch` is reused (no array per
    /// record once it has grown); `urbID` numbers the usbmon records.
    public func packets(_ bytes: UnsafeRawBufferPointer, toLock: Bool, wallNanoseconds: UInt64, urbID: UInt64,
                        scratch: inout [UInt8], _ packet: (UnsafeRawBufferPointer) -> Void) {
        switch self {
        case .stream:
            packet(bytes)
        case .usb(let address):
            scratch.removeAll(keepingCapacity: true)
            Self.appendUsbmonHeader(to: &scratch, id: urbID, submission: toLock,
                                    endpoint: toLock ? address.outEndpoint : address.inEndpoint,
                                    address: address, wallNanoseconds: wallNanoseconds, dataBytes: bytes.count)
            scratch.append(contentsOf: bytes)
            scratch.withUnsafeBytes(packet)
        case .att(let address):
            var offset = 0
            repeat {
                let count = min(address.valueBytes, bytes.count - offset)
                scratch.removeAll(keepingCapacity: true)
                Self.appendATTHeader(to: &scratch, address: address, toLock: toLock, valueBytes: count)
                scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
                scratch.withUnsafeBytes(packet)
                offset += count
            } while offset < bytes.count
        }
    }

    static func appendUsbmonHeader(to out: inout [UInt8], id: UInt64, submission: Bool, endpoint: UInt8,
                                   address: USBMonitorAddress, wallNanoseconds: UInt64, dataBytes: Int) {
        out.appendUInt64(id)
        out.append(submission ? UInt8(ascii: "S") : UInt8(ascii: "C"))
        out.append(3) // bulk
        out.append(endpoint)
        out.append(address.device)
        out.appendUInt16(address.bus)
        out.append(UInt8(ascii: "-")) // flag_setup: no setup packet (not a control transfer)
        out.append(0) // flag_data: 0 = the data is present
        out.appendUInt64(wallNanoseconds / 1_000_000_000)
        out.appendUInt32(UInt32((wallNanoseconds % 1_000_000_000) / 1000))
        // A submission is still in progress (-EINPROGRESS, as usbmon shows it); a completion succeeded.
        out.appendUInt32(UInt32(bitPattern: submission ? -115 : 0))
        out.appendUInt32(UInt32(dataBytes)) // length
        out.appendUInt32(UInt32(dataBytes)) // len_cap
        out.append(contentsOf: repeatElement(0, count: 8)) // setup / ISO union
        out.appendUInt32(0) // interval
        out.appendUInt32(0) // start_frame
        out.appendUInt32(0) // xfer_flags
        out.appendUInt32(0) // ndesc
    }

    static func appendATTHeader(to out: inout [UInt8], address: ATTStreamAddress, toLock: Bool, valueBytes: Int) {
        let attBytes = 3 + valueBytes
        let direction: UInt32 = toLock ? 0 : 1
        withUnsafeBytes(of: direction.bigEndian) { out.append(contentsOf: $0) }
        out.append(0x02) // H4: ACL data
        // PB 0b10 (a complete L2CAP PDU, first and only fragment), BC 0b00.
        let handleAndFlags = (address.connectionHandle & 0x0FFF) | 0x2000
        withUnsafeBytes(of: handleAndFlags.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(4 + attBytes).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(attBytes).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(0x0004).littleEndian) { out.append(contentsOf: $0) } // CID: ATT
        out.append(toLock ? address.writeOpcode : address.dataOpcode)
        let handle = toLock ? address.commandHandle : address.dataHandle
        withUnsafeBytes(of: handle.littleEndian) { out.append(contentsOf: $0) }
    }
}

// MARK: - Reading back

/// The part of a recorded packet that belongs to the lock's byte stream.
public struct StreamBytes: Sendable, Equatable {
    public var toLock: Bool
    public var bytes: [UInt8]

    public init(toLock: Bool, bytes: [UInt8]) {
        self.toLock = toLock
        self.bytes = bytes
    }
}

extension LinkEncapsulation {
    /// The stream bytes a packet of an interface of `linkType` carries, nil when it carries none
    /// of the stream (a usbmon record without data, an 'S' on an IN endpoint, an ATT PDU that is
    /// not a write, notification or indication, another HCI packet). `direction` is the EPB's,
    /// used by stream link types. usbmon headers are read in this machine's byte order (the one
    /// lockdiag writes them in).
    public static func streamBytes(of packet: [UInt8], linkType: LinkType, direction: PacketDirection) -> StreamBytes? {
        switch linkType {
        case .usbLinuxMmapped:
            guard packet.count > usbmonHeaderBytes else { return nil }
            let type = packet[8], transfer = packet[9], endpoint = packet[10], flagData = packet[15]
            guard transfer == 3, flagData == 0 else { return nil }
            let captured = packet.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 36, as: UInt32.self)) }
            let data = Array(packet[usbmonHeaderBytes..<min(packet.count, usbmonHeaderBytes + captured)])
            let isIn = endpoint & 0x80 != 0
            if type == UInt8(ascii: "S"), !isIn { return StreamBytes(toLock: true, bytes: data) }
            if type == UInt8(ascii: "C"), isIn { return StreamBytes(toLock: false, bytes: data) }
            return nil
        case .bluetoothHCIH4WithPHDR:
            // direction word, H4 type 2, ACL header, L2CAP header with CID 4, ATT opcode + handle.
            guard packet.count >= attHeaderBytes, packet[4] == 0x02 else { return nil }
            let l2capLength = Int(packet[9]) | Int(packet[10]) << 8
            let cid = UInt16(packet[11]) | UInt16(packet[12]) << 8
            guard cid == 0x0004, 13 + l2capLength <= packet.count, l2capLength >= 3 else { return nil }
            let value = Array(packet[16..<(13 + l2capLength)])
            switch packet[13] {
            case ATTStreamAddress.writeCommand, ATTStreamAddress.writeRequest: return StreamBytes(toLock: true, bytes: value)
            case ATTStreamAddress.notification, ATTStreamAddress.indication: return StreamBytes(toLock: false, bytes: value)
            default: return nil
            }
        default:
            return StreamBytes(toLock: direction == .outbound, bytes: packet)
        }
    }
}

// MARK: - One word

extension LinkEncapsulation {
    /// The encapsulation in one 64-bit word, for a lock-free hand-over between threads (0: the
    /// byte stream, whose link type the dialect gives). Bits 0–1 say which: 1 USB (bus 8–23,
    /// device 24–31, OUT endpoint 32–39, IN 40–47), 2 ATT (command handle 2–17, data handle 18–33,
    /// ATT_MTU 34–49, connection handle 50–61, Write Request 62, Indication 63).
    public var word: UInt64 {
        switch self {
        case .stream: 0
        case .usb(let a):
            1 | UInt64(a.bus) << 8 | UInt64(a.device) << 24 | UInt64(a.outEndpoint) << 32 | UInt64(a.inEndpoint) << 40
        case .att(let a):
            2 | UInt64(a.commandHandle) << 2 | UInt64(a.dataHandle) << 18 | UInt64(a.mtu) << 34
                | UInt64(a.connectionHandle & 0x0FFF) << 50
                | (a.writeOpcode == ATTStreamAddress.writeRequest ? 1 << 62 : 0) | (a.dataOpcode == ATTStreamAddress.indication ? 1 << 63 : 0)
        }
    }

    /// The encapsulation a `word` says, or nil for 0 (the stream) or a word no encapsulation makes.
    public init?(word: UInt64) {
        func bits(_ shift: UInt64, _ count: UInt64) -> UInt64 { (word >> shift) & ((1 << count) - 1) }
        switch word & 3 {
        case 1:
            self = .usb(USBMonitorAddress(bus: UInt16(bits(8, 16)), device: UInt8(bits(24, 8)),
                                          outEndpoint: UInt8(bits(32, 8)), inEndpoint: UInt8(bits(40, 8))))
        case 2:
            self = .att(ATTStreamAddress(commandHandle: UInt16(bits(2, 16)),
                                         writeOpcode: bits(62, 1) == 1 ? ATTStreamAddress.writeRequest : ATTStreamAddress.writeCommand,
                                         dataHandle: UInt16(bits(18, 16)),
                                         dataOpcode: bits(63, 1) == 1 ? ATTStreamAddress.indication : ATTStreamAddress.notification,
                                         mtu: UInt16(bits(34, 16)), connectionHandle: UInt16(bits(50, 12))))
        default:
            return nil
        }
    }
}
