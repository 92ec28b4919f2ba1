import LockDiagAPI
import Testing

@testable import LockDiagCLI

// The CLI's views as pure functions: API values in, text out.

enum Sample {
    static func fault(device: String = "front-door", code: String = "0x0101", status: FaultStatus = .confirmed, severity: String = "error",
                      count: Int = 4, evidence: String? = "current 1480 mA for 35 ms at 312 ms, before the end position") -> Fault {
        Fault(device: device, code: code, name: "motor_stall", title: "Motor stall / jammed bolt", category: "motor", severity: severity,
              status: status, source: "both", count: count, firstSeen: "2026-11-29T00:21:42.627Z", lastSeen: "2026-11-29T00:21:46.187Z",
              freezeFrame: evidence.map { FreezeFrame(capturedAt: "2026-11-29T00:21:42.627Z", evidence: $0) },
              meaning: "The bolt is blocked.", advice: "Realign the strike plate.")
    }

    static let actuation = ActuationSummary(
        actuation: 2067, direction: "unlock", source: "user", result: "reached", durationMilliseconds: 353, peakCurrentMilliamps: 1825,
        runningCurrentMilliamps: 239, batteryRestMillivolts: 6136, batteryLoadedMillivolts: 6052, internalResistanceMilliohms: 351,
        endStopAtMilliseconds: 331, analysis: "normal", samples: 353, sampleRateHz: 1000, at: "2026-11-29T00:21:46.354Z")

    static func status(online: Bool = true) -> DeviceStatus {
        DeviceStatus(device: "front-door", online: online, lock: "locked", door: "closed",
                     battery: BatteryReading(voltageMillivolts: 5910, percent: 81), motor: MotorReading(state: "idle", currentMilliamps: 0),
                     fingerprint: FingerprintReading(state: "ready", linkOK: true, imageQuality: 70, templatesUsed: 12, templatesCapacity: 100,
                                                     failedAttempts: 0, lockoutRemainingSeconds: 0, lastSelfTest: "never"),
                     temperatureCelsius: 21.5, calibrated: true, tamperActive: false, activeFaults: 0, actuations: 2067,
                     uptimeSeconds: 412_249, lastActuation: actuation, updatedAt: "2026-11-29T00:21:47.092Z")
    }

    static func device(id: String, state: String = "online", problem: String? = nil) -> DeviceSummary {
        DeviceSummary(id: id, transport: "serial", path: "/dev/ttyACM0", wireProtocol: "LDP/1", model: "LX-300", hardwareRevision: "B",
                      firmware: "2.4.1", serial: id, capabilities: [], online: state == "online", state: state, problem: problem,
                      lastSeen: nil)
    }
}

@Suite struct UnitsTests {
    @Test func valuesCarryTheirUnits() {
        #expect(Units.volts(millivolts: 5910) == "5.91 V")
        #expect(Units.volts(millivolts: 5905) == "5.91 V")
        #expect(Units.volts(millivolts: 800) == "0.80 V")
        #expect(Units.battery(millivolts: 5910, percent: 81) == "5.91 V (81 %)")
        #expect(Units.battery(millivolts: 5910, percent: nil) == "5.91 V")
        #expect(Units.celsius(21.5) == "21.5 °C")
        #expect(Units.celsius(-3.04) == "-3.0 °C")
        #expect(Units.celsius(-0.04) == "0.0 °C")
        #expect(Units.milliohms(351) == "351 mΩ")
        #expect(Units.microseconds(78) == "78 µs")
        #expect(Units.fixed(0.125, decimals: 2) == "0.13")
        #expect(Units.fixed(12, decimals: 0) == "12")
    }

