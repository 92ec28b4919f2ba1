import BLEProtocol
import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// Why a BLE lock could not be reached or set up, with what to do about it.
public enum BLEError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel has no Bluetooth (no AF_BLUETOOTH): nothing BLE can work on this host.
    case bluetoothUnavailable(SystemError)
    /// No adapter, or it is down or blocked.
    case noAdapter(SystemError)
    /// Raw HCI access (scanning) needs privileges.
    case permissionDenied(SystemError)
    /// The LE connection did not come up in time.
    case connectTimedOut(BLEEndpoint, seconds: Double)
    /// The LE connection (or the seam's socket) was refused or failed.
    case connectFailed(BLEEndpoint, SystemError)
    /// GATT discovery or a read during set-up failed.
    case gatt(BLEEndpoint, GATTError)
    /// The device answers GATT but exposes none of the services lockdiag reads.
    case notALock(BLEEndpoint, services: [BluetoothUUID])
    /// The LDP service is there but incomplete.
    case ldpServiceIncomplete(BLEEndpoint, String)
    /// Scanning failed.
    case scanFailed(SystemError)

    /// Turns a socket() / HCI lookup failure into the error that says what is missing.
    static func classify(_ error: SystemError) -> BLEError {
        switch error.errno {
        case EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT: .bluetoothUnavailable(error)
        case ENODEV, EHOSTUNREACH, ENETDOWN, ERFKILL: .noAdapter(error)
        case EPERM, EACCES: .permissionDenied(error)
        default: .scanFailed(error)
        }
    }

    public var description: String {
        switch self {
        case .bluetoothUnavailable(let e):
            "Bluetooth is not available on this host: the kernel has no Bluetooth support (\(e.call): \(e.message)) — "
                + "use a kernel with Bluetooth (modprobe bluetooth) and an adapter; a simulated lock needs none: "
                + "locksim --ble-att-socket PATH and lockdiagd --ble-att-socket PATH"
        case .noAdapter(let e):
            "no usable Bluetooth adapter (\(e.call): \(e.message)) — plug one in, check `bluetoothctl show`, "
                + "`bluetoothctl power on` and `rfkill unblock bluetooth`"
        case .permissionDenied(let e):
            "not allowed to use the Bluetooth adapter (\(e.call): \(e.message)) — scanning needs CAP_NET_RAW and CAP_NET_ADMIN: "
                + "run as root, or `sudo setcap cap_net_raw,cap_net_admin+eip $(command -v lockdiag)`"
        case .connectTimedOut(let endpoint, let seconds):
            "\(endpoint): no connection within \(Self.seconds(seconds)) — the lock is asleep, out of range, or connected to "
                + "another device (a phone app?); wake it (touch its keypad) and move closer; lockdiag keeps trying"
        case .connectFailed(let endpoint, let e):
            switch endpoint {
            case .attSocket(let path):
                "\(path): no GATT server there (\(e.call): \(e.message)) — is `locksim --ble-att-socket \(path)` running?"
            case .address:
                "\(endpoint): connection failed (\(e.call): \(e.message))" + Self.connectAdvice(e.errno)
            }
        case .gatt(let endpoint, let error):
            "\(endpoint): \(error)"
        case .notALock(let endpoint, let services):
            "\(endpoint) exposes neither the LDP service nor the Battery or Device Information service (it has "
                + (services.isEmpty ? "no services" : services.map(\.description).joined(separator: ", "))
                + ") — is this the right address? `lockdiag scan` marks likely locks"
        case .ldpServiceIncomplete(let endpoint, let what):
            "\(endpoint): its LDP service is incomplete: \(what) — the lock's firmware does not follow firmware-specs/ble-gatt.md"
        case .scanFailed(let e):
            "scanning failed (\(e.call): \(e.message)) — is another program scanning (bluetoothctl scan on)? stop it and retry"
        }
    }

    static func connectAdvice(_ errno: Int32) -> String {
        switch errno {
        case EHOSTDOWN, ECONNREFUSED, ETIMEDOUT: " — the lock is asleep, out of range, or busy with another device; lockdiag keeps trying"
        case EHOSTUNREACH, ENETDOWN, ENODEV, ERFKILL: " — no usable Bluetooth adapter: check `bluetoothctl show` and `rfkill`"
        case EBUSY, EALREADY: " — the adapter is busy with another connection attempt; lockdiag retries"
        case EACCES, EPERM: " — pairing or permission refused: pair the lock first (bluetoothctl pair ADDRESS)"
        default: ""
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(Double(Int(value * 10)) / 10) s"
    }

    /// Whether trying again later can help (a missing kernel feature cannot).
    public var isRetryable: Bool {
        if case .bluetoothUnavailable = self { return false }
        return true
    }
}

/// Why an ATT/GATT exchange failed.
public enum GATTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an Error Response.
    case attError(ATTErrorResponse)
    /// No response within the transaction timeout; the bearer must not be used again.
    case transactionTimedOut(ATTOpcode, seconds: Double)
    /// The peer disconnected.
    case disconnected(String)
    /// The peer sent bytes that are not an ATT PDU, or a PDU that breaks the protocol.
    case malformed(ATTDecodeError)
    case unexpected(expected: ATTOpcode, got: ATTOpcode)
    case badDeclaration(GATTDecodeError)
    /// A value does not fit the MTU (writes are never split into prepared writes here).
    case valueTooLong(Int, maximum: Int)
    /// A discovery or read that did not advance (a misbehaving server), stopped.
    case noProgress(String)
    /// A discovery answer naming handles outside the range asked, or out of order.
    case handlesOutOfRange(String)
    case io(SystemError)

    public var description: String {
        switch self {
        case .attError(let e):
            "\(e)" + (e.code.needsPairing
                ? " — the lock wants a paired, encrypted link: pair it (`bluetoothctl pair ADDRESS`) and run lockdiagd with --ble-security medium (high for passkey pairing)"
                : e.code == .requestNotSupported ? " — the lock's GATT server does not support this request" : "")
        case .transactionTimedOut(let op, let seconds):
            "no response to \(op) within \(BLEError.seconds(seconds)) (the ATT transaction timeout): the lock's GATT server hung; the link is closed and lockdiag reconnects"
        case .disconnected(let why): "the lock disconnected (\(why))"
        case .malformed(let e): "the lock sent a malformed ATT PDU: \(e)"
        case .unexpected(let expected, let got): "the lock answered \(got) where \(expected) was due"
        case .badDeclaration(let e): "the lock's GATT database is malformed: \(e)"
        case .valueTooLong(let count, let maximum): "a value of \(count) bytes does not fit the ATT MTU (at most \(maximum))"
        case .noProgress(let what): "the lock's GATT server did not advance \(what)"
        case .handlesOutOfRange(let what): "the lock's GATT server answered handles outside the range asked or out of order \(what)"
        case .io(let e): "ATT I/O failed: \(e)"
        }
    }
}
