/// A BLE lock's connection, in `devices.list` (`ble`).
public struct BLELinkInfo: Codable, Sendable, Equatable {
    /// `public` or `random` for a Bluetooth address; absent for the test seam's socket.
    public var addressType: String?
    /// `connecting`, `discovering`, `ready`, `connected`, `waiting` (backing off), `failed`.
    public var phase: String
    /// The ATT_MTU in force, once connected.
    public var mtu: Int?
    /// The services lockdiag uses that the lock has: `ldp`, `battery`, `device_information`.
    public var services: [String]
    /// BT_SECURITY asked for: `low`, `medium`, `high`.
    public var security: String
    public var connectionAttempts: Int
    public var connections: Int
    /// Seconds until the next connection attempt while backing off.
    public var nextAttemptInSeconds: Double?
    /// Battery Level (0x2A19), when the lock has the Battery Service.
    public var batteryPercent: Int?
    /// ATT PDUs received and sent, notifications among those received, and Error Responses.
    public var pdusIn: UInt64
    public var pdusOut: UInt64
    public var notifications: UInt64
    public var errorResponses: UInt64

    enum CodingKeys: String, CodingKey {
        case phase, mtu, services, security, connections, notifications
        case addressType = "address_type"
        case connectionAttempts = "connection_attempts"
        case nextAttemptInSeconds = "next_attempt_in_s"
        case batteryPercent = "battery_percent"
        case pdusIn = "pdus_in"
        case pdusOut = "pdus_out"
        case errorResponses = "error_responses"
    }

    public init(addressType: String?, phase: String, mtu: Int?, services: [String], security: String, connectionAttempts: Int, connections: Int,
                nextAttemptInSeconds: Double?, batteryPercent: Int?, pdusIn: UInt64, pdusOut: UInt64, notifications: UInt64, errorResponses: UInt64) {
        self.addressType = addressType
        self.phase = phase
        self.mtu = mtu
        self.services = services
        self.security = security
        self.connectionAttempts = connectionAttempts
        self.connections = connections
        self.nextAttemptInSeconds = nextAttemptInSeconds
        self.batteryPercent = batteryPercent
        self.pdusIn = pdusIn
        self.pdusOut = pdusOut
        self.notifications = notifications
        self.errorResponses = errorResponses
    }
}

/// `lockdiag scan --json`: what an LE scan heard.
public struct ScanReport: Codable, Sendable, Equatable {
    public var adapter: String
    public var adapterAddress: String?
    public var seconds: Double
    public var reports: Int
    public var devices: [ScannedBLEDevice]

    enum CodingKeys: String, CodingKey {
        case adapter, seconds, reports, devices
        case adapterAddress = "adapter_address"
    }

    public init(adapter: String, adapterAddress: String?, seconds: Double, reports: Int, devices: [ScannedBLEDevice]) {
        self.adapter = adapter
        self.adapterAddress = adapterAddress
        self.seconds = seconds
        self.reports = reports
        self.devices = devices
    }
}

/// One device a scan heard.
public struct ScannedBLEDevice: Codable, Sendable, Equatable {
    /// `AA:BB:CC:DD:EE:FF` or `AA:BB:CC:DD:EE:FF/random`: what `lockdiagd --ble` takes.
    public var address: String
    public var addressType: String
    public var name: String?
    /// Last and strongest received signal strength, dBm.
    public var rssiDBm: Int?
    public var strongestRSSIDBm: Int?
    public var txPowerDBm: Int?
    public var connectable: Bool
    /// Advertised service UUIDs (`0x180F`, or the 128-bit form).
    public var services: [String]
    public var manufacturerData: [ManufacturerData]
    public var serviceData: [ServiceData]
    public var flags: [String]
    public var appearance: Int?
    /// Why it looks like a lock (`ldp`, `vendor`, `battery`), absent when it does not.
    public var lockEvidence: String?
    public var lockReason: String?
    public var reports: Int
    /// What was wrong with its advertising data, if anything.
    public var problem: String?

    enum CodingKeys: String, CodingKey {
        case address, name, connectable, services, flags, appearance, reports, problem
        case addressType = "address_type"
        case rssiDBm = "rssi_dbm"
        case strongestRSSIDBm = "strongest_rssi_dbm"
        case txPowerDBm = "tx_power_dbm"
        case manufacturerData = "manufacturer_data"
        case serviceData = "service_data"
        case lockEvidence = "lock_evidence"
        case lockReason = "lock_reason"
    }

    public var isLikelyLock: Bool { lockEvidence != nil }

    /// Manufacturer Specific Data: company identifier and the bytes after it, in hex.
    public struct ManufacturerData: Codable, Sendable, Equatable {
        public var companyID: Int
        public var dataHex: String
        enum CodingKeys: String, CodingKey {
            case companyID = "company_id"
            case dataHex = "data_hex"
        }
        public init(companyID: Int, dataHex: String) {
            self.companyID = companyID
            self.dataHex = dataHex
        }
    }

    /// Service Data: the service UUID and its bytes, in hex.
    public struct ServiceData: Codable, Sendable, Equatable {
        public var uuid: String
        public var dataHex: String
        enum CodingKeys: String, CodingKey {
            case uuid
            case dataHex = "data_hex"
        }
        public init(uuid: String, dataHex: String) {
            self.uuid = uuid
            self.dataHex = dataHex
        }
    }

    public init(address: String, addressType: String, name: String?, rssiDBm: Int?, strongestRSSIDBm: Int?, txPowerDBm: Int?,
                connectable: Bool, services: [String], manufacturerData: [ManufacturerData], serviceData: [ServiceData], flags: [String],
                appearance: Int?, lockEvidence: String?, lockReason: String?, reports: Int, problem: String?) {
        self.address = address
        self.addressType = addressType
        self.name = name
        self.rssiDBm = rssiDBm
        self.strongestRSSIDBm = strongestRSSIDBm
        self.txPowerDBm = txPowerDBm
        self.connectable = connectable
        self.services = services
        self.manufacturerData = manufacturerData
        self.serviceData = serviceData
        self.flags = flags
        self.appearance = appearance
        self.lockEvidence = lockEvidence
        self.lockReason = lockReason
        self.reports = reports
        self.problem = problem
    }
}
