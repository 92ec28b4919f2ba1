import LockProtocol

/// How the poll loop runs. Intervals are in nanoseconds of CLOCK_MONOTONIC.
public struct PollLoopConfiguration: Sendable {
    /// Status polls per second per device (`--poll-hz`).
    public var pollHz: Int = 50
    /// LDP/1 §4.2's host deadline.
    public var responseTimeoutNanoseconds: UInt64 = LDP.responseDeadlineNanoseconds
    /// How often an offline device's path is tried again.
    public var reconnectIntervalNanoseconds: UInt64 = 500_000_000
    /// READ_FAULTS cadence.
    public var faultPollIntervalNanoseconds: UInt64 = 500_000_000
    /// READ_FINGERPRINT_STATUS cadence.
    public var fingerprintPollIntervalNanoseconds: UInt64 = 1_000_000_000
    /// Counters records per device.
    public var countersIntervalNanoseconds: UInt64 = 1_000_000_000
    /// Records the ring holds before it drops; 8192 is several seconds of 64 busy locks.
    public var ringCapacity: Int = 8192
    /// Device slots, allocated up front.
    public var maxDevices: Int = 256
    /// Event frames one device may send per second before the rest of that second's are
    /// dropped (and counted in `events_dropped`). LDP/1 §4.2 allows 50 events a second besides
    /// TRACE_CHUNKs, which come at most 63 a second (2 kHz traces in chunks of 32): 250 is twice
    /// a compliant lock's worst case, and keeps one flooding lock from filling the ring that
    /// every other lock's readings share.
    public var maxEventsPerSecondPerDevice: Int = 250
    /// Reads of one device per wake-up (4 KiB each) before the loop moves on; the rest is read at
    /// the next wake-up, so a device that never stops sending cannot starve the others or the
    /// timer. A 115 200-baud line brings 11.5 KiB a second, far below it.
    public var maxReadsPerWake: Int = 16
    /// `--realtime`: what to ask the kernel for.
    public var realtime: RealtimeRequest? = nil
    /// `--record`: the ring the drivers copy every byte each way into (Recording/); nil: none.
    public var traffic: TrafficRing? = nil
    /// The ring socket recordings (`record.start`) are fed from while one runs; nil: none.
    public var taps: TrafficRing? = nil

    public init() {}

    public var periodNanoseconds: UInt64 { 1_000_000_000 / UInt64(max(1, pollHz)) }

    /// The time slice the loop thread asks of the fair scheduler (sched_setattr's
    /// sched_runtime): the kernel's minimum.
    public static let fairSliceNanoseconds: UInt64 = 100_000
}

/// The `--realtime` requests (see ../shared/TESTING.md for what each buys on this machine).
public struct RealtimeRequest: Sendable, Equatable {
    public var fifoPriority: Int32 = 80
    public var lockMemory = true
    /// The CPU to pin the loop to; nil leaves affinity alone.
    public var cpu: Int32? = nil
    /// Hold /dev/cpu_dma_latency at 0 (keeps CPUs out of deep idle system-wide).
    public var holdWakeLatency = true

    public init() {}
}

/// What the loop got when it asked for real-time settings; `missing` says what it could not get
/// and why, for the log and `daemon.info`.
public struct RealtimeReport: Sendable, Equatable {
    public var granted: [String] = []
    public var missing: [String] = []

    public init() {}
}
