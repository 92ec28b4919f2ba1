import LinuxIO
import LockProtocol

/// A lock controller's vendor-bulk USB link (firmware-specs/usb.md): LDP/1 frames over a bulk
/// OUT and a bulk IN endpoint, through libusb.
///
/// Shaped like `SerialPort` for the poll loop: owned by one thread, `read`/`write` never block
/// and never allocate, readiness comes from the owner's epoll on `fileDescriptor` (an eventfd
/// the USB event thread rings when bytes arrive or the device is gone). `open` and `close` run
/// on the owner's thread too; `open` makes the synchronous libusb calls (find, open, claim) and
/// allocates, `close` only asks the event thread to cancel and release.
///
/// Each write is one exchange: one OUT transfer with the request, then IN transfers until the
/// lock ends its answer with a short packet. A write while an exchange is running returns
/// `.wouldBlock`; the poll loop tries again at its next tick.
public final class USBBulkPort {
    /// IN transfer size: a whole LDP/1 frame (≤ 523 bytes) and the events queued with it.
    public static let inTransferBytes = 1024
    /// The most one request may carry.
    public static let outTransferBytes = 1024

    public let address: USBAddress
    public let context: USBContext
    public let timeouts: USBTimeouts
    /// Where it is: the port path once found (`1-3`), the address before.
    public private(set) var path: String
    private var channel: USBChannel?
    private var isOpen = false
    /// Figures of this link, over all its connections.
    public let counters = USBLinkCounters()
    /// Where its transfers go, once open (a recording names them in its usbmon records).
    public private(set) var endpoints: USBBulkEndpoints?

    public init(address: USBAddress, context: USBContext, timeouts: USBTimeouts = USBTimeouts()) {
        self.address = address
        self.context = context
        self.timeouts = timeouts
        path = address.text
    }

    deinit { close() }

    /// The descriptor to watch for readability, -1 while closed.
    public var fileDescriptor: Int32 { isOpen ? channel?.doorbell.fd ?? -1 : -1 }

    /// Finds the device, claims its bulk interface and hands it to the event thread.
    public func open() throws(USBError) {
        close()
        if let previous = channel, !previous.closed.load(ordering: .acquiring) { throw .stillClosing(device: path) }
        let (device, port) = try LibUSB.find(address, in: context.context)
        defer { LibUSB.unref(device) }
        path = port
        let interface = try LibUSB.bulkInterface(of: device, port: port)
        let handle = try LibUSB.open(device, port: port)
        let reattach: Bool
        do {
            reattach = try LibUSB.claim(handle, interface: interface.number, port: port)
        } catch {
            LibUSB.close(handle)
            throw error
        }
        let channel: USBChannel
        do throws(SystemError) {
            channel = try USBChannel(txCapacity: Self.outTransferBytes, rxCapacity: 4 * Self.inTransferBytes, counters: counters)
        } catch {
            LibUSB.release(handle, interface: interface.number, reattach: reattach)
            LibUSB.close(handle)
            throw .call("eventfd", .noMemory, device: port)
        }
        let session = USBSession(channel: channel, port: port, handle: handle, interface: interface, reattachKernelDriver: reattach,
                                 inTransferBytes: Self.inTransferBytes, timeouts: timeouts)
        self.channel = channel
        let (bus, deviceAddress) = LibUSB.busAndAddress(of: device)
        endpoints = USBBulkEndpoints(bus: bus, device: deviceAddress, outEndpoint: interface.outEndpoint, inEndpoint: interface.inEndpoint)
        isOpen = true
        context.adopt(session)
    }

    /// Moves received bytes out; `.closed` when the lock was unplugged (LIBUSB_ERROR_NO_DEVICE),
    /// a thrown error when the link failed otherwise.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(USBError) -> IOResult {
        guard isOpen, let channel else { return .closed }
        // Drain first, then read: a ring after our read is never lost.
        channel.doorbell.drain()
        let n = channel.rx.read(into: buffer)
        if n > 0 { return .bytes(n) }
        if let failure = channel.failureError {
            if failure.isDisconnect { return .closed }
            throw failure.on(path)
        }
        return .wouldBlock
    }

    /// Starts an exchange with `bytes` as its request, or `.wouldBlock` while one is running.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(USBError) -> IOResult {
        guard isOpen, let channel else { return .closed }
        if let failure = channel.failureError {
            if failure.isDisconnect { return .closed }
            throw failure.on(path)
        }
        if bytes.isEmpty { return .bytes(0) }
        guard channel.txState.load(ordering: .acquiring) == USBChannel.idle else { return .wouldBlock }
        let n = min(bytes.count, channel.txBuffer.count)
        channel.txBuffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: n)
        channel.txLength.store(n, ordering: .relaxed)
        channel.txState.store(USBChannel.requested, ordering: .releasing)
        context.wake.ring()
        return .bytes(n)
    }

    /// Why the link died, once `read` or `write` said so (for logs and the device's problem).
    public var failureReason: String? { channel?.failureError?.on(path).description }

    /// Asks the event thread to cancel what is in flight and release the device (idempotent).
    public func close() {
        guard isOpen, let channel else { return }
        isOpen = false
        channel.closeRequested.store(true, ordering: .releasing)
        context.wake.ring()
    }
}

/// The bus, device address and bulk endpoint addresses of an open vendor-bulk link.
public struct USBBulkEndpoints: Sendable, Hashable {
    public var bus: UInt8
    public var device: UInt8
    public var outEndpoint: UInt8
    public var inEndpoint: UInt8
}

extension USBError {
    /// The same error, naming `device`.
    func on(_ device: String) -> USBError {
        switch self {
        case .call(let call, let code, _): .call(call, code, device: device)
        case .transfer(let status, let endpoint, _): .transfer(status, endpoint: endpoint, device: device)
        default: self
        }
    }
}
