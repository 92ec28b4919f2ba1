import BenchKit
import Testing

/// Where a bench move starts (docs/bench.md): from the end the lock reports, to the other one;
/// home to unlocked, unmeasured, from anywhere else.
@Suite struct BoltMovesTests {
    @Test func aMeasuredMoveGoesAwayFromTheEndTheBoltIsAt() {
        #expect(BoltMoves.next(bolt: "locked") == .measured(.unlock))
        #expect(BoltMoves.next(bolt: "unlocked") == .measured(.lock))
        for elsewhere in ["intermediate", "unknown", "moving", ""] {
            #expect(BoltMoves.next(bolt: elsewhere) == .homing(.unlock), "\(elsewhere)")
        }
    }

    @Test func onlyABoltAtRestIsReadAsWhereItIs() {
        #expect(BoltMoves.isSettled(bolt: "locked", motor: "idle"))
        #expect(BoltMoves.isSettled(bolt: "intermediate", motor: "idle"))
        #expect(!BoltMoves.isSettled(bolt: "moving", motor: "idle"))
        #expect(!BoltMoves.isSettled(bolt: "locked", motor: "braking"))
        #expect(!BoltMoves.isSettled(bolt: "unlocked", motor: "running"))
    }

    /// LDP/1 §7.1 numbers actuations upwards, wrapping and never using 0xFFFF.
    @Test func aMoveFollowsDirectlyOnlyTheActuationBeforeIt() {
        #expect(BoltMoves.follows(42, directly: 41))
        #expect(!BoltMoves.follows(43, directly: 41))
        #expect(BoltMoves.follows(0, directly: 0xFFFE))
        #expect(!BoltMoves.follows(0xFFFF, directly: 0xFFFE))
        #expect(BoltMoves.follows(7, directly: nil))
    }
}
