import CLibUSB
import LinuxIO
import Synchronization

/// What the poll loop and the USB event thread share about one open link: preallocated
/// buffers and atomics, nothing that allocates or locks.
///
/// The request side is a one-slot mailbox: the loop may fill `txBuffer` only while `txState`
/// is `idle`, then publishes it as `requested`; the event thread takes it (`busy`), runs the
/// exchange (one OUT transfer, then IN transfers until the lock's answer ends with a short
/// packet; firmware-specs/usb.md §3) and sets `idle` again. Answers come back through `rx`.
///
/// `@unchecked Sendable`: `txBuffer` is written by the loop only while `txState` is `idle` and
/// read by the event thread only while it is `requested`/`busy`, the atomics ordering the two;
/// `rx` is single-producer single-consumer; everything else is atomic or immutable.
final class USBChannel: @unchecked Sendable {
    static let idle: UInt8 = 0
    static let requested: UInt8 = 1
    static let busy: UInt8 = 2

    let txBuffer: UnsafeMutableRawBufferPointer
    let txLength = Atomic<Int>(0)
    let txState = Atomic<UInt8>(USBChannel.idle)
    let closeRequested = Atomic<Bool>(false)
    /// Set by the event thread once the handle is closed and the transfers freed.
    let closed = Atomic<Bool>(false)
    let rx: ByteRing
    /// Readable while `rx` holds bytes or a failure waits to be seen.
    let doorbell: EventDoorbell
    /// 0, or the reason the link is dead: a `LibUSBCode` (negative) or 1000 + a transfer status.
    let failure = Atomic<Int32>(0)
    /// The endpoint whose transfer failed (with a transfer status), else 0.
    let failureEndpoint = Atomic<UInt8>(0)
    /// Whether a failing libusb code came from clearing a halt rather than submitting.
    let failureInClearHalt = Atomic<Bool>(false)
    let counters: USBLinkCounters

    init(txCapacity: Int, rxCapacity: Int, counters: USBLinkCounters) throws(SystemError) {
        self.counters = counters
        doorbell = try EventDoorbell()
        txBuffer = .allocate(byteCount: txCapacity, alignment: 16)
        rx = ByteRing(capacity: rxCapacity)
    }

    deinit {
        txBuffer.deallocate()
        doorbell.close()
    }

    func fail(_ code: LibUSBCode, clearingHalt: Bool = false) {
        if failure.compareExchange(expected: 0, desired: code.rawValue, ordering: .acquiringAndReleasing).exchanged {
            failureInClearHalt.store(clearingHalt, ordering: .releasing)
        }
        doorbell.ring()
    }

    func fail(_ status: USBTransferStatus, endpoint: UInt8) {
        if failure.compareExchange(expected: 0, desired: 1000 + Int32(status.rawValue), ordering: .acquiringAndReleasing).exchanged {
            failureEndpoint.store(endpoint, ordering: .releasing)
        }
        doorbell.ring()
    }

    /// What killed the link (the device name filled in by the caller), nil while it lives.
    var failureError: USBError? {
        let code = failure.load(ordering: .acquiring)
        if code == 0 { return nil }
        if code >= 1000 {
            return .transfer(USBTransferStatus(rawValue: UInt32(code - 1000)) ?? .error, endpoint: failureEndpoint.load(ordering: .acquiring), device: "")
        }
        let call = failureInClearHalt.load(ordering: .acquiring) ? "libusb_clear_halt" : "libusb_submit_transfer"
        return .call(call, LibUSBCode(returned: code), device: "")
    }
}

/// Figures a USB link keeps about itself (read from any thread).
public final class USBLinkCounters: Sendable {
    let exchangesValue = Atomic<UInt64>(0)
    let stallsValue = Atomic<UInt64>(0)
    let transferErrorsValue = Atomic<UInt64>(0)
    let inTimeoutsValue = Atomic<UInt64>(0)
    let outTimeoutsValue = Atomic<UInt64>(0)
    let droppedBytesValue = Atomic<UInt64>(0)

    public init() {}

