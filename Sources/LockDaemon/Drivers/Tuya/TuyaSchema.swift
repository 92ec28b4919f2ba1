import Foundation
import LockJSON
import LockProtocol
import TuyaProtocol

/// What one product's DPs mean (firmware-specs/tuya-mcu.md §6): loaded from
/// `firmware-specs/tuya/*.json`, built in, or from `--tuya-schemas DIR`.
public struct TuyaSchema: Codable, Sendable, Equatable {
    /// What a DP feeds.
    public enum Role: String, Codable, Sendable, CaseIterable {
        case batteryPercent = "battery_percent"
        case batteryBand = "battery_band"
        case alarm
        case unlock
        case event
        case state
    }

    /// One DP of the product.
    public struct DP: Codable, Sendable, Equatable {
        public var id: Int
        public var code: String
        public var type: String
        public var role: Role
        /// Enum values in wire order.
        public var range: [String]?
        /// For `unlock`: how the door was opened.
        public var method: String?
    }

    public var product: String
    public var name: String
    public var category: String?
    /// The Tuya standard layout of `category`: read with it when no layout lists the lock's PID
    /// (tuya-mcu.md §6.1). It lists no PIDs and only the standard's DPs.
    public var standard: Bool?
    /// Another layout (a standard one) whose DPs, alarms and bands this one starts from; its own
    /// entries add to them or replace them by DP id, alarm value or band.
    public var extends: String?
    /// Product ids (from the MCU's product-information reply) this layout fits.
    public var pids: [String]
    public var sources: [String]?
    public var dps: [DP]
    /// `alarm` enum value → fault name in firmware-specs/faults.json.
    public var alarms: [String: String]
    /// `battery_band` enum value → fault name; a band not listed heals those faults.
    public var batteryBands: [String: String]?

    enum CodingKeys: String, CodingKey {
        case product, name, category, standard, extends, pids, sources, dps, alarms
        case batteryBands = "battery_bands"
    }

    public func dp(_ id: UInt8) -> DP? { dps.first { $0.id == Int(id) } }

    /// This layout on top of `base` (`extends`).
    func extending(_ base: TuyaSchema) -> TuyaSchema {
        var out = self
        let own = Set(dps.map(\.id))
        out.dps = (base.dps.filter { !own.contains($0.id) } + dps).sorted { $0.id < $1.id }
        out.alarms = base.alarms.merging(alarms) { _, mine in mine }
        if base.batteryBands != nil || batteryBands != nil {
            out.batteryBands = (base.batteryBands ?? [:]).merging(batteryBands ?? [:]) { _, mine in mine }
        }
        out.category = category ?? base.category
        return out
    }

    /// Problems that make the file unusable, each in words (an empty list: fine).
    public func problems() -> [String] {
        var out: [String] = []
        if product.isEmpty { out.append("'product' is empty") }
        if standard == true && category?.isEmpty != false { out.append("a standard layout names its 'category'") }
        if standard == true && !pids.isEmpty { out.append("a standard layout applies by category: leave 'pids' empty") }
        if standard == true && extends != nil { out.append("a standard layout is the base others extend: leave 'extends' out") }
        var seen = Set<Int>()
        for dp in dps {
            if !(0...255).contains(dp.id) { out.append("DP \(dp.id) (\(dp.code)): ids are 0…255") }
            if !seen.insert(dp.id).inserted { out.append("DP \(dp.id) is listed twice") }
            if TuyaDPType(name: dp.type) == nil {
                out.append("DP \(dp.id) (\(dp.code)): unknown type '\(dp.type)' (raw, bool, value, string, enum, bitmap)")
            }
            if (dp.role == .alarm || dp.role == .batteryBand) && (dp.type != "enum" || dp.range?.isEmpty != false) {
                out.append("DP \(dp.id) (\(dp.code)): a DP with role \(dp.role.rawValue) is an enum with a 'range'")
            }
        }
        for (value, fault) in alarms.sorted(by: { $0.key < $1.key }) where FaultCatalog.definition(named: fault) == nil {
            out.append("alarm '\(value)' maps to '\(fault)', which is not in the fault catalog (firmware-specs/faults.json)")
        }
        for (band, fault) in (batteryBands ?? [:]).sorted(by: { $0.key < $1.key }) where FaultCatalog.definition(named: fault) == nil {
            out.append("battery band '\(band)' maps to '\(fault)', which is not in the fault catalog")
        }
        return out
    }
}

/// A layout chosen for a lock, and why when it was assumed rather than known.
public struct TuyaLayout: Sendable, Equatable {
    public var schema: TuyaSchema
    /// Nil when the PID or `:PRODUCT` named the layout; else what was not known.
    public var assumedBecause: String?
}

