import BenchKit
import Foundation
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// The plan format: docs/bench.md's example, and every kind of mistake reported with its line.
@Suite struct PlanParserTests {
    /// The ```yaml block of docs/bench.md that defines a plan.
    static func documentedPlan() throws -> String {
        let doc = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/bench.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "```yaml\n# Which plan this is"))
        let rest = doc[start.upperBound...]
        let end = try #require(rest.range(of: "```"))
        return "# Which plan this is" + String(rest[..<end.lowerBound])
    }

    @Test func theDocumentedExampleIsAValidPlan() throws {
        let plan = try PlanParser.parse(try Self.documentedPlan())
        #expect(plan.name == "LX-300 end-of-line")
        #expect(plan.selection == LockSelection(models: ["LX-300"], expect: 20, joinLate: true))
        #expect(plan.parallel == 20)
        #expect(plan.steps.map(\.kind) == ["wait_for_attach", "identify", "require_firmware", "self_test", "actuate", "soak", "no_confirmed_faults"])
        #expect(plan.steps[0].action == .waitForAttach(timeoutSeconds: 60))
        #expect(plan.steps[2].action == .requireFirmware(FirmwareVersion("2.4.0")!))
        #expect(plan.steps[3].action == .selfTest([.battery, .fingerprint]))
        #expect(plan.steps[4].action == .actuate(cycles: 5, pauseSeconds: 0.5))
        #expect(plan.steps[5].action == .soak(seconds: 30))
        #expect(plan.steps[6].action == .noConfirmedFaults(ignore: ["tamper"]))
        // The step's own limit overrides the plan's; the others are inherited.
        #expect(plan.steps[4].limits[.motorPeakCurrent] == Limit(max: 1800))
        #expect(plan.steps[4].limits[.motorRunningCurrent] == Limit(min: 100, max: 450))
        #expect(plan.steps[3].limits[.motorPeakCurrent] == Limit(max: 2000))
        #expect(plan.steps[4].movesBolt && !plan.steps[3].movesBolt)
    }

    @Test func shortForms() throws {
        let plan = try PlanParser.parse("""
            locks: all
            steps:
              - identify
              - self_test: all
              - actuate
              - soak: {duration: 2m}
              - no_confirmed_faults
            """)
        #expect(plan.selection.isAll)
        #expect(plan.steps[1].action == .selfTest([.motor, .battery, .fingerprint]))
        #expect(plan.steps[1].movesBolt)
        #expect(plan.steps[2].action == .actuate(cycles: 1, pauseSeconds: 0.5))
        #expect(plan.steps[3].action == .soak(seconds: 120))
        #expect(plan.steps[2].line == 5)
    }

    /// Each broken plan, the line its problem is on, and words the reason must contain.
    @Test(arguments: [
        ("locks: all\nsteps:\n  - actuat: {cycles: 2}\n", 3, "did you mean 'actuate'"),
        ("locks: all\nsteps:\n  - actuate: {cycles: 0}\n", 3, "cycles' is 0"),
        ("locks: all\nsteps:\n  - actuate: {cycles: 2, paus: 1s}\n", 3, "unknown key 'paus'"),
        ("locks: all\nsteps:\n  - soak: 10 minutes\n", 3, "not a duration"),
        ("locks: all\nsteps:\n  - require_firmware: two\n", 3, "not a firmware version"),
        ("locks: all\nsteps:\n  - self_test: [battery, motr]\n", 3, "unknown self-test 'motr'"),
        ("locks: all\nlimits:\n  motor_peak_current_ma: {min: 900, max: 800}\nsteps: [identify]\n", 3, "min 900 is above max 800"),
        ("locks: all\nlimits:\n  motor_peak_current: {max: 800}\nsteps: [identify]\n", 3, "did you mean 'motor_peak_current_ma'"),
        ("locks: all\nlimits:\n  fingerprint_image_quality: {min: 400}\nsteps: [identify]\n", 3, "from 0 to 100"),
        ("locks: some\nsteps: [identify]\n", 1, "'locks' is 'all'"),
        ("locks: all\nsteps:\n  - identify\n  - wait_for_attach: 10s\n", 4, "must be the first step"),
        ("locks: all\nsteps:\n  - identify:\n    actuate: {}\n", 3, "several names"),
        ("locks: all\nsteps:\n  - identify\n  - actuate: {cycles: [1\n", 5, "not valid YAML"),
        ("locks: all\nlocks: all\nsteps: [identify]\n", 2, "given twice"),
        ("locks:\n  ids: [A, B]\n  expect: 3\nsteps:\n  - wait_for_attach: 5s\n", 2, "more than the 2 ids"),
        ("locks: all\nstop_on_failure: maybe\nsteps: [identify]\n", 2, "true or false"),
    ] as [(String, Int, String)])
    func invalidPlansNameTheLineAndTheReason(text: String, line: Int, reason: String) throws {
        #expect {
            try PlanParser.parse(text)
        } throws: { error in
            guard let error = error as? PlanError else { return false }
            let hit = error.issues.contains { ($0.line == line || line == 1 && $0.line == nil) && $0.message.contains(reason) }
            if !hit { Issue.record("expected line \(line) '\(reason)', got: \(error.description)") }
            return hit
        }
    }

    @Test func everyProblemIsReportedAtOnceInFileLineColumnForm() throws {
        let text = """
            name: rig
            locks: {model: LX-300}
            limits:
              battery_sag_mv: {max: -1}
            steps:
              - identify
              - actuate: {cycles: lots}
              - explode
            """
        do {
            _ = try PlanParser.parse(text)
            Issue.record("an invalid plan was accepted")
        } catch {
            #expect(error.issues.map(\.line) == [4, 7, 8])
            let lines = error.lines(file: "rig.yaml")
            #expect(lines[1].hasPrefix("rig.yaml:7:"))
            #expect(lines[1].contains("cycles' must be a whole number"))
        }
    }

    @Test func emptyAndMissingPartsAreExplained() {
        for (text, reason) in [("", "empty"), ("steps: [identify]\n", "missing 'locks'"), ("locks: all\n", "missing 'steps'"),
                               ("locks: all\nsteps: []\n", "at least one step"), ("- a\n- b\n", "must be a mapping")] {
            #expect {
                try PlanParser.parse(text)
            } throws: { error in
                (error as? PlanError)?.description.contains(reason) == true
            }
        }
    }

    /// A plan file is read as bytes: UTF-8 (with or without a byte-order mark), else refused
    /// with the line of the first bad byte; lines count as YAML counts them (CR, LF, CR LF).
    @Test func aFileThatIsNotUTF8IsRefusedWithItsLine() throws {
        let good = Array("locks: all\nsteps: [identify]\n".utf8)
        #expect(try PlanParser.parse(bytes: [0xEF, 0xBB, 0xBF] + good).steps.count == 1)
        let latin1 = Array("locks: all\r\nsteps:\r  - identify # ".utf8) + [0xE9, 0x0A]
        #expect {
            try PlanParser.parse(bytes: latin1)
        } throws: { error in
            guard let issue = (error as? PlanError)?.issues.first else { return false }
            return issue.line == 3 && issue.message.contains("not UTF-8") && issue.message.contains("0xE9")
        }
        // A lone CR ends a line for YAML too: the error on the third line says line 3.
        #expect {
            try PlanParser.parse("locks: all\rsteps:\r  - actuat\r")
        } throws: { error in (error as? PlanError)?.issues.first?.line == 3 }
    }

    @Test func firmwareVersionsCompareNumerically() throws {
        #expect(FirmwareVersion("2.10.0")! > FirmwareVersion("2.9.9")!)
        #expect(FirmwareVersion("2.4")! == FirmwareVersion("2.4.0")!)
        #expect(FirmwareVersion("2.4.1-rc1")! >= FirmwareVersion("2.4.1")!)
        #expect(FirmwareVersion("v2") == nil && FirmwareVersion("2..1") == nil && FirmwareVersion("") == nil)
        #expect(Evaluate.firmware("2.3.9", minimum: FirmwareVersion("2.4.0")!).first?.contains("older than the required 2.4.0") == true)
        #expect(Evaluate.firmware("2.4.1", minimum: FirmwareVersion("2.4.0")!).isEmpty)
        #expect(!Evaluate.firmware(nil, minimum: FirmwareVersion("1")!).isEmpty)
    }

    static func device(_ id: String, model: String?, serial: String? = nil, path: String = "/dev/x") -> DeviceSummary {
        DeviceSummary(id: id, transport: "serial", path: path, wireProtocol: "LDP/1", model: model, hardwareRevision: nil,
                      firmware: nil, serial: serial, capabilities: [], online: true, state: "online", problem: nil, lastSeen: nil)
    }

    @Test func selectionMatchesByModelAndIdOrSerial() {
        func matches(_ selection: LockSelection, _ device: DeviceSummary) -> Bool { selection.matches(device, among: [device]) }
        func device(_ id: String, model: String?, serial: String? = nil) -> DeviceSummary { Self.device(id, model: model, serial: serial) }
        #expect(matches(LockSelection(), device("/dev/x", model: nil)))
        #expect(!matches(LockSelection(models: ["LX-300"]), device("/dev/x", model: nil)))
        #expect(matches(LockSelection(models: ["LX-300"]), device("A", model: "LX-300")))
        #expect(matches(LockSelection(ids: ["SN1"]), device("SN1@/dev/x", model: "LX-300", serial: "SN1")))
        #expect(!matches(LockSelection(ids: ["SN2"]), device("SN1", model: "LX-300")))
    }

    /// Two locks sharing a serial number: an id picks exactly one; the bare serial, when it is
    /// no lock's id, picks neither and is reported, so a plan never moves a lock it did not name.
    @Test func aSerialSharedByTwoLocksPicksNeitherAndIsReported() {
        let first = Self.device("SN1@/dev/a", model: "LX-300", serial: "SN1", path: "/dev/a")
        let second = Self.device("SN1@/dev/b", model: "LX-300", serial: "SN1", path: "/dev/b")
        let rack = [first, second]
        let byID = LockSelection(ids: ["SN1@/dev/b"])
        #expect(!byID.matches(first, among: rack) && byID.matches(second, among: rack))
        #expect(byID.ambiguous(among: rack).isEmpty)
        let bySerial = LockSelection(ids: ["SN1"])
        #expect(!bySerial.matches(first, among: rack) && !bySerial.matches(second, among: rack))
        let reported = bySerial.ambiguous(among: rack)
        #expect(reported.count == 1 && reported.first?.name == "SN1")
        #expect(reported.first?.candidates.map(\.id) == ["SN1@/dev/a", "SN1@/dev/b"])
        // An id that equals the other lock's serial still names only the lock with that id.
        let bare = Self.device("SN1", model: "LX-300", serial: "SN1", path: "/dev/a")
        #expect(bySerial.matches(bare, among: [bare, second]) && !bySerial.matches(second, among: [bare, second]))
    }
}

