import LockDiagAPI
import LockDiagCLI
import Testing

@Suite struct HistoryViewTests {
    let record = DeviceRecord(id: "LX3-000123", serial: "LX3-000123", model: "LX-300", hardwareRevision: "C", transport: "serial",
                              path: "/dev/ttyACM0", firstSeen: "2026-11-01T08:00:00.000Z", lastSeen: "2026-11-28T09:00:00.000Z",
                              firmware: [FirmwareSeen(version: "2.4.1", firstSeen: "2026-11-01T08:00:00.000Z", lastSeen: "2026-11-20T08:00:00.000Z"),
                                         FirmwareSeen(version: "2.5.0", firstSeen: "2026-11-21T08:00:00.000Z", lastSeen: "2026-11-28T09:00:00.000Z")])

    func event(_ kind: FaultEventKind, _ status: FaultStatus?, at: String, by: String? = nil) -> FaultEvent {
        FaultEvent(id: 1, device: "LX3-000123", code: "0x0101", name: "motor_stall", title: "Motor stall / jammed bolt", severity: "error",
                   event: kind, status: status, at: at, count: 2, firstSeen: "2026-11-28T09:00:00.000Z", source: "host",
                   evidence: "1480 mA for 35 ms at 312 ms, before the end position", freezeFrame: nil, advice: "check the bolt", clearedBy: by)
    }

    @Test func theHistoryViewShowsFirmwareOverTimeAndWhoCleared() {
        let history = FaultHistory(device: "LX3-000123", since: nil, record: record, events: [
            event(.raised, .pending, at: "2026-11-28T09:00:00.000Z"),
            event(.confirmed, .confirmed, at: "2026-11-28T09:00:02.000Z"),
            event(.cleared, nil, at: "2026-11-28T09:10:00.000Z", by: "uid 1000, pid 4242"),
        ], truncated: false)
        let text = HistoryRenderer.render(history, style: .plain)
        #expect(text.contains("LX-300 rev C"))
        #expect(text.contains("firmware: 2.4.1 (2026-11-01 08:00:00 UTC – 2026-11-20 08:00:00 UTC), 2.5.0"))
        #expect(text.contains("3 fault events, oldest first:"))
        let lines = text.split(separator: "\n")
        let raised = lines.firstIndex { $0.contains("raised") }!, cleared = lines.firstIndex { $0.contains("cleared") && $0.contains("0x0101") }!
        #expect(raised < cleared)
        #expect(lines[cleared].contains("by uid 1000, pid 4242"))
        #expect(lines[cleared].contains("2026-11-28 09:10:00 UTC"))
        #expect(text.contains("the history keeps what was cleared"))
        #expect(!text.contains("\u{1B}["), "plain style has no colour codes")
    }

    @Test func anEmptyOrUnknownHistorySaysSo() {
        let text = HistoryRenderer.render(FaultHistory(device: "LX3-9", since: "2026-11-28T00:00:00.000Z", record: nil, events: [],
                                                       truncated: false), style: .plain)
        #expect(text.contains("never identified itself"))
        #expect(text.contains("No fault events since 2026-11-28 00:00:00 UTC."))
    }
}
