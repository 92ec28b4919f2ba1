import Foundation
import LinuxIO
import LockDiagAPI
import LockDiagCLI
import Synchronization

/// Why a run did not start: lockdiagd could not be asked, or the plan's locks are not there.
public enum BenchRunError: Error, Sendable, Equatable {
    /// Listing the locks failed.
    case daemon(BenchCallError)
    /// No lock, or more than one for an id, matches the plan; the message says what to do.
    case selection(String)
}

/// Runs a plan: finds the locks, runs one worker thread per lock (each with its own connection
/// to lockdiagd, at most `parallel` at once), shows progress, admits late locks, and on a stop
/// request lets running actuations finish before it hands back the partial report.
public final class BenchRunner: Sendable {
    public let plan: Plan
    let parallel: Int?
    let connect: @Sendable () -> any BenchClient
    let console: any BenchConsole
    public let timings: BenchTimings
    /// Set on a stop request: workers start nothing new.
    let stopping = Atomic<Bool>(false)
    let shared = Mutex(Shared())

    struct Shared: Sendable {
        var workers: [String: WorkerState] = [:]  // by device path
        var order: [String] = []
        var slotsInUse = 0
    }

    struct WorkerState: Sendable {
        var result: LockResult
        var progress: LockProgress
        var done = false
        var started = false
        /// The step running now and what it has gathered so far, for a report cut short.
        var current: StepResult?
    }

    /// `connect` makes a connection to lockdiagd (it may connect on its first call); the
    /// runner makes one for itself and one per lock.
    public init(plan: Plan, parallel: Int?, timings: BenchTimings = BenchTimings(), console: any BenchConsole,
                connect: @escaping @Sendable () -> any BenchClient) {
        self.plan = plan
        self.parallel = parallel
        self.timings = timings
        self.console = console
        self.connect = connect
    }

    /// A worker sees a stop request at once, not only once the run loop has.
    var stopRequested: Bool { stopping.load(ordering: .relaxed) || console.stopRequests > 0 }

    // MARK: The run

