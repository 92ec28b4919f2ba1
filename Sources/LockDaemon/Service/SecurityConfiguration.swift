/// Who may use the socket and how much (docs/security.md): `lockdiagd --reader-group`,
/// `--technician-group` and the limit options. Every default is documented there.
public struct SecurityConfiguration: Sendable, Equatable {
    /// Unix group (name or gid) whose members are readers; the socket file gets this group.
    public var readerGroup = AccessPolicy.defaultReaderGroup
    /// Unix group (name or gid) whose members are technicians.
    public var technicianGroup = AccessPolicy.defaultTechnicianGroup
    /// Longest request line, bytes.
    public var maxRequestBytes = 64 * 1024
    /// Clients connected at once.
    public var maxConnections = 64
    /// Of `maxConnections`, slots only technicians may take: readers together hold at most
    /// the rest, so a reader can never lock a technician out. lockdiagd's default is an eighth
    /// of `maxConnections`.
    public var technicianConnections = 8
    /// Connections one reader uid may hold at once (technicians are bound only by
    /// `maxConnections`: a bench run opens one per lock).
    public var maxConnectionsPerReader = 16
    /// Requests one batch may hold.
    public var maxBatchRequests = 50
    /// Longest reply line; a bigger result becomes an error saying to page or narrow the call.
    /// faults.history's largest page (1000 events with freeze frames) fits well inside it.
    public var maxReplyBytes = 8 * 1024 * 1024
    /// Requests per second per connection, sustained; bursts up to `requestBurst`. Far above
    /// what any client needs (the CLI makes a handful per command, `watch` subscribes, a rig
    /// reading 64 locks once a second makes 64), low enough to bound what one runaway script
    /// costs the daemon.
    public var requestsPerSecond = 200.0
    public var requestBurst = 400
    /// Seconds a connection may stay without a request (subscribers excepted).
    public var idleTimeoutSeconds = 300.0
    /// Telemetry subscribers per device.
    public var maxSubscribersPerDevice = 16

    public init() {}
}
