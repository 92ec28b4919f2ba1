import LockDiagAPI

/// A bench test plan (docs/bench.md): which locks, what to do to each, and the limits every
/// measurement must stay within. Built only by `PlanParser`, so a plan in hand is valid.
public struct Plan: Sendable, Equatable {
    public var name: String
    public var selection: LockSelection
    public var limits: Limits
    public var steps: [Step]
    /// Stop a lock's run at its first failed step (the rest are skipped) instead of running on.
    public var stopOnFailure: Bool
    /// Locks run at once unless `--parallel` says otherwise.
    public var parallel: Int?
    /// Run on a recording's replayed locks instead of the running lockdiagd's (PlanReplay.swift).
    public var replay: PlanReplay?

    public init(name: String, selection: LockSelection = LockSelection(), limits: Limits = Limits(), steps: [Step],
                stopOnFailure: Bool = false, parallel: Int? = nil) {
        self.name = name
        self.selection = selection
        self.limits = limits
        self.steps = steps
        self.stopOnFailure = stopOnFailure
        self.parallel = parallel
    }
}

/// Which of the daemon's locks a plan runs on.
public struct LockSelection: Sendable, Equatable {
    /// Only these models (any when empty).
    public var models: [String] = []
    /// Only these ids or serial numbers (any when empty).
    public var ids: [String] = []
    /// Locks the rig should have: `wait_for_attach` waits until this many match and are online.
    public var expect: Int?
    /// Locks that come online during the run join it (and run every step from the first).
    public var joinLate = false

    public init(models: [String] = [], ids: [String] = [], expect: Int? = nil, joinLate: Bool = false) {
        self.models = models
        self.ids = ids
        self.expect = expect
        self.joinLate = joinLate
    }

    /// Whether a lock of `devices` (the daemon's list) is in the plan. Each of `ids` picks a
    /// lock as the daemon resolves names (DeviceName): an id that one lock; a serial number
    /// only when a single lock has it, never several (`ambiguous` says which). A lock that has
    /// not identified itself has no model yet and matches a model filter only once it has.
    public func matches(_ device: DeviceSummary, among devices: [DeviceSummary]) -> Bool {
        if !ids.isEmpty {
            let candidates = devices.map(DeviceCandidate.init)
            let picked = ids.contains { name in
                if case .one(let i) = DeviceName.match(name, in: candidates) { return devices[i].id == device.id }
                return false
            }
            if !picked { return false }
        }
        if !models.isEmpty && !(device.model.map(models.contains) ?? false) { return false }
        return true
    }

    /// The entries of `ids` that several of `devices` answer to, with those locks: a plan that
    /// names a lock must name one, so the run refuses to start.
    public func ambiguous(among devices: [DeviceSummary]) -> [(name: String, candidates: [DeviceCandidate])] {
        let candidates = devices.map(DeviceCandidate.init)
        return ids.compactMap { name in
            guard case .several(let hits) = DeviceName.match(name, in: candidates) else { return nil }
            return (name, hits.map { candidates[$0] })
        }
    }

    public var isAll: Bool { models.isEmpty && ids.isEmpty }
}

/// One step of a plan, run on every selected lock in order.
public struct Step: Sendable, Equatable {
    public var action: Action
    /// Limits for this step: the plan's, with the step's own on top.
    public var limits: Limits
    /// The line of the plan the step is on, for messages.
    public var line: Int

    public init(_ action: Action, limits: Limits = Limits(), line: Int = 0) {
        self.action = action
        self.limits = limits
        self.line = line
    }

    public enum Action: Sendable, Equatable {
        /// Wait until the lock is online and has identified itself.
        case waitForAttach(timeoutSeconds: Double)
        /// Read the lock's identity (model, hardware revision, firmware, serial) into the results.
        case identify
        /// The lock's firmware must be at least this version.
        case requireFirmware(FirmwareVersion)
        /// Run the lock's self-tests (`motor` moves the bolt).
        case selfTest([TestKind])
        /// Move the bolt `cycles` times there and back, pausing between moves.
        case actuate(cycles: Int, pauseSeconds: Double)
        /// Leave the lock powered and polled for a while; it must stay online and gain no
        /// confirmed fault.
        case soak(seconds: Double)
        /// The lock must have no confirmed fault (those listed in `ignore`, by code or name, aside).
        case noConfirmedFaults(ignore: [String])
        /// Every accessory must prove itself genuine (`device.parts`, BenchWorker+Parts.swift).
        case genuineParts
        /// Commission the lock (docs/commissioning.md): door open and closed throws, finger
        /// presentations, firmware and clock, each waited for up to `waitSeconds`.
        case commission(waitSeconds: Int)
    }

