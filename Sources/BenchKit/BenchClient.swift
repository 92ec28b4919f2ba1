import LockDiagAPI

/// One connection to lockdiagd as the bench runner uses it: the calls a plan's steps make. The
/// runner gives each lock's worker a connection of its own and uses it from that thread only.
/// `lockdiag` conforms with its JSON-RPC client; tests with locks in memory.
public protocol BenchClient: AnyObject {
    /// `devices.list`.
    func devices(timeoutSeconds: Double) throws(BenchCallError) -> [DeviceSummary]
    /// `device.status`.
    func status(device: String, timeoutSeconds: Double) throws(BenchCallError) -> DeviceStatus
    /// `faults.list` for one lock.
    func faults(device: String, timeoutSeconds: Double) throws(BenchCallError) -> [Fault]
    /// `tests.run`.
    func runTest(_ params: TestsRunParams, timeoutSeconds: Double) throws(BenchCallError) -> TestRun
    /// `device.actuate`.
    func actuate(_ params: ActuateParams, timeoutSeconds: Double) throws(BenchCallError) -> ActuateResult
    /// `commission.start`, `commission.step`, `commission.finish` (the `commission` step).
    func commissionStart(_ params: CommissionStartParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionProgress
    func commissionStep(_ params: CommissionSessionParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionProgress
    func commissionFinish(_ params: CommissionSessionParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionFinished
}

extension BenchClient {
    // A client that cannot commission (locks in memory) refuses, as a daemon without the method would.
    public func commissionStart(_ params: CommissionStartParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionProgress {
        throw .refused("this bench client cannot commission")
    }

    public func commissionStep(_ params: CommissionSessionParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionProgress {
        throw .refused("this bench client cannot commission")
    }

    public func commissionFinish(_ params: CommissionSessionParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionFinished {
        throw .refused("this bench client cannot commission")
    }
}

/// Why a call to lockdiagd gave no result, told apart as the runner needs: a lock that is gone
/// ends its run, a refusal (a busy lock) may be retried, a daemon that is gone ends every run.
public enum BenchCallError: Error, Sendable, Equatable {
    /// lockdiagd does not know the lock, or says it is offline.
    case lockGone
    /// lockdiagd answered with an error; its message says why (a busy lock says "busy").
    case refused(String)
    /// lockdiagd cannot be reached at all; the message says what to do.
    case daemonUnreachable(String)
    /// The connection to lockdiagd closed during the run.
    case connectionLost(String)
    /// No reply within the call's timeout.
    case timeout
    /// A reply that cannot be read; the message says what and why.
    case unexpected(String)
}

/// Where a run shows itself: a terminal redrawn in place, or one line per event.
public protocol BenchConsole: Sendable {
    /// True when the live view is redrawn in place; event lines are then not shown.
    var isLive: Bool { get }
    /// A line for the operator outside the results (stderr).
    func warning(_ text: String)
    /// One line per event when not live (stdout).
    func event(_ text: String)
    /// The live view: one row per lock, then `log`.
    func draw(_ rows: [LockProgress], log: [String])
    /// The live view's last draw is done; the terminal is the console's again.
    func finish()
    /// Stop requests (Ctrl-C, SIGTERM) so far: the first stops the run safely, a second stops
    /// waiting for the running actuations.
    var stopRequests: Int { get }
}

/// The runner's waits and timeouts; the defaults are the documented ones (docs/bench.md).
public struct BenchTimings: Sendable {
    /// How long a stopped run waits for running actuations and self-tests to come back.
    public var stopGraceSeconds = 40.0
    public var callTimeoutSeconds = 15.0
    public var testTimeoutSeconds = 60.0
    /// How long a busy lock (in use: it answers BUSY for about a second) is retried.
    public var busyRetrySeconds = 10.0
    /// How long a bolt that is moving (someone using the lock) is waited for before a move.
    public var settleSeconds = 10.0
    /// A lock whose link went down is gone at once; one that is only slow to answer (shown
    /// `unresponsive` after 2 s of silence, e.g. on a loaded machine) gets this much more.
    public var unresponsiveGraceSeconds = 5.0
    /// How often the runner lists the locks to admit ones that appear.
    public var listIntervalSeconds = 0.5

    public init() {}
}