    public func run() throws(BenchRunError) -> BenchReport {
        let startedWall = Date()
        let started = monotonicSeconds()
        let client = connect()
        var devices: [DeviceSummary]
        do { devices = try listDevices(client) } catch { throw .daemon(error) }

        let attachWindow: Double
        if case .waitForAttach(let timeout)? = plan.steps.first?.action { attachWindow = timeout } else { attachWindow = 0 }
        let limit = parallel ?? plan.parallel ?? 256
        if plan.steps.contains(where: \.movesBolt) {
            console.warning("this plan moves the bolt of every lock it runs on — keep hands and doors clear; Ctrl-C stops safely")
        }
        if let (name, candidates) = plan.selection.ambiguous(among: devices).first {
            let list = candidates.map { "\($0.id) (\($0.transport) \($0.path))" }.joined(separator: ", ")
            throw .selection(DisplayText.safe("the plan's 'ids' entry '\(name)' names \(candidates.count) locks: \(list) — "
                                              + "give the id of the one you mean (`lockdiag list`); nothing was run"))
        }
        var initial = devices.filter { plan.selection.matches($0, among: devices) }
        if initial.isEmpty && attachWindow == 0 && !plan.selection.joinLate {
            let known = devices.map { "\($0.id) (\($0.model ?? "not identified"))" }.joined(separator: ", ")
            throw .selection("no lock matches the plan's 'locks' (\(describeSelection())); lockdiagd knows: \(known.isEmpty ? "none" : known)")
        }
        initial.sort { $0.id < $1.id }
        for device in initial { admit(device, late: false) }
        let live = console.isLive
        if !live { console.event("bench: '\(plan.name)' on \(initial.count) lock\(initial.count == 1 ? "" : "s"), \(plan.steps.count) steps") }

        var lastList = monotonicSeconds()
        var stopAt: Double?
        var lastDraw = 0.0
        while true {
            let now = monotonicSeconds()
            let stopRequests = console.stopRequests
            if stopRequests > 0 && stopAt == nil {
                stopAt = now
                stopping.store(true, ordering: .relaxed)
                let message = "stopping: no new actuation or self-test; waiting for the running ones to finish (up to \(Int(timings.stopGraceSeconds)) s)…"
                if live { console.draw(progressRows(), log: [message]) } else { console.warning(message) }
            }
            // Locks that appear: in the attach window they are part of the run; later, only if the plan says so.
            if stopAt == nil, now - lastList >= timings.listIntervalSeconds {
                lastList = now
                if let fresh = try? listDevices(client) {
                    devices = fresh
                    let inWindow = now - started < attachWindow
                    for device in devices where device.online && plan.selection.matches(device, among: devices) && !isKnown(device) {
                        if inWindow || plan.selection.joinLate { admit(device, late: !inWindow) }
                    }
                }
            }
            startQueued(limit: limit)
            let allDone = shared.withLock { s in s.workers.values.allSatisfy(\.done) }
            if live, now - lastDraw >= 0.1 {
                console.draw(progressRows(), log: [])
                lastDraw = now
            }
            // In the attach window the run waits for the locks it expects (or, expecting no
            // number, for a first lock) even when every worker is done.
            let waitingForLocks = now - started < attachWindow
                && (plan.selection.expect.map { attachedCount() < $0 } ?? hasNothing())
            if allDone && (stopAt != nil || !waitingForLocks) { break }
            if let stopAt, now - stopAt > timings.stopGraceSeconds || stopRequests > 1 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if live {
            console.draw(progressRows(), log: [])
            console.finish()
        }
        var locks = shared.withLock { s in s.order.map { path in finalResult(s.workers[path]!) } }
        if let expected = plan.selection.expect, locks.count < expected {
            locks.append(missingLocks(expected - locks.count, attachWindow: attachWindow, startedAt: startedWall))
        }
        return BenchReport(plan: plan.name, hostname: ProcessInfo.processInfo.hostName, startedAt: isoTime(startedWall),
                           durationSeconds: monotonicSeconds() - started, locks: locks, interrupted: stopAt != nil)
    }

    private func describeSelection() -> String {
        var parts: [String] = []
        if !plan.selection.models.isEmpty { parts.append("model " + plan.selection.models.joined(separator: "/")) }
        if !plan.selection.ids.isEmpty { parts.append("ids " + plan.selection.ids.joined(separator: ", ")) }
        return parts.isEmpty ? "all" : parts.joined(separator: "; ")
    }

    /// With join_late and no lock yet, the run waits for the first (until Ctrl-C).
    private func hasNothing() -> Bool { shared.withLock { $0.workers.isEmpty } }

    private func attachedCount() -> Int { shared.withLock { s in s.workers.values.filter { $0.result.model != nil }.count } }

    /// A testsuite for the locks the plan expected that never came.
    private func missingLocks(_ count: Int, attachWindow: Double, startedAt: Date) -> LockResult {
        let reason = "\(count) of the \(plan.selection.expect ?? count) expected lock\(count == 1 ? "" : "s") did not attach within \(Format.seconds(attachWindow)) — check their cables, power and lockdiagd's --serial list"
        let step = StepResult(index: 1, kind: "wait_for_attach", title: "wait for attach (≤ \(Format.seconds(attachWindow)))", verdict: .fail,
                              failures: [reason], durationSeconds: attachWindow)
        return LockResult(id: "missing-locks", startedAt: isoTime(startedAt), durationSeconds: attachWindow, steps: [step])
    }

    private func listDevices(_ client: any BenchClient) throws(BenchCallError) -> [DeviceSummary] {
        try client.devices(timeoutSeconds: timings.callTimeoutSeconds)
    }

    private func isKnown(_ device: DeviceSummary) -> Bool { shared.withLock { $0.workers[device.path] != nil } }

    private func admit(_ device: DeviceSummary, late: Bool) {
        let result = LockResult(id: device.id, path: device.path, model: device.model, hardwareRevision: device.hardwareRevision,
                                firmware: device.firmware, serial: device.serial, joinedLate: late, startedAt: isoTime(Date()))
        var progress = LockProgress(lock: device.id, stepCount: plan.steps.count)
        progress.stepTitle = "queued"
        shared.withLock { s in
            guard s.workers[device.path] == nil else { return }
            s.workers[device.path] = WorkerState(result: result, progress: progress)
            s.order.append(device.path)
        }
        if late { note(device.id, "appeared during the run and joins it") }
    }

    private func startQueued(limit: Int) {
        let toStart: [String] = shared.withLock { s in
            var paths: [String] = []
            for path in s.order where s.slotsInUse < limit && !s.workers[path]!.started {
                s.workers[path]!.started = true
                s.slotsInUse += 1
                paths.append(path)
            }
            return paths
        }
        for path in toStart {
            let thread = Thread { [self] in
                // "bench-" and the path's tail, as Linux keeps 15 bytes.
                Realtime.nameCurrentThread("bench-" + String(decoding: path.utf8.suffix(9), as: UTF8.self))
                let worker = BenchWorker(runner: self, path: path, client: connect())
                worker.run()
                shared.withLock { s in
                    s.workers[path]!.done = true
                    s.slotsInUse -= 1
                }
            }
            thread.start()
        }
    }

    /// One row per lock, in the order they were admitted.
    public func progressRows() -> [LockProgress] { shared.withLock { s in s.order.map { s.workers[$0]!.progress } } }

    /// A worker's result as it stands; a step still running at the end of the grace period
    /// becomes an error, and the steps after it are skipped.
    func finalResult(_ state: WorkerState) -> LockResult {
        var result = state.result
        guard !state.done else { return result }
        let plannedCount = state.progress.stepCount
        if var current = state.current {
            current.verdict = .error
            current.reason = "\(BenchReport.interruptedPrefix) while this step ran; its result did not come back within \(Int(timings.stopGraceSeconds)) s"
            result.steps.append(current)
        }
        return result.withRemainingSkipped(plannedCount: plannedCount, reason: "\(BenchReport.interruptedPrefix) (Ctrl-C) before this step ran",
                                           plan: plan)
    }

    // MARK: Reporting from workers

    func note(_ lock: String, _ text: String) {
        guard !console.isLive else { return }
        console.event("\(clockTime()) \(lock): \(text)")
    }

    func update(_ path: String, _ body: (inout WorkerState) -> Void) { shared.withLock { s in body(&s.workers[path]!) } }
}

extension LockResult {
    /// The steps not yet in `steps` appended as skipped.
    func withRemainingSkipped(plannedCount: Int, reason: String, plan: Plan? = nil) -> LockResult {
        var copy = self
        while copy.steps.count < plannedCount {
            let index = copy.steps.count + 1
            let step = plan?.steps[index - 1]
            copy.steps.append(StepResult(index: index, kind: step?.kind ?? "step", title: step?.title ?? "step \(index)", verdict: .skipped,
                                         reason: reason))
        }
        return copy
    }
}

func isoTime(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: date)
}

func clockTime() -> String {
    let f = DateFormatter()
    f.dateFormat = "HH:mm:ss"
    return f.string(from: Date())
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double { Double(MonotonicClock.nanoseconds()) / 1e9 }
