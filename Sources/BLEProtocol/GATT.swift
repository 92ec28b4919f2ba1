// GATT attribute types, characteristic properties and the services lockdiag reads. Numbers
// from the Bluetooth SIG's Assigned Numbers document (§3.4 GATT services, §3.7
// characteristics, §3.8 declarations and descriptors) and Core Specification v5.3, Vol 3, Part G.

/// GATT's well-known UUIDs.
public enum GATTUUID {
    public static let primaryService = BluetoothUUID(0x2800)
    public static let secondaryService = BluetoothUUID(0x2801)
    public static let include = BluetoothUUID(0x2802)
    public static let characteristic = BluetoothUUID(0x2803)
    /// Client Characteristic Configuration Descriptor: bit 0 notifications, bit 1 indications.
    public static let clientCharacteristicConfiguration = BluetoothUUID(0x2902)
    public static let characteristicUserDescription = BluetoothUUID(0x2901)

    public static let genericAccessService = BluetoothUUID(0x1800)
    public static let genericAttributeService = BluetoothUUID(0x1801)
    public static let deviceName = BluetoothUUID(0x2A00)
    public static let appearance = BluetoothUUID(0x2A01)
    public static let serviceChanged = BluetoothUUID(0x2A05)

    /// Battery Service and its Battery Level (0–100 %, one byte).
    public static let batteryService = BluetoothUUID(0x180F)
    public static let batteryLevel = BluetoothUUID(0x2A19)

    /// Device Information Service and the strings lockdiag reads from it.
    public static let deviceInformationService = BluetoothUUID(0x180A)
    public static let manufacturerName = BluetoothUUID(0x2A29)
    public static let modelNumber = BluetoothUUID(0x2A24)
    public static let serialNumber = BluetoothUUID(0x2A25)
    public static let hardwareRevision = BluetoothUUID(0x2A27)
    public static let firmwareRevision = BluetoothUUID(0x2A26)
    public static let softwareRevision = BluetoothUUID(0x2A28)
}

/// The LDP GATT service (firmware-specs/ble-gatt.md): LDP/1's byte stream over two
/// characteristics. The UUIDs are lockdiag's own (random, version 4; the first group spells
/// "LDP1" in ASCII).
public enum LDPGATT {
    public static let service = BluetoothUUID(string: "4c445031-0000-4500-afc2-738c4544dba0")!
    /// Host → lock: Write Without Response (and Write); each write carries the next bytes of the stream.
    public static let command = BluetoothUUID(string: "4c445031-0001-4500-afc2-738c4544dba0")!
    /// Lock → host: Notify (or Indicate); each notification carries the next bytes of the stream.
    public static let responseEvent = BluetoothUUID(string: "4c445031-0002-4500-afc2-738c4544dba0")!

    /// Bytes of the LDP stream one write or notification carries at `mtu` (the 3-byte
    /// opcode-and-handle header of Write Command / Handle Value Notification taken off).
    public static func chunkSize(mtu: Int) -> Int { max(1, mtu - 3) }

    /// Splits a stream into chunks of at most `chunkSize(mtu:)` bytes, in order.
    public static func fragment(_ bytes: [UInt8], mtu: Int) -> [[UInt8]] {
        let size = chunkSize(mtu: mtu)
        return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
    }
}