    @Test func durationsAndTimestamps() {
        #expect(Units.duration(seconds: 4.82) == "4.8 s")
        #expect(Units.duration(seconds: 42) == "42 s")
        #expect(Units.duration(seconds: 192) == "3 min 12 s")
        #expect(Units.duration(seconds: 18_180) == "5 h 3 min")
        #expect(Units.duration(seconds: 412_249) == "4 d 18 h")
        #expect(Units.timestamp("2026-11-29T00:21:42.627Z") == "2026-11-29 00:21:42 UTC")
        #expect(Units.timestamp("yesterday") == "yesterday")
        #expect(Units.timestamp("2026-11-29T00:21:46.187Z", sameDayAs: "2026-11-29T00:21:42.627Z") == "00:21:46 UTC")
        #expect(Units.timestamp("2026-11-30T00:21:46.187Z", sameDayAs: "2026-11-29T00:21:42.627Z") == "2026-11-30 00:21:46 UTC")
    }
}

@Suite struct TextTests {
    @Test func escapesTakeNoColumns() {
        let red = Style(colour: true).red("stall")
        #expect(red == "\u{1B}[31mstall\u{1B}[0m")
        #expect(VisibleText.width(red) == 5)
        #expect(Style.plain.red("stall") == "stall")
        #expect(VisibleText.truncate("abcdefgh", to: 5) == "abcd…")
        #expect(VisibleText.truncate("abc", to: 5) == "abc")
        #expect(VisibleText.width(VisibleText.truncate("x" + red + "yyyyyy", to: 4)) == 4)
        #expect(VisibleText.truncate("x" + red + "yyyyyy", to: 4).hasSuffix("…\u{1B}[0m"))
    }

    @Test func colourOnlyOnATerminalWithoutNoColour() {
        #expect(Style.decide(isTerminal: true, noColour: nil).colour)
        #expect(!Style.decide(isTerminal: false, noColour: nil).colour)
        #expect(!Style.decide(isTerminal: true, noColour: "1").colour)
        #expect(!Style.decide(isTerminal: true, noColour: "").colour)
    }

    @Test func tableColumnsLineUpWithColour() {
        let lines = TextTable.render(header: ["A", "BB"], rows: [[Cell("long cell", tint: .red), "x"], ["s", "y"]], style: Style(colour: true))
        let plain = lines.map { $0.replacing(/\x{1B}\[[0-9;]*m/, with: "") }
        #expect(plain == ["A          BB", "long cell  x", "s          y"])
    }
}

@Suite struct SparklineTests {
    @Test func scaledToTheMaximum() {
        #expect(Sparkline.render([0, 50, 100], width: 10) == "▁▅█")
        #expect(Sparkline.render([0, 0], width: 10) == "▁▁")
        #expect(Sparkline.render([-5, 10], width: 10) == "▁█")
        #expect(Sparkline.render([], width: 10) == "")
    }

    @Test func downsamplingKeepsShortSpikes() {
        var samples = Array(repeating: 240, count: 1000)
        samples[777] = 1800
        let reduced = Sparkline.downsample(samples, to: 50)
        #expect(reduced.count == 50)
        #expect(reduced.max() == 1800)
        #expect(reduced.filter { $0 == 1800 }.count == 1)
        let line = Sparkline.render(samples, width: 50)
        #expect(line.count == 50)
        #expect(line.filter { $0 == "█" }.count == 1)
        #expect(Sparkline.downsample([1, 2, 3], to: 0).isEmpty)
    }
}

@Suite struct FaultsViewTests {
    @Test func countsAndExitStatus() {
        let faults = [Sample.fault(), Sample.fault(status: .confirmed), Sample.fault(status: .pending, evidence: nil), Sample.fault(status: .healed)]
        #expect(FaultCounts(faults).text == "2 confirmed, 1 pending, 1 healed")
        #expect(FaultCounts([]).text == "none")
        #expect(ExitStatus.forFaults(faults) == .faultsPresent)
        #expect(ExitStatus.forFaults([Sample.fault(status: .pending, evidence: nil), Sample.fault(status: .healed)]) == .ok)
        #expect(ExitStatus.forTest(.pass) == .ok)
        #expect(ExitStatus.forTest(.aborted) == .faultsPresent)
        #expect(ExitStatus.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5, 64, 130])
    }

