/// A libusb return code, every one libusb-1.0 defines (libusb.h, `enum libusb_error`), by name.
public enum LibUSBCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case io = -1
    case invalidParameter = -2
    case access = -3
    case noDevice = -4
    case notFound = -5
    case busy = -6
    case timeout = -7
    case overflow = -8
    case pipe = -9
    case interrupted = -10
    case noMemory = -11
    case notSupported = -12
    case other = -99

    /// The code for a libusb return value; codes a newer libusb might add read as `other`.
    public init(returned value: Int32) { self = LibUSBCode(rawValue: value) ?? .other }

    /// libusb's own name for it, as its documentation and logs spell it.
    public var name: String {
        switch self {
        case .io: "LIBUSB_ERROR_IO"
        case .invalidParameter: "LIBUSB_ERROR_INVALID_PARAM"
        case .access: "LIBUSB_ERROR_ACCESS"
        case .noDevice: "LIBUSB_ERROR_NO_DEVICE"
        case .notFound: "LIBUSB_ERROR_NOT_FOUND"
        case .busy: "LIBUSB_ERROR_BUSY"
        case .timeout: "LIBUSB_ERROR_TIMEOUT"
        case .overflow: "LIBUSB_ERROR_OVERFLOW"
        case .pipe: "LIBUSB_ERROR_PIPE"
        case .interrupted: "LIBUSB_ERROR_INTERRUPTED"
        case .noMemory: "LIBUSB_ERROR_NO_MEM"
        case .notSupported: "LIBUSB_ERROR_NOT_SUPPORTED"
        case .other: "LIBUSB_ERROR_OTHER"
        }
    }

    /// What it means for a lock on the bench, and what to do.
    public var advice: String {
        switch self {
        case .io: "USB input/output error — reseat the cable or try another port; lockdiag retries"
        case .invalidParameter: "libusb rejected a parameter (a lockdiag bug) — please report it with the log"
        case .access: "permission denied — add your user to group lockdiag (see udev/README.md) or run as root"
        case .noDevice: "the lock was unplugged or reset — plug it back in; it keeps its id"
        case .notFound: "the device or its interface is not there — check the port and that this is a lock controller"
        case .busy: "the interface is claimed by another program (another lockdiagd?) — stop it; lockdiag retries"
        case .timeout: "the lock did not complete the transfer in time — check the cable and power"
        case .overflow: "the lock sent more than it was asked for (firmware bug?) — the data was discarded"
        case .pipe: "the endpoint stalled — lockdiag clears the halt and retries"
        case .interrupted: "interrupted by a signal — lockdiag retries"
        case .noMemory: "out of memory"
        case .notSupported: "not supported by this kernel or libusb"
        case .other: "unexpected USB error — reseat the cable; if it persists, report it with the log"
        }
    }

    public var description: String { name }
}

/// How a USB transfer ended (libusb.h, `enum libusb_transfer_status`).
public enum USBTransferStatus: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case completed = 0
    case error = 1
    case timedOut = 2
    case cancelled = 3
    case stall = 4
    case noDevice = 5
    case overflow = 6

    public var name: String {
        switch self {
        case .completed: "LIBUSB_TRANSFER_COMPLETED"
        case .error: "LIBUSB_TRANSFER_ERROR"
        case .timedOut: "LIBUSB_TRANSFER_TIMED_OUT"
        case .cancelled: "LIBUSB_TRANSFER_CANCELLED"
        case .stall: "LIBUSB_TRANSFER_STALL"
        case .noDevice: "LIBUSB_TRANSFER_NO_DEVICE"
        case .overflow: "LIBUSB_TRANSFER_OVERFLOW"
        }
    }

    /// What it means for the link.
    public var advice: String {
        switch self {
        case .completed: "completed"
        case .error: "transfer error (a bad cable or electrical noise?) — lockdiag retries"
        case .timedOut: "the lock did not complete the transfer in time"
        case .cancelled: "cancelled"
        case .stall: "the endpoint stalled — lockdiag clears the halt and retries"
        case .noDevice: "the lock was unplugged or reset — plug it back in; it keeps its id"
        case .overflow: "the lock sent more than was asked for (firmware bug?) — the data was discarded"
        }
    }

    public var description: String { name }
}

/// Why a USB lock could not be opened or used, with what to do about it.
public enum USBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A libusb call returned an error code.
    case call(String, LibUSBCode, device: String)
    /// Nothing matching the address is plugged in now.
    case notPresent(USBAddress)
    /// The device has no vendor-specific interface with a bulk IN and a bulk OUT endpoint.
    case noBulkInterface(device: String)
    /// A transfer on `endpoint` ended badly.
    case transfer(USBTransferStatus, endpoint: UInt8, device: String)
    /// The previous connection is still being torn down by the USB event thread.
    case stillClosing(device: String)
    /// libusb could not start at all (no usbfs?), so no USB lock can be used.
    case unavailable(LibUSBCode)

    /// The device went away (unplugged, reset) rather than refusing us.
    public var isDisconnect: Bool {
        switch self {
        case .call(_, let code, _): code == .noDevice
        case .transfer(let status, _, _): status == .noDevice
        case .notPresent: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .call(let call, let code, let device):
            "USB \(device): \(call): \(code.name) — \(code.advice)"
        case .notPresent(let address):
            "no USB device \(address) — is the lock plugged in? `lockdiagd --scan` lists what is connected"
        case .noBulkInterface(let device):
            "USB \(device) has no vendor-specific (class 0xFF) interface with bulk IN and OUT endpoints — not an LDP/1 lock controller (see firmware-specs/usb.md)"
        case .transfer(let status, let endpoint, let device):
            "USB \(device): \(status.name) on endpoint 0x\(String(endpoint, radix: 16, uppercase: false)) — \(status.advice)"
        case .stillClosing(let device):
            "USB \(device): the previous connection is still closing — lockdiag retries"
        case .unavailable(let code):
            "USB unavailable: libusb_init failed with \(code.name) — is /dev/bus/usb present (usbfs)? USB locks cannot be used"
        }
    }
}
