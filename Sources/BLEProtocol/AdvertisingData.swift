// Advertising and scan-response data: a sequence of AD structures, each a length byte, a type
// byte and length−1 bytes of data (Core Specification v5.3, Vol 3, Part C, §11; the types and
// their layouts from the Core Specification Supplement, Part A, and the Assigned Numbers
// document, §2.3 "Common Data Types"). A pure parser over bytes, for the scanner and a fuzzer.

/// AD types lockdiag decodes.
public enum ADType {
    public static let flags: UInt8 = 0x01
    public static let incompleteUUID16: UInt8 = 0x02
    public static let completeUUID16: UInt8 = 0x03
    public static let incompleteUUID32: UInt8 = 0x04
    public static let completeUUID32: UInt8 = 0x05
    public static let incompleteUUID128: UInt8 = 0x06
    public static let completeUUID128: UInt8 = 0x07
    public static let shortenedLocalName: UInt8 = 0x08
    public static let completeLocalName: UInt8 = 0x09
    public static let txPowerLevel: UInt8 = 0x0A
    public static let peripheralConnectionIntervalRange: UInt8 = 0x12
    public static let solicitedUUID16: UInt8 = 0x14
    public static let solicitedUUID128: UInt8 = 0x15
    public static let serviceData16: UInt8 = 0x16
    public static let appearance: UInt8 = 0x19
    public static let solicitedUUID32: UInt8 = 0x1F
    public static let serviceData32: UInt8 = 0x20
    public static let serviceData128: UInt8 = 0x21
    public static let manufacturerSpecificData: UInt8 = 0xFF
}

/// One AD structure as it was on the air.
public struct ADStructure: Hashable, Sendable {
    public var type: UInt8
    public var data: [UInt8]
    public init(type: UInt8, data: [UInt8]) {
        self.type = type
        self.data = data
    }
}

/// The Flags AD type's bits (Supplement, Part A, §1.3).
public struct ADFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let limitedDiscoverable = ADFlags(rawValue: 1 << 0)
    public static let generalDiscoverable = ADFlags(rawValue: 1 << 1)
    public static let brEdrNotSupported = ADFlags(rawValue: 1 << 2)
    public static let simultaneousController = ADFlags(rawValue: 1 << 3)
    public static let simultaneousHost = ADFlags(rawValue: 1 << 4)

    public var names: [String] {
        [(ADFlags.limitedDiscoverable, "le-limited-discoverable"), (.generalDiscoverable, "le-general-discoverable"),
         (.brEdrNotSupported, "br-edr-not-supported"), (.simultaneousController, "le-br-edr-controller"),
         (.simultaneousHost, "le-br-edr-host")].filter { contains($0.0) }.map(\.1)
    }
}

/// Service Data: a service UUID and the data that follows it.
public struct ADServiceData: Hashable, Sendable {
    public var uuid: BluetoothUUID
    public var data: [UInt8]
    public init(uuid: BluetoothUUID, data: [UInt8]) {
        self.uuid = uuid
        self.data = data
    }
}

/// Manufacturer Specific Data: a company identifier (Assigned Numbers §7) and its data.
public struct ADManufacturerData: Hashable, Sendable {
    public var companyID: UInt16
    public var data: [UInt8]
    public init(companyID: UInt16, data: [UInt8]) {
        self.companyID = companyID
        self.data = data
    }
}

/// Decoded advertising (or scan response) data.
public struct AdvertisingData: Hashable, Sendable {
    public var structures: [ADStructure]

    public init(structures: [ADStructure] = []) { self.structures = structures }

    /// Parses and checks every structure: a length running past the end, or a known type whose
    /// data has an impossible size, throws. A zero length ends the data (the rest is padding:
    /// Vol 3, Part C, §11).
    public init(bytes: [UInt8]) throws(AdvertisingDataError) {
        let (data, error) = Self.parse(bytes)
        if let error { throw error }
        self = data
    }