    /// OUT transfers submitted (one per request written).
    public var exchanges: UInt64 { exchangesValue.load(ordering: .relaxed) }
    /// Endpoint halts (STALL) seen and cleared.
    public var stalls: UInt64 { stallsValue.load(ordering: .relaxed) }
    /// Transfers that ended in an error other than a stall, a timeout or the device vanishing.
    public var transferErrors: UInt64 { transferErrorsValue.load(ordering: .relaxed) }
    /// IN transfers that the lock did not end within the timeout (no answer).
    public var inTimeouts: UInt64 { inTimeoutsValue.load(ordering: .relaxed) }
    /// OUT transfers the lock did not accept within the timeout.
    public var outTimeouts: UInt64 { outTimeoutsValue.load(ordering: .relaxed) }
    /// Received bytes dropped because the poll loop had not read the previous ones.
    public var droppedBytes: UInt64 { droppedBytesValue.load(ordering: .relaxed) }

    static func bump(_ counter: borrowing Atomic<UInt64>) { counter.add(1, ordering: .relaxed) }
}

/// An open lock on the event thread's side: the libusb handle, its claimed interface and the two
/// preallocated transfers. Built by the thread that opens the link, then owned by the event
/// thread alone (all methods below run there, the callbacks included).
///
/// `@unchecked Sendable`: it crosses threads exactly once, through `USBContext.adopt`, after
/// which the opening thread keeps no reference to it.
final class USBSession: @unchecked Sendable {
    enum Progress { case alive, finished }

    let channel: USBChannel
    let port: String
    let handle: OpaquePointer
    let interface: BulkInterface
    let reattachKernelDriver: Bool
    let timeouts: USBTimeouts
    private let outTransfer: UnsafeMutablePointer<libusb_transfer>
    private let inTransfer: UnsafeMutablePointer<libusb_transfer>
    private let inBuffer: UnsafeMutableRawBufferPointer
    private var outPending = false
    private var inPending = false
    private var haltedEndpoint: UInt8?
    private var tearingDown = false
    private var abandoned = false

    var transfersInFlight: Int { (outPending ? 1 : 0) + (inPending ? 1 : 0) }

    init(channel: USBChannel, port: String, handle: OpaquePointer, interface: BulkInterface, reattachKernelDriver: Bool,
         inTransferBytes: Int, timeouts: USBTimeouts) {
        self.channel = channel
        self.port = port
        self.handle = handle
        self.interface = interface
        self.reattachKernelDriver = reattachKernelDriver
        self.timeouts = timeouts
        outTransfer = LibUSB.allocateTransfer()
        inTransfer = LibUSB.allocateTransfer()
        inBuffer = .allocate(byteCount: inTransferBytes, alignment: 16)
    }

    deinit {
        // An abandoned session's transfers may still be known to libusb: leaked, not freed.
        guard !abandoned else { return }
        LibUSB.freeTransfer(outTransfer)
        LibUSB.freeTransfer(inTransfer)
        inBuffer.deallocate()
    }

    /// Acts on what the poll loop asked for and on what the callbacks left to do.
    func service() -> Progress {
        if !tearingDown && channel.closeRequested.load(ordering: .acquiring) {
            tearingDown = true
            if outPending { _ = LibUSB.cancel(outTransfer) }
            if inPending { _ = LibUSB.cancel(inTransfer) }
        }
        if tearingDown {
            guard transfersInFlight == 0 else { return .alive }
            LibUSB.release(handle, interface: interface.number, reattach: reattachKernelDriver)
            LibUSB.close(handle)
            channel.closed.store(true, ordering: .releasing)
            return .finished
        }
        if let endpoint = haltedEndpoint {
            haltedEndpoint = nil
            USBLinkCounters.bump(channel.counters.stallsValue)
            do {
                try LibUSB.clearHalt(handle, endpoint: endpoint, port: port)
            } catch {
                if case .call(_, let code, _) = error { channel.fail(code, clearingHalt: true) } else { channel.fail(LibUSBCode.other, clearingHalt: true) }
                return .alive
            }
            // The request in that exchange is lost; the poll loop's response deadline counts
            // it and LDP/1's one retry covers commands.
            endExchange()
        }
        if channel.failure.load(ordering: .relaxed) == 0 && transfersInFlight == 0
            && channel.txState.load(ordering: .acquiring) == USBChannel.requested {
            channel.txState.store(USBChannel.busy, ordering: .relaxed)
            startExchange()
        }
        return .alive
    }

    /// Gives up on a session whose cancellations never completed (shutdown only): the handle
    /// is closed, the transfers are leaked rather than freed while libusb may still use them.
    func abandon() {
        abandoned = true
        LibUSB.close(handle)
        channel.closed.store(true, ordering: .releasing)
    }

