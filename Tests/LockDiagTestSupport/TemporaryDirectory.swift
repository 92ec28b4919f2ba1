import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp with a short path (a Unix socket path has at most 107 bytes),
/// removed by `remove()`. The one the test targets share.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "ld") throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        path = String(cString: made)
    }

    /// A socket path in the directory.
    public var socketPath: String { path + "/d.sock" }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
