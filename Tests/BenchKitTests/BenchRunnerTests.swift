import BenchKit
import Foundation
import LockDiagAPI
import LockDiagTestSupport
import Synchronization
import Testing

/// A rack of locks in memory, answering as lockdiagd would: each lock has a bolt that moves
/// when actuated (numbered actuations, a motor peak current), a self-test that passes or fails,
/// and scripted trouble (busy answers, a lock that goes offline, a daemon that never answers).
/// It is the runner's daemon here; the runner's own logic (steps, limits, retries, results)
/// is what the tests exercise. `lockdiag bench run` against a real lockdiagd is in EndToEndTests.
final class Rack: Sendable {
    struct Lock: Sendable {
        var id: String
        var path: String
        var model: String? = "LX-300"
        var firmware = "2.4.1"
        var online = true
        var bolt = "locked"
        var actuations = 100
        var peakMilliamps = 1200
        var motorTestPasses = true
        /// `tests.run` answers "busy" this many times first.
        var busyAnswers = 0
        /// The lock goes offline once it has answered this many calls.
        var offlineAfterCalls: Int?
        /// `device.actuate` answers with an actuation numbered as if someone moved the bolt first.
        var othersMoveFirst = 0
        var confirmedFaults: [String] = []
        var calls = 0
    }

    let locks: Mutex<[Lock]>
    /// Every call: "method device".
    let log = Mutex<[String]>([])
    /// `tests.run` never answers (the call times out).
    let silentTests: Bool
    private let inFlight = Atomic<Int>(0)
    let mostInFlight = Atomic<Int>(0)

    init(_ locks: [Lock], silentTests: Bool = false) {
        self.locks = Mutex(locks)
        self.silentTests = silentTests
    }

    static func locks(_ count: Int) -> [Lock] {
        (1...count).map { Lock(id: "SN-\($0)", path: "/dev/ttyACM\($0 - 1)") }
    }

    func calls(_ method: String) -> [String] { log.withLock { $0.filter { $0.hasPrefix(method + " ") } } }

    /// `devices.list`.
    func list() -> [DeviceSummary] {
        log.withLock { $0.append("devices.list ") }
        return locks.withLock { $0.map(summary) }
    }

    /// Runs one call on the lock `device` names (id or path), counting how many run at once.
    func answer<T>(_ method: String, device: String, _ body: (inout Lock) throws(BenchCallError) -> T) throws(BenchCallError) -> T {
        let now = inFlight.add(1, ordering: .relaxed).newValue
        var seen = mostInFlight.load(ordering: .relaxed)
        while now > seen, !mostInFlight.compareExchange(expected: seen, desired: now, ordering: .relaxed).exchanged {
            seen = mostInFlight.load(ordering: .relaxed)
        }
        defer { inFlight.subtract(1, ordering: .relaxed) }
        // A call takes a little time, as over a socket, so runs overlap as they would.
        Thread.sleep(forTimeInterval: 0.002)
        log.withLock { $0.append("\(method) \(device)") }
        return try locks.withLock { (locks: inout [Lock]) throws(BenchCallError) -> T in
            guard let i = locks.firstIndex(where: { $0.id == device || $0.path == device }) else { throw .lockGone }
            locks[i].calls += 1
            if let after = locks[i].offlineAfterCalls, locks[i].calls > after { locks[i].online = false }
            guard locks[i].online else { throw .lockGone }
            return try body(&locks[i])
        }
    }

    func summary(_ lock: Lock) -> DeviceSummary {
        DeviceSummary(id: lock.id, transport: "serial", path: lock.path, wireProtocol: "LDP/1", model: lock.model, hardwareRevision: "C",
                      firmware: lock.firmware, serial: lock.id, capabilities: ["motor"], online: lock.online,
                      state: lock.online ? "online" : "offline", problem: nil, lastSeen: nil)
    }

    static func now() -> String { APITime.format(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)) }

    static func actuation(_ number: Int, direction: String, peakMilliamps: Int) -> ActuationSummary {
        ActuationSummary(actuation: number, direction: direction, source: "host", result: "reached", durationMilliseconds: 800,
                         peakCurrentMilliamps: peakMilliamps, runningCurrentMilliamps: 250, batteryRestMillivolts: 6100,
                         batteryLoadedMillivolts: 5900, internalResistanceMilliohms: 800, endStopAtMilliseconds: 780,
                         analysis: "normal", samples: 3, sampleRateHz: 1000, at: now())
    }
}