/// Characteristic properties (Vol 3, Part G, §3.3.1.1).
public struct GATTCharacteristicProperties: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let broadcast = Self(rawValue: 0x01)
    public static let read = Self(rawValue: 0x02)
    public static let writeWithoutResponse = Self(rawValue: 0x04)
    public static let write = Self(rawValue: 0x08)
    public static let notify = Self(rawValue: 0x10)
    public static let indicate = Self(rawValue: 0x20)
    public static let authenticatedSignedWrites = Self(rawValue: 0x40)
    public static let extendedProperties = Self(rawValue: 0x80)

    public var description: String {
        let names: [(Self, String)] = [(.broadcast, "broadcast"), (.read, "read"), (.writeWithoutResponse, "write-without-response"),
                                       (.write, "write"), (.notify, "notify"), (.indicate, "indicate"),
                                       (.authenticatedSignedWrites, "signed-write"), (.extendedProperties, "extended")]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

/// A primary service found by discovery.
public struct GATTService: Hashable, Sendable {
    public var uuid: BluetoothUUID
    public var handles: ATTHandleRange
    public init(uuid: BluetoothUUID, handles: ATTHandleRange) {
        self.uuid = uuid
        self.handles = handles
    }

    /// From one entry of a Read By Group Type response to «Primary Service».
    public init(_ entry: ATTGroupValue) throws(GATTDecodeError) {
        guard let uuid = BluetoothUUID(littleEndian: entry.value), entry.value.count != 4 else {
            throw .badServiceDeclaration(handle: entry.handle, length: entry.value.count)
        }
        guard entry.endGroupHandle >= entry.handle else { throw .badGroupEnd(handle: entry.handle, end: entry.endGroupHandle) }
        self.init(uuid: uuid, handles: ATTHandleRange(start: entry.handle, end: entry.endGroupHandle))
    }
}

/// A characteristic found by discovery: its declaration and value handles.
public struct GATTCharacteristic: Hashable, Sendable {
    public var uuid: BluetoothUUID
    public var properties: GATTCharacteristicProperties
    public var declarationHandle: UInt16
    public var valueHandle: UInt16
    /// The last handle of its descriptors (the next declaration's handle − 1, or the service's end).
    public var endHandle: UInt16

    public init(uuid: BluetoothUUID, properties: GATTCharacteristicProperties, declarationHandle: UInt16, valueHandle: UInt16, endHandle: UInt16) {
        self.uuid = uuid
        self.properties = properties
        self.declarationHandle = declarationHandle
        self.valueHandle = valueHandle
        self.endHandle = endHandle
    }

    /// From one entry of a Read By Type response to «Characteristic»: properties, value
    /// handle, UUID (Vol 3, Part G, §3.3.1). `endHandle` is filled in once the next is known.
    public init(declaration entry: ATTHandleValue) throws(GATTDecodeError) {
        let v = entry.value
        guard v.count == 5 || v.count == 19, let uuid = BluetoothUUID(littleEndian: Array(v[3...])) else {
            throw .badCharacteristicDeclaration(handle: entry.handle, length: v.count)
        }
        let valueHandle = UInt16(v[1]) | UInt16(v[2]) << 8
        guard valueHandle > entry.handle else { throw .badValueHandle(declaration: entry.handle, value: valueHandle) }
        self.init(uuid: uuid, properties: GATTCharacteristicProperties(rawValue: v[0]), declarationHandle: entry.handle,
                  valueHandle: valueHandle, endHandle: valueHandle)
    }

    /// Whether descriptors can follow the value.
    public var hasDescriptorRange: Bool { endHandle > valueHandle }
}

/// Why a GATT declaration read from a peer makes no sense.
public enum GATTDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    case badServiceDeclaration(handle: UInt16, length: Int)
    case badGroupEnd(handle: UInt16, end: UInt16)
    case badCharacteristicDeclaration(handle: UInt16, length: Int)
    case badValueHandle(declaration: UInt16, value: UInt16)

    public var description: String {
        switch self {
        case .badServiceDeclaration(let handle, let length): "service declaration at handle \(handle) holds \(length) bytes, not a 2- or 16-byte UUID"
        case .badGroupEnd(let handle, let end): "service at handle \(handle) ends at \(end), before it starts"
        case .badCharacteristicDeclaration(let handle, let length): "characteristic declaration at handle \(handle) holds \(length) bytes (5 or 19 expected)"
        case .badValueHandle(let declaration, let value): "characteristic declared at handle \(declaration) has its value at \(value), not after it"
        }
    }
}

/// What a Device Information Service said (every field optional: a lock exposes what it has).
public struct DeviceInformation: Hashable, Sendable {
    public var manufacturer: String?
    public var model: String?
    public var serial: String?
    public var hardwareRevision: String?
    public var firmwareRevision: String?
    public var softwareRevision: String?

    public init(manufacturer: String? = nil, model: String? = nil, serial: String? = nil, hardwareRevision: String? = nil,
                firmwareRevision: String? = nil, softwareRevision: String? = nil) {
        self.manufacturer = manufacturer
        self.model = model
        self.serial = serial
        self.hardwareRevision = hardwareRevision
        self.firmwareRevision = firmwareRevision
        self.softwareRevision = softwareRevision
    }

    public var isEmpty: Bool { self == DeviceInformation() }

    /// The characteristics read, with where each goes.
    public static var characteristics: [(BluetoothUUID, WritableKeyPath<DeviceInformation, String?>)] { [
        (GATTUUID.manufacturerName, \.manufacturer), (GATTUUID.modelNumber, \.model), (GATTUUID.serialNumber, \.serial),
        (GATTUUID.hardwareRevision, \.hardwareRevision), (GATTUUID.firmwareRevision, \.firmwareRevision),
        (GATTUUID.softwareRevision, \.softwareRevision),
    ] }

    /// A DIS string value: UTF-8 (GATT's utf8s), trailing NULs and spaces some firmware pads with
    /// removed; nil when nothing is left.
    public static func text(_ value: [UInt8]) -> String? {
        var end = value.count
        while end > 0 && (value[end - 1] == 0 || value[end - 1] == 0x20) { end -= 1 }
        guard end > 0 else { return nil }
        return String(decoding: value[0..<end], as: UTF8.self)
    }
}

/// Battery Level (0x2A19): one byte, 0–100 %; other values are invalid and read as unknown.
public enum BatteryLevel {
    public static func percent(_ value: [UInt8]) -> Int? {
        guard let first = value.first, first <= 100 else { return nil }
        return Int(first)
    }
}
