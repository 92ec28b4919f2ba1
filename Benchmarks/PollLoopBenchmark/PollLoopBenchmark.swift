// The poll loop's benchmark (see README, "Benchmarks"): wake-up lateness p50/p99/max of the
// real loop polling N simulated locks over real ptys, with the daemon's hub consuming its
// ring, and heap allocations made on the loop thread per steady-state cycle, counted by
// ordo-one/malloc-interposer's per-allocation hook. Run it through `make bench`, which preloads
// the interposer; without it the allocation column says "not measured".

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

struct RunResult: Codable {
    var locks: Int
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
}

@main
struct PollLoopBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiag-bench",
        abstract: "Measures the poll loop: wake-up lateness and allocations per cycle with 1, 16 and 64 simulated locks.",
        discussion: "Run via `make bench` (release build, malloc interposer preloaded). Two cores are shared and noisy: quote the medians over --runs, never one run.")

    @Option(help: "Lock counts to measure, comma-separated.")
    var locks = "1,16,64"

    @Option(help: "Measured seconds per run (after a 2 s warm-up).")
    var seconds = 10.0

    @Option(help: "Runs per lock count.")
    var runs = 3

    @Option(help: "Poll rate, Hz.")
    var pollHz = 50

    @Option(help: "Mean seconds between simulated uses per lock (actuations stream 1 kHz traces).")
    var activity = 2.0

    @Flag(help: "Ask for the --realtime settings.")
    var realtime = false

    @Option(help: "How the loop reaches the locks: serial (ptys), ble (GATT with the LDP service, over the seqpacket seam), ble-standard (GATT with only Battery and Device Information).")
    var transport = "serial"

    @Flag(help: "Also run cyclictest (Debian rt-tests) at the same rate, the machine's own wake-up latency, for comparison.")
    var cyclictest = false

    @Option(help: "Write every run as JSON to this file.")
    var json: String?

    @Option(help: "The simulated locks' dialect: ldp, tuya or tuya-lowpower (lockdiag then plays their Tuya module).")
    var dialect = "ldp"

    @Option(help: "Record every link's bytes to this pcapng file while measuring, as lockdiagd --record does.")
    var record: String?

    mutating func run() throws {
        let counts = locks.split(separator: ",").compactMap { Int($0) }
        let interposed = interposerIsPreloaded()
        if interposed {
            MallocInterposerSwift.setAllocationHook(allocationHook)
        } else {
            print("note: malloc interposer not preloaded; allocations are not measured (use `make bench`)")
        }
        var results: [RunResult] = []
        print("poll loop at \(pollHz) Hz over \(transport), \(seconds) s × \(runs) runs per lock count, activity every ~\(activity) s per lock\(realtime ? ", --realtime" : "")")
        for count in counts {
            for run in 1...runs {
                let result = try measure(locks: count, run: run, interposed: interposed)
                results.append(result)
                print(String(format: "  %2d locks run %d: lateness p50 %4d µs  p99 %5d µs  max %6d µs  cycles %6d  overruns %d  frames %7d  loop allocations %@",
                             count, run, Int(result.p50), Int(result.p99), Int(result.max), Int(result.cycles), Int(result.overruns),
                             Int(result.frames), result.allocationsPerCycle.map { String(format: "%.3f/cycle (%d)", $0, result.loopAllocations!) } ?? "n/a"))
            }
        }
        print("\nmedian over runs (lateness in µs, wake-up time minus deadline):")
        print("locks   p50    p90    p99     max(all runs)   allocations/cycle")
        for count in counts {
            let r = results.filter { $0.locks == count }
            func median(_ values: [UInt64]) -> UInt64 { values.sorted()[values.count / 2] }
            let alloc = r.compactMap(\.allocationsPerCycle)
            print(String(format: "%5d %5d  %5d  %5d  %10d        %@", count, Int(median(r.map(\.p50))), Int(median(r.map(\.p90))),
                         Int(median(r.map(\.p99))), Int(r.map(\.max).max() ?? 0),
                         alloc.isEmpty ? "n/a" : String(format: "%.4f", alloc.sorted()[alloc.count / 2])))
        }
        if cyclictest { runCyclictest() }
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
                  allocating.map { "\($0.locks) locks: \($0.loopAllocations!)" }.joined(separator: ", ") +
                  "); it must allocate nothing per cycle (docs/architecture.md § Threads)")
            throw ExitCode(3)
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

    func measure(locks count: Int, run: Int, interposed: Bool) throws -> RunResult {
        var configurations = SimulatorConfiguration.fleet(count: count, scenarios: [.healthy], seed: UInt64(run),
                                                          activityIntervalNanoseconds: UInt64(activity * 1e9))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockdiag-bench-\(getpid())-\(count)-\(run)").path
        if transport != "serial" {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
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
        loopConfiguration.pollHz = pollHz
        if realtime { loopConfiguration.realtime = RealtimeRequest() }
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
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 2_000_000_000)
        loop.resetStatistics()
        let framesBefore = hub.linkStats().reduce(0) { $0 + $1.frames }
        measuredThread.store(loop.threadID, ordering: .relaxed)
        loopAllocations.store(0, ordering: .relaxed)
        if interposed { MallocInterposerSwift.hook() }
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + UInt64(seconds * 1e9))
        if interposed { MallocInterposerSwift.unhook() }
        let allocations = loopAllocations.load(ordering: .relaxed)
        // Exact figures: give the loop one publish interval, then read.
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 150_000_000)
        let stats = loop.statistics
        let h = stats.lateness
        let frames = hub.linkStats().reduce(0) { $0 + $1.frames } - framesBefore
        return RunResult(locks: count, run: run, seconds: seconds, cycles: stats.cycles, overruns: stats.overruns,
                         p50: h.percentile(0.5), p90: h.percentile(0.9), p99: h.percentile(0.99), max: h.maxMicroseconds,
                         mean: h.meanMicroseconds, frames: frames, loopAllocations: interposed ? allocations : nil,
                         allocationsPerCycle: interposed ? Double(allocations) / Double(max(stats.cycles, 1)) : nil)
    }

    /// The machine's own timer wake-up latency at the same rate, from cyclictest, as the peer
    /// figure ../shared/TESTING.md recommends comparing with.
    func runCyclictest() {
        let interval = 1_000_000 / pollHz
        let loops = Int(seconds * Double(pollHz))
        let arguments = realtime ? ["-q", "-m", "-p", "80", "-i", "\(interval)", "-l", "\(loops)", "-h", "20000"]
            : ["-q", "--policy=other", "-p", "0", "--default-system", "-i", "\(interval)", "-l", "\(loops)", "-h", "20000"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/cyclictest")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        do { try process.run() } catch {
            print("\ncyclictest not available (apt-get install rt-tests): \(error)")
            return
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var histogram: [(Int, Int)] = []
        var maximum = 0
        for line in output.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("# Max Latencies:"), let v = fields.last.flatMap({ Int($0) }) { maximum = v }
            if !line.hasPrefix("#"), fields.count >= 2, let us = Int(fields[0]), let n = Int(fields[1]), n > 0 { histogram.append((us, n)) }
        }
        let total = histogram.reduce(0) { $0 + $1.1 }
        func percentile(_ f: Double) -> Int {
            var seen = 0
            for (us, n) in histogram {
                seen += n
                if Double(seen) >= Double(total) * f { return us }
            }
            return maximum
        }
        print("\ncyclictest \(arguments.joined(separator: " ")): p50 \(percentile(0.5)) µs  p99 \(percentile(0.99)) µs  max \(maximum) µs (\(total) samples)")
    }
}
