import JSONRPC
import LockDiagAPI
import Synchronization

/// The socket API's own limits (the transport's are in `JSONRPCServer.Configuration`); every
/// default is documented in docs/security.md.
public struct APILimits: Sendable, Equatable {
    /// Subscribers of one device's telemetry at once (`--max-subscribers`); each costs the hub a
    /// notification encode per status update.
    public var maxSubscribersPerDevice = 16

    public init() {}
}

extension RPCError {
    /// -32602 for an actuating call sent without `"confirm": true`.
    static func confirmationRequired(_ test: TestKind, device: String) -> RPCError {
        RPCError(
            code: Code.invalidParams,
            message: "Invalid params: the \(test.rawValue) test moves the bolt of \(device) (it locks and unlocks the door) — make sure "
                + "nobody and nothing is in its way, then send it again with \"confirm\": true (lockdiag test \(device) \(test.rawValue) --yes)",
            data: ["field": "confirm", "device": .string(device)]
        )
    }
}

/// Where `daemon.stats` gets the socket server's tallies: the API's method table exists before
/// the server that serves it, so the server is introduced afterwards (`provide`).
public final class ClientStatisticsSource: Sendable {
    private let source = Mutex<(@Sendable () -> ClientStats)?>(nil)

    public init() {}

    public func provide(_ body: @escaping @Sendable () -> ClientStats) { source.withLock { $0 = body } }

    /// Reports `server`'s statistics from now on.
    public func provide(_ server: JSONRPCServer) { provide { ClientStats(server.statistics) } }

    func current() -> ClientStats? { source.withLock { $0 }?() }
}

extension ClientStats {
    /// The server's statistics as the API reports them.
    public init(_ s: JSONRPCServer.Statistics) {
        self.init(connectionsOpen: s.connectionsOpen, connectionsTotal: s.connectionsTotal, connectionsRefused: s.connectionsRefused,
                  connectionsOverLimit: s.connectionsRejected, requests: s.requests, rateLimited: s.rateLimited, idleClosed: s.idleClosed,
                  oversizedRequests: s.oversizedRequests, parseErrors: s.parseErrors, notificationsDropped: s.notificationsDropped)
    }
}
