import LinuxIO
import LockProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The server thread's own state: the locks and their ptys. Created on that
/// thread and never shared, which is what keeps the non-Sendable `SimulatedLock`s safe.
final class ServerLoop {
    /// One lock and the cable it hangs on.
    private struct Slot {
        let lock: SimulatedLock
        var pty: PseudoTerminal?
        var outputBytesDropped: UInt64 = 0
    }

    /// The loop wakes at least this often even when no lock asks to.
    static let maxTimeoutMilliseconds: Int32 = 1000
    private static let doorbellToken: UInt64 = 0

    private let shared: ServerShared
    private let links: DeviceLinks?
    private var slots: [Slot]
    private let epoll: Epoll?
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)

    init(configurations: [SimulatorConfiguration], ptys: [PseudoTerminal], links: DeviceLinks?, shared: ServerShared) {
        self.shared = shared
        self.links = links
        let now = MonotonicClock.nanoseconds()
        slots = zip(configurations, ptys).map { Slot(lock: SimulatedLock(configuration: $0, now: now), pty: $1) }
        epoll = try? Epoll(capacity: 64)
    }

    deinit { readBuffer.deallocate() }

    func run() {
        guard let epoll else {
            shutDown()
            return
        }
        do throws(SystemError) {
            try epoll.add(shared.doorbell.fd, events: .readable, token: Self.doorbellToken)
            for index in slots.indices {
                if let pty = slots[index].pty { try epoll.add(pty.master, events: .readable, token: token(index)) }
            }
        } catch {
            shutDown()
            return
        }
        while shared.control.withLock({ $0.running }) {
            let timeout = timeoutMilliseconds(now: MonotonicClock.nanoseconds())
            var ready: [(UInt64, Epoll.Events)] = []
            do throws(SystemError) {
                try epoll.wait(timeoutMilliseconds: timeout) { token, events in ready.append((token, events)) }
            } catch {
                break
            }
            let now = MonotonicClock.nanoseconds()
            for (token, events) in ready {
                if token == Self.doorbellToken {
                    shared.doorbell.drain()
                    runCommands(now: now)
                } else {
                    let index = Int(token - 1)
                    guard slots.indices.contains(index), slots[index].pty != nil else { continue }
                    if events.contains(.readable) { readRequests(index, now: now) }
                }
            }
            for index in slots.indices { deliver(index, now: now) }
        }
        shutDown()
    }

    private func token(_ index: Int) -> UInt64 { UInt64(index + 1) }

    /// Until the earliest lock wants waking, rounded up to whole milliseconds.
    private func timeoutMilliseconds(now: UInt64) -> Int32 {
        var wake = UInt64.max
        for slot in slots { wake = min(wake, slot.lock.nextWakeNanoseconds) }
        if wake <= now { return 0 }
        let milliseconds = (wake - now + 999_999) / 1_000_000
        return Int32(min(UInt64(Self.maxTimeoutMilliseconds), milliseconds))
    }

    private func readRequests(_ index: Int, now: UInt64) {
        guard let master = slots[index].pty?.master else { return }
        while true {
            let result: IOResult
            do throws(SystemError) {
                result = try FileIO.read(master, into: readBuffer)
            } catch {
                return
            }
            guard case .bytes(let n) = result else { return }
            slots[index].lock.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), now: now)
        }
    }

    /// Advances the lock and puts what it sent on the line.
    ///
    /// A UART transmits at line rate whether or not anyone listens, so whatever the pty does
    /// not take now is lost, as bytes are when a host's receive buffer overflows. The kernel
    /// already buffers ~16 KiB per pty (1.5 s of a saturated 115200 link), and a client that
    /// opens the device flushes that with its termios set-up; a queue of our own would only
    /// deliver stale frames after that flush.
    private func deliver(_ index: Int, now: UInt64) {
        slots[index].lock.advance(to: now)
        guard slots[index].lock.pendingOutputByteCount > 0 else { return }
        let bytes = slots[index].lock.takeOutput()
        guard let master = slots[index].pty?.master else { return }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SystemError) -> IOResult in try FileIO.write(master, raw) }
        }
        if case .success(.bytes(let n)) = result {
            slots[index].outputBytesDropped += UInt64(bytes.count - n)
        } else {
            slots[index].outputBytesDropped += UInt64(bytes.count)
        }
    }

    // MARK: Commands

    private func runCommands(now: UInt64) {
        let commands = shared.control.withLock { state in
            defer { state.commands.removeAll() }
            return state.commands
        }
        for pending in commands {
            pending.completion.complete(execute(pending.command, now: now))
        }
    }

    private func execute(_ command: ServerCommand, now: UInt64) -> CommandOutcome {
        // Control acts at the lock's present: bring it there first.
        for slot in slots { slot.lock.advance(to: now) }
        switch command {
        case .setScenario(let scenario, let index):
            for i in slots.indices where index == nil || index == i { slots[i].lock.setScenario(scenario) }
            return .done
        case .hang(let index):
            slots[index].lock.hang()
            return .done
        case .resume(let index):
            slots[index].lock.resume()
            return .done
        case .hangMidFrame(let index):
            slots[index].lock.hangMidFrame()
            return .done
        case .bitErrors(let index, let rate):
            slots[index].lock.setBitErrorRate(rate)
            return .done
        case .flood(let index, let framesPerSecond):
            slots[index].lock.flood(framesPerSecond: framesPerSecond)
            return .done
        case .actuate(let index, let direction):
            return .actuation(slots[index].lock.trigger(actuation: direction))
        case .touchFinger(let index):
            return .accepted(slots[index].lock.touchFinger())
        case .tamper(let index, let cause):
            slots[index].lock.raiseTamper(cause: cause)
            return .done
        case .unplug(let index):
            guard slots[index].pty != nil else { return .failed(.alreadyUnplugged(index)) }
            unplug(index)
            return .done
        case .replug(let index):
            guard slots[index].pty == nil else { return .failed(.alreadyPlugged(index)) }
            do throws(SystemError) {
                try replug(index)
                return .done
            } catch {
                return .failed(.system(error))
            }
        case .snapshot:
            return .snapshots(slots.indices.map(snapshot))
        }
    }

    private func unplug(_ index: Int) {
        guard let pty = slots[index].pty else { return }
        epoll?.remove(pty.master)
        pty.close()
        slots[index].pty = nil
        links?.remove(lock: index)
    }

    private func replug(_ index: Int) throws(SystemError) {
        let pty = try PseudoTerminal.open()
        do throws(SystemError) {
            try epoll?.add(pty.master, events: .readable, token: token(index))
            try links?.point(lock: index, at: pty.slavePath)
        } catch {
            epoll?.remove(pty.master)
            pty.close()
            throw error
        }
        slots[index].pty = pty
        let path = links?.path(forLock: index) ?? pty.slavePath
        shared.control.withLock { $0.devicePaths[index] = path }
    }

    private func snapshot(_ index: Int) -> LockSnapshot {
        let slot = slots[index]
        let lock = slot.lock
        return LockSnapshot(
            index: index, devicePath: links?.path(forLock: index) ?? slot.pty?.slavePath ?? shared.control.withLock { $0.devicePaths[index] },
            ptyPath: slot.pty?.slavePath, serial: lock.configuration.serial, scenario: lock.scenario, bolt: lock.bolt,
            batteryMillivolts: lock.batteryMillivolts, batteryPercent: lock.batteryPercent,
            activeFaults: UInt8(lock.faultRecords.filter { $0.status.contains(.testFailed) }.count),
            isOnline: slot.pty != nil, isHung: lock.isHung, counters: lock.counters, outputBytesDropped: slot.outputBytesDropped,
            injected: lock.injectedFaults)
    }

    /// Closes everything; commands that arrived too late are told the server is gone.
    private func shutDown() {
        for index in slots.indices { unplug(index) }
        epoll?.close()
        let late = shared.control.withLock { state in
            defer { state.commands.removeAll() }
            state.running = false
            return state.commands
        }
        for pending in late { pending.completion.complete(.failed(.notRunning)) }
    }
}
