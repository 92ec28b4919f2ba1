import Yams

/// A plan's `replay:` (docs/bench.md): run the plan on the locks of a recording, replayed by a
/// lockdiagd that `lockdiag bench run` starts for it (`lockdiagd --replay FILE`), instead of on
/// the locks of the running lockdiagd. A field case becomes a test in a plan.
public struct PlanReplay: Sendable, Equatable {
    /// The pcapng recording (`lockdiagd --record`, `lockdiag record`); relative paths are taken
    /// from the plan's directory.
    public var file: String
    /// How much faster than recorded (`--replay-speed`, 0.01–1000).
    public var speed: Double

    public init(file: String, speed: Double = 1) {
        self.file = file
        self.speed = speed
    }

    public static let speedRange = 0.01...1000.0
}

extension Reader {
    /// `replay: FILE` or `replay: {file: FILE, speed: N}`.
    mutating func replay(_ node: Node) -> PlanReplay? {
        let fileNode: Node?
        var speed = 1.0
        if case .mapping = node {
            guard let m = mapping(node, "replay", keys: ["file", "speed"]) else { return nil }
            fileNode = m["file"]
            if let n = m["speed"] {
                if let text = n.scalar?.string, let value = Double(text), PlanReplay.speedRange.contains(value) {
                    speed = value
                } else {
                    fail(n, "'replay.speed' must be a number from 0.01 to 1000 (how much faster than recorded), not \(describe(n))")
                }
            }
        } else {
            fileNode = node
        }
        guard let fileNode, let file = string(fileNode, "replay.file"), !file.isEmpty else {
            fail(fileNode ?? node, "'replay' needs the recording to replay: 'replay: case.pcapng' or 'replay: {file: case.pcapng, speed: 10}'")
            return nil
        }
        return PlanReplay(file: file, speed: speed)
    }
}
