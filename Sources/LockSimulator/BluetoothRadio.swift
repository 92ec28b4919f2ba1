import BLEProtocol
import CBlueZ
import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

// A simulated lock's radio on a real Bluetooth controller (`locksim --ble-adapter hci0`): the
// kernel's management API (an HCI_CHANNEL_CONTROL socket) powers the controller on and advertises
// the lock, and an L2CAP socket on the ATT fixed channel of the controller's LE address takes the
// central's connection. Every Bluetooth socket call of the simulator, and their C spelling, are in
// this file. Facts from BlueZ: doc/mgmt-api.txt (the management socket and its commands),
// lib/l2cap.h and tools/btgatt-server.c (a GATT server listens on an L2CAP SOCK_SEQPACKET socket
// bound to the adapter's address, its LE address type and CID 4).

enum BluetoothRadio {
    /// The advertising instance a lock uses on its controller (one lock per controller).
    static let advertisingInstance: UInt8 = 1
    /// How long the kernel may take to answer a management command (powering on a controller
    /// takes its HCI initialisation: well under a second, even on TCG).
    static let replyTimeoutMilliseconds = 5000

    /// Powers `adapter` on if it is off, advertises the lock on it, and listens on its ATT fixed
    /// channel. Returns the listening socket (non-blocking) and the controller's address.
    static func listen(adapter: String, advertisement: (data: [UInt8], scanResponse: [UInt8])) throws(SimulatorError)
        -> (fd: Int32, address: BluetoothAddress) {
        let index = try controllerIndex(adapter)
        let management = try ManagementSocket()
        defer { management.close() }
        let reply = try management.request(.readControllerInformation, index: index, Management.command(.readControllerInformation, index: index))
        let information: Management.ControllerInformation
        do throws(ManagementError) {
            information = try Management.ControllerInformation(parameters: reply)
        } catch {
            throw .bluetooth(error.description)
        }
        guard information.supported.contains(.lowEnergy) else {
            throw .bluetooth("\(adapter) has no Bluetooth LE: a lock's radio needs an LE controller")
        }
        // An LE-only controller may have no public address (mgmt-api.txt); its static random
        // address would need its own bind and advertising setup, which no lab controller needs.
        guard information.address.bytes != [0, 0, 0, 0, 0, 0] else {
            throw .bluetooth("\(adapter) has no public address: locksim serves a lock on a controller's public address only")
        }
        if !information.current.contains(.powered) {
            _ = try management.request(.setPowered, index: index, Management.setPowered(index: index, on: true))
        }
        try advertise(index: index, advertisement, through: management)
        do throws(SystemError) {
            return (try listenATT(on: information.address), information.address)
        } catch {
            _ = try? management.request(.removeAdvertising, index: index, Management.removeAdvertising(index: index, instance: advertisingInstance))
            throw .system(error)
        }
    }

    private static func advertise(index: UInt16, _ advertisement: (data: [UInt8], scanResponse: [UInt8]), through management: ManagementSocket)
        throws(SimulatorError) {
        let packet: [UInt8]
        do throws(ManagementError) {
            packet = try Management.addAdvertising(index: index, instance: advertisingInstance, flags: [.connectable, .generalDiscoverable],
                                                   data: advertisement.data, scanResponse: advertisement.scanResponse)
        } catch {
            throw .bluetooth(error.description)
        }
        _ = try management.request(.addAdvertising, index: index, packet)
    }

    /// Advertises the lock on `adapter` (again: the lock stopped while a central was connected).
    static func advertise(adapter: String, advertisement: (data: [UInt8], scanResponse: [UInt8])) throws(SimulatorError) {
        let index = try controllerIndex(adapter)
        let management = try ManagementSocket()
        defer { management.close() }
        try advertise(index: index, advertisement, through: management)
    }

    /// Stops advertising the lock on `adapter` (its listening socket is closed by the caller).
    static func stopAdvertising(adapter: String) {
        guard let index = try? controllerIndex(adapter), let management = try? ManagementSocket() else { return }
        defer { management.close() }
        _ = try? management.request(.removeAdvertising, index: index, Management.removeAdvertising(index: index, instance: advertisingInstance))
    }

    /// `hci0` → 0.
    static func controllerIndex(_ adapter: String) throws(SimulatorError) -> UInt16 {
        guard adapter.hasPrefix("hci"), let index = UInt16(adapter.dropFirst(3)), index < Management.noController else {
            throw .bluetooth("'\(adapter)' is not a controller name: give one as hciN (`btmgmt info` lists them)")
        }
        return index
    }

