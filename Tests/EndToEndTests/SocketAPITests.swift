import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// A raw connection: write exact bytes, read reply lines with a deadline.
final class RawConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) } }

    func line(within seconds: Double = 5) -> JSONValue? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return try? JSONValue(parsing: line)
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(remaining * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { return nil }
            buffer += chunk[0..<n]
        }
    }
}

@Suite(.serialized) struct SocketAPITests {
    @Test func errorsAreTheDocumentedOnesAndTheConnectionSurvivesThem() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let raw = try RawConnection(daemon.socketPath)

        raw.send("{not json\n")
        #expect(raw.line()?["error"]?["code"]?.intValue == -32700)
        raw.send(#"{"jsonrpc":"2.0","id":1,"method":"no.such.method"}"# + "\n")
        #expect(raw.line()?["error"]?["code"]?.intValue == -32601)
        raw.send(#"{"jsonrpc":"2.0","id":2,"method":"device.status"}"# + "\n")
        let missing = raw.line()
        #expect(missing?["error"]?["code"]?.intValue == -32602)
        #expect(missing?["error"]?["message"]?.stringValue?.contains("device") == true)
        raw.send(#"{"jsonrpc":"2.0","id":3,"method":"device.status","params":{"device":"nope"}}"# + "\n")
        let unknown = raw.line()
        #expect(unknown?["error"]?["code"]?.intValue == -32001)
        #expect(unknown?["error"]?["message"]?.stringValue?.contains("lockdiag list") == true)
        raw.send(#"{"jsonrpc":"2.0","id":4,"method":"tests.run","params":{"device":"x","test":"teleport"}}"# + "\n")
        #expect(raw.line()?["error"]?["code"]?.intValue == -32602)
        raw.send(#"{"jsonrpc":"1.0","id":5,"method":"daemon.info"}"# + "\n")
        #expect(raw.line()?["error"]?["code"]?.intValue == -32600)
        // A notification gets no reply: the next line answers the request after it.
        raw.send(#"{"jsonrpc":"2.0","method":"daemon.info"}"# + "\n" + #"{"jsonrpc":"2.0","id":"after","method":"daemon.info"}"# + "\n")
        let after = raw.line()
        #expect(after?["id"]?.stringValue == "after")
        #expect(after?["result"]?["protocols"] == .array([.string("LDP/1"), .string("GATT"), .string("Tuya MCU")]))
    }

    @Test func batchesMixCallsNotificationsAndErrors() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let raw = try RawConnection(daemon.socketPath)
        raw.send("""
        [{"jsonrpc":"2.0","id":1,"method":"devices.list"},{"jsonrpc":"2.0","method":"daemon.info"},\
        {"jsonrpc":"2.0","id":2,"method":"faults.list"},{"id":3},{"jsonrpc":"2.0","id":4,"method":"nope"}]

        """)
        let replies = try #require(raw.line()?.arrayValue)
        #expect(replies.count == 4)
        let byID = Dictionary(uniqueKeysWithValues: replies.map { ($0["id"].flatMap { $0.intValue } ?? -1, $0) })
        #expect(byID[1]?["result"]?["devices"]?.arrayValue?.count == 1)
        #expect(byID[2]?["result"]?["faults"] != nil)
        #expect(byID[4]?["error"]?["code"]?.intValue == -32601)
        #expect(replies.contains { $0["error"]?["code"]?.intValue == -32600 })
        raw.send("[]\n")
        #expect(raw.line()?["error"]?["code"]?.intValue == -32600)
    }

    @Test func statsMeasureThePollLoop() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy,healthy", "--poll-hz", "100"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        try client.connect()
        #expect(try TestSupport.wait(upTo: 5) { try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self).cycles > 100 })
        let stats = try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        #expect(stats.pollHz == 100)
        #expect(stats.latenessMicroseconds.count > 0)
        #expect(stats.latenessMicroseconds.p50 <= stats.latenessMicroseconds.p99)
        #expect(stats.latenessMicroseconds.p99 <= stats.latenessMicroseconds.max)
        #expect(stats.devices.count == 2 && stats.devices.allSatisfy { $0.frames > 0 && $0.crcErrors == 0 })
        let info = try client.call(APIMethod.daemonInfo).decode(as: DaemonInfo.self)
        #expect(info.devices == 2 && info.version == LockDiagVersion.current)
    }

    @Test func aSlowSubscriberLosesNotificationsAndIsToldWhileOthersAndThePollLoopCarryOn() throws {
        let locks = Array(repeating: "healthy", count: 8).joined(separator: ",")
        let daemon = try DaemonProcess(["--simulate", locks, "--simulate-activity", "0.3", "--subscriber-buffer", "8192"])
        defer { #expect(daemon.stop() == 0) }
        let observer = JSONRPCClient(socketPath: daemon.socketPath)
        try observer.connect()
        let devices = try observer.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
        // The slow client subscribes to every lock and then stops reading.
        let slow = try RawConnection(daemon.socketPath)
        for (i, device) in devices.enumerated() {
            slow.send(#"{"jsonrpc":"2.0","id":\#(i),"method":"telemetry.subscribe","params":{"device":"\#(device.id)"}}"# + "\n")
        }
        // A well-behaved subscriber keeps getting its notifications meanwhile.
        let reader = JSONRPCClient(socketPath: daemon.socketPath)
        try reader.connect()
        _ = try reader.call(APIMethod.telemetrySubscribe, params: ["device": .string(devices[0].id)])
        let cyclesBefore = try observer.call(APIMethod.daemonStats).decode(as: DaemonStats.self).cycles
        let started = Date()
        var received = 0
        while Date().timeIntervalSince(started) < 6 {
            if try reader.nextNotification(timeoutSeconds: 1) != nil { received += 1 }
        }
        #expect(received > 20)
        let stats = try observer.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
        // The loop kept ticking (a loop blocked on a client would stand still); how well it
        // keeps time is the benchmark's business, not this test's.
        #expect(stats.cycles - cyclesBefore >= 100)
        // Now the slow client reads: somewhere in its queue a notification reports losses.
        var lost = 0
        while let line = slow.line(within: 2) {
            lost = max(lost, line["params"]?["lost"]?.intValue ?? 0)
            if lost > 0 { break }
        }
        #expect(lost > 0)
    }
}
