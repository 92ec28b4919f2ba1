// `device.parts` (docs/socket-api.md): the genuine-part check of firmware-specs/ldp-v1.md §6.9.

extension APIMethod {
    /// Checks every accessory of a lock now and returns each part's verdict (technician).
    public static let deviceParts = "device.parts"
}

/// One accessory and the station's verdict on it.
public struct PartStatus: Codable, Sendable, Equatable {
    /// `fingerprint_module`, `battery_pack`, `motor_unit` (or `unknown(N)`).
    public var kind: String
    /// The serial the lock reads from the part.
    public var serial: String
    /// `genuine`, `counterfeit`, `expired`, `wrong_serial`, `replayed` or `unverified`.
    public var verdict: String
    /// Why, in words a technician can quote.
    public var evidence: String
    /// The part certificate's last valid day (UTC, `YYYY-MM-DD`), when it could be read.
    public var validUntil: String?
    /// The maker root its certificate chains to, when trusted.
    public var root: String?

    public init(kind: String, serial: String, verdict: String, evidence: String, validUntil: String? = nil, root: String? = nil) {
        self.kind = kind
        self.serial = serial
        self.verdict = verdict
        self.evidence = evidence
        self.validUntil = validUntil
        self.root = root
    }

    public var isGenuine: Bool { verdict == "genuine" }

    enum CodingKeys: String, CodingKey {
        case kind, serial, verdict, evidence, root
        case validUntil = "valid_until"
    }
}

/// `device.parts` result: every part the lock listed, checked at `checkedAt`.
public struct PartsResult: Codable, Sendable, Equatable {
    public var device: String
    public var checkedAt: String
    public var parts: [PartStatus]
    /// Set when the lock could not list its parts at all (then `parts` is empty).
    public var problem: String?

    public init(device: String, checkedAt: String, parts: [PartStatus], problem: String? = nil) {
        self.device = device
        self.checkedAt = checkedAt
        self.parts = parts
        self.problem = problem
    }

    /// Every part genuine and nothing in the way of checking them.
    public var allGenuine: Bool { problem == nil && parts.allSatisfy(\.isGenuine) }

    enum CodingKeys: String, CodingKey {
        case device, parts, problem
        case checkedAt = "checked_at"
    }
}