/// One connection to the rack, as a worker holds one to lockdiagd.
final class RackClient: BenchClient {
    let rack: Rack

    init(_ rack: Rack) { self.rack = rack }

    func devices(timeoutSeconds: Double) throws(BenchCallError) -> [DeviceSummary] {
        rack.list()
    }

    func status(device: String, timeoutSeconds: Double) throws(BenchCallError) -> DeviceStatus {
        try rack.answer("device.status", device: device) { lock in
            DeviceStatus(device: lock.id, online: lock.online, lock: lock.bolt, door: "closed",
                         battery: BatteryReading(voltageMillivolts: 6100, percent: 90), motor: MotorReading(state: "idle", currentMilliamps: 0),
                         fingerprint: nil, temperatureCelsius: 24, calibrated: true, tamperActive: false, activeFaults: 0,
                         actuations: UInt32(lock.actuations), uptimeSeconds: 60,
                         lastActuation: Rack.actuation(lock.actuations, direction: "lock", peakMilliamps: lock.peakMilliamps), updatedAt: Rack.now())
        }
    }

    func faults(device: String, timeoutSeconds: Double) throws(BenchCallError) -> [Fault] {
        try rack.answer("faults.list", device: device) { lock in
            lock.confirmedFaults.map { name in
                Fault(device: lock.id, code: "0x0101", name: name, title: "Motor stalled", category: "motor", severity: "error",
                      status: .confirmed, source: "device", count: 1, firstSeen: Rack.now(), lastSeen: Rack.now(), freezeFrame: nil,
                      meaning: "the bolt stopped", advice: "check the strike plate")
            }
        }
    }

    func runTest(_ params: TestsRunParams, timeoutSeconds: Double) throws(BenchCallError) -> TestRun {
        if rack.silentTests { throw .timeout }
        return try rack.answer("tests.run", device: params.device) { (lock: inout Rack.Lock) throws(BenchCallError) -> TestRun in
            if lock.busyAnswers > 0 {
                lock.busyAnswers -= 1
                throw .refused("\(lock.id) is busy (an actuation is running) — retry in a second")
            }
            let verdict: Verdict = lock.motorTestPasses ? .pass : .fail
            let result = TestResult(test: .motor, verdict: verdict,
                                    measurements: TestMeasurements(peakCurrentMilliamps: lock.peakMilliamps, runningCurrentMilliamps: 250),
                                    findings: lock.motorTestPasses ? [] : ["the motor drew no current"], faults: [])
            return TestRun(device: lock.id, test: params.test, verdict: verdict, results: [result], startedAt: Rack.now(), durationMilliseconds: 900)
        }
    }

    func actuate(_ params: ActuateParams, timeoutSeconds: Double) throws(BenchCallError) -> ActuateResult {
        try rack.answer("device.actuate \(params.direction.rawValue)", device: params.device) { lock in
            if lock.othersMoveFirst > 0 {
                lock.othersMoveFirst -= 1
                lock.actuations += 1
            }
            lock.actuations += 1
            lock.bolt = params.direction == .lock ? "locked" : "unlocked"
            let summary = Rack.actuation(lock.actuations, direction: params.direction.rawValue, peakMilliamps: lock.peakMilliamps)
            return ActuateResult(device: lock.id, direction: params.direction, actuation: summary,
                                 trace: MotorTrace(actuation: lock.actuations, sampleRateHz: 1000, samplesMilliamps: [lock.peakMilliamps, 250, 240]),
                                 verdict: .pass, findings: [])
        }
    }
}

/// The console of a run that is not on a terminal: its lines, and stop requests on demand.
final class RecordingConsole: BenchConsole {
    let isLive = false
    let lines = Mutex<[String]>([])
    /// Ask to stop once a line containing this was printed.
    let stopWhen: String?

    init(stopWhen: String? = nil) { self.stopWhen = stopWhen }

    func warning(_ text: String) { lines.withLock { $0.append("warning: " + text) } }
    func event(_ text: String) { lines.withLock { $0.append(text) } }
    func draw(_ rows: [LockProgress], log: [String]) {}
    func finish() {}

    var stopRequests: Int {
        guard let stopWhen else { return 0 }
        return lines.withLock { $0.contains { $0.contains(stopWhen) } } ? 1 : 0
    }
}

func plan(_ yaml: String) throws -> Plan { try PlanParser.parse(bytes: Array(yaml.utf8)) }

