import BLEProtocol
import LinuxIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A connection set up and ready for the poll loop: the socket and what GATT set-up found.
struct ReadyConnection: Sendable {
    let fd: Int32
    let profile: GATTProfile
}

/// One BLE lock's connector: a thread of its own that connects (L2CAP, or the seam's Unix
/// socket), runs the GATT set-up, and hands the result to the link when the poll loop next opens
/// it. It exists so that set-up — twenty-odd ATT round trips, a 10 s connect timeout, 30 s ATT
/// timeouts — never runs on the poll loop's thread. Failed attempts back off (doubling up to a
/// cap); a connection that stayed up resets the backoff.
final class BLEConnector: Sendable {
    let endpoint: BLEEndpoint
    let options: BLEOptions
    let status: BLELinkStatus

    private struct Control {
        var stopping = false
        /// The link holds no connection and wants one.
        var wanted = true
        var ready: ReadyConnection?
        var failures = 0
        var nextAttemptNanoseconds: UInt64 = 0
        var sessionStartedNanoseconds: UInt64?
    }

    private let control = Mutex(Control())
    private let wake: EventDoorbell
    private let thread = Mutex<JoinableThread?>(nil)

    /// One LE connection attempt at a time per host: the kernel refuses a second concurrent LE
    /// connection attempt on an adapter (EBUSY) on many kernels.
    private static let adapterGate = Mutex(())

    init(status: BLELinkStatus) throws(SystemError) {
        endpoint = status.endpoint
        options = status.options
        self.status = status
        wake = try EventDoorbell()
    }

    deinit { wake.close() }

    func start() throws(SystemError) {
        let worker = try JoinableThread(name: "lockdiag-ble") { [self] in run() }
        thread.withLock { $0 = worker }
    }

    /// Stops the thread (an attempt in progress is abandoned at once) and waits for it.
    func stop() {
        let ready: ReadyConnection? = control.withLock { c in
            c.stopping = true
            defer { c.ready = nil }
            return c.ready
        }
        if let ready { FileIO.close(ready.fd) }
        wake.ring()
        let worker = thread.withLock { t in
            defer { t = nil }
            return t
        }
        worker?.join()
    }

    // MARK: The link's side

    /// The connection set up since the link last asked, if any; the link owns it from now on.
    func takeReady() -> ReadyConnection? {
        control.withLock { c in
            guard let ready = c.ready else { return nil }
            c.ready = nil
            c.wanted = false
            c.sessionStartedNanoseconds = MonotonicClock.nanoseconds()
            return ready
        }
    }

    /// The link lost its connection: schedule the next attempt — after the first backoff step
    /// when the connection had been up for a while (the backoff starts over), else after the
    /// next step. Never at once: a lock that just dropped the link is often powering off or
    /// rebooting, and an instant retry catches its last advertisement and connects to a radio
    /// that is going away. On Linux 6.1 closing such a half-made connection crashed the kernel's
    /// Bluetooth stack (a kernel BUG in hci_chan_del, found by the kernel lab: docs/lab.md).
    func sessionEnded(reason: String) {
        let now = MonotonicClock.nanoseconds()
        let next: UInt64 = control.withLock { c in
            let lasted = c.sessionStartedNanoseconds.map { Double(now - $0) / 1e9 } ?? 0
            c.sessionStartedNanoseconds = nil
            c.wanted = true
            if lasted >= options.stableConnectionSeconds {
                c.failures = 0
                c.nextAttemptNanoseconds = now + UInt64(options.initialBackoffSeconds * 1e9)
            } else {
                c.failures += 1
                c.nextAttemptNanoseconds = now + UInt64(options.backoffSeconds(afterFailures: c.failures) * 1e9)
            }
            return c.nextAttemptNanoseconds
        }
        status.update { s in
            s.phase = next > now ? .waiting : .connecting
            s.lastError = "link lost: \(reason)"
            s.nextAttemptNanoseconds = next
        }
        wake.ring()
    }