/// `soak: T` reads the battery once a second, and never more than 300 times (docs/bench.md).
@Suite struct SoakReadingTests {
    @Test func onceASecondAndAtMostThreeHundredReadings() throws {
        for seconds: Double in [1, 8, 30, 299, 300] { #expect(Step.soakReadingIntervalSeconds(seconds) == 1, "soak \(seconds) s") }
        // The longest soak a plan may ask for (7 days) down to just over 300 s: the readings the
        // step's loop takes (one at the start and one per interval while time is left) fit.
        for seconds: Double in [301, 600, 3600, 86_400, 604_800] {
            let interval = Step.soakReadingIntervalSeconds(seconds)
            #expect(interval > 1)
            #expect(Int((seconds / interval).rounded(.up)) <= Step.soakReadingsMax, "soak \(seconds) s every \(interval) s")
        }
    }
}

@Suite struct GenuinePartsPlanTests {
    @Test func genuinePartsIsAStepWithoutOptions() throws {
        let plan = try PlanParser.parse("locks: all\nsteps:\n  - wait_for_attach: 30s\n  - genuine_parts\n")
        #expect(plan.steps.last?.action == .genuineParts)
        #expect(plan.steps.last?.kind == "genuine_parts")
        #expect(throws: PlanError.self) { try PlanParser.parse("locks: all\nsteps:\n  - wait_for_attach: 30s\n  - genuine_parts: {strict: true}\n") }
    }
}
