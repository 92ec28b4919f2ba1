import BenchKit
import Testing

/// docs/bench.md: the `commission` step, with its optional wait.
@Suite struct CommissionPlanTests {
    @Test func commissionParsesWithTheDefaultOrAGivenWait() throws {
        let plan = try PlanParser.parse("name: eol\nlocks: all\nsteps:\n  - commission\n  - commission: {wait: 2m}\n")
        #expect(plan.steps.map(\.action) == [.commission(waitSeconds: 120), .commission(waitSeconds: 120)])
        let short = try PlanParser.parse("name: eol\nlocks: all\nsteps:\n  - commission: {wait: 45s}\n")
        #expect(short.steps.first?.action == .commission(waitSeconds: 45))
        #expect(short.steps.first?.movesBolt == true && short.steps.first?.kind == "commission")
    }

    @Test(arguments: [
        ("  - commission: {wait: 2s}\n", "must be 5 s to 15 min"),
        ("  - commission: {wait: 2h}\n", "must be 5 s to 15 min"),
        ("  - commission: {wiat: 30s}\n", "wiat"),
    ])
    func aBadWaitSaysWhatIsAllowed(step: String, expected: String) {
        #expect {
            _ = try PlanParser.parse("name: eol\nlocks: all\nsteps:\n" + step)
        } throws: { error in "\(error)".contains(expected) }
    }
}