    private var userData: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    private func startExchange() {
        let length = channel.txLength.load(ordering: .relaxed)
        // ADD_ZERO_PACKET: a request whose length is a multiple of the packet size still ends
        // with a short (zero-length) packet, so the lock knows the transfer is complete.
        LibUSB.fillBulk(outTransfer, handle: handle, endpoint: interface.outEndpoint, buffer: channel.txBuffer.baseAddress!,
                        length: length, timeoutMilliseconds: timeouts.outMilliseconds, zeroPacket: true,
                        callback: usbTransferCompleted, userData: userData)
        do {
            try LibUSB.submit(outTransfer, port: port)
            outPending = true
            USBLinkCounters.bump(channel.counters.exchangesValue)
        } catch {
            failSubmit(error)
        }
    }

    private func submitIn() {
        LibUSB.fillBulk(inTransfer, handle: handle, endpoint: interface.inEndpoint, buffer: inBuffer.baseAddress!,
                        length: inBuffer.count, timeoutMilliseconds: timeouts.inMilliseconds, zeroPacket: false,
                        callback: usbTransferCompleted, userData: userData)
        do {
            try LibUSB.submit(inTransfer, port: port)
            inPending = true
        } catch {
            failSubmit(error)
        }
    }

    private func failSubmit(_ error: USBError) {
        if case .call(_, let code, _) = error { channel.fail(code) } else { channel.fail(LibUSBCode.other) }
    }

    private func endExchange() {
        channel.txState.store(USBChannel.idle, ordering: .releasing)
    }

    /// Called by libusb (through `usbTransferCompleted`) on the event thread.
    fileprivate func completed(_ transfer: UnsafeMutablePointer<libusb_transfer>) {
        let status = LibUSB.status(of: transfer)
        if transfer == outTransfer {
            outPending = false
            guard !tearingDown else { return }
            switch status {
            case .completed: submitIn()
            case .timedOut:
                USBLinkCounters.bump(channel.counters.outTimeoutsValue)
                endExchange()
            case .stall: haltedEndpoint = interface.outEndpoint
            case .noDevice: channel.fail(status, endpoint: interface.outEndpoint)
            case .cancelled: endExchange()
            case .error, .overflow:
                USBLinkCounters.bump(channel.counters.transferErrorsValue)
                endExchange()
            }
            return
        }
        inPending = false
        guard !tearingDown else { return }
        let received = Int(transfer.pointee.actual_length)
        if received > 0 && (status == .completed || status == .timedOut) {
            let taken = channel.rx.write(UnsafeRawBufferPointer(rebasing: inBuffer[0..<received]))
            if taken < received { channel.counters.droppedBytesValue.add(UInt64(received - taken), ordering: .relaxed) }
            channel.doorbell.ring()
        }
        switch status {
        case .completed:
            // A transfer that filled the buffer did not end with a short packet: the lock has
            // more to send in this answer.
            if received == inBuffer.count { submitIn() } else { endExchange() }
        case .timedOut:
            USBLinkCounters.bump(channel.counters.inTimeoutsValue)
            endExchange()
        case .stall: haltedEndpoint = interface.inEndpoint
        case .noDevice: channel.fail(status, endpoint: interface.inEndpoint)
        case .cancelled: endExchange()
        case .error, .overflow:
            USBLinkCounters.bump(channel.counters.transferErrorsValue)
            endExchange()
        }
    }
}

/// libusb's completion callback for every transfer of every session.
private let usbTransferCompleted: libusb_transfer_cb_fn = { transfer in
    guard let transfer, let user = transfer.pointee.user_data else { return }
    Unmanaged<USBSession>.fromOpaque(user).takeUnretainedValue().completed(transfer)
}

/// Transfer timeouts of a USB link, in milliseconds.
public struct USBTimeouts: Sendable, Equatable {
    /// How long the lock may take to accept a request (NAKing OUT tokens).
    public var outMilliseconds: UInt32 = 100
    /// How long the lock may take to end its answer: LDP/1's host response deadline (§4.2).
    public var inMilliseconds: UInt32 = 100

    public init(outMilliseconds: UInt32 = 100, inMilliseconds: UInt32 = 100) {
        self.outMilliseconds = outMilliseconds
        self.inMilliseconds = inMilliseconds
    }
}
