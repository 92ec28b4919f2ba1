// The poll loop's benchmark (see README, "Benchmarks"): wake-up lateness p50/p99/max of the
// real loop polling N simulated locks over real ptys, with the daemon's hub consuming its
// ring, beside cyclictest in the same window (the machine's own floor, same rate and policy);
// CPU time of the loop thread and of the daemon's threads per lock-poll; and heap allocations
// made on the loop thread per steady-state cycle, counted by ordo-one/malloc-interposer's
// per-allocation hook. Run it through `make bench`, which preloads the interposer; without it
// the allocation column says "n/a".

import ArgumentParser
import BLETransport
import CLockDiagSys
import Foundation
import LinuxIO
import LockDaemon
import LockSimulator
import Logging
import MallocInterposerSwift
import Synchronization

/// The loop thread's kernel id; the allocation hook counts only that thread's allocations.
let measuredThread = Atomic<Int32>(0)
let loopAllocations = Atomic<Int>(0)
let allAllocations = Atomic<Int>(0)

/// Runs on the allocating thread inside malloc: it must not allocate.
let allocationHook: MallocInterposerSwift.AllocationHook = { _ in
    allAllocations.add(1, ordering: .relaxed)
    if lockdiag_gettid() == measuredThread.load(ordering: .relaxed) { loopAllocations.add(1, ordering: .relaxed) }
}

/// One measured configuration: this many locks polled at this rate.
struct Point: Codable, Hashable, CustomStringConvertible {
    var locks: Int
    var pollHz: Int
    var description: String { "\(locks) lock\(locks == 1 ? "" : "s") at \(pollHz) Hz" }

    /// "16@1000" (locks@Hz); a bare number takes `defaultHz`.
    init?(_ text: Substring, defaultHz: Int) {
        let parts = text.split(separator: "@")
        guard let locks = parts.first.flatMap({ Int($0) }), locks > 0 else { return nil }
        let hz = parts.count > 1 ? Int(parts[1]) : defaultHz
        guard let hz, hz > 0, parts.count <= 2 else { return nil }
        self.locks = locks
        self.pollHz = hz
    }
}

/// How the loop (and cyclictest beside it) is scheduled.
enum Mode: String, Codable, CaseIterable {
    /// What a technician's laptop gives without root: SCHED_OTHER.
    case `default`
    /// `--realtime`: SCHED_FIFO 80, mlockall, PM QoS 0 µs.
    case realtime
}

/// cyclictest's figures from the same window as one run of the loop.
struct CyclictestResult: Codable {
    var arguments: [String]
    var samples: Int
    var p50: Int
    var p99: Int
    var max: Int
}

/// Thread CPU time over the measured window, nanoseconds.
struct CPUTimes: Codable {
    var loopThread: UInt64 = 0
    /// Times the loop thread went to sleep and was woken (voluntary context switches).
    var loopWakeUps: UInt64 = 0
    /// Every thread of the bench process but the simulator's: the daemon's share (loop, hub, the
    /// bench's own idle main thread).
    var daemonThreads: UInt64 = 0
    /// The whole process, simulated locks included.
    var process: UInt64 = 0
}

struct RunResult: Codable {
    var point: Point
    var mode: Mode
    var run: Int
    var seconds: Double
    var cycles: UInt64
    var overruns: UInt64
    var p50: UInt64
    var p90: UInt64
    var p99: UInt64
    var max: UInt64
    var mean: Double
    var frames: UInt64
    /// nil when the interposer is not preloaded.
    var loopAllocations: Int?
    var allocationsPerCycle: Double?
    var cpu: CPUTimes
    /// What --realtime could not get (empty when granted or not asked).
    var realtimeMissing: [String]
    var cyclictest: CyclictestResult?
    /// Why cyclictest gave no figures, when it did not.
    var cyclictestFailure: String?

