// LE advertising reports as a raw HCI socket delivers them: an HCI event packet (packet type
// 0x04, event code, parameter length, parameters), here the LE Meta event 0x3E with the LE
// Advertising Report (0x02) or LE Extended Advertising Report (0x0D) sub-event (Core
// Specification v5.3, Vol 4, Part E, §5.4.4 and §7.7.65.2 / §7.7.65.13).
//
// With several reports in one event, the fields are read report after report, as the Linux
// kernel's hci_event.c and every controller seen in practice lay them out.

/// How a device advertised (legacy PDU types; extended reports are mapped onto them).
public struct LEAdvertisingEventType: Hashable, Sendable {
    /// Accepts connections.
    public var connectable: Bool
    /// Answers scan requests.
    public var scannable: Bool
    public var directed: Bool
    /// This report is a scan response, not the advertisement itself.
    public var scanResponse: Bool

    public init(connectable: Bool, scannable: Bool, directed: Bool, scanResponse: Bool) {
        self.connectable = connectable
        self.scannable = scannable
        self.directed = directed
        self.scanResponse = scanResponse
    }

    /// The legacy Event_Type: ADV_IND 0, ADV_DIRECT_IND 1, ADV_SCAN_IND 2, ADV_NONCONN_IND 3, SCAN_RSP 4.
    public init?(legacy value: UInt8) {
        switch value {
        case 0x00: self.init(connectable: true, scannable: true, directed: false, scanResponse: false)
        case 0x01: self.init(connectable: true, scannable: false, directed: true, scanResponse: false)
        case 0x02: self.init(connectable: false, scannable: true, directed: false, scanResponse: false)
        case 0x03: self.init(connectable: false, scannable: false, directed: false, scanResponse: false)
        case 0x04: self.init(connectable: false, scannable: false, directed: false, scanResponse: true)
        default: return nil
        }
    }

    /// The extended Event_Type bit field: bit 0 connectable, 1 scannable, 2 directed, 3 scan response.
    public init(extended value: UInt16) {
        self.init(connectable: value & 0x01 != 0, scannable: value & 0x02 != 0, directed: value & 0x04 != 0, scanResponse: value & 0x08 != 0)
    }
}

/// One advertisement (or scan response) heard.
public struct LEAdvertisingReport: Hashable, Sendable {
    public var eventType: LEAdvertisingEventType
    public var address: BluetoothAddress
    /// The address is an identity address the controller resolved from a private one.
    public var resolvedIdentity: Bool
    public var data: [UInt8]
    /// Received signal strength, dBm; nil when the controller could not measure it (127).
    public var rssiDBm: Int?
    /// The TX power an extended report carries; nil when absent (127).
    public var txPowerDBm: Int?

    public init(eventType: LEAdvertisingEventType, address: BluetoothAddress, resolvedIdentity: Bool = false, data: [UInt8],
                rssiDBm: Int?, txPowerDBm: Int? = nil) {
        self.eventType = eventType
        self.address = address
        self.resolvedIdentity = resolvedIdentity
        self.data = data
        self.rssiDBm = rssiDBm
        self.txPowerDBm = txPowerDBm
    }
}

/// HCI event packets from a raw HCI socket.
public enum HCIEvent {
    public static let packetTypeEvent: UInt8 = 0x04
    public static let leMetaEvent: UInt8 = 0x3E
    public static let subeventAdvertisingReport: UInt8 = 0x02
    public static let subeventExtendedAdvertisingReport: UInt8 = 0x0D

    /// The advertising reports in one packet (`[0x04, 0x3E, length, subevent, …]`); empty for
    /// any other event (the socket's filter should let only these through).
    public static func advertisingReports(packet bytes: [UInt8]) throws(HCIEventError) -> [LEAdvertisingReport] {
        var r = WireReader(bytes)
        guard let type = r.u8() else { throw .truncated(what: "packet type", offset: 0) }
        guard type == packetTypeEvent else { return [] }
        guard let code = r.u8(), let length = r.u8() else { throw .truncated(what: "event header", offset: r.offset) }
        guard r.remaining >= Int(length) else { throw .lengthMismatch(declared: Int(length), available: r.remaining) }
        guard code == leMetaEvent else { return [] }
        let parameters = Array(bytes[r.offset..<(r.offset + Int(length))])
        return try leMetaReports(parameters)
    }

    /// The reports of an LE Meta event's parameters (sub-event code first).
    public static func leMetaReports(_ parameters: [UInt8]) throws(HCIEventError) -> [LEAdvertisingReport] {
        var r = WireReader(parameters)
        guard let subevent = r.u8() else { throw .truncated(what: "sub-event code", offset: 0) }
        switch subevent {
        case subeventAdvertisingReport: return try legacyReports(&r)
        case subeventExtendedAdvertisingReport: return try extendedReports(&r)
        default: return []
        }
    }

    private static func addressType(_ raw: UInt8) -> (LEAddressType, resolved: Bool)? {
        switch raw {
        case 0x00: (.public, false)
        case 0x01: (.random, false)
        case 0x02: (.public, true)
        case 0x03: (.random, true)
        default: nil
        }
    }