/// Why schema files could not be used.
public struct TuyaSchemaError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let reasons: [String]
    public var description: String {
        "Tuya schema \(file): " + reasons.joined(separator: "; ") + " — fix the file (firmware-specs/tuya-mcu.md §6 shows the format)"
    }
}

/// The product layouts the daemon knows, by product name and by PID.
public struct TuyaSchemaSet: Sendable {
    public private(set) var byProduct: [String: TuyaSchema] = [:]

    public init() {}

    /// The layouts compiled in from firmware-specs/tuya/ (`make tuya-schemas`).
    public static func builtIn() -> TuyaSchemaSet {
        var set = TuyaSchemaSet()
        // The generator and TuyaSchemaTests guarantee these load; a broken one is skipped, not fatal.
        set.add(files: TuyaBuiltInSchemas.files.map { ($0.0, Data($0.1.utf8)) }) { _ in }
        return set
    }

    /// Parses one file as it stands (no `extends` resolved, no checks).
    static func parse(_ data: Data, file: String) -> Result<TuyaSchema, TuyaSchemaError> {
        do {
            return .success(try JSONValue(parsing: data).decode(as: TuyaSchema.self))
        } catch {
            return .failure(TuyaSchemaError(file: file, reasons: ["not a schema: \(error)"]))
        }
    }

    /// Adds files (name, text): those that extend another after those that do not, each checked
    /// once its base is filled in; a file that cannot be used goes to `refused` and is skipped.
    mutating func add(files: [(String, Data)], refused: (TuyaSchemaError) throws -> Void) rethrows {
        var parsed: [(String, TuyaSchema)] = []
        for (file, data) in files {
            switch Self.parse(data, file: file) {
            case .success(let schema): parsed.append((file, schema))
            case .failure(let error): try refused(error)
            }
        }
        for (file, schema) in parsed.filter({ $0.1.extends == nil }) + parsed.filter({ $0.1.extends != nil }) {
            var resolved = schema
            if let base = schema.extends {
                guard let found = byProduct[base] else {
                    try refused(TuyaSchemaError(file: file, reasons: ["it extends '\(base)', which is not loaded (known: \(products.joined(separator: ", ")))"]))
                    continue
                }
                resolved = schema.extending(found)
            }
            let problems = resolved.problems()
            guard problems.isEmpty else {
                try refused(TuyaSchemaError(file: file, reasons: problems))
                continue
            }
            add(resolved)
        }
    }

    public mutating func add(_ schema: TuyaSchema) { byProduct[schema.product] = schema }

    /// Adds every `*.json` in `directory`; a later file overrides a built-in of the same product.
    /// The first file that cannot be used stops the load with its problems.
    public mutating func load(directory: String) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw TuyaSchemaError(file: directory, reasons: ["cannot list the folder: \(error.localizedDescription)"])
        }
        var files: [(String, Data)] = []
        for name in names {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TuyaSchemaError(file: path, reasons: ["cannot be read"])
            }
            files.append((path, data))
        }
        try add(files: files) { error in throw error }
    }

    public func schema(product: String) -> TuyaSchema? { byProduct[product] }

    public func schema(pid: String) -> TuyaSchema? {
        byProduct.values.sorted { $0.product < $1.product }.first { $0.pids.contains(pid) }
    }

    /// The standard layout of a Tuya category (`standard-ms`), if one is loaded.
    public func standard(category: String) -> TuyaSchema? {
        byProduct.values.sorted { $0.product < $1.product }.first { $0.standard == true && $0.category == category }
    }

    /// The category a lock is taken to be in when no layout lists its PID: the MCU protocol's
    /// product-information reply carries a PID but no category (tuya-mcu.md §3), and lockdiagd
    /// diagnoses door locks, so it assumes Tuya's residential lock, `ms`.
    public static let assumedCategory = "ms"
    public static let categoryAssumption = "the Tuya MCU protocol does not carry it; lockdiagd diagnoses door locks"

    /// The layout to read a lock with when no product was named: the one listing its PID, else
    /// the standard layout of the assumed category, with why it was assumed. `pid` nil: none heard yet.
    public func layout(pid: String?) -> TuyaLayout? {
        if let pid, let schema = schema(pid: pid) { return TuyaLayout(schema: schema, assumedBecause: nil) }
        guard let standard = standard(category: Self.assumedCategory) else { return nil }
        let reason = pid.map { "product id \($0) not known" } ?? "no product id heard yet (a tap hears it when the module starts)"
        return TuyaLayout(schema: standard, assumedBecause: reason)
    }

    public var products: [String] { byProduct.keys.sorted() }
}