    /// Lock-polls in the window: every lock gets one tick per cycle.
    var lockPolls: UInt64 { cycles * UInt64(point.locks) }
    var ratio: Double? { cyclictest.map { Double(p99) / Double(Swift.max($0.p99, 1)) } }
}

@main
struct PollLoopBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiag-bench",
        abstract: "Measures the poll loop: lateness against cyclictest, CPU per lock-poll, allocations per cycle.",
        discussion: """
            Run via `make bench` (release build, malloc interposer preloaded). Each point runs \
            under default scheduling and --realtime, cyclictest beside it in the same window. \
            Two cores are shared and noisy: quote the medians over --runs, never one run.
            """)

    @Option(help: "Points to measure, locks@Hz, comma-separated.")
    var points = "16@1000,256@100"

    @Option(help: "Lock counts instead of --points, each at --poll-hz.")
    var locks: String?

    @Option(help: "Poll rate for --locks, Hz.")
    var pollHz = 1000

    @Option(help: "Scheduling modes, comma-separated: default, realtime.")
    var modes = "default,realtime"

    @Option(help: "Measured seconds per run (after the warm-up).")
    var seconds = 5.0

    @Option(help: "Warm-up seconds per run.")
    var warmup = 1.5

    @Option(help: "Runs per point and mode.")
    var runs = 3

    @Option(help: "Mean seconds between simulated uses per lock (actuations stream 1 kHz traces).")
    var activity = 2.0

    @Option(help: "How the loop reaches the locks: serial (ptys), ble (GATT with the LDP service, over the seqpacket seam), ble-standard (GATT with only Battery and Device Information).")
    var transport = "serial"

    @Flag(help: "Run cyclictest (Debian rt-tests) beside each run at the same rate and scheduling.")
    var cyclictest = false

    @Option(help: "cyclictest's timer slack, ns (the loop thread's is 1; Linux's default is 50000).")
    var cyclictestSlackNs = 1

    @Option(help: "Write every run as JSON to this file.")
    var json: String?

    @Option(help: "The simulated locks' dialect: ldp, tuya or tuya-lowpower (lockdiag then plays their Tuya module).")
    var dialect = "ldp"

    @Option(help: "Record every link's bytes to this pcapng file while measuring, as lockdiagd --record does.")
    var record: String?

    mutating func run() throws {
        let chosen: [Point]
        if let locks {
            chosen = locks.split(separator: ",").compactMap { Int($0).flatMap { Point("\($0)@\(pollHz)", defaultHz: pollHz) } }
        } else {
            chosen = points.split(separator: ",").compactMap { Point($0, defaultHz: pollHz) }
        }
        let chosenModes = modes.split(separator: ",").compactMap { Mode(rawValue: String($0)) }
        guard !chosen.isEmpty, !chosenModes.isEmpty else {
            throw ValidationError("--points wants locks@Hz (e.g. 16@1000) and --modes default and/or realtime")
        }
        let interposed = interposerIsPreloaded()
        if interposed {
            MallocInterposerSwift.setAllocationHook(allocationHook)
        } else {
            print("note: malloc interposer not preloaded; allocations are not measured (use `make bench`)")
        }
        // cyclictest inherits the spawning thread's timer slack (prctl(2): a child takes its
        // parent's), so it sleeps with the same slack as the loop thread unless told otherwise.
        _ = Realtime.setTimerSlack(nanoseconds: UInt(max(1, cyclictestSlackNs)))
        var results: [RunResult] = []
        print("poll loop over \(transport), \(seconds) s (after \(warmup) s warm-up) × \(runs) runs per point and mode, activity every ~\(activity) s per lock")
        for point in chosen {
            for mode in chosenModes {
                print("\(point), \(mode == .realtime ? "--realtime" : "default scheduling"):")
                for run in 1...runs {
                    let result = try measure(point: point, mode: mode, run: run, interposed: interposed)
                    results.append(result)
                    printRun(result)
                }
            }
        }
        printSummary(results, points: chosen, modes: chosenModes)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(results).write(to: URL(fileURLWithPath: json))
        }
        // docs/architecture.md § Threads promises a loop that allocates nothing per cycle; this
        // benchmark is what keeps that promise (docs/promises.md), so it fails when it is broken.
        let allocating = results.filter { ($0.loopAllocations ?? 0) > 0 }
        if !allocating.isEmpty {
            print("FAIL: the poll loop allocated in \(allocating.count) of \(results.count) runs (" +
                  allocating.map { "\($0.point) \($0.mode): \($0.loopAllocations!)" }.joined(separator: ", ") +
                  "); it must allocate nothing per cycle (docs/architecture.md § Threads)")
            throw ExitCode(3)
        }
    }

    func printRun(_ r: RunResult) {
        let allocations = r.allocationsPerCycle.map { String(format: "%.3f/cycle (%d)", $0, r.loopAllocations!) } ?? "n/a"
        var line = String(format: "  run %d: loop p50 %4d µs  p99 %5d µs  max %6d µs  cycles %6d  overruns %d  frames %7d  allocations %@",
                          r.run, Int(r.p50), Int(r.p99), Int(r.max), Int(r.cycles), Int(r.overruns), Int(r.frames), allocations)
        if let c = r.cyclictest {
            line += String(format: "\n         cyclictest p50 %4d µs  p99 %5d µs  max %6d µs  samples %6d   loop/cyclictest p99 %.2f×",
                           c.p50, c.p99, c.max, c.samples, r.ratio!)
        } else if let failure = r.cyclictestFailure {
            line += "\n         cyclictest: \(failure)"
        }
        line += String(format: "\n         CPU: loop thread %.2f µs/lock-poll (%.2f wake-ups/lock-poll), daemon %.2f µs/lock-poll = %.1f %% of one core (process with simulators %.1f %%)",
                       Double(r.cpu.loopThread) / 1000 / Double(max(r.lockPolls, 1)), Double(r.cpu.loopWakeUps) / Double(max(r.lockPolls, 1)),
                       Double(r.cpu.daemonThreads) / 1000 / Double(max(r.lockPolls, 1)),
                       100 * Double(r.cpu.daemonThreads) / (r.seconds * 1e9), 100 * Double(r.cpu.process) / (r.seconds * 1e9))
        print(line)
        for missing in r.realtimeMissing { print("         realtime NOT granted: \(missing)") }
    }

    func printSummary(_ results: [RunResult], points: [Point], modes: [Mode]) {
        func median<T: Comparable>(_ values: [T]) -> T? { values.isEmpty ? nil : values.sorted()[values.count / 2] }
        func spread<T: Comparable>(_ values: [T], _ format: (T) -> String) -> String {
            guard let lo = values.min(), let hi = values.max() else { return "n/a" }
            return "\(format(median(values)!)) (\(format(lo))–\(format(hi)))"
        }
        print("\nmedian (min–max) over runs; lateness = wake-up minus deadline, µs; CPU per lock-poll, µs:")
        for point in points {
            for mode in modes {
                let r = results.filter { $0.point == point && $0.mode == mode }
                guard !r.isEmpty else { continue }
                let polls = r.map { max(Double($0.lockPolls), 1) }
                print("\(point), \(mode):")
                print("  loop p50 \(spread(r.map(\.p50)) { "\($0)" })  p99 \(spread(r.map(\.p99)) { "\($0)" })  max \(r.map(\.max).max()!)")
                let c = r.compactMap(\.cyclictest)
                if !c.isEmpty {
                    print("  cyclictest p50 \(spread(c.map(\.p50)) { "\($0)" })  p99 \(spread(c.map(\.p99)) { "\($0)" })  [\(c[0].arguments.joined(separator: " "))]")
                    print("  loop p99 / cyclictest p99: \(spread(r.compactMap(\.ratio)) { String(format: "%.2f×", $0) })  (target ≤ 1.20×)")
                } else if let failure = r.compactMap(\.cyclictestFailure).first {
                    print("  cyclictest: \(failure)")
                }
                print("  CPU: loop thread \(spread(zip(r, polls).map { Double($0.cpu.loopThread) / 1000 / $1 }) { String(format: "%.2f", $0) }) µs/lock-poll " +
                      "(\(spread(zip(r, polls).map { Double($0.cpu.loopWakeUps) / $1 }) { String(format: "%.2f", $0) }) wake-ups/lock-poll), " +
                      "daemon \(spread(zip(r, polls).map { Double($0.cpu.daemonThreads) / 1000 / $1 }) { String(format: "%.2f", $0) }) µs/lock-poll, " +
                      "\(spread(r.map { 100 * Double($0.cpu.daemonThreads) / ($0.seconds * 1e9) }) { String(format: "%.1f", $0) }) % of one core")
                print("  allocations per cycle on the loop thread: \(spread(r.compactMap(\.allocationsPerCycle)) { String(format: "%.4f", $0) })")
                if let missing = r.first(where: { !$0.realtimeMissing.isEmpty })?.realtimeMissing {
                    print("  --realtime NOT granted on this machine, so these are not realtime figures: \(missing.joined(separator: "; "))")
                }
            }
        }
    }

    /// Linking the interposer is not enough: it counts only when LD_PRELOADed. Find out by
    /// counting a known allocation.
    func interposerIsPreloaded() -> Bool {
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        let probe = [Int](repeating: 7, count: 1000)
        MallocInterposerSwift.unhook()
        return probe.count == 1000 && MallocInterposerSwift.getStatistics().mallocCount > 0
    }

    func measure(point: Point, mode: Mode, run: Int, interposed: Bool) throws -> RunResult {
        let count = point.locks
        var configurations = SimulatorConfiguration.fleet(count: count, scenarios: [.healthy], seed: UInt64(run),
                                                          activityIntervalNanoseconds: UInt64(activity * 1e9))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockdiag-bench-\(getpid())-\(count)-\(run)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if transport != "serial" {
            for i in configurations.indices {
                configurations[i].ble = BLEServing(socketPath: directory + "/lock\(i)", services: transport == "ble-standard" ? .standard : .full)
            }
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for i in configurations.indices {
            configurations[i].tuya = dialect == "tuya" ? .standard : dialect == "tuya-lowpower" ? .lowPower : nil
        }
        let simulator = try SimulatorServer(configurations: configurations)
        try simulator.start()
        defer { simulator.stop() }
        var loopConfiguration = PollLoopConfiguration()
        loopConfiguration.pollHz = point.pollHz
        if mode == .realtime {
            // As `lockdiagd --realtime` asks (LockDiagDaemonCommand): pinned to the last CPU.
            var request = RealtimeRequest()
            request.cpu = Int32(max(0, Realtime.onlineCPUs - 1))
            loopConfiguration.realtime = request
        }
        // --record: stopped after the loop (deferred first), so the loop never outlives its recorder.
        let recorder = try record.map { try TrafficRecorder(configuration: RecordingConfiguration(path: $0), version: "bench", logger: Logger(label: "bench")) }
        try recorder?.start()
        defer { recorder?.stop() }
        loopConfiguration.traffic = recorder?.ring
        let loop = try PollLoop(configuration: loopConfiguration)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let hub = Hub(loop: loop, logger: logger)
        for path in simulator.devicePaths {
            if transport != "serial" {
                try hub.addBLEDevice(.attSocket(path: path))
            } else if dialect == "ldp" {
                hub.addSerialDevice(path: path)
            } else {
                try hub.addTuyaDevice(path: path, baudRate: 115_200,
                                      dialect: DialectSpec(kind: dialect == "tuya" ? .tuya : .tuyaLowPower, product: "wifi-lock"))
            }
        }
        try loop.start()
        hub.start()
        defer {
            hub.stop()
            loop.stop()
        }
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + UInt64(warmup * 1e9))
        // The measured window: cyclictest starts first, then the loop's figures start afresh.
        let peer = cyclictest ? Cyclictest(mode: mode, pollHz: point.pollHz, seconds: seconds, directory: directory) : nil
        let spawnFailure = peer?.start()
        loop.resetStatistics()
        let framesBefore = hub.linkStats().reduce(0) { $0 + $1.frames }
        measuredThread.store(loop.threadID, ordering: .relaxed)
        loopAllocations.store(0, ordering: .relaxed)
        let cpuBefore = CPUSample(loopThread: loop.threadID)
        if interposed { MallocInterposerSwift.hook() }
        MonotonicClock.sleep(until: cpuBefore.wallNanoseconds + UInt64(seconds * 1e9))
        if interposed { MallocInterposerSwift.unhook() }
        let cpuAfter = CPUSample(loopThread: loop.threadID)
        let allocations = loopAllocations.load(ordering: .relaxed)
        // Exact figures: give the loop one publish interval, then read.
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 150_000_000)
        let stats = loop.statistics
        let h = stats.lateness
        let frames = hub.linkStats().reduce(0) { $0 + $1.frames } - framesBefore
        let peerResult = spawnFailure == nil ? peer?.finish() : .failure(spawnFailure!)
        let window = Double(cpuAfter.wallNanoseconds - cpuBefore.wallNanoseconds) / 1e9
        return RunResult(point: point, mode: mode, run: run, seconds: window, cycles: stats.cycles, overruns: stats.overruns,
                         p50: h.percentile(0.5), p90: h.percentile(0.9), p99: h.percentile(0.99), max: h.maxMicroseconds,
                         mean: h.meanMicroseconds, frames: frames, loopAllocations: interposed ? allocations : nil,
                         allocationsPerCycle: interposed ? Double(allocations) / Double(max(stats.cycles, 1)) : nil,
                         cpu: cpuAfter.since(cpuBefore), realtimeMissing: loop.realtime?.missing ?? [],
                         cyclictest: try? peerResult?.get(), cyclictestFailure: peerResult.flatMap {
                             if case .failure(let reason) = $0 { return reason.text } else { return nil } })
    }
}

