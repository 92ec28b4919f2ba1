import CLibUSB
#if canImport(Glibc)
import Glibc
#endif

// Every libusb call the transport makes goes through this file, and every return code leaves
// it as a typed `USBError` (the swift-system habit: C spelling stays here).

/// The bulk pipe pair of a lock's vendor interface, read from its descriptors.
struct BulkInterface: Sendable, Equatable {
    var number: Int32
    var outEndpoint: UInt8
    var inEndpoint: UInt8
    var outMaxPacketBytes: Int
    var inMaxPacketBytes: Int
}

enum LibUSB {
    static func check(_ rc: Int32, _ call: String, device: String) throws(USBError) {
        if rc < 0 { throw .call(call, LibUSBCode(returned: rc), device: device) }
    }

    static func initContext() throws(USBError) -> OpaquePointer {
        var context: OpaquePointer?
        let rc = libusb_init(&context)
        guard rc == 0, let context else { throw .unavailable(LibUSBCode(returned: rc)) }
        return context
    }

    static func exit(_ context: OpaquePointer) { libusb_exit(context) }

    /// The device at `address` with a reference taken (release with `unref`), and its port path.
    static func find(_ address: USBAddress, in context: OpaquePointer) throws(USBError) -> (device: OpaquePointer, port: String) {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { throw .call("libusb_get_device_list", LibUSBCode(returned: Int32(count)), device: address.text) }
        defer { libusb_free_device_list(list, 1) }
        var ports = [UInt8](repeating: 0, count: 7)
        for index in 0..<Int(count) {
            guard let device = list[index] else { continue }
            let depth = libusb_get_port_numbers(device, &ports, Int32(ports.count))
            guard depth > 0 else { continue }  // a root hub
            let path = USBAddress.portPath(bus: libusb_get_bus_number(device), ports: Array(ports[0..<Int(depth)]))
            let matches: Bool
            switch address {
            case .port: matches = path == address.text
            // The kernel has already read iSerialNumber into sysfs: no control transfer needed,
            // and a device another program has open is not disturbed.
            case .serial(let serial): matches = Sysfs.attribute("/sys/bus/usb/devices/\(path)/serial") == serial
            }
            if matches { return (libusb_ref_device(device)!, path) }
        }
        throw .notPresent(address)
    }

    static func unref(_ device: OpaquePointer) { libusb_unref_device(device) }

    /// The bus number and the address the host gave the device (what usbmon and lsusb show).
    static func busAndAddress(of device: OpaquePointer) -> (bus: UInt8, address: UInt8) {
        (libusb_get_bus_number(device), libusb_get_device_address(device))
    }

    /// The first vendor-specific interface (class 0xFF) of the active configuration that has a
    /// bulk OUT and a bulk IN endpoint (firmware-specs/usb.md §2).
    static func bulkInterface(of device: OpaquePointer, port: String) throws(USBError) -> BulkInterface {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        try check(libusb_get_active_config_descriptor(device, &config), "libusb_get_active_config_descriptor", device: port)
        guard let config else { throw .noBulkInterface(device: port) }
        defer { libusb_free_config_descriptor(config) }
        for i in 0..<Int(config.pointee.bNumInterfaces) {
            let interface = config.pointee.interface[i]
            guard interface.num_altsetting > 0 else { continue }
            let setting = interface.altsetting[0]
            guard setting.bInterfaceClass == UInt8(LIBUSB_CLASS_VENDOR_SPEC.rawValue) else { continue }
            var out: (UInt8, Int)?
            var input: (UInt8, Int)?
            for e in 0..<Int(setting.bNumEndpoints) {
                let endpoint = setting.endpoint[e]
                guard endpoint.bmAttributes & 0x03 == UInt8(LIBUSB_TRANSFER_TYPE_BULK.rawValue) else { continue }
                let size = Int(endpoint.wMaxPacketSize & 0x07FF)
                if endpoint.bEndpointAddress & 0x80 != 0 { input = input ?? (endpoint.bEndpointAddress, size) } else { out = out ?? (endpoint.bEndpointAddress, size) }
            }
            if let out, let input {
                return BulkInterface(number: Int32(setting.bInterfaceNumber), outEndpoint: out.0, inEndpoint: input.0,
                                     outMaxPacketBytes: out.1, inMaxPacketBytes: input.1)
            }
        }
        throw .noBulkInterface(device: port)
    }

    static func open(_ device: OpaquePointer, port: String) throws(USBError) -> OpaquePointer {
        var handle: OpaquePointer?
        try check(libusb_open(device, &handle), "libusb_open", device: port)
        guard let handle else { throw .call("libusb_open", .other, device: port) }
        return handle
    }

    /// Claims `interface`, first detaching a kernel driver bound to it. Returns whether one was
    /// detached (to be re-attached on release). Done by hand rather than with libusb's
    /// auto-detach so that each step fails with its own error.
    static func claim(_ handle: OpaquePointer, interface: Int32, port: String) throws(USBError) -> Bool {
        var detached = false
        let active = libusb_kernel_driver_active(handle, interface)
        if active == 1 {
            try check(libusb_detach_kernel_driver(handle, interface), "libusb_detach_kernel_driver", device: port)
            detached = true
        } else if active < 0 && LibUSBCode(returned: active) == .noDevice {
            throw .call("libusb_kernel_driver_active", .noDevice, device: port)
        }
        // Other failures to ask (NOT_SUPPORTED and the like) leave the claim to report a conflict.
        do {
            try check(libusb_claim_interface(handle, interface), "libusb_claim_interface", device: port)
        } catch {
            if detached { _ = libusb_attach_kernel_driver(handle, interface) }
            throw error
        }
        return detached
    }

