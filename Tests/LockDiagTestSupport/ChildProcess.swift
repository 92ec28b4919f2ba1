import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A product of this package (`lockdiagd`, `lockdiag`, `locksim`) as a real process with pipes on
/// stdin, stdout and stderr. Products are found next to the test runner: SwiftPM builds every
/// product into one directory (`.build/<triple>/debug`), and `/proc/self/exe` is the runner in it.
/// `LOCKDIAG_BIN` in the environment names another directory.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` and the pipes are only used from the test's thread; the two output
    // streams are drained by reader threads into `OutputStream`s, which lock their own state.
    public let process = Process()
    public let stdin = Pipe()
    public let stdout = Pipe()
    public let stderr = Pipe()
    private let out = OutputStream()
    private let err = OutputStream()

    public struct ProductNotBuilt: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "no executable at \(path): run `swift build` first, or set LOCKDIAG_BIN" }
    }

    /// The path of a product executable.
    public static func product(_ name: String) throws -> String {
        let directory: String
        if let override = ProcessInfo.processInfo.environment["LOCKDIAG_BIN"] {
            directory = override
        } else {
            let runner = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            directory = (runner as NSString).deletingLastPathComponent
        }
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else { throw ProductNotBuilt(path: path) }
        return path
    }

    /// `launcher` runs before the product, e.g. `["/usr/bin/setpriv", "--reuid=65534", …, "--"]`.
    public init(_ product: String, _ arguments: [String], environment: [String: String] = [:], launcher: [String] = []) throws {
        let path = try Self.product(product)
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        try process.run()
        // Always drain both pipes, so a chatty child never blocks on a full pipe.
        out.drain(stdout.fileHandleForReading.fileDescriptor)
        err.drain(stderr.fileHandleForReading.fileDescriptor)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public func send(_ line: String) {
        stdin.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    public func closeInput() { try? stdin.fileHandleForWriting.close() }

    /// The next stdout line, or nil when none comes within `seconds` (or stdout closed).
    public func readLine(within seconds: Double) -> String? { out.nextLine(within: seconds) }

    /// The next stderr line, or nil when none comes within `seconds`.
    public func readErrorLine(within seconds: Double) -> String? { err.nextLine(within: seconds) }

    /// Reads stderr lines until one contains `text`; returns it, or nil after `seconds`.
    public func waitForErrorLine(containing text: String, within seconds: Double) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while let line = err.nextLine(within: deadline.timeIntervalSinceNow) {
            if line.contains(text) { return line }
        }
        return nil
    }

    /// Everything written to stdout / stderr so far (including lines already read).
    public var allOutput: String { out.all }
    public var allErrors: String { err.all }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// SIGTERM, then up to `seconds` for it to exit (a test's clean-up: the result is not judged).
    public func terminate(within seconds: Double = 5) {
        signal(SIGTERM)
        _ = waitForExit(within: seconds)
    }

    /// Waits for the process to exit; false when it is still running after `seconds`.
    public func waitForExit(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            guard Date() < deadline else { return false }
            var p = pollfd()
            _ = poll(&p, 0, 5)
        }
        return true
    }

    /// Runs a product to completion (stdin closed) and returns its exit status and output.
    public static func run(_ product: String, _ arguments: [String], environment: [String: String] = [:],
                           timeoutSeconds: Double = 60, launcher: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(product, arguments, environment: environment, launcher: launcher)
        child.closeInput()
        if !child.waitForExit(within: timeoutSeconds) {
            child.signal(SIGKILL)
            _ = child.waitForExit(within: 5)
        }
        child.out.waitForEnd(within: 5)
        child.err.waitForEnd(within: 5)
        return (child.process.terminationStatus, child.out.all, child.err.all)
    }
}

/// One output pipe, read by a thread of its own into a buffer the test reads lines from.
final class OutputStream: @unchecked Sendable {
    // @unchecked: every member below is guarded by `condition`.
    private let condition = NSCondition()
    private var bytes: [UInt8] = []
    private var consumed = 0
    private var ended = false

    func drain(_ fd: Int32) {
        Thread.detachNewThread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = Glibc.read(fd, &chunk, chunk.count)
                if n < 0 && errno == EINTR { continue }
                condition.lock()
                if n > 0 { bytes += chunk[0..<n] } else { ended = true }
                condition.broadcast()
                condition.unlock()
                if n <= 0 { return }
            }
        }
    }

    func nextLine(within seconds: Double) -> String? {
        let deadline = Date().addingTimeInterval(max(0, seconds))
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let newline = bytes[consumed...].firstIndex(of: 0x0A) {
                let line = String(decoding: bytes[consumed..<newline], as: UTF8.self)
                consumed = newline + 1
                return line
            }
            if ended || !condition.wait(until: deadline) { return nil }
        }
    }

    func waitForEnd(within seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        while !ended && condition.wait(until: deadline) {}
        condition.unlock()
    }

    var all: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// lockdiagd running as a real process on a temporary socket.
public final class DaemonProcess {
    public let child: ChildProcess
    public let directory: TemporaryDirectory
    public var socketPath: String { directory.path + "/lockdiag.sock" }

    /// The history database the daemon was given (`--db`, in `directory` unless the arguments name one).
    public var databasePath: String { directory.path + "/history.sqlite" }
    /// Whether `stop` leaves `directory` (and its database) in place, for a restart on the same state.
    private let keepsDirectory: Bool

    /// Starts `lockdiagd` with `arguments` plus `--socket` (and `--db` in its directory) and waits
    /// until it is ready (its log says so and the socket accepts connections). Given a
    /// `directory`, it starts there and leaves it when stopped, so a second daemon can restart on
    /// the same history.
    public init(_ arguments: [String], launcher: [String] = [], readyWithin seconds: Double = 30,
                directory existing: TemporaryDirectory? = nil) throws {
        directory = try existing ?? TemporaryDirectory()
        keepsDirectory = existing != nil
        // The daemon may run as another user (launcher): let it create its socket here. Sticky,
        // like /tmp: the daemon refuses a socket directory others may write without it.
        chmod(directory.path, 0o1777)
        let database = arguments.contains("--db") ? [] : ["--db", directory.path + "/history.sqlite"]
        child = try ChildProcess("lockdiagd", arguments + database + ["--socket", directory.path + "/lockdiag.sock"], launcher: launcher)
        guard child.waitForErrorLine(containing: "ready:", within: seconds) != nil, Self.accepts(socketPath) else {
            child.signal(SIGKILL)
            if existing == nil { directory.remove() }
            throw NotReady(seconds: seconds, log: child.allErrors)
        }
    }

    public struct NotReady: Error, CustomStringConvertible {
        let seconds: Double
        var log = ""
        public var description: String { "lockdiagd was not ready within \(seconds) s" + (log.isEmpty ? "" : "; its log:\n\(log)") }
    }

    /// SIGTERM, then waits for a clean exit; returns the exit status (nil if it did not exit).
    @discardableResult
    public func stop(within seconds: Double = 15) -> Int32? {
        defer { if !keepsDirectory { directory.remove() } }
        guard child.process.isRunning else { return child.process.terminationStatus }
        child.signal(SIGTERM)
        guard child.waitForExit(within: seconds) else {
            child.signal(SIGKILL)
            return nil
        }
        return child.process.terminationStatus
    }

    deinit { if child.process.isRunning { stop() } }

    static func accepts(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }
}
