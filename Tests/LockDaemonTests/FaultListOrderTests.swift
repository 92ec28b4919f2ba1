import LockDaemon
import LockDiagAPI
import LockProtocol
import Testing

/// socket-api.md faults.list: "Faults in order: confirmed, pending, healed; within each by
/// severity (critical first), then code." (Hub.faults(of:) lists each device's table in this order.)
@Suite struct FaultListOrderTests {
    @Test func confirmedThenPendingThenHealedEachBySeverityThenCode() {
        var table = FaultTable(confirmAfter: 2, healAfter: 1)
        func fail(_ code: UInt16, times: Int) {
            for at in 0..<times { _ = table.fail(code, kind: .event, fromDevice: false, at: Int64(at), evidence: "e") { FreezeFrame(capturedAt: "t", evidence: "e") } }
        }
        // Raised in an order that is none of the expected ones.
        for code: UInt16 in [0x0201, 0x0402, 0x0301, 0x0701, 0x0403, 0x0101, 0x0202, 0x0102] {
            fail(code, times: [0x0402, 0x0403].contains(code) ? 1 : 2)
        }
        _ = table.pass(0x0202)
        _ = table.pass(0x0301)
        #expect(FaultCatalog.resolve(0x0102).severity == .critical && FaultCatalog.resolve(0x0701).severity == .critical)
        #expect(FaultCatalog.resolve(0x0101).severity == .error && FaultCatalog.resolve(0x0201).severity == .warning)
        #expect(FaultCatalog.resolve(0x0403).severity == .error && FaultCatalog.resolve(0x0402).severity == .warning)
        #expect(FaultCatalog.resolve(0x0202).severity == .critical && FaultCatalog.resolve(0x0301).severity == .error)
        let ordered = table.ordered
        #expect(ordered.map(\.status) == [.confirmed, .confirmed, .confirmed, .confirmed, .pending, .pending, .healed, .healed])
        #expect(ordered.map(\.code) == [0x0102, 0x0701, 0x0101, 0x0201, 0x0403, 0x0402, 0x0202, 0x0301])
    }
}
