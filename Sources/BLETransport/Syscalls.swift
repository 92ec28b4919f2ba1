import BLEProtocol
import CBlueZ
import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

// Every BlueZ and socket call the BLE transport makes, in one place: each return code becomes a
// typed, thrown `SystemError` (EINTR retried through LinuxIO's one helper), and the C spelling
// (sockaddr_l2, bdaddr_t, hci_filter) stays in this file.

enum Syscalls {
    // MARK: L2CAP (the ATT fixed channel)

    /// A non-blocking L2CAP SOCK_SEQPACKET socket bound to the ATT fixed channel on `adapter`'s
    /// address, or on any local adapter (the kernel picks one that is up and is not the peer).
    static func l2capATTSocket(adapter: String? = nil) throws(SystemError) -> Int32 {
        // Looked up before the socket exists, so a missing adapter leaks nothing.
        let source = try adapter.map { name throws(SystemError) -> bdaddr_t in try adapterAddress(name) }
        let fd = socket(AF_BLUETOOTH, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                        BTPROTO_L2CAP)
        guard fd >= 0 else { throw .last("socket(AF_BLUETOOTH, SOCK_SEQPACKET, BTPROTO_L2CAP)") }
        var local = sockaddr_l2()
        local.l2_family = sa_family_t(AF_BLUETOOTH)
        local.l2_cid = ATT.fixedChannel.littleEndian
        local.l2_bdaddr_type = UInt8(BDADDR_LE_PUBLIC)
        if let source { local.l2_bdaddr = source }
        let rc = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_l2>.size)) }
        }
        guard rc == 0 else {
            let error = SystemError.last("bind(L2CAP ATT channel)")
            FileIO.close(fd)
            throw error
        }
        return fd
    }

    /// BT_SECURITY on the socket: the kernel encrypts (medium) or pairs with MITM protection
    /// (high) before it carries ATT.
    static func setSecurity(_ fd: Int32, level: BLESecurityLevel) throws(SystemError) {
        var security = bt_security(level: level.kernelLevel, key_size: 0)
        guard setsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &security, socklen_t(MemoryLayout<bt_security>.size)) == 0 else {
            throw .last("setsockopt(BT_SECURITY \(level))")
        }
    }

    /// Starts an LE connection to `address` on the ATT channel; completes later (EINPROGRESS).
    static func startL2CAPConnect(_ fd: Int32, to address: BluetoothAddress) throws(SystemError) {
        var remote = sockaddr_l2()
        remote.l2_family = sa_family_t(AF_BLUETOOTH)
        remote.l2_cid = ATT.fixedChannel.littleEndian
        remote.l2_bdaddr_type = UInt8(address.type == .random ? BDADDR_LE_RANDOM : BDADDR_LE_PUBLIC)
        // libbluetooth's own parser: it fills bdaddr_t in the kernel's (little-endian) order.
        guard str2ba(address.text, &remote.l2_bdaddr) == 0 else { throw SystemError("str2ba(\(address.text))", errno: EINVAL) }
        let rc = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_l2>.size)) }
        }
        if rc != 0 && errno != EINPROGRESS { throw .last("connect(\(address))") }
    }

    /// The address a bdaddr_t holds, as text (libbluetooth's ba2str).
    static func text(_ address: bdaddr_t) -> String {
        var copy = address
        var buffer = [CChar](repeating: 0, count: 18)
        _ = ba2str(&copy, &buffer)
        return String(cString: buffer)
    }

    // MARK: Connection progress and packets

    /// Waits until a non-blocking connect finishes, `wake` is rung, or the deadline passes.
    /// Returns the connect's errno (0 on success), or nil on timeout or wake.
    static func awaitConnect(_ fd: Int32, wake: Int32, deadlineNanoseconds: UInt64) -> Int32? {
        var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        guard let ready = try? Poll.wait(&fds, deadlineNanoseconds: deadlineNanoseconds), ready > 0, fds[1].revents == 0 else { return nil }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return errno }
        return error
    }

    // MARK: HCI (LE scanning)

    /// The adapter's device id: by name (`hci0`), or the first one up.
    static func adapterID(_ name: String?) throws(SystemError) -> Int32 {
        // Probe the address family first: on a kernel without Bluetooth, libbluetooth's
        // lookups fail with an errno that does not say so.
        let probe = socket(AF_BLUETOOTH, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), BTPROTO_HCI)
        guard probe >= 0 else { throw .last("socket(AF_BLUETOOTH, SOCK_RAW, BTPROTO_HCI)") }
        FileIO.close(probe)
        errno = 0
        let id = name.map { hci_devid($0) } ?? hci_get_route(nil)
        guard id >= 0 else { throw SystemError(name.map { "hci_devid(\($0))" } ?? "hci_get_route", errno: errno == 0 ? ENODEV : errno) }
        return id
    }

    /// The address of the adapter named `name` (`hci1`), up or down; ENODEV when there is none.
    static func adapterAddress(_ name: String) throws(SystemError) -> bdaddr_t {
        let id = try adapterID(name)
        var info = hci_dev_info()
        guard hci_devinfo(id, &info) == 0 else { throw .last("hci_devinfo(\(name))") }
        return info.bdaddr
    }

    /// The adapter's name and address.
    static func adapterInfo(_ id: Int32) -> (name: String, address: String)? {
        var info = hci_dev_info()
        guard hci_devinfo(id, &info) == 0 else { return nil }
        let name = withUnsafeBytes(of: info.name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        return (name, text(info.bdaddr))
    }

    static func openAdapter(_ id: Int32) throws(SystemError) -> Int32 {
        let dd = hci_open_dev(id)
        guard dd >= 0 else { throw .last("hci_open_dev(hci\(id))") }
        return dd
    }

    static func closeAdapter(_ dd: Int32) { _ = hci_close_dev(dd) }

    /// LE Set Scan Parameters: active or passive, 10 ms interval and window (continuous),
    /// public own address, no filter list.
    static func setScanParameters(_ dd: Int32, active: Bool) throws(SystemError) {
        guard hci_le_set_scan_parameters(dd, active ? 0x01 : 0x00, UInt16(0x0010).littleEndian, UInt16(0x0010).littleEndian,
                                         0x00, 0x00, 1000) >= 0 else { throw .last("LE Set Scan Parameters") }
    }

    /// LE Set Scan Enable; duplicates are not filtered by the controller (we count and dedupe,
    /// and want every RSSI).
    static func setScanEnable(_ dd: Int32, _ enable: Bool) throws(SystemError) {
        guard hci_le_set_scan_enable(dd, enable ? 0x01 : 0x00, 0x00, 1000) >= 0 else {
            throw .last(enable ? "LE Set Scan Enable" : "LE Set Scan Disable")
        }
    }

    /// Lets only LE Meta events through the socket; returns the filter to restore.
    static func filterLEMetaEvents(_ dd: Int32) throws(SystemError) -> hci_filter {
        var old = hci_filter()
        var length = socklen_t(MemoryLayout<hci_filter>.size)
        guard getsockopt(dd, SOL_HCI, HCI_FILTER, &old, &length) == 0 else { throw .last("getsockopt(HCI_FILTER)") }
        var filter = hci_filter()
        hci_filter_clear(&filter)
        hci_filter_set_ptype(HCI_EVENT_PKT, &filter)
        hci_filter_set_event(EVT_LE_META_EVENT, &filter)
        guard setsockopt(dd, SOL_HCI, HCI_FILTER, &filter, socklen_t(MemoryLayout<hci_filter>.size)) == 0 else {
            throw .last("setsockopt(HCI_FILTER)")
        }
        return old
    }

    static func restoreFilter(_ dd: Int32, _ filter: hci_filter) {
        var copy = filter
        _ = setsockopt(dd, SOL_HCI, HCI_FILTER, &copy, socklen_t(MemoryLayout<hci_filter>.size))
    }

    /// Waits up to `timeoutMilliseconds` for the HCI socket; reads one event packet when there is one.
    static func readEvent(_ dd: Int32, into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int32) throws(SystemError) -> Int? {
        let ready: Int16
        do {
            ready = try Poll.wait(dd, events: Int16(POLLIN), deadlineNanoseconds: Poll.deadline(afterMilliseconds: timeoutMilliseconds))
        } catch {
            throw SystemError("poll(HCI)", errno: error.errno)
        }
        if ready == 0 { return nil }
        let got = retryingOnInterrupt { Glibc.read(dd, buffer.baseAddress, buffer.count) }
        if got < 0 {
            if errno == EAGAIN { return nil }
            throw .last("read(HCI)")
        }
        return got
    }
}