    /// The step's name in results and JUnit (`actuate 5 cycles, pause 0.5 s`).
    public var title: String {
        switch action {
        case .waitForAttach(let t): "wait for attach (≤ \(Format.seconds(t)))"
        case .identify: "identify"
        case .requireFirmware(let v): "require firmware ≥ \(v)"
        case .selfTest(let kinds): "self-test " + kinds.map(\.rawValue).joined(separator: "+")
        case .actuate(let cycles, let pause): "actuate \(cycles) cycle\(cycles == 1 ? "" : "s"), pause \(Format.seconds(pause))"
        case .soak(let s): "soak \(Format.seconds(s))"
        case .noConfirmedFaults(let ignore): ignore.isEmpty ? "no confirmed faults" : "no confirmed faults (ignoring \(ignore.joined(separator: ", ")))"
        case .genuineParts: "genuine parts"
        case .commission(let wait): "commission (waits ≤ \(wait) s)"
        }
    }

    /// The most battery readings one `soak` step records (docs/bench.md).
    public static let soakReadingsMax = 300

    /// How often `soak: T` reads the battery: once a second, further apart in a soak longer
    /// than `soakReadingsMax` seconds, so its readings stay within that many.
    public static func soakReadingIntervalSeconds(_ soakSeconds: Double) -> Double { max(1, soakSeconds / Double(soakReadingsMax)) }

    /// Short key for CSV and JUnit class names.
    public var kind: String {
        switch action {
        case .waitForAttach: "wait_for_attach"
        case .identify: "identify"
        case .requireFirmware: "require_firmware"
        case .selfTest: "self_test"
        case .actuate: "actuate"
        case .soak: "soak"
        case .noConfirmedFaults: "no_confirmed_faults"
        case .genuineParts: "genuine_parts"
        case .commission: "commission"
        }
    }

    /// Whether the step can move the bolt.
    public var movesBolt: Bool {
        switch action {
        case .actuate, .commission: true
        case .selfTest(let kinds): kinds.contains(.motor) || kinds.contains(.all)
        default: false
        }
    }
}

/// A `MAJOR.MINOR.PATCH` firmware version (missing parts are 0), compared numerically.
public struct FirmwareVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var parts: [Int]

    /// Parses `2`, `2.4` or `2.4.1`; a `-suffix` or `+build` after the numbers is ignored.
    public init?(_ text: String) {
        let core = text.split(whereSeparator: { $0 == "-" || $0 == "+" }).first.map(String.init) ?? ""
        let fields = core.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(fields.count) else { return nil }
        var parts: [Int] = []
        for field in fields {
            guard !field.isEmpty, field.allSatisfy(\.isASCII), let n = Int(field), n >= 0 else { return nil }
            parts.append(n)
        }
        self.parts = parts
    }

    public static func < (a: FirmwareVersion, b: FirmwareVersion) -> Bool {
        for i in 0..<max(a.parts.count, b.parts.count) {
            let x = i < a.parts.count ? a.parts[i] : 0, y = i < b.parts.count ? b.parts[i] : 0
            if x != y { return x < y }
        }
        return false
    }

    public static func == (a: FirmwareVersion, b: FirmwareVersion) -> Bool { !(a < b) && !(b < a) }

    public var description: String { parts.map(String.init).joined(separator: ".") }
}

/// Small text formats shared by the writers.
public enum Format {
    /// `0.5 s`, `30 s`, `2 min`.
    public static func seconds(_ s: Double) -> String {
        if s >= 120, s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60)) min" }
        if s == s.rounded() { return "\(Int(s)) s" }
        return "\((s * 1000).rounded() / 1000) s"
    }
}
