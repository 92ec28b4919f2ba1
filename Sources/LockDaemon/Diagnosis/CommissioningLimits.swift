import Foundation
import LockJSON

/// The limits one lock model is commissioned against (firmware-specs/commissioning.json).
public struct ModelCommissioningLimits: Sendable, Equatable, Codable {
    /// Door closed vs door open: the lock throw's end-of-travel current ratio may grow by at most
    /// this factor. 1.2: a healthy lock's ratio differs between throws by a few per cent (ripple,
    /// spring); a keep the bolt rubs on adds tens of per cent over the last fifth of the throw.
    public var maxEndOfTravelRise: Double
    /// The slowest throw accepted, either way, door closed.
    public var maxThrowMilliseconds: Int
    /// The battery's lowest voltage under the motor's load.
    public var minBatteryLoadedMillivolts: Int
    /// The worst fingerprint image accepted over the presentations.
    public var minImageQuality: Int
    /// How many times the installer presents a finger.
    public var presentations: Int
    /// Lock-and-unlock cycles with the door open and again with it closed.
    public var throwCycles: Int
    /// How far the controller's uptime clock may run from the station's over the run.
    public var maxClockDriftPercent: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxEndOfTravelRise = "max_end_of_travel_rise"
        case maxThrowMilliseconds = "max_throw_ms"
        case minBatteryLoadedMillivolts = "min_battery_loaded_mv"
        case minImageQuality = "min_image_quality"
        case presentations
        case throwCycles = "throw_cycles"
        case maxClockDriftPercent = "max_clock_drift_percent"
    }
}

/// Why a commissioning limits file was refused: each says where and what to fix.
public enum CommissioningLimitsError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notJSON(path: String, reason: String)
    case wrongFormat(path: String, found: String?)
    case noDefault(path: String)
    case missing(path: String, model: String, field: String)
    case unknownField(path: String, model: String, field: String)
    case outOfRange(path: String, model: String, field: String, value: String, range: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "commissioning limits \(path): cannot read it (\(reason)) — check the path given to --commissioning-limits"
        case .notJSON(let path, let reason):
            "commissioning limits \(path): not valid JSON (\(reason)) — fix the file, or start from firmware-specs/commissioning.json"
        case .wrongFormat(let path, let found):
            "commissioning limits \(path): \"format\" is \(found.map { "\"\($0)\"" } ?? "missing"), expected \"\(CommissioningLimits.formatName)\" — "
                + "start from firmware-specs/commissioning.json"
        case .noDefault(let path):
            "commissioning limits \(path): no \"models\".\"default\" entry — add one: it judges every model not listed"
        case .missing(let path, let model, let field):
            "commissioning limits \(path): model \"\(model)\" has no \"\(field)\" — every model gives every limit (copy it from \"default\")"
        case .unknownField(let path, let model, let field):
            "commissioning limits \(path): model \"\(model)\" has an unknown field \"\(field)\" — known: "
                + ModelCommissioningLimits.CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")
        case .outOfRange(let path, let model, let field, let value, let range):
            "commissioning limits \(path): model \"\(model)\" \"\(field)\" is \(value), must be \(range)"
        }
    }
}

/// Commissioning limits per lock model, with a default for models not listed.
public struct CommissioningLimits: Sendable, Equatable {
    public static let formatName = "lockdiag-commissioning-limits/1"

    public var models: [String: ModelCommissioningLimits]

    /// The limits for `model`, and the entry's name (`default` when the model is not listed).
    public func limits(for model: String?) -> (name: String, limits: ModelCommissioningLimits) {
        if let model, let limits = models[model] { return (model, limits) }
        return ("default", models["default"]!)
    }

    /// The shipped limits (firmware-specs/commissioning.json, compiled in).
    public static func builtIn() -> CommissioningLimits {
        // The test CommissioningLimitsTests checks the compiled-in copy parses.
        try! parse(Array(builtInJSON.utf8), path: "built-in commissioning.json")
    }

    public static func load(path: String) throws(CommissioningLimitsError) -> CommissioningLimits {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(Array(data), path: path)
    }

    /// Parses and checks a limits file; `path` names it in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws(CommissioningLimitsError) -> CommissioningLimits {
        let root: JSONValue
        do { root = try JSONValue(parsing: bytes) } catch { throw .notJSON(path: path, reason: "\(error)") }
        guard root["format"]?.stringValue == formatName else { throw .wrongFormat(path: path, found: root["format"]?.stringValue) }
        guard let entries = root["models"]?.objectValue else { throw .noDefault(path: path) }
        guard entries["default"] != nil else { throw .noDefault(path: path) }
        var models: [String: ModelCommissioningLimits] = [:]
        for (model, entry) in entries {
            models[model] = try parseModel(model, entry, path: path)
        }
        return CommissioningLimits(models: models)
    }

    private static func parseModel(_ model: String, _ entry: JSONValue, path: String) throws(CommissioningLimitsError) -> ModelCommissioningLimits {
        typealias Key = ModelCommissioningLimits.CodingKeys
        let members = entry.objectValue ?? [:]
        for field in members.keys where Key(rawValue: field) == nil {
            throw .unknownField(path: path, model: model, field: field)
        }
        func number(_ key: Key, _ range: ClosedRange<Double>) throws(CommissioningLimitsError) -> Double {
            guard let value = members[key.rawValue] else { throw .missing(path: path, model: model, field: key.rawValue) }
            guard let number = value.doubleValue, range.contains(number) else {
                throw .outOfRange(path: path, model: model, field: key.rawValue, value: value.jsonText,
                                  range: "a number in \(CanonicalJSON.ecmaScript(range.lowerBound))…\(CanonicalJSON.ecmaScript(range.upperBound))")
            }
            return number
        }
        func integer(_ key: Key, _ range: ClosedRange<Int>) throws(CommissioningLimitsError) -> Int {
            let value = try number(key, Double(range.lowerBound)...Double(range.upperBound))
            guard let whole = Int(exactly: value) else {
                throw .outOfRange(path: path, model: model, field: key.rawValue, value: CanonicalJSON.ecmaScript(value),
                                  range: "a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return whole
        }
        // The ranges hold every plausible lock and refuse typos (1200 for 1.2, mV given as V).
        return ModelCommissioningLimits(
            maxEndOfTravelRise: try number(.maxEndOfTravelRise, 1.0...5.0),
            maxThrowMilliseconds: try integer(.maxThrowMilliseconds, 100...3000),
            minBatteryLoadedMillivolts: try integer(.minBatteryLoadedMillivolts, 1000...24000),
            minImageQuality: try integer(.minImageQuality, 0...100),
            presentations: try integer(.presentations, 1...10),
            throwCycles: try integer(.throwCycles, 1...5),
            maxClockDriftPercent: try number(.maxClockDriftPercent, 0.1...50))
    }
}
