/// `daemon.info` result.
public struct DaemonInfo: Codable, Sendable, Equatable {
    public var version: String
    public var pid: Int32
    public var uptimeSeconds: Double
    public var devices: Int
    public var devicesOnline: Int
    /// Wire protocols this daemon speaks, e.g. `LDP/1`.
    public var protocols: [String]
    public var socket: String
    public var pollHz: Int
    public var realtime: RealtimeInfo
    /// What works and what does not; absent from daemons older than the field.
    public var health: DaemonHealth?
    /// The fleet link's state, backlog and lag (`--fleet`, docs/fleet.md); absent without it.
    public var fleet: FleetLinkInfo?

    enum CodingKeys: String, CodingKey {
        case version, pid, devices, protocols, socket, realtime, health, fleet
        case uptimeSeconds = "uptime_s"
        case devicesOnline = "devices_online"
        case pollHz = "poll_hz"
    }

    public init(version: String, pid: Int32, uptimeSeconds: Double, devices: Int, devicesOnline: Int, protocols: [String],
                socket: String, pollHz: Int, realtime: RealtimeInfo, health: DaemonHealth? = nil, fleet: FleetLinkInfo? = nil) {
        self.health = health
        self.fleet = fleet
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.devices = devices
        self.devicesOnline = devicesOnline
        self.protocols = protocols
        self.socket = socket
        self.pollHz = pollHz
        self.realtime = realtime
    }
}

/// What `--realtime` asked for and got.
public struct RealtimeInfo: Codable, Sendable, Equatable {
    public var requested: Bool
    public var granted: [String]
    public var missing: [String]

    public init(requested: Bool, granted: [String], missing: [String]) {
        self.requested = requested
        self.granted = granted
        self.missing = missing
    }
}

/// `daemon.stats` result: the poll loop's own figures.
public struct DaemonStats: Codable, Sendable, Equatable {
    public var pollHz: Int
    public var cycles: UInt64
    public var overruns: UInt64
    public var latenessMicroseconds: LatenessSummary
    /// Readings the poll loop dropped because the daemon's consumer fell behind.
    public var ringDropped: UInt64
    public var uptimeSeconds: Double
    public var devices: [LinkStats]
    /// The socket server's tallies (refused, rate-limited, idle-closed clients…); absent from
    /// daemons older than the field.
    public var clients: ClientStats?

    enum CodingKeys: String, CodingKey {
        case cycles, overruns, devices, clients
        case pollHz = "poll_hz"
        case latenessMicroseconds = "lateness_us"
        case ringDropped = "ring_dropped"
        case uptimeSeconds = "uptime_s"
    }

    public init(pollHz: Int, cycles: UInt64, overruns: UInt64, latenessMicroseconds: LatenessSummary, ringDropped: UInt64,
                uptimeSeconds: Double, devices: [LinkStats], clients: ClientStats? = nil) {
        self.clients = clients
        self.pollHz = pollHz
        self.cycles = cycles
        self.overruns = overruns
        self.latenessMicroseconds = latenessMicroseconds
        self.ringDropped = ringDropped
        self.uptimeSeconds = uptimeSeconds
        self.devices = devices
    }
}

/// Wake-up lateness (actual minus scheduled wake-up) distribution, µs.
public struct LatenessSummary: Codable, Sendable, Equatable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
    public var mean: Double

    public init(count: UInt64, p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64, max: UInt64, mean: Double) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }
}

/// Per-device link counters.
public struct LinkStats: Codable, Sendable, Equatable {
    public var device: String
    public var requests: UInt64
    public var frames: UInt64
    public var bytesIn: UInt64
    public var bytesOut: UInt64
    public var crcErrors: UInt64
    public var headerErrors: UInt64
    public var noiseBytes: UInt64
    public var truncated: UInt64
    public var oversized: UInt64
    public var unsupportedVersion: UInt64
    public var timeouts: UInt64
    public var naks: UInt64
    public var unexpected: UInt64
    /// Frames whose CRC passed but whose payload was not a valid message.
    public var decodeErrors: UInt64
    public var reconnects: UInt64
    /// Event frames the poll loop dropped because the lock sent more than its share a second
    /// (a flooding lock); absent from daemons older than the field.
    public var eventsDropped: UInt64?
    /// The vendor-bulk USB link's own figures, for a USB lock.
    public var usb: USBLinkStats?

