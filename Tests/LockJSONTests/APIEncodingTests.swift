import Foundation
import LockDiagAPI
import LockDiagTestSupport
import Testing

@testable import LockJSON

/// Every type of the socket API, encoded by JSONBytesEncoder and by Foundation's JSONEncoder
/// (what the daemon used before), must give the same JSON; and JSONValueDecoder must read back
/// what either wrote. The values are made by `Fabricator` from each type's own `init(from:)`, so
/// a field added to a type is covered without touching this test.
@Suite struct APIEncodingTests {
    @Test func everyAPITypeEncodesAsJSONEncoderEncodedIt() throws {
        try check(DeviceStatus.self)
        try check(BatteryReading.self)
        try check(MotorReading.self)
        try check(FingerprintReading.self)
        try check(ActuationSummary.self)
        try check(MotorTrace.self)
        try check(ActuateParams.self)
        try check(ActuateResult.self)
        try check(BLELinkInfo.self)
        try check(ScanReport.self)
        try check(ScannedBLEDevice.self)
        try check(ClientStats.self)
        try check(DeviceCandidate.self)
        try check(USBDeviceInfo.self)
        try check(DeviceChange.self)
        try check(DevicesSubscription.self)
        try check(DevicesUnsubscribed.self)
        try check(USBLinkStats.self)
        try check(Fault.self)
        try check(FreezeFrame.self)
        try check(LinkHealth.self)
        try check(FaultsList.self)
        try check(FaultsCleared.self)
        try check(FaultsHistoryParams.self)
        try check(FaultEvent.self)
        try check(FirmwareSeen.self)
        try check(DeviceRecord.self)
        try check(FaultHistory.self)
        try check(StationInfo.self)
        try check(StationKeyInfo.self)
        try check(HistoryInfo.self)
        try check(DaemonHealth.self)
        try check(HistoryHealth.self)
        try check(QuarantinedRecord.self)
        try check(DeviceParams.self)
        try check(FaultsListParams.self)
        try check(TestsRunParams.self)
        try check(DaemonInfo.self)
        try check(RealtimeInfo.self)
        try check(DaemonStats.self)
        try check(LatenessSummary.self)
        try check(LinkStats.self)
        try check(DeviceSummary.self)
        try check(DevicesList.self)
        try check(TestRun.self)
        try check(TestResult.self)
        try check(OtherMeasurement.self)
        try check(TestMeasurements.self)
        try check(Subscription.self)
        try check(Unsubscribed.self)
        try check(TelemetryNotification.self)
        try check(TraceSamples.self)
        try check(TuyaReading.self)
        try check(TuyaAlarm.self)
        try check(TuyaEvent.self)
        try check(TuyaDPState.self)
    }

    func check<T: Codable & Equatable>(_ type: T.Type, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for presence in [Fabricator.Presence.all, .none, .random] {
            for seed in 1...8 as ClosedRange<UInt64> {
                let value = try Fabricator.make(T.self, presence: presence, seed: seed)
                let foundation = try JSONEncoder().encode(value)
                let direct = try JSONBytesEncoder().encode(value)
                // The same JSON value; not the same bytes, as JSONEncoder orders members by its
                // own dictionary's hashing (so from run to run) and writes "/" as "\/".
                let tree = try JSONValue(parsing: direct)
                #expect(tree == (try JSONValue(parsing: foundation)), sourceLocation: sourceLocation)
                #expect(try JSONValue(encoding: value) == tree, sourceLocation: sourceLocation)
                #expect(try tree.decode(as: T.self) == value, "\(T.self) \(presence) seed \(seed)", sourceLocation: sourceLocation)
                #expect(try JSONDecoder().decode(T.self, from: Data(direct)) == value, sourceLocation: sourceLocation)
            }
        }
    }

    /// Members come in the order encode(to:) writes them (JSONEncoder's order was its hashing's).
    @Test func membersComeInEncodeOrder() throws {
        let params = FaultsHistoryParams(device: "d", since: "2026-12-05T06:00:00Z", limit: 3, cursor: "c")
        #expect(String(decoding: try JSONBytesEncoder().encode(params), as: UTF8.self)
            == #"{"device":"d","since":"2026-12-05T06:00:00Z","limit":3,"cursor":"c"}"#)
    }