func run(_ plan: Plan, on rack: Rack, parallel: Int? = nil, console: RecordingConsole = RecordingConsole(),
         timings: BenchTimings = BenchTimings()) throws -> BenchReport {
    try BenchRunner(plan: plan, parallel: parallel, timings: timings, console: console) { RackClient(rack) }.run()
}

@Suite struct BenchRunnerTests {
    static let endOfLine = """
        name: end of line
        locks: all
        limits:
          motor_peak_current_ma: { max: 1800 }
        steps:
          - identify
          - self_test: motor
          - actuate: { cycles: 2, pause: 0s }
          - no_confirmed_faults
        """

    @Test func aHealthyRackPassesEveryStepAndItsResultsAreWritten() throws {
        let rack = Rack(Rack.locks(3))
        let report = try run(try plan(Self.endOfLine), on: rack)
        #expect(report.passed && !report.interrupted)
        #expect(report.locks.map(\.id) == ["SN-1", "SN-2", "SN-3"])
        for lock in report.locks {
            #expect(lock.steps.map(\.verdict) == [.pass, .pass, .pass, .pass])
            #expect(lock.model == "LX-300" && lock.firmware == "2.4.1")
        }
        // Two cycles are four measured moves, each from the end the bolt is at to the other.
        #expect(rack.calls("device.actuate").count == 12)
        #expect(rack.calls("device.actuate unlock").count == 6)
        let actuate = report.locks[0].steps[2]
        #expect(actuate.measurements.filter { $0.name == "motor_peak_current_ma" }.map(\.pass) == [true, true, true, true])
        #expect(actuate.traces.count == 4)

        let xml = JUnitWriter.render(report)
        #expect(try validateJUnit(xml).valid)
        #expect(xml.contains("<testsuite name=\"SN-2\" tests=\"4\" failures=\"0\" errors=\"0\" skipped=\"0\""))
        let files = Dictionary(uniqueKeysWithValues: CSVWriter.files(report).map { ($0.name, $0.contents) })
        let rows = files["measurements.csv"]?.split(whereSeparator: \.isNewline).filter { $0.contains(",motor_peak_current_ma,") } ?? []
        // Per lock: one from the motor self-test, four from the moves.
        #expect(rows.count == 15)
    }

    @Test func aCurrentOverItsLimitFailsTheStepAndStopOnFailureSkipsTheRest() throws {
        var locks = Rack.locks(2)
        locks[1].peakMilliamps = 2400
        let rack = Rack(locks)
        let report = try run(try plan(Self.endOfLine + "\nstop_on_failure: true"), on: rack)
        #expect(!report.passed)
        #expect(report.locks[0].verdict == .pass)
        let failing = report.locks[1]
        #expect(failing.steps.map(\.verdict) == [.pass, .fail, .skipped, .skipped])
        #expect(failing.steps[1].failures == ["peak motor current 2400 mA outside the limit ≤ 1800 mA (motor)"])
        #expect(failing.steps[2].reason == "not run: an earlier step failed (stop_on_failure)")
        // The failing lock never moved its bolt; the healthy one made its four moves.
        #expect(rack.calls("device.actuate").allSatisfy { $0.hasSuffix("SN-1") })
        #expect(JUnitWriter.render(report).contains("failure message=\"peak motor current 2400 mA outside the limit ≤ 1800 mA (motor)\""))
    }

    @Test func aBusyLockIsRetriedUntilItAnswersAndOnlyUntilTheDeadline() throws {
        var locks = Rack.locks(2)
        locks[0].busyAnswers = 2
        locks[1].busyAnswers = 1000
        let rack = Rack(locks)
        var timings = BenchTimings()
        timings.busyRetrySeconds = 1
        let report = try run(try plan("name: t\nlocks: all\nsteps:\n  - self_test: motor\n"), on: rack, timings: timings)
        #expect(report.locks[0].steps[0].verdict == .pass)
        #expect(rack.calls("tests.run").filter { $0.hasSuffix("SN-1") }.count == 3)
        let busy = report.locks[1].steps[0]
        #expect(busy.verdict == .error)
        #expect(busy.reason == "SN-2 is busy (an actuation is running) — retry in a second")
        // Retried every 0.3 s for the 1 s deadline, then given up.
        #expect((2...6).contains(rack.calls("tests.run").filter { $0.hasSuffix("SN-2") }.count))
    }

