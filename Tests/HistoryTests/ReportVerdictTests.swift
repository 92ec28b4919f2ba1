import LockDiagAPI
import Reports
import Testing

/// reports.md: a report's `verdict.result` is `fault` for a confirmed fault, `attention` for
/// pending faults or a self-test not passed, and `ok` otherwise.
@Suite struct ReportVerdictTests {
    func fault(_ status: FaultStatus) -> Fault {
        Fault(device: "LX3-1", code: "0x0101", name: "motor_stall", title: "Motor stall / jammed bolt", category: "motor", severity: "error",
              status: status, source: "host", count: 1, firstSeen: "2026-11-28T09:00:00.000Z", lastSeen: "2026-11-28T09:00:00.000Z",
              freezeFrame: nil, meaning: "m", advice: "a")
    }

    func selfTest(_ verdict: Verdict) -> ReportSelfTest {
        ReportSelfTest(test: .battery, startedAt: "2026-11-28T09:00:00.000Z",
                       result: TestResult(test: .battery, verdict: verdict, measurements: TestMeasurements(), findings: [], faults: []))
    }

    @Test func confirmedIsFaultPendingOrATestNotPassedIsAttentionElseOK() {
        #expect(ReportVerdict.judge(faults: [fault(.confirmed)], selfTests: []).result == "fault")
        #expect(ReportVerdict.judge(faults: [fault(.confirmed), fault(.pending)], selfTests: [selfTest(.fail)]).result == "fault")
        #expect(ReportVerdict.judge(faults: [fault(.pending)], selfTests: []).result == "attention")
        #expect(ReportVerdict.judge(faults: [], selfTests: [selfTest(.fail)]).result == "attention")
        #expect(ReportVerdict.judge(faults: [], selfTests: [selfTest(.aborted)]).result == "attention")
        #expect(ReportVerdict.judge(faults: [fault(.healed)], selfTests: [selfTest(.pass)]).result == "ok")
        #expect(ReportVerdict.judge(faults: [], selfTests: []).result == "ok")
        let counted = ReportVerdict.judge(faults: [fault(.confirmed), fault(.pending), fault(.pending)], selfTests: [])
        #expect(counted.confirmedFaults == 1 && counted.pendingFaults == 2)
    }
}
