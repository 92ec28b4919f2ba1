import Foundation
import Glibc
import LinuxIO
import LockProtocol

/// A host on the client side of a pty, as lockdiagd would be: raw mode, non-blocking reads
/// with poll(2) and deadlines, a `FrameDecoder` whose counters show what the line did.
final class PtyClient {
    let fd: Int32
    let decoder = FrameDecoder()
    private(set) var frames: [Frame] = []
    /// When each frame arrived (monotonic ns), parallel to `frames`.
    private(set) var arrivals: [UInt64] = []
    /// Set once the other side hung up (EIO/POLLHUP).
    private(set) var hungUp = false
    private var seq: UInt8 = 0

    init(path: String) throws {
        fd = try FileIO.open(path, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
        do {
            try Termios.configureRaw(fd, baud: LDP.defaultBaudRate, path: path)
        } catch {
            FileIO.close(fd)
            throw error
        }
    }

    /// A client on a descriptor it now owns, e.g. a pty's master when the lock holds the slave.
    init(taking fd: Int32) {
        self.fd = fd
    }

    deinit { FileIO.close(fd) }

    var events: [Event] {
        frames.compactMap { frame in
            guard frame.header.kind == .event, case .event(let event)? = try? Message(frame) else { return nil }
            return event
        }
    }

    @discardableResult
    func send(_ request: Request) throws -> UInt8 {
        seq &+= 1
        try FileIO.writeAll(fd, request.frame(seq: seq).encoded)
        return seq
    }

    func send(bytes: [UInt8]) throws { try FileIO.writeAll(fd, bytes) }

    /// Reads until `condition` holds, the peer hangs up, or `seconds` pass.
    @discardableResult
    func pump(upTo seconds: Double, until condition: () -> Bool) throws -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !condition() {
            let now = MonotonicClock.nanoseconds()
            guard now < deadline, !hungUp else { return condition() }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min(50, (deadline - now) / 1_000_000 + 1))
            guard poll(&p, 1, waitMs) > 0 else { continue }
            let result = try buffer.withUnsafeMutableBytes { try FileIO.read(fd, into: $0) }
            switch result {
            case .bytes(let n):
                let at = MonotonicClock.nanoseconds()
                decoder.feed(Array(buffer[0..<n])) { output in
                    if case .frame(let view) = output {
                        frames.append(view.copied())
                        arrivals.append(at)
                    }
                }
            case .closed:
                hungUp = true
            case .wouldBlock:
                if p.revents & Int16(POLLHUP) != 0 { hungUp = true }
            }
        }
        return true
    }

    /// Sends `request` and waits up to `seconds` for its answer (response or NAK).
    func ask(_ request: Request, timeout seconds: Double = 1.0) throws -> Message? {
        let s = try send(request)
        let start = frames.count
        var answer: Message?
        try pump(upTo: seconds) {
            for frame in frames[start...] where frame.header.seq == s && frame.header.type == request.type.rawValue
                && (frame.header.kind == .response || frame.header.kind == .nak) {
                answer = try? Message(frame)
                return true
            }
            return false
        }
        return answer
    }

    func response(_ request: Request, timeout seconds: Double = 1.0) throws -> Response? {
        if case .response(let r)? = try ask(request, timeout: seconds) { r } else { nil }
    }

    /// The latest trace, read back chunk by chunk with READ_MOTOR_TRACE.
    func readLatestTrace() throws -> (chunk: TraceChunk, samples: [UInt16])? {
        var samples = [UInt16]()
        while true {
            guard case .motorTrace(let chunk)? = try response(.readMotorTrace(TraceRequest(firstIndex: UInt16(samples.count)))) else {
                return nil
            }
            samples += chunk.samplesMilliamps
            if chunk.samplesMilliamps.isEmpty || samples.count >= Int(chunk.totalSamples) { return (chunk, samples) }
        }
    }
}
