/// Where a USB lock is: a port path (fixed wiring on a bench rig) or its serial number
/// (the same lock wherever it is plugged in).
public enum USBAddress: Sendable, Hashable, CustomStringConvertible {
    /// Bus number and the port on each hub from the root down, as Linux names the device in
    /// sysfs: bus 1, root port 1, hub port 4 is `1-1.4`.
    case port(bus: UInt8, ports: [UInt8])
    /// The device's USB serial number (its iSerialNumber string; for a lock, the LDP/1 serial).
    case serial(String)

    /// `1-1.4` is a port path; anything else is taken for a serial number.
    public init(_ text: String) {
        self = Self.parsePort(text) ?? .serial(text)
    }

    /// Parses a Linux port path (`BUS-PORT[.PORT…]`), nil when `text` is not one.
    public static func parsePort(_ text: String) -> USBAddress? {
        let halves = text.split(separator: "-", omittingEmptySubsequences: false)
        guard halves.count == 2, let bus = UInt8(halves[0]), bus > 0 else { return nil }
        let ports = halves[1].split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        guard !ports.isEmpty, ports.count <= 7, ports.allSatisfy({ $0 != nil && $0! > 0 }) else { return nil }
        return .port(bus: bus, ports: ports.map { $0! })
    }

    /// The sysfs-style name of a port path.
    public static func portPath(bus: UInt8, ports: [UInt8]) -> String {
        "\(bus)-" + ports.map(String.init).joined(separator: ".")
    }

    /// `1-1.4` for a port, the serial number itself for a serial.
    public var text: String {
        switch self {
        case .port(let bus, let ports): Self.portPath(bus: bus, ports: ports)
        case .serial(let serial): serial
        }
    }

    public var description: String {
        switch self {
        case .port: "at port \(text)"
        case .serial(let serial): "with serial number \(serial)"
        }
    }
}