    @Test func aFaultShowsWhatWhereHowSureAndWhatToDo() {
        let lines = FaultsRenderer.render(Sample.fault(), showDevice: true, style: .plain)
        #expect(lines == [
            "✖ 0x0101 Motor stall / jammed bolt — CONFIRMED 4×  (front-door)",
            "    motor/error · first seen 2026-11-29 00:21:42 UTC, last seen 00:21:46 UTC · reported by the lock and found by lockdiagd",
            "    evidence: current 1480 mA for 35 ms at 312 ms, before the end position",
            "    → Realign the strike plate.",
        ])
    }

    @Test func withoutAFreezeFrameTheEvidenceIsTheStatusNow() {
        let pending = FaultsRenderer.render(Sample.fault(status: .pending, severity: "warning", count: 1, evidence: nil), showDevice: false, style: .plain)
        #expect(pending[0] == "▲ 0x0101 Motor stall / jammed bolt — PENDING 1×")
        #expect(pending[2] == "    evidence: not confirmed yet: seen 1× so far; it is confirmed if the check fails again")
        let healed = FaultsRenderer.evidence(Sample.fault(status: .healed, evidence: nil))
        #expect(healed.hasPrefix("healed: the check has passed again since 2026-11-29 00:21:46 UTC"))
    }

    @Test func listOfFaultsEndsWithACountAndNoneSaysSo() {
        let text = FaultsRenderer.render([Sample.fault(), Sample.fault(device: "back-door", status: .pending, evidence: nil)], scope: nil, style: .plain)
        #expect(text.hasSuffix("\n\n2 faults on 2 devices: 1 confirmed, 1 pending"))
        #expect(text.contains("\n\n✖ 0x0101 Motor stall / jammed bolt — PENDING 4×  (back-door)"))
        #expect(FaultsRenderer.render([], scope: "front-door", style: .plain) == "No faults on front-door.")
        #expect(FaultsRenderer.render([], scope: nil, style: .plain) == "No faults on any device.")
    }
}

