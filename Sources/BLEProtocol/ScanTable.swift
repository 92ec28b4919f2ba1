// What a scan heard, one entry per device, and whether each looks like a lock.

/// Why a device looks like a lock, strongest reason first.
public enum LockEvidence: String, Hashable, Sendable, CaseIterable {
    /// It advertises the LDP GATT service: lockdiag diagnoses it fully.
    case ldpService = "ldp"
    /// It advertises a lock maker's own service.
    case vendorService = "vendor"
    /// It advertises the Battery Service, as many battery-powered locks do (and other things).
    case batteryService = "battery"
}

/// A lock maker's advertised identifier: a service UUID in the service lists, the service
/// data or an iBeacon proximity UUID.
public struct KnownLockVendor: Hashable, Sendable {
    public var name: String
    public var uuid: BluetoothUUID
    /// Where the identifier is published.
    public var source: String

    /// Kept short on purpose: only identifiers whose owner and meaning are published.
    public static let all: [KnownLockVendor] = [
        // Nuki Smart Lock Bluetooth API (Nuki Home Solutions): the Keyturner and Keyturner
        // Pairing services; Nuki locks also advertise the Keyturner UUID as an iBeacon.
        KnownLockVendor(name: "Nuki Smart Lock", uuid: BluetoothUUID(string: "a92ee200-5501-11e4-916c-0800200c9a66")!,
                        source: "Nuki Smart Lock Bluetooth API, Keyturner service"),
        KnownLockVendor(name: "Nuki Smart Lock (pairing mode)", uuid: BluetoothUUID(string: "a92ee100-5501-11e4-916c-0800200c9a66")!,
                        source: "Nuki Smart Lock Bluetooth API, Keyturner Pairing service"),
        // Bluetooth SIG Assigned Numbers, 16-bit UUIDs for members: 0xFE24 August Home, Inc.
        KnownLockVendor(name: "August / Yale lock", uuid: BluetoothUUID(0xFE24),
                        source: "Bluetooth SIG Assigned Numbers, member UUID 0xFE24 (August Home, Inc.)"),
    ]
}

/// The verdict on one scanned device.
public struct LockAssessment: Hashable, Sendable {
    public var evidence: LockEvidence?
    /// In words, for the scan listing.
    public var reason: String?

    public var isLikelyLock: Bool { evidence != nil }

    public static func assess(_ data: AdvertisingData) -> LockAssessment {
        var advertised = Set(data.serviceUUIDs)
        advertised.formUnion(data.serviceData.map(\.uuid))
        if let beacon = data.iBeaconProximityUUID { advertised.insert(beacon) }
        if advertised.contains(LDPGATT.service) {
            return LockAssessment(evidence: .ldpService, reason: "advertises the LDP service: full diagnosis")
        }
        if let vendor = KnownLockVendor.all.first(where: { advertised.contains($0.uuid) }) {
            return LockAssessment(evidence: .vendorService, reason: "\(vendor.name): battery and device information if it exposes them")
        }
        if advertised.contains(GATTUUID.batteryService) {
            return LockAssessment(evidence: .batteryService, reason: "advertises the Battery Service: may be a lock")
        }
        return LockAssessment(evidence: nil, reason: nil)
    }
}

/// One device heard during a scan, its advertisements and scan responses merged.
public struct ScannedDevice: Hashable, Sendable {
    public var address: BluetoothAddress
    public var advertisement = AdvertisingData()
    public var scanResponse = AdvertisingData()
    /// The last report's RSSI, and the strongest.
    public var rssiDBm: Int?
    public var strongestRSSIDBm: Int?
    public var txPowerDBm: Int?
    public var connectable = false
    public var reports = 0
    /// The last malformed advertising data, if any (what parsed before the problem is kept).
    public var problem: AdvertisingDataError?
    public var firstSeenNanoseconds: UInt64
    public var lastSeenNanoseconds: UInt64

    public init(address: BluetoothAddress, at nanoseconds: UInt64) {
        self.address = address
        firstSeenNanoseconds = nanoseconds
        lastSeenNanoseconds = nanoseconds
    }

    /// Everything it sent: scan response structures first (they usually hold the full name).
    public var data: AdvertisingData { advertisement.merged(with: scanResponse) }

    public var assessment: LockAssessment { LockAssessment.assess(data) }

    /// TX power from the advertising data, else from an extended report.
    public var advertisedTXPowerDBm: Int? { data.txPowerLevelDBm ?? txPowerDBm }
}

/// Deduplicates reports by address (and address type): the controller repeats every
/// advertisement, and a scannable device adds a scan response.
public struct ScanTable: Sendable {
    public private(set) var devices: [BluetoothAddress: ScannedDevice] = [:]
    public private(set) var reports = 0
    /// Reports whose advertising data was malformed (still counted to their device).
    public private(set) var malformed = 0

    public init() {}

    public mutating func add(_ report: LEAdvertisingReport, at nanoseconds: UInt64) {
        reports += 1
        var device = devices[report.address] ?? ScannedDevice(address: report.address, at: nanoseconds)
        let (data, problem) = AdvertisingData.parse(report.data)
        if let problem {
            malformed += 1
            device.problem = problem
        }
        // An empty scan response or advertisement (some devices send them) does not erase what was heard.
        if report.eventType.scanResponse {
            if !data.structures.isEmpty { device.scanResponse = data }
        } else {
            if !data.structures.isEmpty { device.advertisement = data }
            device.connectable = device.connectable || report.eventType.connectable
        }
        if let rssi = report.rssiDBm {
            device.rssiDBm = rssi
            device.strongestRSSIDBm = max(device.strongestRSSIDBm ?? rssi, rssi)
        }
        if let tx = report.txPowerDBm { device.txPowerDBm = tx }
        device.reports += 1
        device.lastSeenNanoseconds = nanoseconds
        devices[report.address] = device
    }

    /// Likely locks first (LDP, then vendor, then battery), then by signal strength, strongest first.
    public var sorted: [ScannedDevice] {
        devices.values.sorted { a, b in
            let ra = rank(a.assessment.evidence), rb = rank(b.assessment.evidence)
            if ra != rb { return ra < rb }
            let sa = a.strongestRSSIDBm ?? -128, sb = b.strongestRSSIDBm ?? -128
            if sa != sb { return sa > sb }
            return a.address < b.address
        }
    }

    private func rank(_ evidence: LockEvidence?) -> Int {
        switch evidence {
        case .ldpService: 0
        case .vendorService: 1
        case .batteryService: 2
        case nil: 3
        }
    }
}
