import Foundation
import LockDiagAPI
import LockDiagCLI

/// Why a step could not go on.
struct StepAbort: Error {
    var reason: String
    /// The lock (or lockdiagd) is gone: the remaining steps cannot run either.
    var gone = false
}

/// Runs the plan's steps on one lock, on a thread of its own with its own connection. The
/// device is addressed by its id, which names exactly one lock; its id changes once, from its
/// path to its serial number, as it identifies itself, and the worker follows it by its path.
final class BenchWorker {
    let runner: BenchRunner
    let path: String
    let plan: Plan
    let client: any BenchClient
    let timings: BenchTimings
    var id: String
    var result: LockResult
    /// Set once the lock (or the daemon) has gone: the reason every later step carries.
    var gone: String?
    var failed = false

    init(runner: BenchRunner, path: String, client: any BenchClient) {
        self.runner = runner
        self.path = path
        self.client = client
        plan = runner.plan
        timings = runner.timings
        result = runner.shared.withLock { $0.workers[path]!.result }
        id = result.id
    }

    func run() {
        let started = monotonicSeconds()
        result.startedAt = isoTime(Date())
        publish()
        for (offset, step) in plan.steps.enumerated() {
            let index = offset + 1
            var outcome = StepResult(index: index, kind: step.kind, title: step.title)
            if runner.stopRequested {
                break
            } else if let gone {
                outcome.verdict = .error
                outcome.reason = "not run: \(gone)"
            } else if failed && plan.stopOnFailure {
                outcome.verdict = .skipped
                outcome.reason = "not run: an earlier step failed (stop_on_failure)"
            } else {
                runner.update(path) { w in
                    w.progress.stepIndex = index
                    w.progress.stepTitle = step.title
                    w.progress.cycle = nil
                    w.current = outcome
                }
                runner.note(id, "step \(index)/\(plan.steps.count) \(step.title)")
                let t0 = monotonicSeconds()
                do {
                    try execute(step, into: &outcome)
                    outcome.verdict = outcome.failures.isEmpty ? .pass : .fail
                } catch {
                    outcome.verdict = outcome.failures.isEmpty || error.reason.hasPrefix(BenchReport.interruptedPrefix) ? .error : .fail
                    if outcome.verdict == .fail { outcome.failures.append(error.reason) } else { outcome.reason = error.reason }
                    if error.gone { gone = error.reason }
                }
                outcome.durationSeconds = monotonicSeconds() - t0
                let line: String = switch outcome.verdict {
                case .pass: "step \(index) PASS (\(Format.seconds((outcome.durationSeconds * 10).rounded() / 10)))"
                case .fail: "step \(index) FAIL: " + outcome.failures.joined(separator: "; ")
                case .error: "step \(index) ERROR: \(outcome.reason ?? "")"
                case .skipped: "step \(index) skipped"
                }
                runner.note(id, line)
            }
            if outcome.verdict == .fail || outcome.verdict == .error { failed = true }
            result.steps.append(outcome)
            result.durationSeconds = monotonicSeconds() - started
            let snapshot = result
            runner.update(path) { w in
                w.result = snapshot
                w.current = nil
                if outcome.verdict == .fail || outcome.verdict == .error {
                    w.progress.failedSteps += 1
                    if w.progress.firstFailure == nil { w.progress.firstFailure = "step \(index) \(step.kind): \(outcome.headline)" }
                }
            }
        }
        if result.steps.count < plan.steps.count {
            result = result.withRemainingSkipped(plannedCount: plan.steps.count, reason: "\(BenchReport.interruptedPrefix) (Ctrl-C) before this step ran",
                                                 plan: plan)
        }
        result.durationSeconds = monotonicSeconds() - started
        let final = result
        runner.update(path) { w in
            w.result = final
            w.progress.finished = final.verdict
        }
        runner.note(id, "\(final.verdict.rawValue.uppercased())" + (final.firstProblem.map { " — step \($0.index) \($0.title): \($0.headline)" } ?? ""))
    }

    private func publish() {
        let snapshot = result
        let id = self.id
        runner.update(path) { w in
            w.result = snapshot
            w.progress.lock = id
        }
    }

    // MARK: Steps

