import BLEProtocol
import LinuxIO

/// One simulated lock's radio: a GATT server listening on a Unix SOCK_SEQPACKET socket, one
/// ATT PDU per packet as on an L2CAP ATT channel, one central at a time (a lock's radio accepts
/// one connection). Owned by the server thread.
final class GATTPeripheral {
    let server: GATTServer
    var path: String { server.serving.socketPath }
    /// Listening (advertising, in range); -1 while unplugged (asleep or out of range).
    private(set) var listener: Int32 = -1
    /// The connected central; -1 when none.
    private(set) var connection: Int32 = -1
    /// Notifications the socket would not take (the central reads too slowly), dropped.
    private(set) var notificationsDropped: UInt64 = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)

    /// `listener`: a socket already listening at `serving.socketPath` (so start-up errors surface
    /// before the server thread runs), or -1 to start unplugged.
    init(serving: BLEServing, values: GATTServer.Values, listener: Int32) {
        server = GATTServer(serving: serving, values: values)
        self.listener = listener
    }

    deinit {
        stopListening()
        buffer.deallocate()
    }

    func listen() throws(SystemError) {
        guard listener < 0 else { return }
        listener = try SeqPacket.listen(path)
    }

    /// Out of range: the connection drops and nothing answers at the address any more.
    func stopListening() {
        disconnect()
        if listener >= 0 {
            FileIO.close(listener)
            listener = -1
            SeqPacket.unlink(path)
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
        return fd
    }

    func disconnect() {
        guard connection >= 0 else { return }
        FileIO.close(connection)
        connection = -1
        server.reset()
    }

    /// Every PDU waiting from the central, each answered unless `hung`. Returns false when the
    /// central went away.
    func serve(hung: Bool, batteryPercent: UInt8, ldpWrite: ([UInt8]) -> Void) -> Bool {
        guard connection >= 0 else { return true }
        while true {
            let n: Int?
            do { n = try SeqPacket.receive(connection, into: buffer) } catch {
                disconnect()
                return false
            }
            guard let n else { return true }
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
        if (try? SeqPacket.send(connection, pdu)) != true { notificationsDropped += 1 }
    }
}
