#if canImport(Glibc)
import Glibc
#endif

/// A Unix socket's address (the Glibc module has no helper): a path, or an abstract name
/// written with a leading `@` as systemd's NOTIFY_SOCKET does (unix(7)).
public struct UnixSocketAddress: Sendable {
    private var storage = sockaddr_un()
    /// The address's length as bind(2), connect(2) and sendto(2) take it: a path includes its
    /// NUL, an abstract name is exactly its bytes.
    public let length: socklen_t

    /// Bytes a path or name may have (sun_path less its NUL).
    public static let maxBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// `name` is a path, or with `allowingAbstract` and a leading `@`, an abstract name.
    public init(_ name: String, allowingAbstract: Bool = true) throws(SystemError) {
        var bytes = Array(name.utf8)
        let abstract = allowingAbstract && name.hasPrefix("@")
        // An abstract name needs no NUL, so it may fill sun_path.
        let limit = abstract ? Self.maxBytes + 1 : Self.maxBytes
        guard bytes.count <= limit else {
            throw SystemError("socket path of \(bytes.count) bytes (at most \(limit))", errno: ENAMETOOLONG, path: name)
        }
        if abstract { bytes[0] = 0 }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            if bytes.count < raw.count { raw[bytes.count] = 0 }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        length = socklen_t(pathOffset + bytes.count + (abstract ? 0 : 1))
    }

    /// Calls `body` with the address as a `sockaddr` and its length.
    public func withSockaddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        var copy = storage
        return try withUnsafePointer(to: &copy) { pointer throws(E) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { p throws(E) -> R in try body(p, length) }
        }
    }
}