    private static func legacyReports(_ r: inout WireReader) throws(HCIEventError) -> [LEAdvertisingReport] {
        guard let count = r.u8() else { throw .truncated(what: "report count", offset: r.offset) }
        guard (1...25).contains(count) else { throw .badReportCount(Int(count)) }
        var reports: [LEAdvertisingReport] = []
        for _ in 0..<count {
            let start = r.offset
            guard let rawEvent = r.u8(), let rawAddressType = r.u8(), let address = r.take(6), let dataLength = r.u8() else {
                throw .truncated(what: "advertising report", offset: start)
            }
            guard let eventType = LEAdvertisingEventType(legacy: rawEvent) else { throw .badEventType(rawEvent) }
            guard let kind = addressType(rawAddressType) else { throw .badAddressType(rawAddressType) }
            let (type, resolved) = kind
            guard dataLength <= 31 else { throw .badDataLength(Int(dataLength), maximum: 31) }
            guard let data = r.take(Int(dataLength)), let rssi = r.u8() else { throw .truncated(what: "advertising data and RSSI", offset: start) }
            let dbm = Int(Int8(bitPattern: rssi))
            reports.append(LEAdvertisingReport(eventType: eventType, address: BluetoothAddress(littleEndian: address, type: type),
                                               resolvedIdentity: resolved, data: data, rssiDBm: dbm == 127 ? nil : dbm))
        }
        return reports
    }

    private static func extendedReports(_ r: inout WireReader) throws(HCIEventError) -> [LEAdvertisingReport] {
        guard let count = r.u8() else { throw .truncated(what: "report count", offset: r.offset) }
        guard (1...10).contains(count) else { throw .badReportCount(Int(count)) }
        var reports: [LEAdvertisingReport] = []
        for _ in 0..<count {
            let start = r.offset
            // Event_Type(2) Address_Type(1) Address(6) Primary_PHY(1) Secondary_PHY(1) SID(1)
            // TX_Power(1) RSSI(1) Periodic_Interval(2) Direct_Address_Type(1) Direct_Address(6) Data_Length(1)
            guard r.has(24), let rawEvent = r.u16(), let rawAddressType = r.u8(), let address = r.take(6) else {
                throw .truncated(what: "extended advertising report", offset: start)
            }
            _ = r.take(3)
            let tx = r.u8()!, rssi = r.u8()!
            _ = r.take(9)
            let dataLength = r.u8()!
            guard let data = r.take(Int(dataLength)) else { throw .truncated(what: "extended advertising data", offset: start) }
            // 0xFF: anonymous advertisement (no address).
            let (type, resolved) = addressType(rawAddressType) ?? (.random, false)
            let txDBm = Int(Int8(bitPattern: tx)), rssiDBm = Int(Int8(bitPattern: rssi))
            reports.append(LEAdvertisingReport(eventType: LEAdvertisingEventType(extended: rawEvent),
                                               address: BluetoothAddress(littleEndian: address, type: type), resolvedIdentity: resolved,
                                               data: data, rssiDBm: rssiDBm == 127 ? nil : rssiDBm, txPowerDBm: txDBm == 127 ? nil : txDBm))
        }
        return reports
    }

    /// Builds an LE Advertising Report event packet (one report): for tests and the simulator's
    /// documentation examples.
    public static func advertisingReportPacket(_ report: LEAdvertisingReport) -> [UInt8] {
        let legacy: UInt8 = report.eventType.scanResponse ? 0x04 : report.eventType.directed ? 0x01
            : report.eventType.connectable ? 0x00 : report.eventType.scannable ? 0x02 : 0x03
        var parameters: [UInt8] = [subeventAdvertisingReport, 1, legacy, (report.address.type == .random ? 1 : 0) + (report.resolvedIdentity ? 2 : 0)]
        parameters += report.address.littleEndianBytes
        parameters.append(UInt8(report.data.count))
        parameters += report.data
        parameters.append(UInt8(bitPattern: Int8(clamping: report.rssiDBm ?? 127)))
        return [packetTypeEvent, leMetaEvent, UInt8(parameters.count)] + parameters
    }
}

/// Why an HCI event packet could not be read.
public enum HCIEventError: Error, Hashable, Sendable, CustomStringConvertible {
    case truncated(what: String, offset: Int)
    case lengthMismatch(declared: Int, available: Int)
    case badReportCount(Int)
    case badEventType(UInt8)
    case badAddressType(UInt8)
    case badDataLength(Int, maximum: Int)

    public var description: String {
        switch self {
        case .truncated(let what, let offset): "HCI event truncated in its \(what) (at byte \(offset))"
        case .lengthMismatch(let declared, let available): "HCI event declares \(declared) parameter bytes, \(available) arrived"
        case .badReportCount(let count): "advertising report event with \(count) reports"
        case .badEventType(let type): "unknown advertising event type 0x\(BluetoothUUID.hex(UInt64(type), digits: 2))"
        case .badAddressType(let type): "unknown address type 0x\(BluetoothUUID.hex(UInt64(type), digits: 2))"
        case .badDataLength(let length, let maximum): "advertising data of \(length) bytes (at most \(maximum))"
        }
    }
}
