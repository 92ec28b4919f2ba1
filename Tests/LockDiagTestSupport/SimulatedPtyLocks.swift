import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `locksim --pty` as a real process: `count` simulated locks on ptys, their paths as stable
/// links (`lock0`, `lock1`, …) in a temporary directory; its stdin console takes commands
/// (`unplug 0`, `hang 1`, `status`, …). The one the test targets share.
public final class SimulatedPtyLocks {
    public let links: TemporaryDirectory
    public let child: ChildProcess
    public let paths: [String]

    public struct NotStarted: Error, CustomStringConvertible {
        public let log: String
        public var description: String { "locksim printed no device path within 10 s; its log:\n\(log)" }
    }

    public init(count: Int = 1, _ arguments: [String]) throws {
        links = try TemporaryDirectory(prefix: "sim")
        let child = try ChildProcess("locksim", ["--pty", "--count", "\(count)", "--link-dir", links.path] + arguments)
        self.child = child
        var paths: [String] = []
        for _ in 0..<count {
            guard let path = child.readLine(within: 10) else {
                child.signal(SIGKILL)
                links.remove()
                throw NotStarted(log: child.allErrors)
            }
            paths.append(path)
        }
        self.paths = paths
    }

    /// Sends a console command; returns its one-line answer, nil when none comes within `seconds`.
    @discardableResult
    public func command(_ line: String, within seconds: Double = 10) -> String? {
        child.send(line)
        return child.readLine(within: seconds)
    }

    /// SIGTERM, a wait for the exit, and the links removed.
    public func stop() {
        child.terminate()
        links.remove()
    }
}
