import LockDaemon
import OptionRanges

/// lockdiagd's numeric options and their documented ranges (docs/security.md and --help show
/// them). Each bound keeps a value's later use safe: seconds become nanoseconds in 64 bits,
/// counts size buffers and tables.
enum DaemonRanges {
    static let baud = OptionRange<UInt32>("--baud", 50...4_000_000)
    /// 30 days: an unplugged lock is long gone by then.
    static let forgetUnplugged = OptionRange<Double>("--forget-unplugged", 0...2_592_000, unit: "seconds")
    static let bleConnectTimeout = OptionRange<Double>("--ble-connect-timeout", 0.1...600, unit: "seconds")
    static let bleMTU = OptionRange<Int>("--ble-mtu", 23...517, unit: "bytes")
    static let bleATTTimeout = OptionRange<Double>("--ble-att-timeout", 0.1...600, unit: "seconds")
    static let simulateSeed = OptionRange<UInt64>("--simulate-seed", 0...UInt64.max)
    /// A day between uses: any longer and the simulated lock is just idle (0 is none).
    static let simulateActivity = OptionRange<Double>("--simulate-activity", 0...86_400, unit: "seconds")
    static let pollHz = OptionRange<Int>("--poll-hz", 1...1000)
    /// CPU_SETSIZE.
    static let cpu = OptionRange<Int32>("--cpu", 0...1023)
    static let confirmAfter = OptionRange<Int>("--confirm-after", 1...1000)
    static let healAfter = OptionRange<Int>("--heal-after", 1...1000)
    static let subscriberBuffer = OptionRange<Int>("--subscriber-buffer", 4096...67_108_864, unit: "bytes")
    static let maxRequestBytes = OptionRange<Int>("--max-request-bytes", 1024...16_777_216, unit: "bytes")
    static let maxConnections = OptionRange<Int>("--max-connections", 1...4096)
    static let rateLimit = OptionRange<Double>("--rate-limit", 0...100_000)
    static let rateBurst = OptionRange<Int>("--rate-burst", 1...100_000)
    static let idleTimeout = OptionRange<Double>("--idle-timeout", 0...86_400, unit: "seconds")
    static let technicianConnections = OptionRange<Int>("--technician-connections", 0...4095)
    static let maxConnectionsPerReader = OptionRange<Int>("--max-connections-per-reader", 1...4096)
    static let maxBatch = OptionRange<Int>("--max-batch", 1...1000)
    /// 64 KiB holds any one device's status; 64 MiB is the most lockdiag's client reads in one
    /// line (`JSONRPCClient.maxResponseBytes`).
    static let maxReplyBytes = OptionRange<Int>("--max-reply-bytes", 65_536...67_108_864, unit: "bytes")
    static let maxSubscribers = OptionRange<Int>("--max-subscribers", 1...1000)
    /// Room for the headers and some traffic; 4 GiB is more than an afternoon of 64 busy locks.
    static let recordMaxBytes = OptionRange<Int>("--record-max-bytes", RecordingConfiguration.minimumMaxBytes...4_294_967_296, unit: "bytes")
    static let recordFiles = OptionRange<Int>("--record-files", 1...1000)
    /// A hundredth of the pace to a thousand times it: past that the loop's 100 ms deadline is shorter than a recorded second.
    static let replaySpeed = OptionRange<Double>("--replay-speed", 0.01...1000)
}