@Suite struct DeviceViewsTests {
    @Test func listIsATableWithProblemsUnderOfflineDevices() {
        let devices = [Sample.device(id: "front-door"), Sample.device(id: "back-door", state: "offline", problem: "cable unplugged")]
        let faults = [Sample.fault(), Sample.fault(status: .pending, evidence: nil)]
        let lines = DevicesRenderer.render(devices, faults: faults, style: .plain).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "DEVICE      STATE    TRANSPORT  PATH          SERIAL      MODEL   FIRMWARE  FAULTS")
        #expect(lines[1] == "front-door  online   serial     /dev/ttyACM0  front-door  LX-300  2.4.1     1 confirmed, 1 pending")
        #expect(lines[2] == "back-door   offline  serial     /dev/ttyACM0  back-door   LX-300  2.4.1     none")
        #expect(lines[3] == "  problem: cable unplugged")
        #expect(lines.last == "2 devices, 1 online · faults: 1 confirmed, 1 pending — `lockdiag faults` says what to do")
        #expect(DevicesRenderer.render([], faults: [], style: .plain).hasPrefix("No locks known to lockdiagd."))
    }

    @Test func listShowsAUSBLockWithItsTransportPortAndSerial() {
        let usb = USBDeviceInfo(port: "1-3", vendorID: "1209", productID: "0001", serial: "LX3-000123", manufacturer: nil, product: nil,
                                plugged: false)
        // Unplugged since the daemon started: not identified yet, known by its USB serial number.
        let unplugged = DeviceSummary(id: "LX3-000123", transport: "usb", path: "1-3", wireProtocol: "LDP/1", model: nil, hardwareRevision: nil,
                                      firmware: nil, serial: nil, capabilities: [], online: false, state: "offline",
                                      problem: "unplugged from USB port 1-3 — plug it back in: it keeps its id and its faults",
                                      lastSeen: nil, usb: usb)
        let lines = DevicesRenderer.render([unplugged], faults: [], style: .plain).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "DEVICE      STATE    TRANSPORT  PATH  SERIAL      MODEL  FIRMWARE  FAULTS")
        #expect(lines[1] == "LX3-000123  offline  usb        1-3   LX3-000123  -      -         none")
        #expect(lines[2] == "  problem: unplugged from USB port 1-3 — plug it back in: it keeps its id and its faults")
    }

    @Test func followPrintsOneLinePerChange() {
        let usb = DeviceSummary(id: "LX3-000123", transport: "usb", path: "1-3", wireProtocol: "LDP/1", model: nil, hardwareRevision: nil,
                                firmware: nil, serial: nil, capabilities: [], online: false, state: "connecting", problem: nil, lastSeen: nil)
        #expect(DevicesRenderer.changeLine(DeviceChange(change: .added, device: usb), time: "14:03:07", style: .plain)
                == "14:03:07  + LX3-000123 plugged in (usb 1-3)")
        #expect(DevicesRenderer.changeLine(DeviceChange(change: .removed, device: usb), time: "14:03:09", style: .plain)
                == "14:03:09  - LX3-000123 unplugged (usb 1-3); still listed, offline")
        #expect(DevicesRenderer.changeLine(DeviceChange(change: .forgotten, device: usb, lost: 2), time: "14:13:09", style: .plain)
                == "14:13:09  x LX3-000123 forgotten (unplugged too long)  [2 earlier changes missed: run `lockdiag list`]")
    }

    @Test func statusHasUnitsOnEveryReading() {
        let text = StatusRenderer.render(Sample.status(), summary: Sample.device(id: "front-door"), faults: [], style: .plain)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "front-door · LX-300 rev B · firmware 2.4.1 · via serial /dev/ttyACM0 · online")
        #expect(lines.contains("  battery         5.91 V (81 %)"))
        #expect(lines.contains("  motor           idle, 0 mA"))
        #expect(lines.contains("  temperature     21.5 °C"))
        #expect(lines.contains("  fingerprint     ready · link ok · image quality 70/100 · templates 12/100 · 0 failed attempts · no lockout · self-test never"))
        #expect(lines.contains("  last actuation  #2067 unlock by user: reached in 353 ms · peak 1825 mA · running 239 mA · battery 6.14 → 6.05 V · "
                               + "351 mΩ internal resistance · end stop at 331 ms · analysis normal"))
        #expect(lines.contains("  updated         2026-11-29 00:21:47 UTC"))
        #expect(lines.last == "No faults on front-door.")
        let offline = StatusRenderer.render(Sample.status(online: false), summary: nil, faults: [Sample.fault()], style: .plain)
        #expect(offline.contains("front-door · offline"))
        #expect(offline.contains("offline: the values below are the last ones read"))
        #expect(offline.contains("→ Realign the strike plate."))
        var unread = Sample.status()
        unread.updatedAt = nil
        let early = StatusRenderer.render(unread, summary: nil, faults: [], style: .plain)
        #expect(early.contains("no status report from the lock yet"))
        #expect(!early.contains("0.00 V"))
    }

    @Test func infoShowsLatenessAndLinks() {
        let info = DaemonInfo(version: "0.1.0", pid: 42, uptimeSeconds: 3725, devices: 1, devicesOnline: 1, protocols: ["LDP/1"],
                              socket: "/run/lockdiag/lockdiag.sock", pollHz: 50,
                              realtime: RealtimeInfo(requested: true, granted: ["SCHED_FIFO 50"], missing: ["mlockall"]))
        let stats = DaemonStats(pollHz: 50, cycles: 1000, overruns: 2,
                                latenessMicroseconds: LatenessSummary(count: 1000, p50: 78, p90: 124, p99: 3602, p999: 3700, max: 3800, mean: 165.8),
                                ringDropped: 0, uptimeSeconds: 3725, devices: [LinkStats(device: "front-door", requests: 10, frames: 9, crcErrors: 1)])
        let text = InfoRenderer.render(info: info, stats: stats, style: .plain)
        #expect(text.hasPrefix("lockdiagd 0.1.0 (pid 42) on /run/lockdiag/lockdiag.sock\n  uptime        1 h 2 min\n"))
        #expect(text.contains("  lateness      p50 78 µs · p90 124 µs · p99 3602 µs · p99.9 3700 µs · max 3800 µs · mean 165.8 µs (1000 wake-ups)"))
        #expect(text.contains("  cycles        1000 · 2 overruns · 0 readings dropped"))
        #expect(text.contains("  real-time     requested; granted: SCHED_FIFO 50; missing: mlockall"))
        #expect(text.contains("\nfront-door  10        9       0         0          1        0           0"))
    }
}

