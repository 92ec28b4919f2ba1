// The USB link's benchmark (`make bench-usb`): the real poll loop, hub and vendor-bulk
// USBBulkPort with its libusb event thread, against a lock faked by umockdev that answers a
// long URB script (scripts/gen-usb-bench-ioctl.py). It counts heap allocations on the poll-loop
// thread per steady-state cycle (ordo-one/malloc-interposer's hook, as lockdiag-bench does) —
// the claim that USB leaves the loop allocation-free — and, for comparison, on the USB event
// thread per exchange (libusb allocates per transfer; that is why it has a thread of its own).
// Under umockdev a transfer completes as soon as it is reaped, so the exchange rate is the
// poll rate and the figures say nothing about USB latency: they are about the loop.

import ArgumentParser
import CLockDiagSys
import Foundation
import LinuxIO
import LockDaemon
import Logging
import MallocInterposerSwift
import Synchronization
import USBTransport

let loopThread = Atomic<Int32>(0)
let usbThread = Atomic<Int32>(0)
let loopAllocations = Atomic<Int>(0)
let usbAllocations = Atomic<Int>(0)

/// Runs on the allocating thread inside malloc: it must not allocate.
let allocationHook: MallocInterposerSwift.AllocationHook = { _ in
    let tid = lockdiag_gettid()
    if tid == loopThread.load(ordering: .relaxed) { loopAllocations.add(1, ordering: .relaxed) }
    if tid == usbThread.load(ordering: .relaxed) { usbAllocations.add(1, ordering: .relaxed) }
}

@main
struct USBLinkBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockdiag-usb-bench",
        abstract: "Measures allocations on the poll-loop thread with a vendor-bulk USB lock attached.",
        discussion: "Run via `make bench-usb` (umockdev-run with a generated URB script, malloc interposer preloaded).")

    @Option(help: "The faked lock's USB port path.")
    var port = "1-3"

    @Option(help: "Measured seconds per run (after the lock answered and a 1 s warm-up).")
    var seconds = 10.0

    @Option(help: "Runs.")
    var runs = 3

    @Option(help: "Poll rate, Hz.")
    var pollHz = 50

    mutating func run() throws {
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        let probe = [Int](repeating: 7, count: 1000)
        MallocInterposerSwift.unhook()
        let interposed = probe.count == 1000 && MallocInterposerSwift.getStatistics().mallocCount > 0
        if interposed { MallocInterposerSwift.setAllocationHook(allocationHook) } else {
            print("note: malloc interposer not preloaded; allocations are not measured (use `make bench-usb`)")
        }
        print("USB lock at port \(port), poll loop at \(pollHz) Hz, \(seconds) s × \(runs) runs")
        for run in 1...runs { try measure(run: run, interposed: interposed) }
    }

    func measure(run: Int, interposed: Bool) throws {
        let usb = try USBContext()
        defer { usb.stop() }
        var configuration = PollLoopConfiguration()
        configuration.pollHz = pollHz
        let loop = try PollLoop(configuration: configuration)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let hub = Hub(loop: loop, logger: logger)
        guard let address = USBAddress.parsePort(port), let slot = hub.addUSBDevice(address: address, context: usb) else {
            throw ValidationError("--port takes a port path such as 1-3")
        }
        try loop.start()
        hub.start()
        defer {
            hub.stop()
            loop.stop()
        }
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        while hub.status(of: slot)?.updatedAt == nil {
            guard MonotonicClock.nanoseconds() < deadline else { throw ValidationError("the USB lock at \(port) did not answer within 10 s") }
            MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 20_000_000)
        }
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 1_000_000_000)
        loop.resetStatistics()
        let before = hub.linkStats()[0]
        loopThread.store(loop.threadID, ordering: .relaxed)
        usbThread.store(usb.threadID, ordering: .relaxed)
        loopAllocations.store(0, ordering: .relaxed)
        usbAllocations.store(0, ordering: .relaxed)
        if interposed { MallocInterposerSwift.hook() }
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + UInt64(seconds * 1e9))
        if interposed { MallocInterposerSwift.unhook() }
        let inLoop = loopAllocations.load(ordering: .relaxed)
        let inUSB = usbAllocations.load(ordering: .relaxed)
        // The loop's figures are at most 100 ms old; the USB counters are live.
        let cycles = loop.statistics.cycles
        let exchanges = (hub.linkStats()[0].usb?.exchanges ?? 0) - (before.usb?.exchanges ?? 0)
        // Frame and timeout counts are published once a second: wait for the ones covering the
        // window (they then include up to a second more).
        MonotonicClock.sleep(until: MonotonicClock.nanoseconds() + 1_100_000_000)
        let after = hub.linkStats()[0]
        let frames = after.frames - before.frames
        let timeouts = after.timeouts - before.timeouts
        let measured = interposed
            ? String(format: "loop allocations %d (%.4f/cycle)  USB thread allocations %d (%.1f/exchange)", inLoop,
                     Double(inLoop) / Double(max(cycles, 1)), inUSB, Double(inUSB) / Double(max(exchanges, 1)))
            : "allocations not measured"
        print(String(format: "  run %d: cycles %d  exchanges %d  frames ~%d  timeouts ~%d  %@", run, Int(cycles), Int(exchanges), Int(frames),
                     Int(timeouts), measured))
    }
}