    private func execute(_ step: Step, into out: inout StepResult) throws(StepAbort) {
        switch step.action {
        case .waitForAttach(let timeout):
            let deadline = monotonicSeconds() + timeout
            var last: DeviceSummary?
            while true {
                last = try device()
                if let d = last, d.online, d.model != nil {
                    adopt(d)
                    out.log.append("attached: \(d.id) on \(d.path), \(d.model ?? "") firmware \(d.firmware ?? "?")")
                    return
                }
                guard monotonicSeconds() < deadline else { break }
                try pause(0.2, step: "waiting for the lock to attach")
            }
            let state = last.map { "\($0.state)\($0.problem.map { ": \($0)" } ?? "")" } ?? "unknown to lockdiagd"
            out.failures.append("the lock did not attach within \(Format.seconds(timeout)) (it is \(state)) — check its cable and power")
        case .identify:
            let d = try requireOnline(try device())
            guard let model = d.model else {
                out.failures.append("the lock has not identified itself (no IDENTIFY answer) — is it an LDP/1 lock?")
                return
            }
            adopt(d)
            out.log.append("model \(model), hardware \(d.hardwareRevision ?? "?"), firmware \(d.firmware ?? "?"), serial \(d.serial ?? "?"), "
                           + "capabilities \(d.capabilities.joined(separator: ","))")
        case .requireFirmware(let minimum):
            let d = try requireOnline(try device())
            adopt(d)
            out.failures += Evaluate.firmware(d.firmware, minimum: minimum)
            out.log.append("firmware \(d.firmware ?? "unknown"), required ≥ \(minimum)")
        case .selfTest(let kinds):
            // A plan that runs the motor test is the operator's confirmation, as for `actuate`
            // (docs/bench.md): the rig asks nothing at each lock.
            for kind in kinds {
                try checkStop("before the \(kind.rawValue) self-test")
                let params = TestsRunParams(device: id, test: kind, confirm: kind.actuates ? true : nil)
                let run = try callRetryingBusy(APIMethod.testsRun, timeout: timings.testTimeoutSeconds) { client, timeout throws(BenchCallError) in
                    try client.runTest(params, timeoutSeconds: timeout)
                }
                let outcome = Evaluate.selfTests(run, limits: step.limits, origin: origin(out, context: kind.rawValue))
                merge(outcome, into: &out)
                out.log.append("\(kind.rawValue) self-test: \(run.verdict.rawValue) in \(run.durationMilliseconds) ms")
            }
        case .actuate(let cycles, let pauseSeconds):
            // Each move starts from the end the lock reports just before it and goes to the other
            // (BoltMoves): a cycle is two full strokes, and a bolt someone else moved in between
            // is never driven into the stop it already rests on.
            runner.update(path) { $0.progress.cycle = (0, cycles) }
            for cycle in 1...cycles {
                for n in 0..<2 {
                    try checkStop("after \(cycle - 1) of \(cycles) cycles")
                    let moved = try moveFromKnownEnd(cycle: cycle, limits: step.limits, into: &out)
                    if let result = moved.actuation.result, result != "reached" {
                        // Do not keep driving a motor into a jam or a broken clutch.
                        out.log.append("cycles stopped at cycle \(cycle): the bolt did not reach its end position (\(result))")
                        return
                    }
                    if !(cycle == cycles && n == 1) { try pause(pauseSeconds, step: "after \(cycle) of \(cycles) cycles") }
                }
                runner.update(path) { $0.progress.cycle = (cycle, cycles) }
                out.log.append("cycle \(cycle)/\(cycles) done")
                runner.note(id, "cycle \(cycle)/\(cycles) " + (out.failures.isEmpty ? "ok" : "FAIL so far: \(out.failures[0])"))
            }
        case .soak(let seconds):
            let before = Set(try faults().filter { $0.status == .confirmed }.map(\.code))
            let end = monotonicSeconds() + seconds
            let interval = Step.soakReadingIntervalSeconds(seconds)
            while monotonicSeconds() < end {
                let status = try status()
                if !status.online { _ = try requireOnline(try device()) }
                // A lock that reports no voltage (Tuya, GATT) has no battery_mv measurement, not a 0.
                if let millivolts = status.battery.voltageMillivolts {
                    out.measurements.append(BenchMeasurement(lock: id, step: out.index, stepKind: out.kind, name: "battery_mv",
                                                             value: millivolts, unit: "mV", at: isoTime(Date())))
                }
                try pause(min(interval, max(0, end - monotonicSeconds())), step: "soaking")
            }
            let new = try faults().filter { $0.status == .confirmed && !before.contains($0.code) }
            out.failures += Evaluate.confirmedFaults(new, ignore: [])
            out.log.append("soaked \(Format.seconds(seconds)); \(new.count) new confirmed fault(s)")
        case .noConfirmedFaults(let ignore):
            let list = try faults()
            out.failures += Evaluate.confirmedFaults(list, ignore: ignore)
            out.log.append("\(list.count) fault(s) listed, \(list.filter { $0.status == .confirmed }.count) confirmed")
        case .genuineParts:
            try checkParts(into: &out)
        case .commission(let wait):
            try commission(waitSeconds: wait, into: &out)
        }
    }

