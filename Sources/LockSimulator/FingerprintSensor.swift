import LockProtocol

/// How the fingerprint module behaves.
enum FingerprintCondition: Equatable {
    case good
    /// Dirty or worn sensor surface: it answers, but every image is poor.
    case degraded
    /// The module does not answer the controller at all (loose ribbon cable, dead module).
    case notResponding
}

/// The fingerprint module as the controller sees it over its SPI/UART link.
struct FingerprintSensor {
    /// A capture (finger on, image taken, matched) on a typical capacitive module.
    static let captureNanoseconds: UInt64 = 250_000_000
    /// The module's built-in test plus one test image.
    static let selfTestNanoseconds: UInt64 = 300_000_000
    /// NFIQ-style score below which matching usually fails.
    static let matchThresholdQuality: UInt8 = 40
    static let templatesCapacity: UInt16 = 100

    var condition: FingerprintCondition
    /// The link state from the controller's last poll of the module.
    var linkOK: Bool
    var lastImageQuality: UInt8 = FingerprintStatus.noQuality
    var lastSelfTest: SelfTestOutcome = .never
    var templatesUsed: UInt16 = 12
    var failedAttempts: UInt8 = 0
    var capturingUntil: UInt64?

    init(condition: FingerprintCondition) {
        self.condition = condition
        linkOK = condition != .notResponding
    }

    var isResponding: Bool { condition != .notResponding }

    /// The quality of one image from this sensor in its condition.
    func drawQuality(_ random: inout SimulationRandom) -> UInt8 {
        switch condition {
        case .good: UInt8(random.uniform(65, 91))
        case .degraded: UInt8(random.uniform(20, 36))
        case .notResponding: FingerprintStatus.noQuality
        }
    }

    /// Ends a capture: the image's quality decides whether the match succeeds.
    mutating func finishCapture(quality: UInt8) {
        capturingUntil = nil
        lastImageQuality = quality
        if quality >= Self.matchThresholdQuality {
            failedAttempts = 0
        } else if failedAttempts < UInt8.max {
            failedAttempts += 1
        }
    }

    func status(now: UInt64) -> FingerprintStatus {
        let state: FingerprintState =
            if !isResponding { .notResponding } else if let until = capturingUntil, until > now { .capturing } else { .ready }
        return FingerprintStatus(state: state, linkOK: linkOK, lastImageQuality: lastImageQuality, lastSelfTest: lastSelfTest,
                                 templatesUsed: templatesUsed, templatesCapacity: Self.templatesCapacity,
                                 failedAttempts: failedAttempts, lockoutRemainingSeconds: 0)
    }
}
