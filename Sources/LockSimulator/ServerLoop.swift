import BLEProtocol
import LinuxIO
import LockProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The server thread's own state: the locks and their ptys. Created on that
/// thread and never shared, which is what keeps the non-Sendable `SimulatedLock`s safe.
final class ServerLoop {
    /// One lock and the cable (or radio) it hangs on.
    private struct Slot {
        let lock: SimulatedLock
        var pty: PseudoTerminal?
        /// A lock served over Bluetooth LE instead of a pty.
        var radio: GATTPeripheral?
        var outputBytesDropped: UInt64 = 0
        /// The Tuya head, for a lock that speaks Tuya (TuyaLockFirmware.swift).
        var tuya: TuyaLockFirmware?
        /// A tap's module side: the emulated module and the pty its bytes are mirrored to; `pty`
        /// then carries what the MCU sends.
        var module: TuyaModuleEmulator?
        var modulePty: PseudoTerminal?
        /// An existing tty the lock is served on instead of a pty (`locksim --tty`).
        var tty: TTYLine?

        /// Plugged in (pty or tty open), or in range (radio listening).
        var isOnline: Bool { radio.map { $0.listener >= 0 } ?? tty.map(\.isOpen) ?? (pty != nil) }

        /// The descriptor the lock's bytes go through: the pty's master, or the open tty.
        var line: Int32? { pty?.master ?? tty.flatMap { $0.isOpen ? $0.fd : nil } }
    }

    /// The loop wakes at least this often even when no lock asks to.
    static let maxTimeoutMilliseconds: Int32 = 1000
    private static let doorbellToken: UInt64 = 0

