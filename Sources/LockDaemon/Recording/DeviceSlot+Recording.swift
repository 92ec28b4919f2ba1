import LinuxIO

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
        guard let traffic = outbox.traffic else { return }
        var transport = link.transport
        var path = link.path
        var dialect = dialect.recordingName
        traffic.push(device: index, kind: .linkOpened, at: now) { slot in
            var used = 0
            for index in 0..<3 {
                let copied: Int
                switch index {
                case 0: copied = transport.withUTF8 { LinkIdentity.copy($0, into: slot, at: used) }
                case 1: copied = path.withUTF8 { LinkIdentity.copy($0, into: slot, at: used) }
                default: copied = dialect.withUTF8 { LinkIdentity.copy($0, into: slot, at: used) }
                }
                used += copied
            }
            return used
        }
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

    /// Copies `text` and a NUL into `slot` at `offset`, as far as it fits; returns the bytes used.
    static func copy(_ text: UnsafeBufferPointer<UInt8>, into slot: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let room = slot.count - offset
        guard room > 0 else { return 0 }
        let n = min(text.count, room - 1)
        if n > 0 { (slot.baseAddress! + offset).copyMemory(from: text.baseAddress!, byteCount: n) }
        slot[offset + n] = 0
        return n + 1
    }

    /// Parses what `recordLinkOpened` wrote; nil when it is not three NUL-terminated fields.
    init?(encoded bytes: UnsafeRawBufferPointer) {
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 4, fields[3].isEmpty else { return nil }
        transport = fields[0]
        path = fields[1]
        dialect = fields[2]
    }

    init(transport: String, path: String, dialect: String) {
        self.transport = transport
        self.path = path
        self.dialect = dialect
    }
}