    // MARK: The thread

    private func run() {
        while true {
            let now = MonotonicClock.nanoseconds()
            enum Step { case stop, wait(Int32), attempt }
            let step: Step = control.withLock { c in
                if c.stopping { return .stop }
                if !c.wanted || c.ready != nil { return .wait(-1) }
                if now < c.nextAttemptNanoseconds { return .wait(Int32(min(60_000, (c.nextAttemptNanoseconds - now + 999_999) / 1_000_000))) }
                return .attempt
            }
            switch step {
            case .stop: return
            case .wait(let milliseconds): _ = wake.wait(timeoutMilliseconds: milliseconds)
            case .attempt: attempt()
            }
        }
    }

    private func attempt() {
        status.update { s in
            s.attempts += 1
            s.phase = .connecting
            s.nextAttemptNanoseconds = nil
        }
        var fd: Int32 = -1
        do {
            fd = try connect()
            status.update { $0.phase = .discovering }
            let client = GATTClient(bearer: ATTSocket(fd: fd, wake: wake.fd), transactionTimeoutSeconds: options.transactionTimeoutSeconds)
            let profile = try GATTSetup.run(client, endpoint: endpoint, receiveMTU: options.receiveMTU)
            let accepted = control.withLock { c in
                guard !c.stopping else { return false }
                c.ready = ReadyConnection(fd: fd, profile: profile)
                return true
            }
            guard accepted else {
                FileIO.close(fd)
                return
            }
            status.update { s in
                s.phase = .ready
                s.connections += 1
                s.lastError = nil
                s.profile = profile
            }
        } catch {
            if fd >= 0 { FileIO.close(fd) }
            let now = MonotonicClock.nanoseconds()
            let next: UInt64? = control.withLock { c in
                guard !c.stopping else { return nil }
                c.failures += 1
                if !error.isRetryable { c.wanted = false }
                c.nextAttemptNanoseconds = now + UInt64(options.backoffSeconds(afterFailures: c.failures) * 1e9)
                return c.nextAttemptNanoseconds
            }
            guard let next else { return }
            status.update { s in
                s.phase = error.isRetryable ? .waiting : .failed
                s.lastError = error.description
                s.nextAttemptNanoseconds = error.isRetryable ? next : nil
            }
        }
    }

    /// A connected, non-blocking socket to the lock's ATT channel.
    private func connect() throws(BLEError) -> Int32 {
        switch endpoint {
        case .attSocket(let path):
            do { return try SeqPacket.connect(path) } catch { throw .connectFailed(endpoint, error) }
        case .address(let address):
            return try Self.adapterGate.withLock { _ throws(BLEError) -> Int32 in
                let fd: Int32
                do throws(SystemError) { fd = try Syscalls.l2capATTSocket(adapter: options.adapter) } catch {
                    if case .bluetoothUnavailable = BLEError.classify(error) { throw .bluetoothUnavailable(error) }
                    throw .connectFailed(endpoint, error)
                }
                do throws(SystemError) {
                    if options.security != .low { try Syscalls.setSecurity(fd, level: options.security) }
                    try Syscalls.startL2CAPConnect(fd, to: address)
                } catch {
                    FileIO.close(fd)
                    throw .connectFailed(endpoint, error)
                }
                let deadline = MonotonicClock.nanoseconds() + UInt64(options.connectTimeoutSeconds * 1e9)
                switch Syscalls.awaitConnect(fd, wake: wake.fd, deadlineNanoseconds: deadline) {
                case nil:
                    FileIO.close(fd)
                    throw .connectTimedOut(endpoint, seconds: options.connectTimeoutSeconds)
                case 0?:
                    return fd
                case let code?:
                    FileIO.close(fd)
                    throw .connectFailed(endpoint, SystemError("connect(\(address))", errno: code))
                }
            }
        }
    }
}