/// CPU time consumed so far by each kind of thread in this process, from
/// /proc/self/task/TID/schedstat (its first field is the thread's time on a CPU in ns:
/// the kernel's Documentation/scheduler/sched-stats.rst) and CLOCK_PROCESS_CPUTIME_ID.
struct CPUSample {
    var wallNanoseconds: UInt64
    var perThread: [Int32: UInt64] = [:]
    var simulatorThreads: Set<Int32> = []
    var loopThread: Int32
    var loopWakeUps: UInt64 = 0
    var process: UInt64

    init(loopThread: Int32) {
        self.loopThread = loopThread
        wallNanoseconds = MonotonicClock.nanoseconds()
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        process = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            guard let tid = Int32(name),
                  let stat = try? String(contentsOfFile: "/proc/self/task/\(name)/schedstat", encoding: .utf8),
                  let onCPU = stat.split(separator: " ").first.flatMap({ UInt64($0) }) else { continue }
            perThread[tid] = onCPU
            if tid == loopThread, let status = try? String(contentsOfFile: "/proc/self/task/\(name)/status", encoding: .utf8),
               let line = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches:") }) {
                loopWakeUps = line.split(separator: "\t").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) } ?? 0
            }
            if let comm = try? String(contentsOfFile: "/proc/self/task/\(name)/comm", encoding: .utf8), comm.hasPrefix("locksim") {
                simulatorThreads.insert(tid)
            }
        }
    }

    func since(_ earlier: CPUSample) -> CPUTimes {
        var times = CPUTimes()
        for (tid, now) in perThread where !simulatorThreads.contains(tid) {
            let used = now - min(now, earlier.perThread[tid] ?? 0)
            times.daemonThreads += used
            if tid == loopThread { times.loopThread = used }
        }
        times.process = process - min(process, earlier.process)
        times.loopWakeUps = loopWakeUps - min(loopWakeUps, earlier.loopWakeUps)
        return times
    }
}

