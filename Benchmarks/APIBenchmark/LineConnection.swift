// One blocking stream socket read line by line: the same client code for lockdiagd's Unix
// socket and upsd's TCP port, so both servers are measured through the same syscalls.

#if canImport(Glibc)
import Glibc
#endif
import LinuxIO

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class LineConnection {
    let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0

    private init(fd: Int32) {
        self.fd = fd
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit {
        FileIO.close(fd)
        buffer.deallocate()
    }

    /// Connects to lockdiagd's socket.
    static func unix(_ path: String) throws -> LineConnection {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError.last("socket") }
        let address = try UnixSocketAddress(path, allowingAbstract: false)
        let rc = address.withSockaddr { p, length in retryingOnInterrupt { connect(fd, p, length) } }
        guard rc == 0 else {
            let error = SystemError.last("connect", path: path)
            FileIO.close(fd)
            throw error
        }
        return LineConnection(fd: fd)
    }

    /// Connects to 127.0.0.1:`port` (upsd) with Nagle off, as NUT's own clients set it.
    static func tcp(port: UInt16) throws -> LineConnection {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError.last("socket") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                retryingOnInterrupt { connect(fd, a, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0 else {
            let error = SystemError.last("connect 127.0.0.1:\(port)")
            FileIO.close(fd)
            throw error
        }
        return LineConnection(fd: fd)
    }

    /// Writes all of `bytes`, blocking.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = retryingOnInterrupt { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            guard n > 0 else { throw SystemError.last("write") }
            offset += n
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try Self.writeAll(fd, $0) }
    }

    /// Reads more bytes without blocking the caller's poll(2) logic: one read(2).
    /// Returns false at end of stream.
    func fill() throws -> Bool {
        if start == end { start = 0; end = 0 }
        if end == buffer.count {
            guard start > 0 else { throw BenchError("a reply line longer than \(buffer.count) bytes") }
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
            end -= start
            start = 0
        }
        let n = retryingOnInterrupt { read(fd, buffer.baseAddress! + end, buffer.count - end) }
        guard n >= 0 else { throw SystemError.last("read") }
        end += n
        return n > 0
    }

    /// The next complete line already buffered (without its `\n` or `\r\n`), handed to `body`.
    func bufferedLine<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T? {
        guard start < end, let p = memchr(buffer.baseAddress! + start, 0x0A, end - start) else { return nil }
        let newline = buffer.baseAddress!.distance(to: p)
        var lineEnd = newline
        if lineEnd > start, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        let line = UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + start, count: lineEnd - start)
        start = newline + 1
        return try body(line)
    }

    /// The next line, reading as needed (blocking).
    func line<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        while true {
            if let value = try bufferedLine(body) { return value }
            guard try fill() else { throw BenchError("the server closed the connection") }
        }
    }
}
