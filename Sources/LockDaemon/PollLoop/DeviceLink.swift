import LinuxIO
import SerialTransport

/// The narrow driver contract the poll loop drives every transport through (after Network UPS
/// Tools' drivers: open, poll, command, close). A link is owned by the poll loop's thread from
/// the moment it is handed over; its readiness comes from epoll on `fileDescriptor`.
public protocol DeviceLink: AnyObject {
    /// Transport name shown to users: `serial`, `usb`, `ble`.
    var transport: String { get }
    /// Where the device is: a tty path, a USB port path, a BLE address.
    var path: String { get }
    /// The descriptor to watch for readability, or -1 while closed.
    var fileDescriptor: Int32 { get }
    func open() throws
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> IOResult
    func write(_ bytes: UnsafeRawBufferPointer) throws -> IOResult
    func close()
    /// Why the link went down, when the transport knows more than "closed" (read only after
    /// `read` or `write` reported it; may allocate).
    var failureReason: String? { get }
    /// LDP/1's response deadline on this link, when the link's latency needs more than the
    /// loop's (Bluetooth LE); nil: the loop's own.
    var responseTimeoutNanoseconds: UInt64? { get }
    /// What the link turned out to speak once open, when only opening tells (a BLE lock's GATT
    /// profile: the LDP service, or only the standard services); nil: the dialect it was
    /// attached with. Read by the poll loop right after `open()`.
    var dialectOnceOpen: LinkDialect? { get }
}

extension DeviceLink {
    public var failureReason: String? { nil }
    public var responseTimeoutNanoseconds: UInt64? { nil }
    public var dialectOnceOpen: LinkDialect? { nil }
}

extension SerialPort: DeviceLink {
    public var transport: String { "serial" }
}
