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