    private let shared: ServerShared
    private let links: DeviceLinks?
    private var slots: [Slot]
    private let epoll: Epoll?
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)

    /// `ptys[i]` serves a pty lock; `listeners[i]` (a listening seqpacket socket) a BLE one;
    /// `modulePtys[i]` a Tuya tap's module side.
    init(configurations: [SimulatorConfiguration], ptys: [PseudoTerminal?], listeners: [Int32], links: DeviceLinks?, shared: ServerShared,
         modulePtys: [PseudoTerminal?] = []) {
        self.shared = shared
        self.links = links
        let now = MonotonicClock.nanoseconds()
        slots = configurations.indices.map { i in
            let c = configurations[i]
            return Slot(lock: SimulatedLock(configuration: c, now: now), pty: ptys[i],
                        radio: c.ble.map { GATTPeripheral(serving: $0, values: c.gattValues, listener: listeners[i], path: shared.control.withLock { $0.devicePaths[i] }) },
                        tty: c.ttyPath.map(TTYLine.init(path:)))
        }
        for index in slots.indices {
            guard let variant = configurations[index].tuya else { continue }
            slots[index].tuya = TuyaLockFirmware(lock: slots[index].lock, variant: variant, pid: configurations[index].tuyaPID)
            if configurations[index].tuyaTap {
                slots[index].module = TuyaModuleEmulator(variant: variant)
                slots[index].modulePty = index < modulePtys.count ? modulePtys[index] : nil
            }
        }
        epoll = try? Epoll(capacity: 192)
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
                if let radio = slots[index].radio, radio.listener >= 0 {
                    try epoll.add(radio.listener, events: .readable, token: token(index) | Self.listenerFlag)
                }
            }
        } catch {
            shutDown()
            return
        }
        while shared.control.withLock({ $0.running }) {
            reopenTTYs(now: MonotonicClock.nanoseconds())
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
                } else if token & Self.listenerFlag != 0 {
                    accept(Int(token & 0xFFFF_FFFF) - 1)
                } else if token & Self.connectionFlag != 0 {
                    serveRadio(Int(token & 0xFFFF_FFFF) - 1, now: now, hungUp: !events.isDisjoint(with: [.hangUp, .error]))
                } else {
                    let index = Int(token - 1)
                    guard slots.indices.contains(index), slots[index].line != nil else { continue }
                    // A hung-up tty reports EPOLLHUP (a raw tty's read returns 0 whenever it is
                    // empty, so only the hang-up tells the two apart).
                    if slots[index].tty != nil && !events.isDisjoint(with: [.hangUp, .error]) {
                        hangUpTTY(index, now: now)
                    } else if events.contains(.readable) {
                        readRequests(index, now: now)
                    }
                }
            }
            for index in slots.indices { deliver(index, now: now) }
            for slot in slots { slot.radio?.advertiseIfDue(now: now) }
        }
        shutDown()
    }

    private func token(_ index: Int) -> UInt64 { UInt64(index + 1) }
    private static let listenerFlag: UInt64 = 1 << 32
    private static let connectionFlag: UInt64 = 1 << 33

    // MARK: Bluetooth LE

    private func accept(_ index: Int) {
        guard slots.indices.contains(index), let radio = slots[index].radio, let fd = radio.accept() else { return }
        do throws(SystemError) {
            try epoll?.add(fd, events: [.readable, .readHangUp], token: token(index) | Self.connectionFlag)
        } catch {
            radio.disconnect()
        }
    }

    private func serveRadio(_ index: Int, now: UInt64, hungUp: Bool) {
        guard slots.indices.contains(index), let radio = slots[index].radio else { return }
        let lock = slots[index].lock
        let connection = radio.connection
        let stillConnected = radio.serve(hung: lock.isHung, hungUp: hungUp, batteryPercent: lock.batteryPercent) { bytes in
            bytes.withUnsafeBytes { lock.receive($0, now: now) }
        }
        if !stillConnected && connection >= 0 { epoll?.remove(connection) }
    }

    /// A BLE lock's output: LDP bytes as notifications (lost while nobody enabled them, as a
    /// UART's bytes are when nobody listens), and Battery Level when it changed.
    private func deliverRadio(_ index: Int, _ radio: GATTPeripheral, output: [UInt8]) {
        let lock = slots[index].lock
        guard radio.connection >= 0, !lock.isHung else {
            slots[index].outputBytesDropped += UInt64(output.count)
            return
        }
        let notifications = radio.server.notifyLDP(output)
        if notifications.isEmpty && !radio.server.serving.ldpIndicates { slots[index].outputBytesDropped += UInt64(output.count) }
        let before = radio.notificationsDropped
        for pdu in notifications { radio.send(pdu) }
        slots[index].outputBytesDropped += (radio.notificationsDropped - before) * UInt64(LDPGATT.chunkSize(mtu: radio.server.mtu))
        if let battery = radio.server.notifyBattery(lock.batteryPercent) { radio.send(battery) }
    }

    /// Until the earliest lock wants waking, rounded up to whole milliseconds.
    private func timeoutMilliseconds(now: UInt64) -> Int32 {
        var wake = UInt64.max
        for slot in slots { wake = min(wake, slot.lock.nextWakeNanoseconds) }
        // A Tuya head retransmits and a tap's module paces itself in fractions of a second.
        if slots.contains(where: { $0.tuya != nil }) { wake = min(wake, now &+ 50_000_000) }
        for slot in slots { if let tty = slot.tty, !tty.isOpen { wake = min(wake, tty.retryAt) } }
        if wake <= now { return 0 }
        let milliseconds = (wake - now + 999_999) / 1_000_000
        return Int32(min(UInt64(Self.maxTimeoutMilliseconds), milliseconds))
    }

    private func readRequests(_ index: Int, now: UInt64) {
        guard let master = slots[index].line else { return }
        while true {
            let result: IOResult
            do throws(SystemError) {
                result = try FileIO.read(master, into: readBuffer)
            } catch {
                return
            }
            guard case .bytes(let n) = result else { return }
            // A tap's line carries nothing toward the simulator; a client writing there is ignored.
            if slots[index].module != nil { continue }
            if let tuya = slots[index].tuya {
                tuya.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), now: now)
                continue
            }
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
        if let tuya = slots[index].tuya {
            deliverTuya(index, tuya: tuya, now: now)
            return
        }
        slots[index].lock.advance(to: now)
        if let radio = slots[index].radio {
            let bytes = slots[index].lock.pendingOutputByteCount > 0 ? slots[index].lock.takeOutput() : []
            deliverRadio(index, radio, output: bytes)
            return
        }
        guard slots[index].lock.pendingOutputByteCount > 0 else { return }
        let bytes = slots[index].lock.takeOutput()
        guard let master = slots[index].line else {
            slots[index].outputBytesDropped += UInt64(bytes.count)
            return
        }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SystemError) -> IOResult in try FileIO.write(master, raw) }
        }
        if case .success(.bytes(let n)) = result {
            slots[index].outputBytesDropped += UInt64(bytes.count - n)
        } else {
            slots[index].outputBytesDropped += UInt64(bytes.count)
        }
    }

    /// The Tuya head's output; for a tap, the emulated module's exchange with it, each
    /// direction mirrored to its own pty.
    private func deliverTuya(_ index: Int, tuya: TuyaLockFirmware, now: UInt64) {
        tuya.advance(to: now)
        if let module = slots[index].module {
            module.advance(to: now)
            let toMCU = module.takeOutput()
            if !toMCU.isEmpty {
                tuya.receive(toMCU, now: now)
                _ = write(toMCU, to: slots[index].pty == nil ? nil : slots[index].modulePty)
            }
            let toModule = tuya.takeOutput()
            if !toModule.isEmpty {
                module.receive(toModule)
                slots[index].outputBytesDropped += UInt64(toModule.count - write(toModule, to: slots[index].pty))
            }
            return
        }
        let bytes = tuya.takeOutput()
        guard !bytes.isEmpty else { return }
        slots[index].outputBytesDropped += UInt64(bytes.count - write(bytes, to: slots[index].pty))
    }

    /// Puts bytes on a pty as a UART would: what it does not take now is lost. Returns what it took.
    private func write(_ bytes: [UInt8], to pty: PseudoTerminal?) -> Int {
        guard let master = pty?.master else { return 0 }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SystemError) -> IOResult in try FileIO.write(master, raw) }
        }
        if case .success(.bytes(let n)) = result { return n }
        return 0
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
        case .door(let index, let open):
            slots[index].lock.doorOpen = open
            return .done
        case .unplug(let index) where slots[index].tty != nil, .replug(let index) where slots[index].tty != nil:
            return .failed(.externalLine(index, path: slots[index].tty?.path ?? ""))
        case .unplug(let index):
            guard slots[index].isOnline else { return .failed(.alreadyUnplugged(index)) }
            unplug(index)
            return .done
        case .replug(let index):
            guard !slots[index].isOnline else { return .failed(.alreadyPlugged(index)) }
            do throws(SimulatorError) {
                try replug(index)
                return .done
            } catch {
                return .failed(error)
            }
        case .snapshot:
            return .snapshots(slots.indices.map(snapshot))
        }
    }

    private func unplug(_ index: Int) {
        if slots[index].tty != nil {
            hangUpTTY(index, now: 0)
            return
        }
        if let radio = slots[index].radio {
            if radio.connection >= 0 { epoll?.remove(radio.connection) }
            if radio.listener >= 0 { epoll?.remove(radio.listener) }
            radio.stopListening()
            return
        }
        if index < slots.count, let modulePty = slots[index].modulePty, shared.control.withLock({ !$0.running }) {
            modulePty.close()
            slots[index].modulePty = nil
            links?.remove(module: index)
        }
        guard let pty = slots[index].pty else { return }
        // The link first: a client that sees the hang-up and reopens the link at once must not
        // reach /dev/pts/N, a number the next pty opened on this machine may take.
        links?.remove(lock: index)
        epoll?.remove(pty.master)
        pty.close()
        slots[index].pty = nil
    }

    /// The tty hung up (a USB gadget unplugged): close it; `reopenTTYs` opens it again.
    private func hangUpTTY(_ index: Int, now: UInt64) {
        guard let fd = slots[index].line else { return }
        epoll?.remove(fd)
        slots[index].tty?.hangUp(now: now)
    }

    /// Reopens each hung-up tty when its retry is due.
    private func reopenTTYs(now: UInt64) {
        for index in slots.indices where slots[index].tty.map({ !$0.isOpen }) ?? false {
            guard slots[index].tty?.reopenIfDue(now: now) == true, let fd = slots[index].line else { continue }
            do throws(SystemError) {
                try epoll?.add(fd, events: .readable, token: token(index))
            } catch {
                slots[index].tty?.hangUp(now: now)
            }
        }
    }

    private func replug(_ index: Int) throws(SimulatorError) {
        if let radio = slots[index].radio {
            try radio.listen()
            do throws(SystemError) {
                try epoll?.add(radio.listener, events: .readable, token: token(index) | Self.listenerFlag)
            } catch {
                radio.stopListening()
                throw .system(error)
            }
            return
        }
        let pty: PseudoTerminal
        do { pty = try PseudoTerminal.open() } catch { throw .system(error) }
        do throws(SystemError) {
            try epoll?.add(pty.master, events: .readable, token: token(index))
            try links?.point(lock: index, at: pty.slavePath)
        } catch {
            epoll?.remove(pty.master)
            pty.close()
            throw .system(error)
        }
        slots[index].pty = pty
        let path = links?.path(forLock: index) ?? pty.slavePath
        shared.control.withLock { $0.devicePaths[index] = path }
    }

    private func snapshot(_ index: Int) -> LockSnapshot {
        let slot = slots[index]
        let lock = slot.lock
        return LockSnapshot(
            index: index, devicePath: slot.radio?.path ?? slot.tty?.path ?? links?.path(forLock: index) ?? slot.pty?.slavePath ?? shared.control.withLock { $0.devicePaths[index] },
            ptyPath: slot.pty?.slavePath ?? slot.tty.flatMap { $0.isOpen ? $0.path : nil }, serial: lock.configuration.serial, scenario: lock.scenario, bolt: lock.bolt,
            batteryMillivolts: lock.batteryMillivolts, batteryPercent: lock.batteryPercent,
            activeFaults: UInt8(lock.faultRecords.filter { $0.status.contains(.testFailed) }.count),
            isOnline: slot.isOnline, isHung: lock.isHung, counters: lock.counters, outputBytesDropped: slot.outputBytesDropped,
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