@Suite struct TestRunViewTests {
    @Test func verdictMeasurementsFindingsAndCodes() {
        let result = TestResult(test: .motor, verdict: .fail,
                                measurements: TestMeasurements(durationMilliseconds: 708, peakCurrentMilliamps: 1801, runningCurrentMilliamps: 242,
                                                               batteryRestMillivolts: 6134, internalResistanceMilliohms: 344, endPositionReached: false),
                                findings: ["lock 2074: trace shows stall"], faults: ["0x0101"], actuations: [Sample.actuation],
                                traces: [MotorTrace(actuation: 2067, sampleRateHz: 1000, samplesMilliamps: [240, 240, 1800])])
        let run = TestRun(device: "front-door", test: .motor, verdict: .fail, results: [result], startedAt: "2026-11-29T00:21:54.837Z",
                          durationMilliseconds: 1011)
        let lines = TestRunRenderer.render(run, traceWidth: 40, style: .plain).split(separator: "\n").map(String.init)
        #expect(lines[0] == "motor self-test on front-door: FAIL  (1.0 s, started 2026-11-29 00:21:54 UTC)")
        #expect(lines.contains("✖ motor: FAIL"))
        #expect(lines.contains("    duration             708 ms"))
        #expect(lines.contains("    peak current         1801 mA"))
        #expect(lines.contains("    end position         NOT reached"))
        #expect(lines.contains("    battery at rest      6.13 V"))
        #expect(lines.contains("    internal resistance  344 mΩ"))
        #expect(lines.contains("      ▂▂█  max 1800 mA"))
        #expect(lines.contains("    finding: lock 2074: trace shows stall"))
        #expect(lines.contains("    fault codes: 0x0101"))
        #expect(lines.last == "Overall: FAIL — 1 failed of 1; `lockdiag faults front-door` says what to do")
    }

    /// ldp-v1.md §7.3: a measurement id lockdiag does not know is shown as a number, after the known ones.
    @Test func anUnknownMeasurementIsShownAsANumber() {
        let result = TestResult(test: .battery, verdict: .pass, measurements: TestMeasurements(batteryRestMillivolts: 6100),
                                findings: [], faults: [], otherMeasurements: [OtherMeasurement(id: 42, value: 4711), OtherMeasurement(id: 200, value: -3)])
        let lines = TestRunRenderer.render(result, traceWidth: 40, style: .plain)
        #expect(lines == ["✔ battery: PASS", "    battery at rest      6.10 V", "    measurement 42       4711 (unknown to this lockdiag)",
                          "    measurement 200      -3 (unknown to this lockdiag)"])
    }

    @Test func progressFollowsTheActuation() {
        var progress = TestProgress(device: "front-door", test: .motor)
        #expect(progress.line(elapsedSeconds: 0.25, frame: 0) == "⠋ motor self-test on front-door · 0.3 s")
        var status = Sample.status()
        status.motor = MotorReading(state: "locking", currentMilliamps: 250)
        progress.apply(TelemetryNotification(device: "front-door", lost: 0, status: status))
        progress.apply(TelemetryNotification(device: "front-door", lost: 0,
                                             trace: TraceSamples(actuation: 12, firstIndex: 608, sampleRateHz: 1000, samplesMilliamps: Array(repeating: 240, count: 32))))
        #expect(progress.line(elapsedSeconds: 1, frame: 1) == "⠙ motor self-test on front-door · 1.0 s · actuation #12 lock … 640 ms")
        var done = Sample.actuation
        done.actuation = 12
        progress.apply(TelemetryNotification(device: "front-door", lost: 0, actuation: done))
        #expect(progress.line(elapsedSeconds: 1, frame: 2).hasSuffix("actuation #12 unlock: reached in 353 ms, peak 1825 mA"))
    }
}

