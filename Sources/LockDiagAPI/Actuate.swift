/// Which way `device.actuate` drives the bolt.
public enum ActuationDirection: String, Codable, Sendable, CaseIterable {
    case lock, unlock
}

/// `device.actuate` parameters. Moving the bolt is dangerous (a hand in the strike plate, a door
/// that must stay locked), so the caller must say so: `confirm` must be true or the call is
/// refused with -32602 naming the field.
public struct ActuateParams: Codable, Sendable, Equatable {
    public var device: String
    public var direction: ActuationDirection
    /// Must be `true`; absent or false is refused.
    public var confirm: Bool?

    public init(device: String, direction: ActuationDirection, confirm: Bool? = true) {
        self.device = device
        self.direction = direction
        self.confirm = confirm
    }
}

/// `device.actuate` result: the actuation the lock ran, as the daemon analysed it.
public struct ActuateResult: Codable, Sendable, Equatable {
    public var device: String
    public var direction: ActuationDirection
    /// The lock's summary and the daemon's reading of the trace (`analysis`).
    public var actuation: ActuationSummary
    /// The motor-current trace; nil when the lock could not resend a complete one.
    public var trace: MotorTrace?
    /// `pass` when the bolt reached its end position with a normal trace, else `fail`.
    public var verdict: Verdict
    /// Why it failed, one line each; empty on a pass.
    public var findings: [String]

    public init(device: String, direction: ActuationDirection, actuation: ActuationSummary, trace: MotorTrace?, verdict: Verdict,
                findings: [String]) {
        self.device = device
        self.direction = direction
        self.actuation = actuation
        self.trace = trace
        self.verdict = verdict
        self.findings = findings
    }
}