    /// The structures before the first problem, and the problem; for showing what a device
    /// sent even when part of it is malformed.
    public static func parse(_ bytes: [UInt8]) -> (AdvertisingData, AdvertisingDataError?) {
        var structures: [ADStructure] = []
        var offset = 0
        while offset < bytes.count {
            let length = Int(bytes[offset])
            if length == 0 { break }
            guard offset + 1 + length <= bytes.count else {
                return (AdvertisingData(structures: structures), .truncated(offset: offset, length: length, available: bytes.count - offset - 1))
            }
            let type = bytes[offset + 1]
            let data = Array(bytes[(offset + 2)..<(offset + 1 + length)])
            if let problem = Self.check(type: type, count: data.count) {
                return (AdvertisingData(structures: structures), .badLength(offset: offset, type: type, length: data.count, expected: problem))
            }
            structures.append(ADStructure(type: type, data: data))
            offset += 1 + length
        }
        return (AdvertisingData(structures: structures), nil)
    }

    /// nil when `count` data bytes suit `type`, else what was expected.
    static func check(type: UInt8, count: Int) -> String? {
        switch type {
        case ADType.flags: count >= 1 ? nil : "at least 1 byte"
        case ADType.incompleteUUID16, ADType.completeUUID16, ADType.solicitedUUID16: count % 2 == 0 ? nil : "a multiple of 2 bytes"
        case ADType.incompleteUUID32, ADType.completeUUID32, ADType.solicitedUUID32: count % 4 == 0 ? nil : "a multiple of 4 bytes"
        case ADType.incompleteUUID128, ADType.completeUUID128, ADType.solicitedUUID128: count % 16 == 0 ? nil : "a multiple of 16 bytes"
        case ADType.txPowerLevel: count == 1 ? nil : "1 byte"
        case ADType.appearance: count == 2 ? nil : "2 bytes"
        case ADType.peripheralConnectionIntervalRange: count == 4 ? nil : "4 bytes"
        case ADType.serviceData16: count >= 2 ? nil : "at least 2 bytes"
        case ADType.serviceData32: count >= 4 ? nil : "at least 4 bytes"
        case ADType.serviceData128: count >= 16 ? nil : "at least 16 bytes"
        case ADType.manufacturerSpecificData: count >= 2 ? nil : "at least 2 bytes"
        default: nil
        }
    }

    /// The encoding: the structures back to back.
    public var bytes: [UInt8] {
        structures.flatMap { [UInt8(truncatingIfNeeded: $0.data.count + 1), $0.type] + $0.data }
    }

    private func first(_ type: UInt8) -> [UInt8]? { structures.first { $0.type == type }?.data }
    private func all(_ types: UInt8...) -> [ADStructure] { structures.filter { types.contains($0.type) } }

    // MARK: Fields

    public var flags: ADFlags? { first(ADType.flags).map { ADFlags(rawValue: $0[0]) } }

    public var completeLocalName: String? { first(ADType.completeLocalName).map { String(decoding: $0, as: UTF8.self) } }
    public var shortenedLocalName: String? { first(ADType.shortenedLocalName).map { String(decoding: $0, as: UTF8.self) } }
    /// The complete name, else the shortened one.
    public var localName: String? { completeLocalName ?? shortenedLocalName }

    /// Advertised service UUIDs (16-, 32- and 128-bit lists, complete or not), in order, once each.
    public var serviceUUIDs: [BluetoothUUID] {
        uuids(in: all(ADType.incompleteUUID16, ADType.completeUUID16, ADType.incompleteUUID32, ADType.completeUUID32,
                      ADType.incompleteUUID128, ADType.completeUUID128))
    }

    /// Whether any UUID list says it is incomplete (the device has more services than it advertises).
    public var serviceListIncomplete: Bool {
        structures.contains { [ADType.incompleteUUID16, ADType.incompleteUUID32, ADType.incompleteUUID128].contains($0.type) }
    }

