import LockDiagAPI

/// lockdiag's exit statuses. Scripts and bench rigs rely on them; `lockdiag --help` lists them.
///
/// | status | meaning |
/// |---:|---|
/// | 0 | ran fine: no confirmed fault in what was shown, the self-test passed |
/// | 1 | any other error (permission denied, protocol error, no reply in time) |
/// | 2 | confirmed fault(s) in what was shown (list, status, faults), or a self-test failed or was aborted, or commissioning failed |
/// | 3 | lockdiagd is unreachable (stderr says how to start it) |
/// | 4 | device problem: unknown, ambiguous (several locks answer to the name), offline, busy, timed out, or it refused |
/// | 5 | `verify`: a valid signature, but not by a trusted station key |
/// | 64 | usage error (bad arguments) |
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case ok = 0
    case failure = 1
    case faultsPresent = 2
    case daemonUnreachable = 3
    case deviceProblem = 4
    /// `lockdiag verify`: the signature is valid, but its key is not a trusted station key.
    case untrustedSignature = 5
    /// sysexits.h EX_USAGE, which swift-argument-parser already uses for parse errors.
    case usage = 64
    /// `bench run` stopped by Ctrl-C (128 + SIGINT, as a shell reports it); results are partial.
    case interrupted = 130

    /// 2 when any of `faults` is confirmed, else 0. Pending and healed faults are shown but do
    /// not fail a script: pending ones are not certain yet, healed ones are gone.
    public static func forFaults(_ faults: [Fault]) -> ExitStatus {
        faults.contains { $0.status == .confirmed } ? .faultsPresent : .ok
    }

    /// 0 for a passed self-test, 2 for one that failed or was aborted.
    public static func forTest(_ verdict: Verdict) -> ExitStatus {
        verdict == .pass ? .ok : .faultsPresent
    }

    /// The help text's table of exit statuses.
    public static let helpText = """
        EXIT STATUS
          0   ran fine: no confirmed fault in what was shown; the self-test passed
          1   any other error (permission denied, protocol error, no reply in time)
          2   confirmed fault(s) in what was shown (list, status, faults),
              or the self-test failed or was aborted, or commissioning failed
          3   lockdiagd is unreachable (the message says how to start it)
          4   device problem: unknown device, offline, busy, timed out, or
              refused; or a name several locks answer to (give the id)
          5   verify: valid signature, but not by a trusted station key
          64  usage error (bad arguments, or an invalid bench plan)
          130 bench run stopped by Ctrl-C (partial results were written)
        """
}
