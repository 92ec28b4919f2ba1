// `record.start` / `record.stop` and their `record.chunk` notifications: one lock's traffic through
// the socket (docs/socket-api.md "Recording a lock's traffic", docs/recording.md).

extension APIMethod {
    /// Starts sending one lock's bytes as `record.chunk` notifications (technician; audited).
    public static let recordStart = "record.start"
    /// Stops a recording this connection started; its result counts what was sent and lost.
    public static let recordStop = "record.stop"
    /// Notification carrying a recording's packets.
    public static let recordChunkNotification = "record.chunk"
}

/// `record.start` result: what the client writes as the file's section header and interface
/// (the layout `lockdiagd --record` writes), then the recording's id for `record.stop`.
public struct RecordStarted: Codable, Sendable, Equatable {
    public var recording: Int
    public var device: String
    /// `shb_userappl`: `lockdiagd 0.1.0`.
    public var application: String
    /// `shb_hardware`: the daemon's host and machine.
    public var hardware: String
    /// `shb_os`: the daemon's kernel.
    public var os: String
    /// `opt_comment` of the section: the recording may hold unlock events.
    public var comment: String
    public var interface: RecordedInterface

    public init(recording: Int, device: String, application: String, hardware: String, os: String, comment: String,
                interface: RecordedInterface) {
        self.recording = recording
        self.device = device
        self.application = application
        self.hardware = hardware
        self.os = os
        self.comment = comment
        self.interface = interface
    }
}

/// The lock's link as a pcapng interface.
public struct RecordedInterface: Codable, Sendable, Equatable {
    /// pcapng link type: 147 (LINKTYPE_USER0, serial LDP/1), 148 (LINKTYPE_USER1, Tuya MCU), 220 (usbmon, USB bulk) or 201 (HCI ACL/ATT, BLE).
    public var linkType: Int
    /// `if_name`: `TRANSPORT:PATH`.
    public var name: String
    /// `if_description`: protocol, transport, path and dialect.
    public var description: String
    /// `if_hardware`: the lock's model and serial number once IDENTIFY gave them, else absent.
    public var hardware: String?

    enum CodingKeys: String, CodingKey {
        case linkType = "link_type", name, description, hardware
    }

    public init(linkType: Int, name: String, description: String, hardware: String? = nil) {
        self.linkType = linkType
        self.name = name
        self.description = description
        self.hardware = hardware
    }
}

/// `record.stop` params.
public struct RecordStopParams: Codable, Sendable, Equatable {
    public var recording: Int
    public init(recording: Int) { self.recording = recording }
}

/// `record.stop` result.
public struct RecordStopped: Codable, Sendable, Equatable {
    public var recording: Int
    /// Packets sent in `record.chunk` notifications.
    public var packets: Int
    /// Packets lost: the client read too slowly, or the daemon's tap ring was full.
    public var lostPackets: Int

    enum CodingKeys: String, CodingKey {
        case recording, packets, lostPackets = "lost_packets"
    }

    public init(recording: Int, packets: Int, lostPackets: Int) {
        self.recording = recording
        self.packets = packets
        self.lostPackets = lostPackets
    }
}

/// `record.chunk` notification params: packets in the order they went over the link.
public struct RecordChunk: Codable, Sendable, Equatable {
    public var recording: Int
    /// Packets lost just before these (the client read too slowly, or the tap ring was full).
    public var lostPackets: Int
    public var packets: [RecordedBytes]

    enum CodingKeys: String, CodingKey {
        case recording, lostPackets = "lost_packets", packets
    }

    public init(recording: Int, lostPackets: Int, packets: [RecordedBytes]) {
        self.recording = recording
        self.lostPackets = lostPackets
        self.packets = packets
    }
}

/// One read from or write to the link.
public struct RecordedBytes: Codable, Sendable, Equatable {
    /// Wall-clock time, nanoseconds since 1970-01-01 UTC.
    public var timeNanoseconds: UInt64
    /// `from_lock` or `to_lock`.
    public var direction: String
    /// The bytes, base64.
    public var data: String

    public static let fromLock = "from_lock"
    public static let toLock = "to_lock"

    enum CodingKeys: String, CodingKey {
        case timeNanoseconds = "time_ns", direction, data
    }

    public init(timeNanoseconds: UInt64, direction: String, data: String) {
        self.timeNanoseconds = timeNanoseconds
        self.direction = direction
        self.data = data
    }
}