    /// An unknown reading is `null`, not left out, and a nil `encodeIfPresent` leaves its key out:
    /// the difference the status's custom encode(to:) makes.
    @Test func explicitNullsStayAndAbsentOptionalsGo() throws {
        let status = DeviceStatus(device: "d", online: true, lock: "locked", door: "closed",
                                  battery: BatteryReading(voltageMillivolts: nil, percent: 80), motor: MotorReading(state: "idle", currentMilliamps: nil),
                                  fingerprint: nil, temperatureCelsius: 21.0, calibrated: nil, tamperActive: false, activeFaults: nil,
                                  actuations: nil, uptimeSeconds: 7, lastActuation: nil, updatedAt: nil)
        let text = String(decoding: try JSONBytesEncoder().encode(status), as: UTF8.self)
        #expect(text == #"{"device":"d","online":true,"lock":"locked","door":"closed","battery":{"voltage_mv":null,"percent":80},"#
            + #""motor":{"state":"idle","current_ma":null},"temperature_c":21,"calibrated":null,"tamper_active":false,"active_faults":null,"#
            + #""actuations":null,"uptime_s":7,"updated_at":null}"#)
    }
}

/// Makes a value of any Decodable type from the type's own `init(from:)`: every field filled
/// from a seeded pool of awkward values (escapes, non-ASCII, fractions, integral doubles, 2^64-1),
/// optionals all present, all absent, or at random.
struct Fabricator: Decoder {
    enum Presence: Sendable { case all, none, random }

    final class State {
        var generator: SeededGenerator
        let presence: Presence
        init(seed: UInt64, presence: Presence) {
            generator = SeededGenerator(seed: seed)
            self.presence = presence
        }
        var present: Bool {
            switch presence {
            case .all: true
            case .none: false
            case .random: Bool.random(using: &generator)
            }
        }
        func pick<E>(_ pool: [E]) -> E { pool.randomElement(using: &generator)! }
    }

    let state: State
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func make<T: Decodable>(_ type: T.Type, presence: Presence, seed: UInt64) throws -> T {
        try Fabricator(state: State(seed: seed, presence: presence), codingPath: []).make(T.self)
    }

    func make<T: Decodable>(_ type: T.Type, key: (any CodingKey)? = nil) throws -> T {
        if let cases = T.self as? any CaseIterable.Type {
            return pickCase(cases) as! T
        }
        // The API's two string enums that are not CaseIterable.
        if T.self == Verdict.self { return state.pick([Verdict.pass, .fail, .aborted]) as! T }
        if T.self == HistoryHealth.Status.self { return state.pick([HistoryHealth.Status.ok, .degraded]) as! T }
        return try T(from: Fabricator(state: state, codingPath: codingPath + (key.map { [$0] } ?? [])))
    }

    private func pickCase<C: CaseIterable>(_ type: C.Type) -> Any { state.pick(Array(C.allCases)) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Keyed<Key>(fabricator: self))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { Unkeyed(fabricator: self, count: state.pick([0, 1, 3])) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(fabricator: self) }

    static let strings = ["", "front-door", "a/b \"q\" \\ \n\t\u{1}\u{1F}", "é 🔒 \u{2028} \u{7F}", "LDP/1", "2026-12-05T06:00:00Z"]
    static let doubles: [Double] = [0, -0.0, 1, 1480, 21.5, 0.1, 2.5e-7, 1e21, 1e20, 333333333.33333329, -40.25, 5e-324, 1.7976931348623157e308]