    static func release(_ handle: OpaquePointer, interface: Int32, reattach: Bool) {
        _ = libusb_release_interface(handle, interface)
        if reattach { _ = libusb_attach_kernel_driver(handle, interface) }
    }

    static func close(_ handle: OpaquePointer) { libusb_close(handle) }

    /// CLEAR_FEATURE(ENDPOINT_HALT) through usbfs, which also resets the data toggle. A
    /// synchronous control request: called on the USB event thread only, never the poll loop.
    static func clearHalt(_ handle: OpaquePointer, endpoint: UInt8, port: String) throws(USBError) {
        try check(libusb_clear_halt(handle, endpoint), "libusb_clear_halt", device: port)
    }

    static func allocateTransfer() -> UnsafeMutablePointer<libusb_transfer> {
        guard let transfer = libusb_alloc_transfer(0) else { fatalError("libusb_alloc_transfer: out of memory") }
        return transfer
    }

    static func freeTransfer(_ transfer: UnsafeMutablePointer<libusb_transfer>) { libusb_free_transfer(transfer) }

    /// Fills a bulk transfer (libusb_fill_bulk_transfer, which is a header inline).
    static func fillBulk(_ transfer: UnsafeMutablePointer<libusb_transfer>, handle: OpaquePointer, endpoint: UInt8,
                         buffer: UnsafeMutableRawPointer, length: Int, timeoutMilliseconds: UInt32, zeroPacket: Bool,
                         callback: libusb_transfer_cb_fn, userData: UnsafeMutableRawPointer) {
        transfer.pointee.dev_handle = handle
        transfer.pointee.endpoint = endpoint
        transfer.pointee.type = UInt8(LIBUSB_TRANSFER_TYPE_BULK.rawValue)
        transfer.pointee.timeout = timeoutMilliseconds
        transfer.pointee.buffer = buffer.assumingMemoryBound(to: UInt8.self)
        transfer.pointee.length = Int32(length)
        transfer.pointee.flags = zeroPacket ? UInt8(LIBUSB_TRANSFER_ADD_ZERO_PACKET.rawValue) : 0
        transfer.pointee.user_data = userData
        transfer.pointee.callback = callback
    }

    static func submit(_ transfer: UnsafeMutablePointer<libusb_transfer>, port: String) throws(USBError) {
        try check(libusb_submit_transfer(transfer), "libusb_submit_transfer", device: port)
    }

    /// Asks libusb to cancel; completion arrives later through the callback (CANCELLED).
    static func cancel(_ transfer: UnsafeMutablePointer<libusb_transfer>) -> LibUSBCode? {
        let rc = libusb_cancel_transfer(transfer)
        return rc == 0 ? nil : LibUSBCode(returned: rc)
    }

    static func status(of transfer: UnsafeMutablePointer<libusb_transfer>) -> USBTransferStatus {
        USBTransferStatus(rawValue: transfer.pointee.status.rawValue) ?? .error
    }

    /// Runs completion callbacks for whatever is ready, without waiting.
    static func handleEventsNow(_ context: OpaquePointer) -> LibUSBCode? {
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let rc = libusb_handle_events_timeout_completed(context, &zero, nil)
        return rc == 0 ? nil : LibUSBCode(returned: rc)
    }

    /// The descriptors libusb wants watched (its event fd, its timerfd, one per open device).
    static func pollDescriptors(_ context: OpaquePointer) -> [(fd: Int32, events: Int16)] {
        guard let list = libusb_get_pollfds(context) else { return [] }
        defer { libusb_free_pollfds(list) }
        var result: [(Int32, Int16)] = []
        var index = 0
        while let entry = list[index] {
            result.append((entry.pointee.fd, entry.pointee.events))
            index += 1
        }
        return result
    }

    /// Milliseconds until libusb must handle a transfer timeout, when its descriptors do not
    /// cover timeouts themselves (they do on Linux, through a timerfd); -1: none pending.
    static func nextTimeoutMilliseconds(_ context: OpaquePointer) -> Int32 {
        if libusb_pollfds_handle_timeouts(context) != 0 { return -1 }
        var next = timeval()
        guard libusb_get_next_timeout(context, &next) == 1 else { return -1 }
        return Int32(next.tv_sec * 1000 + Int(next.tv_usec) / 1000) + 1
    }

    static func setPollNotifiers(_ context: OpaquePointer, added: libusb_pollfd_added_cb?, removed: libusb_pollfd_removed_cb?,
                                 userData: UnsafeMutableRawPointer?) {
        libusb_set_pollfd_notifiers(context, added, removed, userData)
    }
}

/// Text attributes under /sys (the kernel's copy of descriptor strings and ids).
enum Sysfs {
    /// The attribute's text without its trailing newline, nil when it cannot be read.
    static func attribute(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        var text = String(decoding: buffer[0..<n], as: UTF8.self)
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}
