import LinuxIO
import LockProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Why a serial port could not be used, with what to do about it.
public enum SerialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// open(2) failed: missing device, no permission, or in use.
    case cannotOpen(SystemError)
    /// The device opened but would not take raw 8N1 at the requested rate (not a tty, or a
    /// rate the driver refuses).
    case cannotConfigure(SystemError)
    /// Another program has the port open exclusively.
    case busy(path: String)
    /// A read or write failed for a reason other than the device going away.
    case io(SystemError)

    public var description: String {
        switch self {
        case .cannotOpen(let e): "cannot open serial port \(e)"
        case .cannotConfigure(let e): "cannot configure serial port \(e) — is this a tty, and does the adapter support the baud rate?"
        case .busy(let path): "\(path): in use by another program (a terminal, ModemManager, another lockdiagd) — close it and lockdiag retries"
        case .io(let e): "serial I/O failed: \(e)"
        }
    }
}

/// A lock controller's serial link (USB CDC-ACM, a USB-UART service cable, or a pty from the
/// simulator): raw 8N1, non-blocking, opened exclusively so no other program interleaves bytes.
///
/// Owned by one thread (the poll loop). `read`/`write` never block; readiness comes from the
/// owner's epoll on `fileDescriptor`. A device that goes away shows as `.closed` from `read` or
/// `write`; the owner closes and later calls `open()` again on the same path.
public final class SerialPort {
    public let path: String
    public let baudRate: UInt32
    public private(set) var fileDescriptor: Int32 = -1

    public init(path: String, baudRate: UInt32 = LDP.defaultBaudRate) {
        self.path = path
        self.baudRate = baudRate
    }

    deinit { close() }

    public var isOpen: Bool { fileDescriptor >= 0 }

    /// Opens and configures the port. Stale bytes queued before the open are flushed.
    public func open() throws(SerialError) {
        close()
        let fd: Int32
        do {
            fd = try FileIO.open(path, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
        } catch {
            throw error.errno == EBUSY ? .busy(path: path) : .cannotOpen(error)
        }
        // TIOCEXCL does not stop root, and lockdiagd often runs as root: an advisory lock keeps a
        // second lockdiag link (another lockdiagd, or one still reopening a path that now names
        // another lock's tty) off a port one already polls. pyserial's `exclusive` takes the same.
        // Taken before anything touches the tty: configuring it flushes its queues.
        let locked: Bool
        do { locked = try FileIO.tryLockExclusive(fd, path: path) } catch {
            FileIO.close(fd)
            throw .cannotOpen(error)
        }
        guard locked else {
            FileIO.close(fd)
            throw .busy(path: path)
        }
        do {
            do {
                try Termios.setExclusive(fd, path: path)
            } catch where error.errno == ENOTTY {
                // Every kernel tty implements TIOCEXCL; a tty emulation may not (umockdev's,
                // which the USB discovery tests put in front of the simulator). Exclusivity
                // only guards against other programs; if this is no tty at all, the termios
                // setup below says so.
            }
            try Termios.configureRaw(fd, baud: baudRate, path: path)
        } catch {
            FileIO.close(fd)
            throw .cannotConfigure(error)
        }
        fileDescriptor = fd
    }

    /// Reads what is waiting; `.closed` means the device is gone (EIO/ENXIO/hang-up).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SerialError) -> IOResult {
        guard isOpen else { return .closed }
        do { return try FileIO.read(fileDescriptor, into: buffer) } catch { throw .io(error) }
    }

    /// Writes as much as the tty takes now.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SerialError) -> IOResult {
        guard isOpen else { return .closed }
        do { return try FileIO.write(fileDescriptor, bytes) } catch { throw .io(error) }
    }

    /// Closes the port (idempotent).
    public func close() {
        guard fileDescriptor >= 0 else { return }
        FileIO.close(fileDescriptor)
        fileDescriptor = -1
    }
}
