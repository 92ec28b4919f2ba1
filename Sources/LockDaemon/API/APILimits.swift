import JSONRPC
import LockDiagAPI

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