struct CyclictestFailure: Error { var text: String }

/// cyclictest (Debian rt-tests 2.4) beside the loop for one measured window: one measurement
/// thread on clock_nanosleep(TIMER_ABSTIME) at the loop's period, scheduled as the loop is.
/// Options from cyclictest(8) and `cyclictest --help` of rt-tests 2.4:
/// - default scheduling: `--policy=other` and no `-p`. Measured here: `--policy=other -p 0`
///   (the order this bench used before) leaves the measurement thread SCHED_FIFO 2 ("defaulting
///   realtime priority to 2"; /proc/PID/task/TID/stat field 41 reads 1), so that "default"
///   floor was a real-time thread's.
/// - --realtime: `--policy=fifo -p` the loop's SCHED_FIFO priority and `-m` (mlockall), as the
///   loop gets.
/// - both: `--default-system`, so cyclictest does not hold /dev/cpu_dma_latency itself; the loop
///   holds it under --realtime, so both see the same PM QoS in the same window. Its timer slack
///   is the bench's (set to the loop thread's 1 ns by --cyclictest-slack-ns).
/// - `-q -h 10000`: quiet, a 1 µs histogram to 10 ms (later samples count as overflows).
final class Cyclictest {
    let arguments: [String]
    let process = Process()
    let outputPath: String
    let errorPath: String

