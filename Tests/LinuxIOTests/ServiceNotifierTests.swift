import Foundation
import Glibc
import LinuxIO
import LockDiagTestSupport
import Testing

/// sd_notify's datagram protocol against real AF_UNIX datagram sockets: a path, and an
/// abstract name (`@…`), as systemd may hand out either in NOTIFY_SOCKET.
@Suite struct ServiceNotifierTests {
    @Test(arguments: [false, true])
    func messagesArriveAsOneDatagramEach(abstract: Bool) throws {
        let systemd = try NotifySocket(abstract: abstract)
        defer { systemd.close() }

        let notifier = try #require(ServiceNotifier(socketName: systemd.name))
        try notifier.send("READY=1\nSTATUS=3 lock(s), 3 online")
        try notifier.send("WATCHDOG=1")
        try notifier.send("STOPPING=1")
        let received = (0..<3).compactMap { _ in systemd.next() }
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
