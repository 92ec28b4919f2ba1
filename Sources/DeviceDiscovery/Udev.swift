import CUdev
#if canImport(Glibc)
import Glibc
#endif

// Every libudev call discovery makes goes through this file.

/// Why discovery could not start.
public enum DiscoveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libudev could not be set up (no /sys? out of memory?).
    case udev(call: String, errno: Int32)

    public var description: String {
        switch self {
        case .udev(let call, let errno):
            "udev discovery unavailable: \(call) failed (\(String(cString: strerror(errno)))) — locks can still be named with --serial/--usb"
        }
    }
}

/// A libudev context with the lookups discovery needs. Used by one thread at a time.
final class UdevContext {
    let udev: OpaquePointer

    init() throws(DiscoveryError) {
        guard let udev = udev_new() else { throw .udev(call: "udev_new", errno: errno) }
        self.udev = udev
    }

    deinit { udev_unref(udev) }

    /// Syspaths of the devices of these subsystems present now.
    func enumerate(subsystems: [String]) throws(DiscoveryError) -> [String] {
        guard let enumerate = udev_enumerate_new(udev) else { throw .udev(call: "udev_enumerate_new", errno: errno) }
        defer { udev_enumerate_unref(enumerate) }
        for subsystem in subsystems { _ = udev_enumerate_add_match_subsystem(enumerate, subsystem) }
        let rc = udev_enumerate_scan_devices(enumerate)
        guard rc >= 0 else { throw .udev(call: "udev_enumerate_scan_devices", errno: -rc) }
        var paths: [String] = []
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            if let name = udev_list_entry_get_name(current) { paths.append(String(cString: name)) }
            entry = udev_list_entry_get_next(current)
        }
        return paths
    }

    /// What udev knows about the device at `syspath`, nil when it vanished meanwhile.
    func facts(syspath: String) -> DiscoveryPolicy.Facts? {
        guard let device = udev_device_new_from_syspath(udev, syspath) else { return nil }
        defer { udev_device_unref(device) }
        return Self.facts(of: device)
    }

    static func facts(of device: OpaquePointer) -> DiscoveryPolicy.Facts {
        var facts = DiscoveryPolicy.Facts(syspath: string(udev_device_get_syspath(device)) ?? "",
                                          subsystem: string(udev_device_get_subsystem(device)) ?? "",
                                          devtype: string(udev_device_get_devtype(device)),
                                          devnode: string(udev_device_get_devnode(device)),
                                          transportProperty: string(udev_device_get_property_value(device, DiscoveryPolicy.transportProperty)))
        var link = udev_device_get_devlinks_list_entry(device)
        while let current = link {
            if let name = udev_list_entry_get_name(current) { facts.devlinks.append(String(cString: name)) }
            link = udev_list_entry_get_next(current)
        }
        let usbDevice: OpaquePointer?
        if facts.subsystem == "usb" && facts.devtype == "usb_device" {
            usbDevice = device
        } else {
            // Borrowed: owned by `device`, freed with it.
            usbDevice = udev_device_get_parent_with_subsystem_devtype(device, "usb", "usb_device")
        }
        if let usbDevice,
           let vendor = string(udev_device_get_sysattr_value(usbDevice, "idVendor")).flatMap({ UInt16($0, radix: 16) }),
           let product = string(udev_device_get_sysattr_value(usbDevice, "idProduct")).flatMap({ UInt16($0, radix: 16) }),
           let port = string(udev_device_get_sysname(usbDevice)) {
            facts.usb = DiscoveryPolicy.USBFacts(port: port, id: USBID(vendor: vendor, product: product),
                                                 serial: string(udev_device_get_sysattr_value(usbDevice, "serial")),
                                                 manufacturer: string(udev_device_get_sysattr_value(usbDevice, "manufacturer")),
                                                 product: string(udev_device_get_sysattr_value(usbDevice, "product")))
        }
        return facts
    }

    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        let text = String(cString: pointer).trimmingTrailingWhitespace
        return text.isEmpty ? nil : text
    }
}

/// A udev monitor on the "udev" netlink source: events after udevd has run its rules, so
/// permissions and LOCKDIAG_TRANSPORT are already set when they arrive.
final class UdevMonitor {
    let monitor: OpaquePointer

    init(_ context: UdevContext, subsystems: [String]) throws(DiscoveryError) {
        guard let monitor = udev_monitor_new_from_netlink(context.udev, "udev") else {
            throw .udev(call: "udev_monitor_new_from_netlink", errno: errno)
        }
        self.monitor = monitor
        for subsystem in subsystems { _ = udev_monitor_filter_add_match_subsystem_devtype(monitor, subsystem, nil) }
        let rc = udev_monitor_enable_receiving(monitor)
        guard rc >= 0 else {
            udev_monitor_unref(monitor)
            throw .udev(call: "udev_monitor_enable_receiving", errno: -rc)
        }
    }

    deinit { udev_monitor_unref(monitor) }

    /// Non-blocking (libudev sets O_NONBLOCK on it).
    var fd: Int32 { udev_monitor_get_fd(monitor) }

    /// The next pending event, nil when there is none.
    func receive() -> (action: String, facts: DiscoveryPolicy.Facts)? {
        guard let device = udev_monitor_receive_device(monitor) else { return nil }
        defer { udev_device_unref(device) }
        return (UdevContext.string(udev_device_get_action(device)) ?? "", UdevContext.facts(of: device))
    }
}

extension String {
    var trimmingTrailingWhitespace: String {
        var text = self
        while let last = text.last, last == "\n" || last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