    init(mode: Mode, pollHz: Int, seconds: Double, directory: String) {
        var arguments = ["-q", "--default-system", "-i", "\(1_000_000 / pollHz)", "-l", "\(Int(seconds * Double(pollHz)))", "-h", "10000"]
        switch mode {
        case .default: arguments += ["--policy=other"]
        case .realtime: arguments += ["--policy=fifo", "-p", "\(RealtimeRequest().fifoPriority)", "-m"]
        }
        self.arguments = arguments
        outputPath = directory + "/cyclictest.out"
        errorPath = directory + "/cyclictest.err"
    }

    func start() -> CyclictestFailure? {
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/cyclictest")
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        do { try process.run() } catch {
            return CyclictestFailure(text: "not started (apt-get install rt-tests): \(error)")
        }
        return nil
    }

    func finish() -> Result<CyclictestResult, CyclictestFailure> {
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let reason = errors.split(separator: "\n").filter { !$0.hasPrefix("WARN") }.joined(separator: "; ")
            return .failure(CyclictestFailure(text: "exited \(process.terminationStatus): \(reason)"))
        }
        var histogram: [(Int, Int)] = []
        var maximum = 0
        var overflows = 0
        for line in output.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("# Max Latencies:"), let v = fields.last.flatMap({ Int($0) }) { maximum = v }
            if line.hasPrefix("# Histogram Overflows:"), let v = fields.last.flatMap({ Int($0) }) { overflows = v }
            if !line.hasPrefix("#"), fields.count >= 2, let us = Int(fields[0]), let n = Int(fields[1]), n > 0 { histogram.append((us, n)) }
        }
        let total = histogram.reduce(0) { $0 + $1.1 } + overflows
        guard total > 0 else { return .failure(CyclictestFailure(text: "no samples: \(errors)")) }
        // Bucket n holds [n, n+1) µs and reads n, as the loop's 1 µs buckets do.
        func percentile(_ f: Double) -> Int {
            var seen = 0
            for (us, n) in histogram {
                seen += n
                if Double(seen) >= Double(total) * f { return us }
            }
            return maximum
        }
        return .success(CyclictestResult(arguments: arguments, samples: total, p50: percentile(0.5), p99: percentile(0.99), max: maximum))
    }
}
