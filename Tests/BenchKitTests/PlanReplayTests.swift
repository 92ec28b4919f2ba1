import BenchKit
import Testing

/// A plan's `replay:` option (docs/bench.md, "A field case as a plan").
@Suite struct PlanReplayTests {
    static let steps = "steps:\n  - wait_for_attach: 30s\n  - no_confirmed_faults\n"

    @Test func replayNamesARecordingAndItsSpeed() throws {
        #expect(try PlanParser.parse("name: c\nlocks: all\nreplay: case.pcapng\n" + Self.steps).replay == PlanReplay(file: "case.pcapng"))
        #expect(try PlanParser.parse("name: c\nlocks: all\nreplay: {file: /srv/case.pcapng, speed: 20}\n" + Self.steps).replay
                == PlanReplay(file: "/srv/case.pcapng", speed: 20))
        #expect(try PlanParser.parse("name: c\nlocks: all\n" + Self.steps).replay == nil)
    }

    @Test(arguments: [
        ("replay: {speed: 2}", "'replay' needs the recording"),
        ("replay: {file: c.pcapng, speed: 0}", "'replay.speed' must be a number from 0.01 to 1000"),
        ("replay: {file: c.pcapng, pace: 2}", "pace"),
    ])
    func aBadReplayIsReportedWithItsLine(yaml: String, reason: String) {
        #expect {
            try PlanParser.parse("name: c\nlocks: all\n" + yaml + "\n" + Self.steps)
        } throws: { error in
            guard let error = error as? PlanError else { return false }
            return error.issues.contains { $0.line == 3 && $0.message.contains(reason) }
        }
    }
}
