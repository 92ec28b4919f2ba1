// The Linux kernel's Bluetooth management API: the packets a peripheral (the simulated lock on a
// real controller) exchanges with the kernel on an HCI_CHANNEL_CONTROL socket. Facts from BlueZ's
// doc/mgmt-api.txt ("Packet Structures", "Read Controller Information", "Set Powered", "Add
// Advertising", "Remove Advertising"); all fields little-endian. Pure: no I/O.

/// One management command, event or reply, and the few commands lockdiag's simulator sends.
public enum Management {
    /// A packet's header: code, controller index, parameter length (2 bytes each).
    public static let headerSize = 6
    /// The "non-controller" index.
    public static let noController: UInt16 = 0xFFFF

    public enum Opcode: UInt16, Sendable {
        case readControllerInformation = 0x0004
        case setPowered = 0x0005
        case addAdvertising = 0x003E
        case removeAdvertising = 0x003F

        public var name: String {
            switch self {
            case .readControllerInformation: "Read Controller Information"
            case .setPowered: "Set Powered"
            case .addAdvertising: "Add Advertising"
            case .removeAdvertising: "Remove Advertising"
            }
        }
    }

    /// Events that answer a command.
    public static let commandCompleteEvent: UInt16 = 0x0001
    public static let commandStatusEvent: UInt16 = 0x0002