    public var solicitedServiceUUIDs: [BluetoothUUID] {
        uuids(in: all(ADType.solicitedUUID16, ADType.solicitedUUID32, ADType.solicitedUUID128))
    }

    private func uuids(in lists: [ADStructure]) -> [BluetoothUUID] {
        var seen = Set<BluetoothUUID>()
        var result: [BluetoothUUID] = []
        for list in lists {
            let size: Int
            switch list.type {
            case ADType.incompleteUUID16, ADType.completeUUID16, ADType.solicitedUUID16: size = 2
            case ADType.incompleteUUID32, ADType.completeUUID32, ADType.solicitedUUID32: size = 4
            default: size = 16
            }
            for start in stride(from: 0, to: list.data.count - size + 1, by: size) {
                if let uuid = BluetoothUUID(littleEndian: Array(list.data[start..<(start + size)])), seen.insert(uuid).inserted {
                    result.append(uuid)
                }
            }
        }
        return result
    }

    public var serviceData: [ADServiceData] {
        all(ADType.serviceData16, ADType.serviceData32, ADType.serviceData128).compactMap { s in
            let size = s.type == ADType.serviceData16 ? 2 : s.type == ADType.serviceData32 ? 4 : 16
            guard s.data.count >= size, let uuid = BluetoothUUID(littleEndian: Array(s.data[0..<size])) else { return nil }
            return ADServiceData(uuid: uuid, data: Array(s.data[size...]))
        }
    }

    public var manufacturerData: [ADManufacturerData] {
        all(ADType.manufacturerSpecificData).map { s in
            ADManufacturerData(companyID: UInt16(s.data[0]) | UInt16(s.data[1]) << 8, data: Array(s.data[2...]))
        }
    }

    /// The transmitted power, dBm (−127…127).
    public var txPowerLevelDBm: Int? { first(ADType.txPowerLevel).map { Int(Int8(bitPattern: $0[0])) } }

    /// The GAP Appearance value (Assigned Numbers §2.6).
    public var appearance: UInt16? { first(ADType.appearance).map { UInt16($0[0]) | UInt16($0[1]) << 8 } }

    /// The peripheral's preferred connection interval range, in units of 1.25 ms (0xFFFF: no
    /// preference).
    public var peripheralConnectionIntervalRange: (minimum: UInt16, maximum: UInt16)? {
        first(ADType.peripheralConnectionIntervalRange).map { (UInt16($0[0]) | UInt16($0[1]) << 8, UInt16($0[2]) | UInt16($0[3]) << 8) }
    }

    /// An Apple iBeacon's proximity UUID, when this is one (manufacturer data of company 0x004C
    /// starting 0x02 0x15, then the UUID most significant byte first); some locks advertise their
    /// service UUID this way.
    public var iBeaconProximityUUID: BluetoothUUID? {
        for m in manufacturerData where m.companyID == 0x004C && m.data.count >= 18 && m.data[0] == 0x02 && m.data[1] == 0x15 {
            return BluetoothUUID(littleEndian: Array(m.data[2..<18].reversed()))
        }
        return nil
    }

    /// Structures of both, the second's first (a scan response usually carries the name).
    public func merged(with other: AdvertisingData) -> AdvertisingData {
        AdvertisingData(structures: other.structures + structures)
    }
}

/// Why advertising data is malformed.
public enum AdvertisingDataError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An AD structure's length runs past the end of the data.
    case truncated(offset: Int, length: Int, available: Int)
    /// A known AD type with data of an impossible size.
    case badLength(offset: Int, type: UInt8, length: Int, expected: String)

    public var description: String {
        switch self {
        case .truncated(let offset, let length, let available):
            "AD structure at byte \(offset) claims \(length) bytes but only \(available) follow"
        case .badLength(let offset, let type, let length, let expected):
            "AD structure at byte \(offset), type 0x\(BluetoothUUID.hex(UInt64(type), digits: 2)), has \(length) data bytes (expected \(expected))"
        }
    }
}
