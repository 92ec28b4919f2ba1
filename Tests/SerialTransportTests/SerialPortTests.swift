import Foundation
import Glibc
import LinuxIO
import LockProtocol
import SerialTransport
import Testing

@Suite struct SerialPortTests {
    /// A port one lockdiag link has open is busy for another, root or not: TIOCEXCL does not stop
    /// root, so two pollers as root (a second lockdiagd, a leftover one reopening a path that now
    /// names another lock's pty) would take each other's bytes.
    @Test func aPortAnotherLinkHasOpenIsBusyEvenForRoot() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let first = SerialPort(path: pty.slavePath)
        try first.open()
        // Bytes on their way to the first: the refused open must not flush them (nor touch termios).
        let waiting = Response.faultsCleared(count: 1).frame(seq: 3).encoded
        try FileIO.writeAll(pty.master, waiting)
        #expect(try TestWait.until(seconds: 2) { var n: Int32 = 0; return ioctl(first.fileDescriptor, UInt(FIONREAD), &n) == 0 && Int(n) == waiting.count })
        let second = SerialPort(path: pty.slavePath)
        #expect(throws: SerialError.busy(path: pty.slavePath)) { try second.open() }
        #expect(!second.isOpen)
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(try buffer.withUnsafeMutableBytes { try first.read(into: $0) } == .bytes(waiting.count))
        #expect(SerialError.busy(path: pty.slavePath).description.contains("another lockdiagd"))
        // Free once the first lets go. Not necessarily at once: a process another test spawns
        // while the port is open holds a copy of the descriptor table, and with it the open file
        // and its flock, until its exec closes the O_CLOEXEC descriptors (glibc's posix_spawn
        // clones without CLONE_FILES). Under the parallel suite that window was seen to fail CI.
        first.close()
        #expect(try TestWait.until(seconds: 5) { (try? second.open()) != nil })
        #expect(second.isOpen)
        second.close()
    }

    @Test func opensRawExclusiveAndCarriesLDPFrames() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let port = SerialPort(path: pty.slavePath, baudRate: 115_200)
        try port.open()
        defer { port.close() }
        #expect(Termios.isRaw(port.fileDescriptor))
        #expect(Termios.baudRate(port.fileDescriptor) == 115_200)

        let request = Request.identify.frame(seq: 7).encoded
        let sent = request.withUnsafeBytes { try? port.write($0) }
        #expect(sent == .bytes(request.count))
        #expect(try readAvailable(pty.master, atLeast: request.count) == request)

        let response = Response.faultsCleared(count: 1).frame(seq: 7).encoded
        try FileIO.writeAll(pty.master, response)
        let decoder = FrameDecoder()
        var frames = [Frame]()
        var buffer = [UInt8](repeating: 0, count: 256)
        let got = try TestWait.until(seconds: 2) {
            let result = try buffer.withUnsafeMutableBytes { try port.read(into: $0) }
            if case .bytes(let n) = result { decoder.feed(Array(buffer[0..<n])) { if case .frame(let f) = $0 { frames.append(f.copied()) } } }
            return !frames.isEmpty
        }
        #expect(got)
        #expect(try frames.first.map { try Message($0) } == .response(.faultsCleared(count: 1)))
    }

    @Test func unplugIsReportedAsClosedAndTheSamePathReopensAfterReplug() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let link = directory.appendingPathComponent("lock0").path

        let first = try PseudoTerminal.open()
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: first.slavePath)
        let port = SerialPort(path: link)
        try port.open()

        first.close()
        var buffer = [UInt8](repeating: 0, count: 64)
        let closed = try TestWait.until(seconds: 2) {
            try buffer.withUnsafeMutableBytes { try port.read(into: $0) } == .closed
        }
        #expect(closed)
        port.close()

        // Replug: a new pty behind the same stable path.
        let second = try PseudoTerminal.open()
        defer { second.close() }
        try FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: second.slavePath)
        try port.open()
        defer { port.close() }
        try FileIO.writeAll(second.master, [0xA5])
        let readable = try TestWait.until(seconds: 2) {
            if case .bytes = try buffer.withUnsafeMutableBytes({ try port.read(into: $0) }) { return true }
            return false
        }
        #expect(readable)
    }

    @Test func openErrorsAreTypedAndSayWhatToDo() {
        let port = SerialPort(path: "/dev/lockdiag-test-missing")
        #expect {
            try port.open()
        } throws: { error in
            guard case SerialError.cannotOpen(let e) = error else { return false }
            return e.errno == ENOENT && "\(error)".contains("check the cable")
        }
        let notATTY = SerialPort(path: "/dev/null")
        #expect {
            try notATTY.open()
        } throws: { error in
            if case SerialError.cannotConfigure = error { return true }
            return false
        }
    }

    @Test func unsupportedBaudRateIsRefused() throws {
        let pty = try PseudoTerminal.open()
        defer { pty.close() }
        let port = SerialPort(path: pty.slavePath, baudRate: 12_345)
        #expect(throws: SerialError.self) { try port.open() }
        #expect(!port.isOpen)
    }
}

enum TestWait {
    static func until(seconds: Double, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            var p = pollfd()
            _ = poll(&p, 0, 5)
        }
        return try condition()
    }
}

func readAvailable(_ fd: Int32, atLeast count: Int) throws -> [UInt8] {
    var out = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 1024)
    let deadline = Date().addingTimeInterval(2)
    while out.count < count, Date() < deadline {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 100) >= 0 else { break }
        if case .bytes(let n) = try buffer.withUnsafeMutableBytes({ try FileIO.read(fd, into: $0) }) { out += buffer[0..<n] }
    }
    return out
}