    enum CodingKeys: String, CodingKey {
        case device, requests, frames, truncated, oversized, timeouts, naks, unexpected, reconnects, usb
        case eventsDropped = "events_dropped"
        case bytesIn = "bytes_in"
        case bytesOut = "bytes_out"
        case crcErrors = "crc_errors"
        case headerErrors = "header_errors"
        case noiseBytes = "noise_bytes"
        case unsupportedVersion = "unsupported_version"
        case decodeErrors = "decode_errors"
    }

    public init(device: String, requests: UInt64 = 0, frames: UInt64 = 0, bytesIn: UInt64 = 0, bytesOut: UInt64 = 0, crcErrors: UInt64 = 0,
                headerErrors: UInt64 = 0, noiseBytes: UInt64 = 0, truncated: UInt64 = 0, oversized: UInt64 = 0, unsupportedVersion: UInt64 = 0,
                timeouts: UInt64 = 0, naks: UInt64 = 0, unexpected: UInt64 = 0, decodeErrors: UInt64 = 0, reconnects: UInt64 = 0,
                eventsDropped: UInt64? = nil, usb: USBLinkStats? = nil) {
        self.eventsDropped = eventsDropped
        self.device = device
        self.requests = requests
        self.frames = frames
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.crcErrors = crcErrors
        self.headerErrors = headerErrors
        self.noiseBytes = noiseBytes
        self.truncated = truncated
        self.oversized = oversized
        self.unsupportedVersion = unsupportedVersion
        self.timeouts = timeouts
        self.naks = naks
        self.unexpected = unexpected
        self.decodeErrors = decodeErrors
        self.reconnects = reconnects
        self.usb = usb
    }
}

/// One entry of `devices.list`.
public struct DeviceSummary: Codable, Sendable, Equatable {
    /// Stable id: the lock's serial number once identified, else its path.
    public var id: String
    /// `serial`, `usb` or `ble`.
    public var transport: String
    public var path: String
    /// Wire protocol, `LDP/1`.
    public var wireProtocol: String
    public var model: String?
    public var hardwareRevision: String?
    public var firmware: String?
    public var serial: String?
    public var capabilities: [String]
    /// The link is open and the lock answers.
    public var online: Bool
    /// `connecting`, `online`, `unresponsive` (link open, no answers) or `offline`.
    public var state: String
    /// Why the device is not online, when known.
    public var problem: String?
    public var lastSeen: String?
    /// For a lock on USB (vendor-bulk or a USB serial port): where it is plugged in and its ids.
    public var usb: USBDeviceInfo?
    /// The maker, from a BLE lock's Device Information Service.
    public var manufacturer: String?
    /// A BLE lock's connection: MTU, services, attempts.
    public var ble: BLELinkInfo?
    /// The wire dialect when it is not LDP/1: `tuya`, `tuya-sniff` (firmware-specs/tuya-mcu.md).
    public var dialect: String?
    /// A Tuya lock's product layout (`firmware-specs/tuya/<product>.json`), when one fits.
    public var product: String?
    /// Set when that layout is the category's standard one, assumed: why (`product id … not known`).
    public var layoutAssumed: String?

    enum CodingKeys: String, CodingKey {
        case id, transport, path, model, firmware, serial, capabilities, online, state, problem, usb, manufacturer, ble, dialect, product
        case layoutAssumed = "layout_assumed"
        case wireProtocol = "protocol"
        case hardwareRevision = "hardware_revision"
        case lastSeen = "last_seen"
    }

    public init(id: String, transport: String, path: String, wireProtocol: String, model: String?, hardwareRevision: String?,
                firmware: String?, serial: String?, capabilities: [String], online: Bool, state: String, problem: String?, lastSeen: String?,
                usb: USBDeviceInfo? = nil, manufacturer: String? = nil, ble: BLELinkInfo? = nil, dialect: String? = nil,
                product: String? = nil, layoutAssumed: String? = nil) {
        self.manufacturer = manufacturer
        self.ble = ble
        self.id = id
        self.transport = transport
        self.path = path
        self.wireProtocol = wireProtocol
        self.model = model
        self.hardwareRevision = hardwareRevision
        self.firmware = firmware
        self.serial = serial
        self.capabilities = capabilities
        self.online = online
        self.state = state
        self.problem = problem
        self.lastSeen = lastSeen
        self.usb = usb
        self.dialect = dialect
        self.product = product
        self.layoutAssumed = layoutAssumed
    }
}

/// `devices.list` result.
public struct DevicesList: Codable, Sendable, Equatable {
    public var devices: [DeviceSummary]
    public init(devices: [DeviceSummary]) { self.devices = devices }
}