@Suite struct WatchModelTests {
    func trace(_ actuation: Int, _ first: Int, _ samples: [Int]) -> TelemetryNotification {
        TelemetryNotification(device: "front-door", lost: 0, trace: TraceSamples(actuation: actuation, firstIndex: first, sampleRateHz: 1000,
                                                                                  samplesMilliamps: samples))
    }

    @Test func traceChunksAssembleAndANewActuationStartsOver() {
        var model = WatchModel(device: "front-door", statusHz: 10)
        #expect(model.apply(trace(7, 0, [100, 200]), style: .plain).isEmpty)
        // A lost chunk leaves a gap of zeros; a resent one overwrites.
        _ = model.apply(trace(7, 4, [400]), style: .plain)
        _ = model.apply(trace(7, 2, [300, 350]), style: .plain)
        #expect(model.trace?.samples == [100, 200, 300, 350, 400])
        var summary = Sample.actuation
        summary.actuation = 7
        _ = model.apply(TelemetryNotification(device: "front-door", lost: 0, actuation: summary), style: .plain)
        #expect(model.traceSummary?.actuation == 7)
        #expect(model.block(width: 80, style: .plain)[2] == "motor current · actuation #7 unlock · done · 5 ms · max 400 mA")
        _ = model.apply(trace(8, 0, [50]), style: .plain)
        #expect(model.trace?.samples == [50])
        #expect(model.traceSummary == nil)
        #expect(model.lastActuation?.actuation == 7)
    }

    @Test func faultsAndLostUpdatesBecomeLogLines() {
        var model = WatchModel(device: "front-door", statusHz: 10)
        let log = model.apply(TelemetryNotification(device: "front-door", lost: 3, fault: Sample.fault()), style: .plain)
        #expect(log == ["3 updates lost: reading too slowly",
                        "00:21:46 ✖ 0x0101 Motor stall / jammed bolt: CONFIRMED 4× — current 1480 mA for 35 ms at 312 ms, before the end position"])
        #expect(model.lostTotal == 3)
        #expect(model.block(width: 200, style: .plain)[0] == "front-door · live, 10 status/s · Ctrl-C to stop · 3 updates lost")
    }

    @Test func blockFitsTheWidth() {
        var model = WatchModel(device: "front-door", statusHz: 10, initialStatus: Sample.status())
        _ = model.apply(trace(9, 0, Array(0..<900)), style: .plain)
        for width in [20, 40, 79] {
            let block = model.block(width: width, style: Style(colour: true))
            #expect(block.count == 5)
            #expect(block.allSatisfy { VisibleText.width($0) <= width })
        }
        let block = model.block(width: 200, style: .plain)
        #expect(block[1] == "bolt locked · door closed · battery 5.91 V (81 %) · motor idle 0 mA · fingerprint ready · 21.5 °C")
        #expect(block[3].count == 200)
        #expect(block[4].hasPrefix("last: #2067 unlock by user: reached in 353 ms"))
    }

    @Test func oneLinePerNotificationForPipes() {
        #expect(WatchModel.line(TelemetryNotification(device: "d", lost: 0, status: Sample.status()), style: .plain)
            == "status    bolt locked · door closed · battery 5.91 V (81 %) · motor idle 0 mA · fingerprint ready · 21.5 °C · at 2026-11-29 00:21:47 UTC")
        #expect(WatchModel.line(trace(7, 32, [240, 1800]), style: .plain) == "trace     actuation #7 samples 32–33 at 1000 Hz: max 1800 mA ▂█")
        #expect(WatchModel.line(TelemetryNotification(device: "d", lost: 0, actuation: Sample.actuation), style: .plain)
            .hasPrefix("actuation #2067 unlock by user: reached in 353 ms · peak 1825 mA"))
        #expect(WatchModel.line(TelemetryNotification(device: "d", lost: 0, fault: Sample.fault()), style: .plain)
            .hasPrefix("fault     00:21:46 ✖ 0x0101 Motor stall"))
    }
}