    func string() -> String { state.pick(Self.strings) }
    func double() -> Double { state.pick(Self.doubles) }
    // Not UInt64.max: a tree holds integers as Int64, so one beyond it reads back as a double.
    func integer<T: FixedWidthInteger>(_ type: T.Type) -> T { state.pick([T.zero, 1, 7, T(clamping: Int64.max), T.min, T(truncatingIfNeeded: 1480)]) }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fabricator: Fabricator
        var codingPath: [any CodingKey] { fabricator.codingPath }
        // Used only by dictionaries: two keys of any key type that takes strings or ints.
        var allKeys: [Key] { ["alpha", "battery.percent"].compactMap { Key(stringValue: $0) } + [3].compactMap { Key(intValue: $0) } }
        func contains(_ key: Key) -> Bool { fabricator.state.present }
        func decodeNil(forKey key: Key) throws -> Bool { false }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { fabricator.state.pick([true, false]) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { fabricator.string() }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { fabricator.double() }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(fabricator.state.pick([0.1, 2.5, 1, -3])) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { fabricator.integer(Int.self) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { fabricator.integer(Int8.self) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { fabricator.integer(Int16.self) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { fabricator.integer(Int32.self) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { fabricator.integer(Int64.self) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { fabricator.integer(UInt.self) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { fabricator.integer(UInt8.self) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { fabricator.integer(UInt16.self) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { fabricator.integer(UInt32.self) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { fabricator.integer(UInt64.self) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try fabricator.make(T.self, key: key) }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try fabricator.container(keyedBy: NestedKey.self)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try fabricator.unkeyedContainer() }
        func superDecoder() throws -> any Decoder { fabricator }
        func superDecoder(forKey key: Key) throws -> any Decoder { fabricator }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let fabricator: Fabricator
        let total: Int
        var currentIndex = 0
        init(fabricator: Fabricator, count: Int) {
            self.fabricator = fabricator
            self.total = count
        }
        var codingPath: [any CodingKey] { fabricator.codingPath }
        var count: Int? { total }
        var isAtEnd: Bool { currentIndex >= total }
        mutating func decodeNil() throws -> Bool { false }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            currentIndex += 1
            return try Single(fabricator: fabricator).decode(T.self)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            currentIndex += 1
            return try fabricator.container(keyedBy: NestedKey.self)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            currentIndex += 1
            return try fabricator.unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { fabricator }
    }

    struct Single: SingleValueDecodingContainer {
        let fabricator: Fabricator
        var codingPath: [any CodingKey] { fabricator.codingPath }
        func decodeNil() -> Bool { !fabricator.state.present }
        func decode(_ type: Bool.Type) throws -> Bool { fabricator.state.pick([true, false]) }
        func decode(_ type: String.Type) throws -> String { fabricator.string() }
        func decode(_ type: Double.Type) throws -> Double { fabricator.double() }
        func decode(_ type: Float.Type) throws -> Float { Float(fabricator.state.pick([0.1, 2.5, 1, -3])) }
        func decode(_ type: Int.Type) throws -> Int { fabricator.integer(Int.self) }
        func decode(_ type: Int8.Type) throws -> Int8 { fabricator.integer(Int8.self) }
        func decode(_ type: Int16.Type) throws -> Int16 { fabricator.integer(Int16.self) }
        func decode(_ type: Int32.Type) throws -> Int32 { fabricator.integer(Int32.self) }
        func decode(_ type: Int64.Type) throws -> Int64 { fabricator.integer(Int64.self) }
        func decode(_ type: UInt.Type) throws -> UInt { fabricator.integer(UInt.self) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { fabricator.integer(UInt8.self) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { fabricator.integer(UInt16.self) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { fabricator.integer(UInt32.self) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { fabricator.integer(UInt64.self) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            switch T.self {
            case is Bool.Type: return try decode(Bool.self) as! T
            case is String.Type: return try decode(String.self) as! T
            case is Double.Type: return try decode(Double.self) as! T
            case is Int.Type: return try decode(Int.self) as! T
            case is Int64.Type: return try decode(Int64.self) as! T
            case is UInt64.Type: return try decode(UInt64.self) as! T
            case is UInt32.Type: return try decode(UInt32.self) as! T
            case is UInt8.Type: return try decode(UInt8.self) as! T
            default: return try fabricator.make(T.self)
            }
        }
    }
}
