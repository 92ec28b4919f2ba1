import Foundation
import Glibc
import LinuxIO
import Testing

@Suite struct LinuxIOTests {
    @Test func ptyCarriesBinaryBytesUnchangedBothWays() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let client = try FileIO.open(pty.slavePath, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
        defer { FileIO.close(client) }
        try Termios.configureRaw(client, baud: 115_200)
        #expect(Termios.isRaw(client))
        #expect(Termios.baudRate(client) == 115_200)
        // Bytes a cooked tty would mangle: CR, NL, ^C, ^D, XON/XOFF, DEL.
        let bytes: [UInt8] = [0x0D, 0x0A, 0x03, 0x04, 0x11, 0x13, 0x7F, 0x00, 0xFF, 0xA5, 0x5A]
        try FileIO.writeAll(pty.master, bytes)
        #expect(try readExactly(client, count: bytes.count) == bytes)
        try FileIO.writeAll(client, bytes)
        #expect(try readExactly(pty.master, count: bytes.count) == bytes)
    }

    @Test func closingTheMasterLooksLikeAnUnplug() throws {
        let pty = try PseudoTerminal.open()
        let client = try FileIO.open(pty.slavePath, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
        defer { FileIO.close(client) }
        pty.close()
        var p = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        #expect(poll(&p, 1, 1000) == 1)
        #expect(p.revents & Int16(POLLHUP) != 0)
        var buffer = [UInt8](repeating: 0, count: 16)
        let result = try buffer.withUnsafeMutableBytes { try FileIO.read(client, into: $0) }
        #expect(result == .closed)
    }

    @Test func exclusiveOpenRefusesASecondOpener() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let client = try FileIO.open(pty.slavePath, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
        defer { FileIO.close(client) }
        #expect(try secondOpenerSucceeds(pty.slavePath))
        try Termios.setExclusive(client)
        #expect(try !secondOpenerSucceeds(pty.slavePath))
    }

    @Test func epollReportsReadinessWithTheTokenGiven() throws {
        let epoll = try Epoll(capacity: 8)
        defer { epoll.close() }
        let bell = try EventDoorbell()
        defer { bell.close() }
        try epoll.add(bell.fd, events: .readable, token: 77)
        var seen: [UInt64] = []
        try epoll.wait(timeoutMilliseconds: 0) { token, _ in seen.append(token) }
        #expect(seen.isEmpty)
        bell.ring()
        try epoll.wait(timeoutMilliseconds: 1000) { token, events in
            seen.append(token)
            #expect(events.contains(.readable))
        }
        #expect(seen == [77])
        #expect(bell.drain() == 1)
    }

    @Test func periodicTimerFiresOnAbsoluteDeadlines() throws {
        let interval: UInt64 = 2_000_000
        let timer = try PeriodicTimer(intervalNanoseconds: interval)
        defer { timer.close() }
        let epoll = try Epoll(capacity: 4)
        defer { epoll.close() }
        try epoll.add(timer.fd, events: .readable, token: 1)
        var total: UInt64 = 0
        while total < 5 {
            try epoll.wait(timeoutMilliseconds: 1000) { _, _ in total += timer.expirations() }
        }
        // Five expirations of a 2 ms timer cannot have happened before the fifth deadline.
        #expect(MonotonicClock.nanoseconds() >= timer.startNanoseconds + 4 * interval)
    }

    @Test func systemErrorsSayWhatToDo() {
        let error = SystemError("open", errno: EACCES, path: "/dev/ttyACM0")
        #expect(error.description.contains("/dev/ttyACM0"))
        #expect(error.description.contains("group lockdiag"))
        #expect(SystemError("read", errno: EIO).isDisconnect)
        #expect(throws: SystemError.self) { try FileIO.open("/nonexistent/tty", flags: O_RDWR) }
    }
}

/// Whether a second, unprivileged process can open `path` (root bypasses TIOCEXCL, so as root
/// the attempt runs as nobody through setpriv, with the tty made world-accessible first).
func secondOpenerSucceeds(_ path: String) throws -> Bool {
    if getuid() != 0 {
        guard let fd = try? FileIO.open(path, flags: O_RDWR | O_NOCTTY | O_NONBLOCK) else { return false }
        FileIO.close(fd)
        return true
    }
    chmod(path, 0o666)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
    process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", "exec 3<>\(path)"]
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}

func readExactly(_ fd: Int32, count: Int, timeoutMilliseconds: Int32 = 2000) throws -> [UInt8] {
    var out = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while out.count < count {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMilliseconds) == 1 else { break }
        let result = try buffer.withUnsafeMutableBytes { try FileIO.read(fd, into: $0) }
        guard case .bytes(let n) = result else { break }
        out += buffer[0..<n]
    }
    return out
}
