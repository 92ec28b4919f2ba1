import LockDiagAPI

/// Which move an `actuate` step makes next, from where the bolt is (docs/bench.md, "Every move
/// from a known end"). A move's time and currents only mean something for a full stroke, end to
/// end: a lock told to go where its bolt already is runs into its stop in a few tens of
/// milliseconds, and one started from the middle travels part of the way. So each measured move
/// starts from the end the lock reports, read just before it, and goes to the other end.
public enum BoltMoves {
    public enum Move: Sendable, Equatable {
        /// A full stroke, measured against the step's limits.
        case measured(ActuationDirection)
        /// The bolt is neither locked nor unlocked (in between, or the lock does not say): unlock
        /// first, unmeasured, so the next move is a full stroke. It must still reach its end.
        case homing(ActuationDirection)
    }

    /// The move to make with the bolt at `bolt` (`device.status` `lock`, read when the motor
    /// was idle): away from the end it is at, else homing to unlocked.
    public static func next(bolt: String) -> Move {
        switch bolt {
        case "locked": .measured(.unlock)
        case "unlocked": .measured(.lock)
        default: .homing(.unlock)
        }
    }

    /// Whether the lock numbered `actuation` right after `last` (the latest actuation when the
    /// bolt was read; LDP/1 §7.1: numbers count up, wrap, and skip 0xFFFF), so no other move
    /// came between the reading and it. Without a `last` there is nothing to tell: yes.
    public static func follows(_ actuation: Int, directly last: Int?) -> Bool {
        guard let last else { return true }
        return actuation == (last + 1) % 0xFFFF
    }

    /// Whether a `device.status` reading shows the bolt at rest, so its position can be trusted.
    public static func isSettled(bolt: String, motor: String) -> Bool {
        bolt != "moving" && motor == "idle"
    }
}
