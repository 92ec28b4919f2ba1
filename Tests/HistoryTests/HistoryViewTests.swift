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

    @Test func aLostEventShowsWhatWasLostInTheHistoryView() {
        var gap = event(.lost, nil, at: "2026-11-28T09:05:00.000Z")
        gap.code = "history"
        gap.title = "Events not saved"
        gap.evidence = "3 fault events (0x0101 ×3) lost between 2026-11-28T09:01:00.000Z and 2026-11-28T09:05:00.000Z: 3 dropped"
        let text = HistoryRenderer.render(FaultHistory(device: "LX3-000123", since: nil, record: record, events: [gap], truncated: false),
                                          style: .plain)
        let line = text.split(separator: "\n").first { $0.contains("lost") && $0.contains("history") }
        #expect(line?.contains("3 fault events (0x0101 ×3) lost between") == true, "\(text)")
    }

    /// `lockdiag faults` says plainly which faults are not on disk, and why.
    @Test func aFaultNotOnDiskIsMarkedNotSavedWithTheHistorysReason() {
        func fault(_ code: String, saved: Bool?, unsaved: Int? = nil, lost: Int? = nil) -> Fault {
            Fault(device: "LX3-000123", code: code, name: "motor_stall", title: "Motor stall / jammed bolt", category: "motor",
                  severity: "error", status: .confirmed, source: "host", count: 4, firstSeen: "2026-11-28T09:00:00.000Z",
                  lastSeen: "2026-11-28T09:00:02.000Z", freezeFrame: nil, meaning: "", advice: "check the bolt",
                  saved: saved, unsavedEvents: unsaved, lostEvents: lost)
        }
        let health = HistoryHealth(status: .degraded, reason: "database or disk is full — free space on the filesystem holding /var/lib/lockdiag (df -h /var/lib/lockdiag)",
                                   since: "2026-11-28T09:00:01.000Z", retryInMilliseconds: 500, unsavedRecords: 4, unsavedFaultEvents: 3,
                                   unsavedLimit: 10_000, pendingTelemetry: 10, droppedRecords: 0, droppedTelemetry: 0, quarantined: 0,
                                   quarantine: [], writeErrors: 7)
        let text = FaultsRenderer.render([fault("0x0101", saved: false, unsaved: 3), fault("0x0102", saved: false, unsaved: 1, lost: 2),
                                          fault("0x0103", saved: true)], scope: "LX3-000123", history: health, style: .plain)
        let blocks = text.components(separatedBy: "\n\n")
        #expect(blocks[0].contains("NOT SAVED: 3 events of this fault not on disk yet"), "\(text)")
        #expect(blocks[1].contains("NOT SAVED: 1 event of this fault not on disk yet") && blocks[1].contains("2 events lost"))
        #expect(!blocks[2].contains("NOT SAVED"))
        #expect(text.contains("History DEGRADED since 2026-11-28 09:00:01 UTC: database or disk is full — free space on the filesystem"))
        #expect(text.contains("3 fault events not on disk yet"))
        // Saved, or a daemon without a history: nothing extra.
        let plain = FaultsRenderer.render([fault("0x0101", saved: nil)], scope: nil, style: .plain)
        #expect(!plain.contains("NOT SAVED") && !plain.contains("History"))
        #expect(FaultsRenderer.render([], scope: nil, history: health, style: .plain).contains("History DEGRADED"))
    }

    @Test func anEmptyOrUnknownHistorySaysSo() {
        let text = HistoryRenderer.render(FaultHistory(device: "LX3-9", since: "2026-11-28T00:00:00.000Z", record: nil, events: [],
                                                       truncated: false), style: .plain)
        #expect(text.contains("never identified itself"))
        #expect(text.contains("No fault events since 2026-11-28 00:00:00 UTC."))
    }
}
