import LinuxIO
import LockProtocol
import TuyaProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The loop half of the Tuya driver (firmware-specs/tuya-mcu.md; the hub half is
/// Sources/LockDaemon/Drivers/Tuya/). Active, it plays the module —
/// heartbeats or product-query probes at its own cadence, the start-up queries, acknowledging
/// reports, answering time queries — and retransmits a request twice before it counts a timeout.
/// Passive, it only decodes what it hears, on one line or both, and never writes.
///
/// Every frame (either direction) is published into the ring as a `.tuyaFrame` record: type =
/// command, seq = version, frameKind `.request` for module → MCU, `.event` for MCU → module. The
/// hub interprets them. Like the loop, it allocates nothing after `init`. Loop-thread only.
final class TuyaLinkDriver: LinkDriver {
    let configuration: TuyaLinkConfiguration
    unowned let slot: DeviceSlot
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let tap: TuyaTapLink?
    /// Bytes the lock MCU sent.
    let mcu = TuyaFrameDecoder()
    /// Bytes the module sent (a tap's second line).
    let module = TuyaFrameDecoder()
    private let tx: UnsafeMutableRawBufferPointer
    private var txStart = 0
    private var txEnd = 0
    /// The request awaiting its answer, kept for retransmission.
    private let request: UnsafeMutableRawBufferPointer
    private var requestLength = 0
    private var requestCommand: UInt8 = 0
    private var inFlight = false
    private var attemptsLeft = 0
    private var deadline: UInt64 = 0
    /// Start-up step (0 … `steps`), then steady state.
    private var step = 0
    private var nextKeepAlive: UInt64 = 0
    private var nextDPQuery: UInt64 = 0
    private var lastMCUByte: UInt64 = 0
    private var lastModuleByte: UInt64 = 0

    init(configuration: TuyaLinkConfiguration, slot: DeviceSlot, context: DriverContext) {
        self.configuration = configuration
        self.slot = slot
        readBuffer = context.readBuffer
        tap = slot.link as? TuyaTapLink
        tx = .allocate(byteCount: 4 * Tuya.maxFrameSize, alignment: 16)
        request = .allocate(byteCount: 64, alignment: 16)
    }

    deinit {
        tx.deallocate()
        request.deallocate()
    }

    var isActive: Bool { configuration.role == .active }

    // MARK: Link lifecycle

    func linkOpened(now: UInt64) {
        slot.recordLinkOpened(now: now)
        mcu.reset()
        module.reset()
        txStart = 0
        txEnd = 0
        inFlight = false
        step = 0
        nextKeepAlive = now
        nextDPQuery = now
        lastMCUByte = now
        lastModuleByte = now
        tick(now: now)
    }

    func linkClosed(now: UInt64) {
        mcu.finish { self.rejected($0, now: 0) }
        module.finish { _ in }
        inFlight = false
        copyCounters()
    }

    func updateCounters() { copyCounters() }

    /// The Tuya dialect has no LDP/1 requests; the hub refuses them before they get here.
    func queue(_ command: PendingCommand, now: UInt64) -> Bool { false }

    // MARK: Tick

    func tick(now: UInt64) {
        if mcu.bufferedByteCount > 0 && now &- lastMCUByte >= configuration.quietNanoseconds {
            mcu.expire { output in handle(output, from: .fromMCU, now: now) }
        }
        if module.bufferedByteCount > 0 && now &- lastModuleByte >= configuration.quietNanoseconds {
            module.expire { output in handle(output, from: .fromModule, now: now) }
        }
        guard isActive else { return }
        if inFlight && now >= deadline {
            if attemptsLeft > 0 {
                retransmit(now: now)
            } else {
                inFlight = false
                slot.counters.timeouts &+= 1
                slot.publish(RecordHeader(.timeout, device: slot.index, at: now, type: requestCommand))
                // An MCU that ignores an optional start-up query (working mode, network status)
                // still gets the rest; only the first contact is repeated until it answers.
                if step > 0 { step += 1 }
            }
        }
        if !inFlight { sendNext(now: now) }
        flush()
    }

    private func sendNext(now: UInt64) {
        switch configuration.variant {
        case .standard:
            switch step {
            case 0 where now >= nextKeepAlive:
                nextKeepAlive = now &+ configuration.keepAliveNanoseconds
                send(TuyaCommand.heartbeat, now: now)
            case 1: send(TuyaCommand.productInfo, now: now)
            case 2: send(TuyaCommand.workingMode, now: now)
            case 3: send(TuyaCommand.networkStatus, byte: TuyaNetworkStatus.connectedToCloud, now: now)
            case 4:
                nextDPQuery = now &+ configuration.dpQueryNanoseconds
                send(TuyaCommand.dpQuery, now: now)
            case 5...:
                if now >= nextKeepAlive {
                    nextKeepAlive = now &+ configuration.keepAliveNanoseconds
                    send(TuyaCommand.heartbeat, now: now)
                } else if now >= nextDPQuery {
                    nextDPQuery = now &+ configuration.dpQueryNanoseconds
                    send(TuyaCommand.dpQuery, now: now)
                }
            default: break
            }
        case .lowPower:
            switch step {
            case 0 where now >= nextKeepAlive:
                nextKeepAlive = now &+ configuration.keepAliveNanoseconds
                send(TuyaLowPowerCommand.productInfo, now: now)
            // Network status as a module reports it on power-up: router found, router joined, cloud.
            case 1: send(TuyaLowPowerCommand.networkStatus, byte: TuyaNetworkStatus.notConnected, now: now)
            case 2: send(TuyaLowPowerCommand.networkStatus, byte: TuyaNetworkStatus.connectedToRouter, now: now)
            case 3: send(TuyaLowPowerCommand.networkStatus, byte: TuyaNetworkStatus.connectedToCloud, now: now)
            case 4...:
                if now >= nextKeepAlive {
                    nextKeepAlive = now &+ configuration.keepAliveNanoseconds
                    send(TuyaLowPowerCommand.productInfo, now: now)
                }
            default: break
            }
        }
    }

    // MARK: Input

    /// Reads what the link has (both lines of a tap) and decodes it; a link that went away is
    /// marked failed (the loop closes it). One read per ready line: the loop's epoll is
    /// level-triggered and calls again while bytes remain, and a raw tty read with nothing
    /// waiting returns 0, which would look like a hang-up.
    func service(events: Epoll.Events, now: UInt64) {
        if !readReady(now: now) || events.contains(.hangUp) || events.contains(.error) { slot.failed = true }
    }

    private func readReady(now: UInt64) -> Bool {
        guard let tap else { return readOnce(from: .fromMCU, buffer: readBuffer, now: now) }
        let ready = tap.readiness()
        if ready.hangUp { return false }
        if ready.mcu && !readOnce(from: .fromMCU, buffer: readBuffer, now: now) { return false }
        if ready.module && !readOnce(from: .fromModule, buffer: readBuffer, now: now) { return false }
        return true
    }

    private func readOnce(from direction: TuyaDirection, buffer: UnsafeMutableRawBufferPointer, now: UInt64) -> Bool {
        let result: IOResult
        do {
            if direction == .fromModule, let tap { result = try tap.readModule(into: buffer) } else { result = try slot.link.read(into: buffer) }
        } catch {
            return false
        }
        switch result {
        case .bytes(let n):
            slot.counters.bytesIn &+= UInt64(n)
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            // On a passive tap the module's bytes are the ones sent to the lock.
            slot.recordTraffic(bytes, direction == .fromMCU ? .fromLock : .toLock)
            if direction == .fromMCU {
                lastMCUByte = now
                mcu.feed(bytes) { output in handle(output, from: .fromMCU, now: now) }
            } else {
                lastModuleByte = now
                module.feed(bytes) { output in handle(output, from: .fromModule, now: now) }
            }
            return true
        case .wouldBlock: return true
        case .closed: return false
        }
    }

    private func handle(_ output: TuyaDecoderOutput, from direction: TuyaDirection, now: UInt64) {
        switch output {
        case .frame(let frame): received(frame, from: direction, now: now)
        case .error(let error): rejected(.error(error), now: now)
        }
    }

    private func rejected(_ output: TuyaDecoderOutput, now: UInt64) {
        copyCounters()
    }

    private func received(_ frame: TuyaFrameView, from direction: TuyaDirection, now: UInt64) {
        var header = RecordHeader(.tuyaFrame, device: slot.index, at: now, type: frame.command)
        header.seq = frame.version
        header.frameKind = direction == .fromMCU ? .event : .request
        slot.publish(header, payload: frame.data)
        copyCounters()
        guard isActive, direction == .fromMCU else { return }
        // A DP query is answered by the reports it asks for.
        let answers = frame.command == requestCommand
            || configuration.variant == .standard && requestCommand == TuyaCommand.dpQuery && frame.command == TuyaCommand.dpReport
        if inFlight && answers {
            inFlight = false
            if step < 5 { step += 1 }
        }
        answer(frame, now: now)
        flush()
    }

    /// What the module owes the MCU for what it sent on its own.
    private func answer(_ frame: TuyaFrameView, now: UInt64) {
        switch configuration.variant {
        case .standard:
            switch frame.command {
            case TuyaCommand.localTime: sendLocalTime(command: TuyaCommand.localTime)
            case TuyaCommand.dpReportSync: reply(TuyaCommand.dpReportSyncAck, byte: 0)
            case TuyaCommand.resetWiFi, TuyaCommand.resetWiFiSelect: reply(frame.command, byte: nil)
            default: break
            }
        case .lowPower:
            switch frame.command {
            case TuyaLowPowerCommand.realtimeReport, TuyaLowPowerCommand.recordReport: reply(frame.command, byte: 0)
            case TuyaLowPowerCommand.localTime: sendLocalTime(command: TuyaLowPowerCommand.localTime)
            case TuyaLowPowerCommand.dpCache: reply(TuyaLowPowerCommand.dpCache, byte: 1, then: 0)
            case TuyaLowPowerCommand.resetWiFi, TuyaLowPowerCommand.resetWiFiSelect: reply(frame.command, byte: nil)
            default: break
            }
        }
    }

    // MARK: Output

    /// A request that wants an answer with the same command.
    private func send(_ command: UInt8, byte: UInt8? = nil, now: UInt64) {
        var data = (byte ?? 0, UInt8(0))
        let written = withUnsafeBytes(of: &data) { raw in
            TuyaFrameEncoder.encode(version: Tuya.moduleVersion, command: command,
                                    data: UnsafeRawBufferPointer(rebasing: raw[0..<(byte == nil ? 0 : 1)]), into: request)
        }
        guard let written else { return }
        requestLength = written
        requestCommand = command
        attemptsLeft = max(1, configuration.attempts)
        inFlight = true
        retransmit(now: now)
    }

    private func retransmit(now: UInt64) {
        attemptsLeft -= 1
        deadline = now &+ configuration.replyTimeoutNanoseconds
        enqueue(UnsafeRawBufferPointer(rebasing: request[0..<requestLength]))
        slot.counters.requests &+= 1
    }

    /// An answer to the MCU (no reply expected).
    private func reply(_ command: UInt8, byte: UInt8?, then second: UInt8? = nil) {
        var data = (byte ?? 0, second ?? 0)
        let count = byte == nil ? 0 : second == nil ? 1 : 2
        withUnsafeBytes(of: &data) { raw in
            let data = UnsafeRawBufferPointer(rebasing: raw[0..<count])
            guard txEnd + data.count + Tuya.frameOverhead <= tx.count,
                  let n = TuyaFrameEncoder.encode(version: Tuya.moduleVersion, command: command, data: data,
                                                  into: UnsafeMutableRawBufferPointer(rebasing: tx[txEnd...])) else { return }
            txEnd += n
        }
    }

    /// The module's clock answer: valid flag, year − 2000, month, day, hour, minute, second,
    /// weekday (1 = Monday), in UTC (tuya-mcu.md §3).
    private func sendLocalTime(command: UInt8) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var data: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
            1, UInt8(clamping: Int(parts.tm_year) - 100), UInt8(clamping: Int(parts.tm_mon) + 1), UInt8(clamping: Int(parts.tm_mday)),
            UInt8(clamping: Int(parts.tm_hour)), UInt8(clamping: Int(parts.tm_min)), UInt8(clamping: Int(parts.tm_sec)),
            UInt8(clamping: parts.tm_wday == 0 ? 7 : Int(parts.tm_wday)))
        withUnsafeBytes(of: &data) { raw in
            guard txEnd + raw.count + Tuya.frameOverhead <= tx.count,
                  let n = TuyaFrameEncoder.encode(version: Tuya.moduleVersion, command: command, data: raw,
                                                  into: UnsafeMutableRawBufferPointer(rebasing: tx[txEnd...])) else { return }
            txEnd += n
        }
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer) {
        // A line that takes nothing for this long is not draining; the oldest bytes give way.
        guard txEnd + bytes.count <= tx.count else { return }
        UnsafeMutableRawBufferPointer(rebasing: tx[txEnd..<(txEnd + bytes.count)]).copyMemory(from: bytes)
        txEnd += bytes.count
    }

    /// Writes what is queued; only an active link ever has anything queued. A failed write is
    /// not acted on here: the loop sees the link's failure on its next read.
    func flush() {
        guard isActive, txEnd > txStart else { return }
        _ = slot.write(tx, start: &txStart, end: &txEnd)
    }

    // MARK: Ring

    /// The Tuya decoders' totals in the slot's counters, in LDP terms: checksum errors are the
    /// `crcErrors` the link-quality check reads.
    private func copyCounters() {
        var d = DecoderCounters()
        d.frames = mcu.counters.frames &+ module.counters.frames
        d.noiseBytes = mcu.counters.noiseBytes &+ module.counters.noiseBytes
        d.crcErrors = mcu.counters.checksumErrors &+ module.counters.checksumErrors
        d.oversized = mcu.counters.oversized &+ module.counters.oversized
        d.truncated = mcu.counters.truncated &+ module.counters.truncated
        slot.counters.decoder = d
    }
}
