import BLEProtocol
import LinuxIO

/// One simulated lock's radio: a GATT server listening for a central — on a Unix SOCK_SEQPACKET
/// socket (the seam), one ATT PDU per packet as on an L2CAP ATT channel, or on a real
/// controller's L2CAP ATT channel (`BluetoothRadio`); the listening socket is the only
/// difference. One central at a time (a lock's radio accepts one connection). Owned by the
/// server thread.
final class GATTPeripheral {
    let server: GATTServer
    /// Where a central finds it: the seam's socket path, or the controller's address.
    private(set) var path: String
    private let values: GATTServer.Values
    /// Listening (advertising, in range); -1 while unplugged (asleep or out of range).
    private(set) var listener: Int32 = -1
    /// The connected central; -1 when none.
    private(set) var connection: Int32 = -1
    /// When advertising again failed (the controller was being switched off), when to retry.
    private var advertiseRetryAt: UInt64?
    static let advertiseRetryIntervalNanoseconds: UInt64 = 1_000_000_000
    /// Notifications the socket would not take (the central reads too slowly), dropped.
    private(set) var notificationsDropped: UInt64 = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)

    /// `listener`: a socket `openListener` opened at `path` (so start-up errors surface before
    /// the server thread runs), or -1 to start unplugged.
    init(serving: BLEServing, values: GATTServer.Values, listener: Int32, path: String) {
        server = GATTServer(serving: serving, values: values)
        self.values = values
        self.listener = listener
        self.path = path
    }

    /// Starts listening as `serving` says: returns the socket and where centrals find it.
    static func openListener(_ serving: BLEServing, values: GATTServer.Values) throws(SimulatorError) -> (fd: Int32, path: String) {
        switch serving.radio {
        case .seam(let path):
            do { return (try SeqPacket.listen(path), path) } catch { throw .system(error) }
        case .adapter(let adapter):
            let opened = try BluetoothRadio.listen(adapter: adapter, advertisement: serving.advertisement(deviceName: values.deviceName))
            return (opened.fd, opened.address.text)
        }
    }

    /// Stops listening: the socket closed, and the seam's file removed or the advertising stopped.
    static func closeListener(_ fd: Int32, _ serving: BLEServing) {
        FileIO.close(fd)
        switch serving.radio {
        case .seam(let path): SeqPacket.unlink(path)
        case .adapter(let adapter): BluetoothRadio.stopAdvertising(adapter: adapter)
        }
    }

    deinit {
        stopListening()
        buffer.deallocate()
    }

    func listen() throws(SimulatorError) {
        guard listener < 0 else { return }
        (listener, path) = try Self.openListener(server.serving, values: values)
    }

    /// Out of range: the connection drops and nothing answers at the address any more.
    func stopListening() {
        disconnect(advertiseAgain: false)
        if listener >= 0 {
            Self.closeListener(listener, server.serving)
            listener = -1
        }
    }

    /// Accepts a waiting central; a second one while connected is turned away (closed).
    /// Returns the new connection's descriptor.
    func accept() -> Int32? {
        guard listener >= 0 else { return nil }
        guard let fd = try? SeqPacket.accept(listener) else { return nil }
        if connection >= 0 {
            FileIO.close(fd)
            return nil
        }
        connection = fd
        server.reset()
        advertise(false)
        return fd
    }

    func disconnect(advertiseAgain: Bool = true) {
        guard connection >= 0 else { return }
        FileIO.close(connection)
        connection = -1
        server.reset()
        if advertiseAgain && listener >= 0 { advertise(true) }
    }

    /// On a real controller the lock advertises only while no central is connected, as a lock
    /// that takes one connection does. It also keeps a controller that is switched off from
    /// advertising on: Linux 6.1 leaves legacy advertising that it restarted during a
    /// connection running on a controller it closes, where centrals then connect to nothing
    /// (found by the kernel lab on btvirt: docs/lab.md). Advertising again fails while the
    /// controller is being switched off (the central's link drops first); it is retried a second
    /// later (`advertiseIfDue`), when the kernel keeps it for the controller's next power-on.
    private func advertise(_ on: Bool) {
        guard case .adapter(let adapter) = server.serving.radio else { return }
        advertiseRetryAt = nil
        if on {
            do throws(SimulatorError) {
                try BluetoothRadio.advertise(adapter: adapter, advertisement: server.serving.advertisement(deviceName: values.deviceName))
            } catch {
                advertiseRetryAt = MonotonicClock.nanoseconds() + Self.advertiseRetryIntervalNanoseconds
            }
        } else {
            BluetoothRadio.stopAdvertising(adapter: adapter)
        }
    }

    /// Retries advertising that failed, once its time has come (the server loop wakes at least
    /// once a second).
    func advertiseIfDue(now: UInt64) {
        guard let due = advertiseRetryAt, now >= due, listener >= 0, connection < 0 else { return }
        advertise(true)
    }

    /// Every PDU waiting from the central, each answered unless `hung`. Returns false when the
    /// central went away: the socket said so (a read error, end of file), or `hungUp` (epoll's
    /// EPOLLHUP/EPOLLERR) with nothing left to read — the socket error that went with it may
    /// already have been taken by a failed notification, and an L2CAP socket whose link the
    /// controller dropped (switched off) then reads as merely empty while epoll keeps waking.
    func serve(hung: Bool, hungUp: Bool = false, batteryPercent: UInt8, ldpWrite: ([UInt8]) -> Void) -> Bool {
        guard connection >= 0 else { return true }
        while true {
            let n: Int?
            do { n = try SeqPacket.receive(connection, into: buffer) } catch {
                disconnect()
                return false
            }
            guard let n else {
                if hungUp {
                    disconnect()
                    return false
                }
                return true
            }
            if n == 0 {
                disconnect()
                return false
            }
            // A hung controller takes nothing in and answers nothing: the central's ATT
            // transactions time out while the radio keeps the link up.
            if hung { continue }
            let pdu = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            if let response = server.handle(pdu, batteryPercent: batteryPercent, ldpWrite: ldpWrite) { send(response) }
        }
    }

    func send(_ pdu: [UInt8]) {
        guard connection >= 0 else { return }
        do throws(SystemError) {
            if try !SeqPacket.send(connection, pdu) { notificationsDropped += 1 }
        } catch {
            notificationsDropped += 1
            // The central is gone (the controller dropped the link): this send took the socket's
            // error, so no read will report it; disconnect now and advertise again.
            if SeqPacket.isHangUp(error) { disconnect() }
        }
    }
}
