import CLibUSB
import CLockDiagSys
import LinuxIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One libusb context and the thread that completes its transfers.
///
/// Why a thread of its own rather than libusb's descriptors in the poll loop's epoll: libusb
/// allocates on every transfer it submits (its Linux backend callocs the URB array) and its
/// completion path takes its own mutexes, and the poll loop must not allocate or lock once
/// running. So every libusb call after `open` happens here; the poll loop only copies bytes
/// through preallocated, lock-free buffers (`USBChannel`) and is woken by an eventfd per link,
/// which is just another descriptor in its epoll. This thread does not schedule anything: it
/// sleeps in poll(2) until the poll loop hands it a request or libusb has a completion, so
/// the poll loop stays the only loop that decides when a lock is talked to.
///
/// It watches libusb's descriptors with poll(2). A usbfs descriptor signals POLLOUT only when
/// a URB completed, so it is watched for POLLOUT only while a transfer is outstanding (errors
/// and hang-ups are reported regardless); that also keeps an emulated device descriptor that is
/// always writable (umockdev's, a Unix socket) from spinning the thread between transfers.
///
/// `@unchecked Sendable`: `sessions`, `watched` and the pollfd array are touched only by the
/// event thread; other threads reach it through `inbox` (a mutex taken when a link opens),
/// atomics and the wake eventfd.
public final class USBContext: @unchecked Sendable {
    let context: OpaquePointer
    let wake: EventDoorbell
    private let inbox = Mutex<[USBSession]>([])
    private let pollSetChanged = Atomic<Bool>(true)
    private let running = Atomic<Bool>(false)
    private let threadIDValue = Atomic<Int32>(0)
    private var thread: JoinableThread?

    // Event-thread state.
    private var sessions: [USBSession] = []
    private var watched: [(fd: Int32, events: Int16)] = []
    private var pollSet: UnsafeMutablePointer<pollfd>
    private var pollSetCapacity = 16

    /// Why the event thread did not get the SCHED_FIFO priority it was asked for; nil when it
    /// got it or none was asked. Set in `init` only (the event thread never reads it).
    public private(set) var realtimeProblem: String? = nil

    /// Starts libusb and its event thread. `fifoPriority` (lockdiagd --realtime): SCHED_FIFO
    /// for the event thread too, since every answer of a USB lock reaches the poll loop through
    /// it; on a busy machine a normal-priority thread delays answers past LDP/1's deadline.
    public init(fifoPriority: Int32? = nil) throws(USBError) {
        context = try LibUSB.initContext()
        do throws(SystemError) {
            wake = try EventDoorbell()
        } catch {
            LibUSB.exit(context)
            throw .call("eventfd", .noMemory, device: "-")
        }
        pollSet = .allocate(capacity: pollSetCapacity)
        LibUSB.setPollNotifiers(context, added: { _, _, user in
            guard let user else { return }
            Unmanaged<USBContext>.fromOpaque(user).takeUnretainedValue().pollDescriptorsChanged()
        }, removed: { _, user in
            guard let user else { return }
            Unmanaged<USBContext>.fromOpaque(user).takeUnretainedValue().pollDescriptorsChanged()
        }, userData: Unmanaged.passUnretained(self).toOpaque())
        running.store(true, ordering: .releasing)
        // Named for `ps -L` and `chrt -p` (and LockDaemon's real-time test).
        let started: JoinableThread
        do {
            started = try JoinableThread(name: "lockdiag-usb") { [self] in run() }
        } catch {
            running.store(false, ordering: .releasing)
            LibUSB.setPollNotifiers(context, added: nil, removed: nil, userData: nil)
            LibUSB.exit(context)
            wake.close()
            pollSet.deallocate()
            throw .call("pthread_create", .noMemory, device: "-")
        }
        thread = started
        if let fifoPriority {
            var parameters = sched_param()
            parameters.sched_priority = fifoPriority
            let error = pthread_setschedparam(started.handle, SCHED_FIFO, &parameters)
            if error != 0 { realtimeProblem = "SCHED_FIFO \(fifoPriority) for the USB event thread: \(String(cString: strerror(error)))" }
        }
    }

    deinit {
        pollSet.deallocate()
        wake.close()
    }

    /// The event thread's kernel thread id (gettid), 0 before it runs.
    public var threadID: Int32 { threadIDValue.load(ordering: .acquiring) }

    /// Closes every link still open (cancelling their transfers), stops the thread and libusb.
    /// Waits at most about a second for cancellations to complete.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wake.ring()
        thread?.join()
        LibUSB.setPollNotifiers(context, added: nil, removed: nil, userData: nil)
        LibUSB.exit(context)
    }

    /// Hands a freshly opened session to the event thread.
    func adopt(_ session: USBSession) {
        inbox.withLock { $0.append(session) }
        wake.ring()
    }

    private func pollDescriptorsChanged() {
        pollSetChanged.store(true, ordering: .releasing)
        wake.ring()
    }

    // MARK: - The event thread

    private func run() {
        threadIDValue.store(lockdiag_gettid(), ordering: .releasing)
        while running.load(ordering: .acquiring) {
            cycle(timeoutMilliseconds: -1)
        }
        // Shutdown: close what is still open and let the cancellations complete.
        for session in sessions { session.channel.closeRequested.store(true, ordering: .releasing) }
        let deadline = MonotonicClock.nanoseconds() + 1_000_000_000
        while !sessions.isEmpty && MonotonicClock.nanoseconds() < deadline {
            cycle(timeoutMilliseconds: 50)
        }
        for session in sessions { session.abandon() }
        sessions.removeAll()
    }

    private func cycle(timeoutMilliseconds: Int32) {
        let adopted = inbox.withLock { box -> [USBSession] in
            defer { box.removeAll(keepingCapacity: true) }
            return box
        }
        sessions += adopted
        sessions.removeAll { $0.service() == .finished }

        if pollSetChanged.exchange(false, ordering: .acquiringAndReleasing) {
            watched = LibUSB.pollDescriptors(context)
            if watched.count + 1 > pollSetCapacity {
                pollSet.deallocate()
                pollSetCapacity = watched.count + 16
                pollSet = .allocate(capacity: pollSetCapacity)
            }
        }
        let busy = sessions.contains { $0.transfersInFlight > 0 }
        pollSet[0] = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        for (i, entry) in watched.enumerated() {
            let events = busy ? entry.events : entry.events & ~Int16(POLLOUT)
            pollSet[i + 1] = pollfd(fd: entry.fd, events: events, revents: 0)
        }
        var timeout = timeoutMilliseconds
        if busy {
            let libusbTimeout = LibUSB.nextTimeoutMilliseconds(context)
            if libusbTimeout >= 0 && (timeout < 0 || libusbTimeout < timeout) { timeout = libusbTimeout }
        }
        let ready = retryingOnInterrupt { poll(pollSet, nfds_t(watched.count + 1), timeout) }
        guard ready >= 0 else { return }
        if pollSet[0].revents != 0 { wake.drain() }
        var libusbReady = false
        for i in 0..<watched.count where pollSet[i + 1].revents != 0 { libusbReady = true }
        if libusbReady || (busy && ready == 0) {
            // Completions run the sessions' callbacks here, on this thread.
            _ = LibUSB.handleEventsNow(context)
        }
        sessions.removeAll { $0.service() == .finished }
    }
}
