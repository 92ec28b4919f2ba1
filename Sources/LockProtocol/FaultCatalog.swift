/// Fault categories of ldp-v1.md §8 (the high byte of a code).
public enum FaultCategory: String, Sendable, CaseIterable, Codable {
    case motor, battery, fingerprint, communication, mechanical, power, security
}

/// How serious a fault is, in increasing order.
public enum Severity: String, Sendable, CaseIterable, Comparable, Codable {
    case info, warning, error, critical

    public static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Who can report a fault: the lock's own fault memory, lockdiag's analysis of telemetry, or either.
public enum FaultSource: String, Sendable, CaseIterable, Codable {
    case device, host, both
}

/// One entry of firmware-specs/faults.json.
public struct FaultDefinition: Sendable, Equatable {
    public let code: UInt16
    public let name: String
    public let title: String
    public let category: FaultCategory
    public let severity: Severity
    public let source: FaultSource
    public let meaning: String
    public let causes: [String]
    /// The technician's next step.
    public let action: String

    public init(code: UInt16, name: String, title: String, category: FaultCategory, severity: Severity,
                source: FaultSource, meaning: String, causes: [String], action: String) {
        self.code = code
        self.name = name
        self.title = title
        self.category = category
        self.severity = severity
        self.source = source
        self.meaning = meaning
        self.causes = causes
        self.action = action
    }

    /// `0x0101` style.
    public var codeText: String { FaultCatalog.format(code) }
}

/// The fault catalog, generated from firmware-specs/faults.json (see FaultCatalog+Generated.swift).
public enum FaultCatalog {
    /// The definition for a code, or nil for a code this catalog does not know.
    public static func definition(for code: UInt16) -> FaultDefinition? { byCode[code] }

    /// The definition with this snake_case name.
    public static func definition(named name: String) -> FaultDefinition? { all.first { $0.name == name } }

    /// A stand-in definition for a code the lock reports but the catalog lacks (a newer firmware).
    public static func unknown(_ code: UInt16) -> FaultDefinition {
        let category: FaultCategory = switch code >> 8 {
        case 0x01: .motor
        case 0x02: .battery
        case 0x03: .fingerprint
        case 0x04: .communication
        case 0x05: .mechanical
        case 0x06: .power
        case 0x07: .security
        default: .mechanical
        }
        return FaultDefinition(
            code: code, name: "unknown_\(format(code).dropFirst(2))", title: "Unknown fault \(format(code))",
            category: category, severity: .warning, source: .device,
            meaning: "The lock reported a fault code this version of lockdiag does not know.",
            causes: ["lock firmware newer than lockdiag's fault catalog"],
            action: "Update lockdiag; meanwhile look the code up in the lock maker's documentation.")
    }

    /// The definition for a code, known or not.
    public static func resolve(_ code: UInt16) -> FaultDefinition { definition(for: code) ?? unknown(code) }

    public static func format(_ code: UInt16) -> String {
        let digits = String(code, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static let byCode: [UInt16: FaultDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })
}