    /// Moves made again at most when someone else's actuation keeps getting in first.
    static let maxMoveAttempts = 4

    /// One measured move, from the end the bolt is at to the other: reads where the bolt is
    /// once it is at rest, moves it home to unlocked first (unmeasured) if it is at neither end,
    /// and reads again whenever the lock was busy. A move the lock numbers not directly after
    /// the actuation seen at the reading followed someone else's (lockdiagd waits out a busy
    /// lock): it started from wherever that one left the bolt, so it is recorded without limits
    /// and made again.
    private func moveFromKnownEnd(cycle: Int, limits: Limits, into out: inout StepResult) throws(StepAbort) -> ActuateResult {
        let deadline = monotonicSeconds() + timings.settleSeconds
        var homed = false
        var attempts = 0
        while true {
            let status = try settledStatus()
            var o = origin(out, context: nil)
            o.cycle = cycle
            var move = BoltMoves.next(bolt: status.lock)
            // A lock that does not say where its bolt is: it is where the homing move took it.
            if homed, case .homing = move { move = .measured(.lock) }
            let (direction, measured): (ActuationDirection, Bool) = switch move {
            case .measured(let d): (d, true)
            case .homing(let d): (d, false)
            }
            if !measured { out.log.append("cycle \(cycle): the bolt is \(status.lock), so it is first moved home (\(direction.rawValue), not measured)") }
            let moved: ActuateResult
            do {
                let params = ActuateParams(device: id, direction: direction)
                moved = try call(APIMethod.deviceActuate, timeout: timings.callTimeoutSeconds + 15) { client, timeout throws(BenchCallError) in
                    try client.actuate(params, timeoutSeconds: timeout)
                }
            } catch where error.reason.contains("busy") && !error.gone && monotonicSeconds() < deadline {
                try pause(0.3, step: "waiting for the busy lock")
                continue
            } catch where error.gone && error.reason.hasPrefix("\(id) went offline") && monotonicSeconds() < deadline {
                _ = try requireOnline(try device())
                continue
            }
            attempts += 1
            let direct = BoltMoves.follows(moved.actuation.actuation, directly: status.lastActuation?.actuation)
            o.context = !measured ? "homing \(direction.rawValue)" : direct ? direction.rawValue : "\(direction.rawValue) after another actuation"
            // A homing move's figures are of a partial stroke, and one after another actuation's
            // of an unknown start: recorded, not held to the limits.
            merge(Evaluate.actuation(moved.actuation, trace: moved.trace, findings: moved.findings,
                                     limits: measured && direct ? limits : Limits(), origin: o), into: &out)
            if moved.actuation.result != "reached" || (measured && direct) { return moved }
            if !direct {
                out.log.append("cycle \(cycle): actuation \(moved.actuation.actuation) followed one the bench did not make (someone used the lock), "
                               + "so it started from an unknown position: not measured; moving again")
                guard attempts < Self.maxMoveAttempts else {
                    throw StepAbort(reason: "someone kept using \(id) during the bench's moves (\(attempts) in a row followed another actuation) "
                                    + "— keep the rack's locks free during the run")
                }
            } else {
                homed = true
            }
        }
    }

    /// The lock's status once it reports its bolt at rest, in a status newer than this call:
    /// never a reading from before or during the last move.
    private func settledStatus() throws(StepAbort) -> DeviceStatus {
        let since = Int64(Date().timeIntervalSince1970 * 1000)
        let deadline = monotonicSeconds() + timings.settleSeconds
        while true {
            let status = try status()
            if !status.online { _ = try requireOnline(try device()) }
            let fresh = status.updatedAt.flatMap(APITime.parse).map { $0 >= since } ?? false
            if fresh && BoltMoves.isSettled(bolt: status.lock, motor: status.motor.state) { return status }
            guard monotonicSeconds() < deadline else {
                throw StepAbort(reason: "the bolt of \(id) did not come to rest within \(Int(timings.settleSeconds)) s (it is \(status.lock), "
                                + "motor \(status.motor.state)) — is someone using the lock?")
            }
            try pause(0.05, step: "waiting for the bolt to come to rest")
        }
    }

    private func merge(_ outcome: Evaluate.Outcome, into out: inout StepResult) {
        out.measurements += outcome.measurements
        out.failures += outcome.failures
        out.traces += outcome.traces
        let snapshot = out
        runner.update(path) { $0.current = snapshot }
    }