    /// An L2CAP SOCK_SEQPACKET socket bound to `address` (LE public) on the ATT fixed channel,
    /// listening.
    private static func listenATT(on address: BluetoothAddress) throws(SystemError) -> Int32 {
        let fd = socket(AF_BLUETOOTH, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), BTPROTO_L2CAP)
        guard fd >= 0 else { throw .last("socket(AF_BLUETOOTH, SOCK_SEQPACKET, BTPROTO_L2CAP)") }
        var local = sockaddr_l2()
        local.l2_family = sa_family_t(AF_BLUETOOTH)
        local.l2_cid = ATT.fixedChannel.littleEndian
        local.l2_bdaddr_type = UInt8(BDADDR_LE_PUBLIC)
        let b = address.littleEndianBytes
        local.l2_bdaddr = bdaddr_t(b: (b[0], b[1], b[2], b[3], b[4], b[5]))
        let rc = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_l2>.size)) }
        }
        guard rc == 0, Glibc.listen(fd, 4) == 0 else {
            let error = SystemError.last(rc == 0 ? "listen(L2CAP ATT channel of \(address.text))" : "bind(L2CAP ATT channel of \(address.text))")
            FileIO.close(fd)
            throw error
        }
        return fd
    }
}

/// A management socket (HCI_CHANNEL_CONTROL): one command at a time, each waited for.
private struct ManagementSocket {
    let fd: Int32

    init() throws(SimulatorError) {
        let fd = socket(AF_BLUETOOTH, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), BTPROTO_HCI)
        guard fd >= 0 else {
            let error = SystemError.last("socket(AF_BLUETOOTH, SOCK_RAW, BTPROTO_HCI)")
            throw [EAFNOSUPPORT, EPROTONOSUPPORT].contains(error.errno)
                ? .bluetooth("the kernel has no Bluetooth (\(error.call): \(error.message)); --ble-att-socket needs none") : .system(error)
        }
        var address = sockaddr_hci()
        address.hci_family = sa_family_t(AF_BLUETOOTH)
        address.hci_dev = UInt16(HCI_DEV_NONE)
        address.hci_channel = UInt16(HCI_CHANNEL_CONTROL)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_hci>.size)) }
        }
        guard rc == 0 else {
            let error = SystemError.last("bind(HCI_CHANNEL_CONTROL)")
            FileIO.close(fd)
            throw [EPERM, EACCES].contains(error.errno) ? .bluetooth("the Bluetooth management socket needs CAP_NET_ADMIN: run locksim as root") : .system(error)
        }
        self.fd = fd
    }

    func close() { FileIO.close(fd) }

    /// Sends `packet` (a command `opcode` for controller `index`) and returns the reply's
    /// parameters; other events on the socket are skipped.
    func request(_ opcode: Management.Opcode, index: UInt16, _ packet: [UInt8]) throws(SimulatorError) -> [UInt8] {
        let sent = packet.withUnsafeBytes { raw in retryingOnInterrupt { Glibc.write(fd, raw.baseAddress, raw.count) } }
        guard sent == packet.count else { throw .system(.last("write(management \(opcode.name))")) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let deadline = MonotonicClock.nanoseconds() + UInt64(BluetoothRadio.replyTimeoutMilliseconds) * 1_000_000
        while true {
            let now = MonotonicClock.nanoseconds()
            guard now < deadline else {
                throw .bluetooth("the kernel did not answer \(opcode.name) on hci\(index) within \(BluetoothRadio.replyTimeoutMilliseconds / 1000) s")
            }
            let ready: Int16
            do { ready = try Poll.wait(fd, events: Int16(POLLIN), deadlineNanoseconds: deadline) } catch {
                throw .system(SystemError("poll(management socket)", errno: error.errno))
            }
            guard ready != 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { raw in retryingOnInterrupt { Glibc.read(fd, raw.baseAddress, raw.count) } }
            if n < 0 {
                if errno == EAGAIN { continue }
                throw .system(.last("read(management socket)"))
            }
            do throws(ManagementError) {
                if let reply = try Management.Event(packet: Array(buffer[0..<n])).reply(to: opcode, index: index) { return reply }
            } catch {
                throw .bluetooth(error.description)
            }
        }
    }
}
