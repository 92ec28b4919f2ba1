#if canImport(Glibc)
import Glibc
#endif
import LinuxIO
import LockDiagCLI
import Synchronization

/// stdout and stderr, written straight to their descriptors so every line is out at once
/// (a pipe to a bench rig sees `watch` lines as they happen, not when a buffer fills).
enum Output {
    static func out(_ text: String) { write(1, text + "\n") }
    static func err(_ text: String) { write(2, text + "\n") }

    static func write(_ fd: Int32, _ text: String) {
        // A reader that went away (or never reads) leaves nothing useful to do with the text.
        try? FileIO.writeAll(fd, Array(text.utf8))
    }
}

/// Facts about the terminal the CLI writes to.
enum Terminal {
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Columns of the terminal on `fd`; 80 when it is not one or does not say.
    static func columns(_ fd: Int32 = 1) -> Int {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Colour for stdout: only on a terminal, only without NO_COLOR, never with --json.
    static func style(json: Bool) -> Style {
        guard !json else { return .plain }
        return Style.decide(isTerminal: stdoutIsTerminal, noColour: getenv("NO_COLOR").map { String(cString: $0) })
    }

    static let hideCursor = "\u{1B}[?25l"
    static let showCursor = "\u{1B}[?25h"
    static let clearLine = "\r\u{1B}[K"
    /// Moves the cursor up `n` lines to column 1 and erases from there to the end of the screen.
    static func eraseUp(_ n: Int) -> String { n > 0 ? "\r\u{1B}[\(n)A\u{1B}[J" : "\r\u{1B}[J" }

    /// The local time of day, `14:03:07`, for lines that report events as they happen.
    static func localTime() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

/// The signal that asked us to stop (SIGINT, SIGTERM), 0 until one came. Written by the handler,
/// read by the loops, which wake at least every 100 ms.
let stopSignal = Atomic<Int32>(0)

enum StopSignals {
    /// Catches SIGINT and SIGTERM so a loop can stop cleanly (unsubscribe, restore the terminal).
    static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        for signo in [SIGINT, SIGTERM] {
            _ = signal(signo) { received in stopSignal.store(received, ordering: .relaxed) }
            sigaddset(&set, signo)
        }
        // A parent may have started us with these blocked (the mask is inherited across exec,
        // and a threaded parent often blocks them); then no handler would ever run.
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }

    static var received: Bool { stopSignal.load(ordering: .relaxed) != 0 }
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
