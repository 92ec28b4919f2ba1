#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and errno. `description` says what happened in
/// words (strerror) and, for the common errors on devices, what to do.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    /// The device or file the call was about, when there is one.
    public let path: String?

    public init(_ call: String, errno: Int32, path: String? = nil) {
        self.call = call
        self.errno = errno
        self.path = path
    }

    /// Captures the calling thread's current errno.
    public static func last(_ call: String, path: String? = nil) -> SystemError {
        SystemError(call, errno: Glibc.errno, path: path)
    }

    public var message: String { String(cString: strerror(errno)) }

    /// What a technician can do about it, when errno says enough.
    public var advice: String? {
        switch errno {
        case EACCES, EPERM: "add your user to group lockdiag (see udev/README.md) or run as root"
        case EBUSY: "another program holds the device open (a serial terminal, ModemManager, another lockdiagd); close it"
        case ENOENT: "the device is not there: check the cable and the path"
        case ENXIO, ENODEV, EIO: "the device went away: check the cable"
        default: nil
        }
    }

    /// The device went away (unplugged, hung up) rather than refusing us.
    public var isDisconnect: Bool { errno == EIO || errno == ENXIO || errno == ENODEV || errno == ENOENT }

    public var description: String {
        var text = path.map { "\($0): " } ?? ""
        text += "\(call): \(message)"
        if let advice { text += " — \(advice)" }
        return text
    }
}

/// Runs `body` again while it fails with EINTR; with `Poll` and `MonotonicClock.sleep`, the one
/// place interrupted calls are retried.
@inline(__always)
public func retryingOnInterrupt<T: BinaryInteger>(_ body: () -> T) -> T {
    retryingOnInterrupt(while: { true }, body)
}

/// Runs `body` again while it fails with EINTR and `stillWanted()`: for a call another thread
/// interrupts on purpose (a signal to cancel it), which returns EINTR to its caller then.
@inline(__always)
public func retryingOnInterrupt<T: BinaryInteger>(while stillWanted: () -> Bool, _ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && Glibc.errno == EINTR && stillWanted() { continue }
        return result
    }
}
