import LockProtocol
import LockSimulator
import Testing

/// firmware-specs/ldp-v1.md §4.1: an event's `seq` is the device's event counter, +1 per event,
/// wrapping, so a host can detect lost events. The simulator is a compliant device.
@Suite struct EventSeqTests {
    @Test func eventSeqCountsUpByOneAndWraps() {
        let host = LockHarness(.healthy, activitySeconds: 0.2)
        // Actuations send several events each (started, trace chunks, finished): past 256 of them.
        #expect(host.run(upTo: 600_000) { host.frames.filter { $0.header.kind == .event }.count > 300 })
        let seqs = host.frames.filter { $0.header.kind == .event }.map(\.header.seq)
        #expect(seqs.first == 0)
        let steps = zip(seqs, seqs.dropFirst()).filter { $1 != $0 &+ 1 }
        #expect(steps.isEmpty, "seq did not go up by one: \(steps.prefix(5))")
        #expect(zip(seqs, seqs.dropFirst()).contains { $0 == 255 && $1 == 0 }, "the counter never wrapped")
    }
}
