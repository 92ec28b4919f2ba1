import CLockDiagSys
#if canImport(Glibc)
import Glibc
#endif

/// termios settings for a binary protocol link.
public enum Termios {
    /// Raw 8N1, no flow control, no echo or line editing, reads return immediately (VMIN=0,
    /// VTIME=0), at `baud`; then both queues are flushed so stale bytes from before are gone.
    public static func configureRaw(_ fd: Int32, baud: UInt32, path: String? = nil) throws(SystemError) {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { throw .last("tcgetattr", path: path) }
        cfmakeraw(&t)
        t.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        t.c_cflag &= ~(tcflag_t(CRTSCTS) | tcflag_t(CSTOPB) | tcflag_t(PARENB))
        t.c_iflag &= ~(tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY))
        // c_cc is a tuple in Swift; VMIN and VTIME are indices 6 and 5 on Linux.
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        let speed = lockdiag_speed_for_baud(baud)
        guard speed != 0 else { throw SystemError("cfsetspeed(\(baud))", errno: EINVAL, path: path) }
        guard cfsetispeed(&t, speed) == 0, cfsetospeed(&t, speed) == 0 else { throw .last("cfsetspeed", path: path) }
        guard tcsetattr(fd, TCSANOW, &t) == 0 else { throw .last("tcsetattr", path: path) }
        _ = tcflush(fd, TCIOFLUSH)
    }

    /// The baud rate a tty is set to now.
    public static func baudRate(_ fd: Int32) -> UInt32? {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return nil }
        let baud = lockdiag_baud_for_speed(cfgetospeed(&t))
        return baud == 0 ? nil : baud
    }

    /// Whether the tty is in the raw mode `configureRaw` sets.
    public static func isRaw(_ fd: Int32) -> Bool {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return false }
        return t.c_lflag & (tcflag_t(ICANON) | tcflag_t(ECHO) | tcflag_t(ISIG)) == 0 && t.c_oflag & tcflag_t(OPOST) == 0
    }

    /// TIOCEXCL: further opens of the tty fail with EBUSY (root excepted), so no second program
    /// interleaves bytes with ours.
    public static func setExclusive(_ fd: Int32, path: String? = nil) throws(SystemError) {
        guard lockdiag_tty_set_exclusive(fd) == 0 else { throw .last("ioctl(TIOCEXCL)", path: path) }
    }
}

/// A pseudo-terminal pair: the master side stays with its creator (the simulator), the slave's
/// path is what a client opens as if it were /dev/ttyACM0.
public struct PseudoTerminal: Sendable {
    public let master: Int32
    public let slavePath: String
    /// A slave descriptor the creator keeps open, so the master never sees a hang-up between
    /// clients and the slave stays configured raw.
    public let slaveKeepAlive: Int32

    /// Opens a pair with the slave in raw mode at `baud` and the master non-blocking.
    public static func open(baud: UInt32 = 115_200) throws(SystemError) -> PseudoTerminal {
        var name = [CChar](repeating: 0, count: 128)
        let master = lockdiag_open_pty(&name, UInt(name.count))
        guard master >= 0 else { throw .last("posix_openpt") }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do throws(SystemError) {
            try FileIO.setNonBlocking(master)
            let slave = try FileIO.open(path, flags: O_RDWR | O_NOCTTY | O_NONBLOCK)
            do throws(SystemError) {
                try Termios.configureRaw(slave, baud: baud, path: path)
            } catch {
                FileIO.close(slave)
                throw error
            }
            return PseudoTerminal(master: master, slavePath: path, slaveKeepAlive: slave)
        } catch {
            FileIO.close(master)
            throw error
        }
    }

    /// Closes both descriptors: a client holding the slave sees EIO/POLLHUP, like an unplug.
    public func close() {
        FileIO.close(slaveKeepAlive)
        FileIO.close(master)
    }
}
