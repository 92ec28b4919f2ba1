import DeviceDiscovery
#if canImport(Glibc)
import Glibc
#endif

/// `lockdiagd --scan`: what udev sees plugged in now, and whether this user may open it. The
/// first thing to run when a lock does not show up.
enum Scan {
    /// Prints the table; returns the exit status (0, or 1 when udev could not be asked).
    static func run(adapterSerials: [String]) -> Int32 {
        let devices: [DiscoveredDevice]
        do {
            devices = try DeviceDiscovery.scan(policy: DiscoveryPolicy(adapterSerials: Set(adapterSerials)))
        } catch {
            FileHandleOutput.error("lockdiagd: \(error)")
            return 1
        }
        if devices.isEmpty {
            print("No USB lock or service cable connected (looked for \(KnownDevices.bulkLock), \(KnownDevices.serialLock), "
                  + "LOCKDIAG_TRANSPORT-tagged devices and the USB-UART bridges of service cables).")
            return 0
        }
        var rows = [["ID", "TRANSPORT", "PATH", "PORT", "USB ID", "WHAT", "ACCESS"]]
        for device in devices {
            rows.append([device.isLock ? device.stableID : "-", device.transport.rawValue, device.path, device.port,
                         device.id.description, what(device), access(device)])
        }
        print(table(rows))
        return 0
    }

    static func what(_ device: DiscoveredDevice) -> String {
        switch device.match {
        case .knownLock: return KnownDevices.name(of: device.id) ?? "lock controller"
        case .udevProperty: return "tagged LOCKDIAG_TRANSPORT=\(device.transport.rawValue) by a udev rule"
        case .configuredSerial: return "service cable named by --usb-serial"
        case .serviceCable:
            let name = KnownDevices.name(of: device.id) ?? "USB-UART bridge"
            let hint = device.serial.map { "--usb-serial \($0)" } ?? "--serial \(device.devlinks.first { $0.contains("/by-path/") } ?? device.path)"
            return "\(name) — not polled; to use it: \(hint)"
        }
    }

    /// Whether this process may open the device node read-write, and what to do if not.
    static func access(_ device: DiscoveredDevice) -> String {
        guard let node = device.devnode else { return "no device node" }
        if Glibc.access(node, R_OK | W_OK) == 0 { return "ok" }
        if errno == EACCES || errno == EPERM { return "permission denied: add your user to group lockdiag (see udev/README.md) or run as root" }
        return String(cString: strerror(errno))
    }

    static func table(_ rows: [[String]]) -> String {
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

enum FileHandleOutput {
    static func error(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
