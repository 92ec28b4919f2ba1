/// `daemon.stats` → `clients`: the socket server's own tallies since start, so refused and
/// limited clients are visible (docs/security.md).
public struct ClientStats: Codable, Sendable, Equatable {
    /// Connections open now, and ever accepted.
    public var connectionsOpen: Int
    public var connectionsTotal: Int
    /// Refused at connect: no role.
    public var connectionsRefused: Int
    /// Refused at the connection limit.
    public var connectionsOverLimit: Int
    /// Requests received (each batch element counts).
    public var requests: Int
    /// Requests refused, or notifications dropped, past the per-connection rate.
    public var rateLimited: Int
    /// Connections closed by the idle timeout.
    public var idleClosed: Int
    /// Lines longer than the request size limit.
    public var oversizedRequests: Int
    /// Lines that were not JSON.
    public var parseErrors: Int
    /// Notifications not sent because the client was not reading.
    public var notificationsDropped: Int

    enum CodingKeys: String, CodingKey {
        case requests
        case connectionsOpen = "connections_open"
        case connectionsTotal = "connections_total"
        case connectionsRefused = "connections_refused"
        case connectionsOverLimit = "connections_over_limit"
        case rateLimited = "rate_limited"
        case idleClosed = "idle_closed"
        case oversizedRequests = "oversized_requests"
        case parseErrors = "parse_errors"
        case notificationsDropped = "notifications_dropped"
    }

    public init(connectionsOpen: Int, connectionsTotal: Int, connectionsRefused: Int, connectionsOverLimit: Int, requests: Int,
                rateLimited: Int, idleClosed: Int, oversizedRequests: Int, parseErrors: Int, notificationsDropped: Int) {
        self.connectionsOpen = connectionsOpen
        self.connectionsTotal = connectionsTotal
        self.connectionsRefused = connectionsRefused
        self.connectionsOverLimit = connectionsOverLimit
        self.requests = requests
        self.rateLimited = rateLimited
        self.idleClosed = idleClosed
        self.oversizedRequests = oversizedRequests
        self.parseErrors = parseErrors
        self.notificationsDropped = notificationsDropped
    }
}