    private func origin(_ out: StepResult, context: String?) -> Evaluate.Origin {
        Evaluate.Origin(lock: id, step: out.index, stepKind: out.kind, context: context, at: isoTime(Date()))
    }

    /// Takes the lock's identity (and its id, now its serial) from the daemon's list.
    private func adopt(_ d: DeviceSummary) {
        id = d.id
        result.id = d.id
        result.model = d.model
        result.hardwareRevision = d.hardwareRevision
        result.firmware = d.firmware
        result.serial = d.serial
        publish()
    }

    // MARK: Calls

    /// The lock as lockdiagd lists it now: by its id, or, when that id is gone (it was the path
    /// and the lock has identified itself since), by its path; the worker takes its new id.
    private func device() throws(StepAbort) -> DeviceSummary? {
        let devices = try call(APIMethod.devicesList) { client, timeout throws(BenchCallError) in try client.devices(timeoutSeconds: timeout) }
        guard let found = devices.first(where: { $0.id == id }) ?? devices.first(where: { $0.path == path }) else { return nil }
        if found.id != id {
            id = found.id
            result.id = found.id
            publish()
        }
        return found
    }

    private func requireOnline(_ first: DeviceSummary?) throws(StepAbort) -> DeviceSummary {
        var d = first
        let until = monotonicSeconds() + timings.unresponsiveGraceSeconds
        while true {
            guard let current = d else { throw goneError() }
            if current.online { return current }
            if current.state == "offline" || monotonicSeconds() >= until { throw goneError() }
            try pause(0.2, step: "waiting for the lock to answer again")
            d = try device()
        }
    }

    private func faults() throws(StepAbort) -> [Fault] {
        let id = self.id
        return try call(APIMethod.faultsList) { client, timeout throws(BenchCallError) in try client.faults(device: id, timeoutSeconds: timeout) }
    }

    private func status() throws(StepAbort) -> DeviceStatus {
        let id = self.id
        return try call(APIMethod.deviceStatus) { client, timeout throws(BenchCallError) in try client.status(device: id, timeoutSeconds: timeout) }
    }

    private func goneError() -> StepAbort {
        StepAbort(reason: "\(id) went offline at \(clockTime()) — check its cable and power; the other locks carry on", gone: true)
    }

    /// One call on this worker's connection, its failure as the step's: a lock that is gone ends
    /// this lock's run, a daemon that is gone every lock's.
    func call<T>(_ method: String, timeout: Double? = nil,
                         _ body: (any BenchClient, Double) throws(BenchCallError) -> T) throws(StepAbort) -> T {
        let timeout = timeout ?? timings.callTimeoutSeconds
        do {
            return try body(client, timeout)
        } catch {
            switch error {
            case .lockGone:
                throw goneError()
            case .refused(let message), .unexpected(let message):
                throw StepAbort(reason: DisplayText.safe(message))
            case .daemonUnreachable(let message), .connectionLost(let message):
                throw StepAbort(reason: DisplayText.safe("lockdiagd went away: \(message)"), gone: true)
            case .timeout:
                throw StepAbort(reason: "no reply from lockdiagd to \(method) within \(Int(timeout)) s")
            }
        }
    }

    /// A lock in use answers BUSY for about a second; wait up to `busyRetrySeconds` before
    /// giving up. One the daemon calls offline is given the grace of `requireOnline` unless its
    /// link is down.
    func callRetryingBusy<T>(_ method: String, timeout: Double,
                                     _ body: (any BenchClient, Double) throws(BenchCallError) -> T) throws(StepAbort) -> T {
        let deadline = monotonicSeconds() + timings.busyRetrySeconds
        while true {
            do {
                return try call(method, timeout: timeout, body)
            } catch where error.reason.contains("busy") && !error.gone && monotonicSeconds() < deadline {
                try pause(0.3, step: "waiting for the busy lock")
            } catch where error.gone && error.reason.hasPrefix("\(id) went offline") && monotonicSeconds() < deadline {
                _ = try requireOnline(try device())
            }
        }
    }

    /// Sleeps in short slices so a stop is seen within 50 ms.
    private func pause(_ seconds: Double, step: String) throws(StepAbort) {
        let until = monotonicSeconds() + seconds
        while monotonicSeconds() < until {
            try checkStop(step)
            Thread.sleep(forTimeInterval: min(0.05, max(0, until - monotonicSeconds())))
        }
    }

    private func checkStop(_ context: String) throws(StepAbort) {
        if runner.stopRequested { throw StepAbort(reason: "\(BenchReport.interruptedPrefix) (Ctrl-C) \(context)") }
    }
}
