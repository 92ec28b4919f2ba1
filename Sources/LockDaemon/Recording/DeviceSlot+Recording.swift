import BLETransport
import LinuxIO
import PcapNG
import USBTransport

// The recording tap at the driver boundary: the drivers' loop halves call these where they read
// from and write to a link. Loop-thread only; nothing here allocates or locks (the bytes are
// copied into the preallocated `TrafficRing`), and without `--record` they return at once.

extension DeviceSlot {
    /// Copies bytes that went over the link into the recording, if one is running, and into the
    /// socket recordings' taps while one listens (`record.start`).
    @inline(__always)
    func recordTraffic(_ bytes: UnsafeRawBufferPointer, _ kind: TrafficKind) {
        guard bytes.count > 0 else { return }
        let tapped = outbox.taps?.isWanted == true
        guard outbox.traffic != nil || tapped else { return }
        let now = MonotonicClock.nanoseconds()
        outbox.traffic?.push(device: index, kind: kind, at: now, bytes: bytes)
        if tapped { outbox.taps?.push(device: index, kind: kind, at: now, bytes: bytes) }
    }

    /// Tells the recording which lock this slot's link reaches (at open, never per cycle): the
    /// recorder turns it into the link's pcapng interface.
    func recordLinkOpened(now: UInt64) {
        outbox.taps?.linkEncapsulations.store(recordedEncapsulation.word, at: index)
        guard let traffic = outbox.traffic else { return }
        var transport = link.transport
        var path = link.path
        var dialect = dialect.recordingName
        var encapsulation = LinkIdentity.encode(recordedEncapsulation)
        traffic.push(device: index, kind: .linkOpened, at: now) { slot in
            var used = 0
            for index in 0..<4 {
                let copied: Int
                switch index {
                case 0: copied = transport.withUTF8 { LinkIdentity.copy($0, into: slot, at: used) }
                case 1: copied = path.withUTF8 { LinkIdentity.copy($0, into: slot, at: used) }
                case 2: copied = dialect.withUTF8 { LinkIdentity.copy($0, into: slot, at: used) }
                default: copied = encapsulation.withUTF8 { LinkIdentity.copy($0, into: slot, at: used) }
                }
                used += copied
            }
            return used
        }
    }

    /// How the recording wraps this link's bytes, read once the link is open: a vendor-bulk USB
    /// lock's as usbmon records of its endpoints, a BLE lock's LDP stream as ATT PDUs on the
    /// handles GATT discovery found, anything else (serial, Tuya, replay) as the byte stream.
    var recordedEncapsulation: LinkEncapsulation {
        if let usb = link as? USBBulkPort, let e = usb.endpoints {
            return .usb(USBMonitorAddress(bus: UInt16(e.bus), device: e.device, outEndpoint: e.outEndpoint, inEndpoint: e.inEndpoint))
        }
        if let ble = link as? BLELink, let ldp = ble.ldpEndpoints {
            // BlueZ's ATT socket does not tell the controller's ACL handle: the slot number
            // stands in for it, so each lock of a file is its own connection in Wireshark.
            return .att(ATTStreamAddress(commandHandle: ldp.commandHandle,
                                         writeOpcode: ldp.commandWithoutResponse ? ATTStreamAddress.writeCommand : ATTStreamAddress.writeRequest,
                                         dataHandle: ldp.dataHandle,
                                         dataOpcode: ldp.dataIndicates ? ATTStreamAddress.indication : ATTStreamAddress.notification,
                                         mtu: UInt16(clamping: ble.attMTU), connectionHandle: UInt16(index & 0x0FFF)))
        }
        return .stream(TrafficRecorder.streamLinkType(dialect: dialect.recordingName))
    }
}

extension LinkDialect {
    /// The dialect's name in a recording's interface, as `--dialect` spells it (`ldp`, `tuya`,
    /// `tuya-lowpower`, `tuya-sniff`, `gatt`): the Tuya frame does not say which protocol it is.
    var recordingName: String {
        switch self {
        case .ldp: "ldp"
        case .tuya(let configuration) where configuration.role == .passive: "tuya-sniff"
        case .tuya(let configuration) where configuration.variant == .lowPower: "tuya-lowpower"
        case .tuya: "tuya"
        case .gatt: "gatt"
        }
    }
}

/// A link as the recording names it: what `recordLinkOpened` sends, NUL-separated.
struct LinkIdentity: Equatable {
    var transport: String
    var path: String
    var dialect: String
    var encapsulation: LinkEncapsulation

    /// Copies `text` and a NUL into `slot` at `offset`, as far as it fits; returns the bytes used.
    static func copy(_ text: UnsafeBufferPointer<UInt8>, into slot: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let room = slot.count - offset
        guard room > 0 else { return 0 }
        let n = min(text.count, room - 1)
        if n > 0 { (slot.baseAddress! + offset).copyMemory(from: text.baseAddress!, byteCount: n) }
        slot[offset + n] = 0
        return n + 1
    }

    /// Parses what `recordLinkOpened` wrote; nil when it is not four NUL-terminated fields.
    init?(encoded bytes: UnsafeRawBufferPointer) {
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 5, fields[4].isEmpty else { return nil }
        transport = fields[0]
        path = fields[1]
        dialect = fields[2]
        encapsulation = Self.decode(fields[3]) ?? .stream(TrafficRecorder.streamLinkType(dialect: dialect))
    }

    init(transport: String, path: String, dialect: String, encapsulation: LinkEncapsulation? = nil) {
        self.transport = transport
        self.path = path
        self.dialect = dialect
        self.encapsulation = encapsulation ?? .stream(TrafficRecorder.streamLinkType(dialect: dialect))
    }

    /// The encapsulation as the fourth field: `usb BUS DEVICE OUT IN`, `att COMMAND WRITE-OPCODE
    /// DATA DATA-OPCODE MTU CONNECTION`, or empty for the byte stream.
    static func encode(_ encapsulation: LinkEncapsulation) -> String {
        switch encapsulation {
        case .stream: ""
        case .usb(let a): "usb \(a.bus) \(a.device) \(a.outEndpoint) \(a.inEndpoint)"
        case .att(let a): "att \(a.commandHandle) \(a.writeOpcode) \(a.dataHandle) \(a.dataOpcode) \(a.mtu) \(a.connectionHandle)"
        }
    }

    static func decode(_ text: String) -> LinkEncapsulation? {
        let words = text.split(separator: " ")
        switch words.first {
        case "usb":
            guard words.count == 5, let bus = UInt16(words[1]), let device = UInt8(words[2]),
                  let out = UInt8(words[3]), let input = UInt8(words[4]) else { return nil }
            return .usb(USBMonitorAddress(bus: bus, device: device, outEndpoint: out, inEndpoint: input))
        case "att":
            let n = words.dropFirst().compactMap { UInt16($0) }
            guard words.count == 7, n.count == 6, n[1] <= 0xFF, n[3] <= 0xFF else { return nil }
            return .att(ATTStreamAddress(commandHandle: n[0], writeOpcode: UInt8(n[1]), dataHandle: n[2], dataOpcode: UInt8(n[3]),
                                         mtu: n[4], connectionHandle: n[5]))
        default: return nil
        }
    }
}