    /// Current_Settings bits (Read Controller Information).
    public struct Settings: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let powered = Settings(rawValue: 1 << 0)
        public static let connectable = Settings(rawValue: 1 << 1)
        public static let lowEnergy = Settings(rawValue: 1 << 9)
        public static let advertising = Settings(rawValue: 1 << 10)
    }

    /// Add Advertising's Flags.
    public struct AdvertisingFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Undirected connectable advertising, whatever the global connectable setting.
        public static let connectable = AdvertisingFlags(rawValue: 1 << 0)
        /// The kernel puts a Flags structure (LE General Discoverable) in front of the data,
        /// which leaves 28 of the 31 bytes for ours.
        public static let generalDiscoverable = AdvertisingFlags(rawValue: 1 << 1)
    }

    /// Legacy advertising data and scan responses hold 31 bytes.
    public static let maximumAdvertisingBytes = 31
    /// With the kernel-managed Flags structure in front.
    public static let maximumAdvertisingBytesWithFlags = 28

    /// A command packet.
    public static func command(_ opcode: Opcode, index: UInt16, parameters: [UInt8] = []) -> [UInt8] {
        le16(opcode.rawValue) + le16(index) + le16(UInt16(parameters.count)) + parameters
    }

    public static func setPowered(index: UInt16, on: Bool) -> [UInt8] {
        command(.setPowered, index: index, parameters: [on ? 1 : 0])
    }

    /// Add Advertising: `instance` (1…), no duration or timeout (kept across power cycles, as
    /// mgmt-api.txt's Set Powered says of instances without a timeout).
    public static func addAdvertising(index: UInt16, instance: UInt8, flags: AdvertisingFlags, data: [UInt8], scanResponse: [UInt8])
        throws(ManagementError) -> [UInt8] {
        let limit = flags.isDisjoint(with: .generalDiscoverable) ? maximumAdvertisingBytes : maximumAdvertisingBytesWithFlags
        guard data.count <= limit else { throw .tooLong("advertising data", data.count, maximum: limit) }
        guard scanResponse.count <= maximumAdvertisingBytes else { throw .tooLong("scan response", scanResponse.count, maximum: maximumAdvertisingBytes) }
        let parameters = [instance] + le32(flags.rawValue) + le16(0) + le16(0) + [UInt8(data.count), UInt8(scanResponse.count)] + data + scanResponse
        return command(.addAdvertising, index: index, parameters: parameters)
    }

    public static func removeAdvertising(index: UInt16, instance: UInt8) -> [UInt8] {
        command(.removeAdvertising, index: index, parameters: [instance])
    }

    /// A packet from the kernel, split: event code, controller index, parameters.
    public struct Event: Sendable, Equatable {
        public var code: UInt16
        public var index: UInt16
        public var parameters: [UInt8]

        public init(packet: [UInt8]) throws(ManagementError) {
            guard packet.count >= headerSize else { throw .truncated("event header", packet.count, needed: headerSize) }
            code = UInt16(packet[0]) | UInt16(packet[1]) << 8
            index = UInt16(packet[2]) | UInt16(packet[3]) << 8
            let length = Int(UInt16(packet[4]) | UInt16(packet[5]) << 8)
            guard packet.count >= headerSize + length else { throw .truncated("event parameters", packet.count - headerSize, needed: length) }
            parameters = Array(packet[headerSize..<(headerSize + length)])
        }

        /// When this answers `opcode` on controller `index`: its return parameters on success;
        /// throws the status on failure. nil when it answers something else (or is another event).
        public func reply(to opcode: Opcode, index: UInt16) throws(ManagementError) -> [UInt8]? {
            guard code == commandCompleteEvent || code == commandStatusEvent, self.index == index, parameters.count >= 3,
                  UInt16(parameters[0]) | UInt16(parameters[1]) << 8 == opcode.rawValue else { return nil }
            let status = parameters[2]
            guard status == 0 else { throw .failed(opcode, index: index, status: status) }
            return Array(parameters[3...])
        }
    }

    /// Read Controller Information's return parameters (the fields a peripheral needs).
    public struct ControllerInformation: Sendable, Equatable {
        /// The public address (all zero on an LE-only controller without one).
        public var address: BluetoothAddress
        public var supported: Settings
        public var current: Settings
        public var name: String

        public init(parameters p: [UInt8]) throws(ManagementError) {
            // Address 6, version 1, manufacturer 2, supported 4, current 4, class 3, name 249, short name 11.
            guard p.count >= 20 else { throw .truncated("controller information", p.count, needed: 20) }
            address = BluetoothAddress(littleEndian: Array(p[0..<6]), type: .public)
            supported = Settings(rawValue: Management.le32(p, at: 9))
            current = Settings(rawValue: Management.le32(p, at: 13))
            let nameBytes = p.count > 20 ? p[20..<min(p.count, 20 + 249)] : []
            name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    static func le32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << ($1 * 8) }
    }

    /// Status codes (mgmt-api.txt, "Error Codes").
    public static func statusName(_ status: UInt8) -> String {
        let names = ["Success", "Unknown Command", "Not Connected", "Failed", "Connect Failed", "Authentication Failed", "Not Paired",
                     "No Resources", "Timeout", "Already Connected", "Busy", "Rejected", "Not Supported", "Invalid Parameters",
                     "Disconnected", "Not Powered", "Cancelled", "Invalid Index", "RFKilled", "Already Paired", "Permission Denied"]
        return Int(status) < names.count ? names[Int(status)] : "status 0x" + BluetoothUUID.hex(UInt64(status), digits: 2)
    }
}

/// Why a management exchange failed.
public enum ManagementError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel answered a command with a failure status.
    case failed(Management.Opcode, index: UInt16, status: UInt8)
    /// A packet shorter than its header or its parameters say.
    case truncated(String, Int, needed: Int)
    /// Data too long for the command.
    case tooLong(String, Int, maximum: Int)

    public var description: String {
        switch self {
        case .failed(let opcode, let index, let status):
            "\(opcode.name) on hci\(index) failed: \(Management.statusName(status))" + Self.advice(status)
        case .truncated(let what, let count, let needed):
            "a management \(what) of \(count) bytes (needs \(needed)): the kernel's answer is malformed"
        case .tooLong(let what, let count, let maximum):
            "\(what) of \(count) bytes does not fit (at most \(maximum))"
        }
    }

    static func advice(_ status: UInt8) -> String {
        switch status {
        case 0x0B: " — is LE enabled on the controller? (`btmgmt --index N le on`)"
        case 0x11: " — no such controller: see `btmgmt info`"
        case 0x12: " — the controller is blocked: `rfkill unblock bluetooth`"
        case 0x14: " — needs CAP_NET_ADMIN: run as root"
        default: ""
        }
    }
}