    @Test func aLockThatGoesOfflineEndsItsRunAndTheOthersCarryOn() throws {
        var locks = Rack.locks(2)
        locks[0].offlineAfterCalls = 3
        let rack = Rack(locks)
        var timings = BenchTimings()
        timings.unresponsiveGraceSeconds = 0.5
        let report = try run(try plan(Self.endOfLine), on: rack, timings: timings)
        let gone = report.locks[0]
        #expect(gone.verdict == .fail)
        let firstError = try #require(gone.steps.firstIndex { $0.verdict == .error || $0.verdict == .fail })
        #expect(gone.steps[firstError].headline.contains("SN-1 went offline at"))
        for step in gone.steps[(firstError + 1)...] {
            #expect(step.verdict == .error)
            #expect(step.reason?.hasPrefix("not run: SN-1 went offline at") == true)
        }
        #expect(report.locks[1].verdict == .pass)
    }

    @Test func aSilentDaemonIsATimeoutThatSaysWhichCall() throws {
        let rack = Rack(Rack.locks(1), silentTests: true)
        var timings = BenchTimings()
        timings.testTimeoutSeconds = 2
        let report = try run(try plan("name: t\nlocks: all\nsteps:\n  - self_test: motor\n  - identify\n"), on: rack, timings: timings)
        let step = report.locks[0].steps[0]
        #expect(step.verdict == .error)
        #expect(step.reason == "no reply from lockdiagd to tests.run within 2 s")
        #expect(report.locks[0].steps[1].verdict == .pass)
    }

    @Test func aMoveAfterSomeoneElsesIsNotHeldToTheLimitsAndIsMadeAgain() throws {
        var locks = Rack.locks(1)
        locks[0].othersMoveFirst = 1
        let rack = Rack(locks)
        let report = try run(try plan("name: t\nlocks: all\nlimits: { motor_peak_current_ma: { max: 1800 } }\nsteps:\n  - actuate: { cycles: 1, pause: 0s }\n"), on: rack)
        let step = report.locks[0].steps[0]
        #expect(step.verdict == .pass)
        // Three moves: the one that followed another actuation, then the two measured ones,
        // each from the end the bolt was left at.
        #expect(rack.calls("device.actuate").count == 3)
        #expect(step.log.contains { $0.contains("followed one the bench did not make") })
        #expect(step.measurements.filter { $0.name == "motor_peak_current_ma" }.map(\.context) == ["unlock after another actuation", "lock", "unlock"])
        #expect(step.measurements.filter { $0.name == "motor_peak_current_ma" }.map(\.limit) == [nil, Limit(max: 1800), Limit(max: 1800)])
    }

    @Test func noMoreLocksRunAtOnceThanParallelAllows() throws {
        let rack = Rack(Rack.locks(4))
        let report = try run(try plan("name: t\nlocks: all\nsteps:\n  - self_test: motor\n  - actuate: { cycles: 1, pause: 0s }\n"), on: rack, parallel: 1)
        #expect(report.passed && report.locks.count == 4)
        #expect(rack.mostInFlight.load(ordering: .relaxed) == 1)
    }

    @Test func aStopRequestLetsTheRunningStepFinishAndSkipsTheRest() throws {
        let rack = Rack(Rack.locks(1))
        let console = RecordingConsole(stopWhen: "step 2 PASS")
        let report = try run(try plan(Self.endOfLine), on: rack, console: console)
        #expect(report.interrupted)
        let steps = report.locks[0].steps
        #expect(steps.prefix(2).map(\.verdict) == [.pass, .pass])
        #expect(steps.dropFirst(2).allSatisfy { $0.verdict == .skipped && $0.reason?.hasPrefix(BenchReport.interruptedPrefix) == true })
        #expect(rack.calls("device.actuate").isEmpty)
        #expect(console.lines.withLock { $0.contains { $0.hasPrefix("warning: stopping: no new actuation or self-test") } })
    }

    @Test func aPlanThatMatchesNoLockIsRefusedBeforeAnythingRuns() throws {
        let rack = Rack(Rack.locks(2))
        #expect(throws: BenchRunError.selection("no lock matches the plan's 'locks' (model LX-900); lockdiagd knows: SN-1 (LX-300), SN-2 (LX-300)")) {
            try run(try plan("name: t\nlocks: { model: LX-900 }\nsteps:\n  - identify\n"), on: rack)
        }
        #expect(rack.log.withLock { $0 } == ["devices.list "])
    }
}
