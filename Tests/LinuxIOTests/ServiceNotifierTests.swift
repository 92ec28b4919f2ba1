import Foundation
import Glibc
import LinuxIO
import Testing

/// sd_notify's datagram protocol against real AF_UNIX datagram sockets: a path, and an
/// abstract name (`@…`), as systemd may hand out either in NOTIFY_SOCKET.
@Suite struct ServiceNotifierTests {
    @Test(arguments: [false, true])
    func messagesArriveAsOneDatagramEach(abstract: Bool) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        let name = abstract ? "@lockdiag-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))" : "/tmp/ld-sdn-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { if !abstract { unlink(name) } }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        #expect(bound == 0)

        let notifier = try #require(ServiceNotifier(socketName: name))
        try notifier.send("READY=1\nSTATUS=3 lock(s), 3 online")
        try notifier.send("WATCHDOG=1")
        try notifier.send("STOPPING=1")
        var received: [String] = []
        for _ in 0..<3 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 5000) > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = recv(fd, &buffer, buffer.count, 0)
            received.append(String(decoding: buffer[0..<max(0, n)], as: UTF8.self))
        }
        #expect(received == ["READY=1\nSTATUS=3 lock(s), 3 online", "WATCHDOG=1", "STOPPING=1"])
    }

    @Test func nobodyListeningIsAnErrorNotACrash() throws {
        let notifier = try #require(ServiceNotifier(socketName: "/tmp/ld-no-such-notify-socket-\(getpid())"))
        #expect(throws: SystemError.self) { try notifier.send("READY=1") }
    }

    @Test func onlyPathsAndAbstractNamesAreAccepted() {
        #expect(ServiceNotifier(socketName: "relative/path") == nil)
        #expect(ServiceNotifier(socketName: "@") == nil)
        #expect(ServiceNotifier(socketName: "vsock:2:1234") == nil)
        #expect(ServiceNotifier(socketName: "/" + String(repeating: "x", count: 107)) == nil)
        #expect(ServiceNotifier(socketName: "@abstract") != nil)
    }

    @Test func theWatchdogIsOursOnlyWhenItsPidIsOurs() {
        #expect(ServiceNotifier.watchdogMicroseconds(usec: "20000000", pid: nil, ownPID: 42) == 20_000_000)
        #expect(ServiceNotifier.watchdogMicroseconds(usec: "20000000", pid: "42", ownPID: 42) == 20_000_000)
        #expect(ServiceNotifier.watchdogMicroseconds(usec: "20000000", pid: "41", ownPID: 42) == nil)
        #expect(ServiceNotifier.watchdogMicroseconds(usec: nil, pid: nil, ownPID: 42) == nil)
        #expect(ServiceNotifier.watchdogMicroseconds(usec: "0", pid: nil, ownPID: 42) == nil)
        #expect(ServiceNotifier.watchdogMicroseconds(usec: "soon", pid: nil, ownPID: 42) == nil)
    }
}
