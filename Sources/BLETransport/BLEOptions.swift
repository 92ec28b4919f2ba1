import BLEProtocol
import CBlueZ

/// Where a BLE lock is: a Bluetooth LE address, or (the test seam) a Unix SOCK_SEQPACKET socket
/// whose peer speaks ATT exactly as on the L2CAP channel, one PDU per packet.
public enum BLEEndpoint: Hashable, Sendable, CustomStringConvertible {
    case address(BluetoothAddress)
    case attSocket(path: String)

    /// The device's `path` as `devices.list` shows it.
    public var description: String {
        switch self {
        case .address(let address): address.description
        case .attSocket(let path): path
        }
    }
}

/// BT_SECURITY levels for the LE link (the kernel's, bluetooth.h).
public enum BLESecurityLevel: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// No encryption: enough for the standard services and an LDP service without protection.
    case low
    /// Encrypted (pairing without MITM protection, "Just Works").
    case medium
    /// Encrypted and authenticated (pairing with MITM protection: a passkey).
    case high

    var kernelLevel: UInt8 {
        switch self {
        case .low: UInt8(BT_SECURITY_LOW)
        case .medium: UInt8(BT_SECURITY_MEDIUM)
        case .high: UInt8(BT_SECURITY_HIGH)
        }
    }

    public var description: String { rawValue }
}

/// How a BLE link connects, sets up and keeps going. Defaults suit a real lock; tests shorten the
/// timers.
public struct BLEOptions: Sendable, Equatable {
    public var security: BLESecurityLevel = .low
    /// The controller to connect through (`hci1`); nil lets the kernel route: the first one up
    /// whose address is not the lock's.
    public var adapter: String?
    /// How long one LE connection attempt may take before it is abandoned.
    public var connectTimeoutSeconds: Double = 10
    /// The ATT_MTU this side can receive (23…517); the link uses the smaller of both sides'.
    public var receiveMTU: Int = 247
    /// The ATT transaction timeout (30 s, Core Specification v5.3, Vol 3, Part F, §3.3.3).
    public var transactionTimeoutSeconds: Double = ATT.transactionTimeoutSeconds
    /// How often a lock with only the standard services has its Battery Level re-read. The read
    /// also proves its GATT server alive (unanswered, the link closes after the ATT timeout), so it
    /// is frequent; one small read every 10 s costs a lock little next to its connection events.
    public var batteryReadIntervalSeconds: Double = 10
    /// The first reconnect delay after a failure; it doubles per failure up to `maximumBackoffSeconds`.
    public var initialBackoffSeconds: Double = 1
    public var maximumBackoffSeconds: Double = 30
    /// A connection that lasted this long resets the backoff: the next attempt comes after the
    /// first step (`initialBackoffSeconds`), never at once (BLEConnector.sessionEnded says why).
    public var stableConnectionSeconds: Double = 10
    /// LDP/1's response deadline over this link: 100 ms (§4.2) plus a few BLE connection
    /// intervals for the request and the notification that answers it.
    public var ldpResponseTimeoutSeconds: Double = 0.5

    public init() {}

    /// The delay before the attempt that follows `failures` failures in a row (≥ 1).
    public func backoffSeconds(afterFailures failures: Int) -> Double {
        guard failures > 0 else { return 0 }
        let exponent = min(failures - 1, 30)
        return min(maximumBackoffSeconds, initialBackoffSeconds * Double(1 << exponent))
    }
}
