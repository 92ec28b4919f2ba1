import ArgumentParser
import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagCLI

/// A failure to report: what stderr says and the exit status it means.
struct CLIError: Error {
    var status: ExitStatus
    var message: String
    /// The JSON-RPC error code when lockdiagd answered with an error.
    var rpcCode: Int?

    init(status: ExitStatus, message: String, rpcCode: Int? = nil) {
        self.status = status
        self.message = message
        self.rpcCode = rpcCode
    }

    /// The exit status of a client error: 3 when the daemon is unreachable, 4 for the device
    /// errors (unknown, offline, busy, timeout, refused), 1 for the rest. The message is the
    /// error's own, which says what to do.
    init(_ error: RPCClientError) {
        switch error {
        case .daemonUnreachable:
            self.init(status: .daemonUnreachable, message: error.description)
        case .remote(let remote):
            let device = [RPCError.Code.unknownDevice, RPCError.Code.deviceOffline, RPCError.Code.busy, RPCError.Code.timeout,
                          RPCError.Code.deviceRefused, RPCError.Code.ambiguousDevice]
            let message = remote.code == RPCError.Code.ambiguousDevice ? Self.ambiguity(remote) : DisplayText.safe(remote.message)
            self.init(status: device.contains(remote.code) ? .deviceProblem : .failure, message: message, rpcCode: remote.code)
        case .timeout, .protocolError, .connectionClosed:
            self.init(status: .failure, message: DisplayText.safe(error.description))
        }
    }

    var isBusy: Bool { rpcCode == RPCError.Code.busy }

    /// A name several locks answer to: what to do, then one line per candidate, id first
    /// (strings cleaned as DisplayText does: locks choose their serial numbers).
    static func ambiguity(_ error: RPCError) -> String {
        guard case .object(let data)? = error.data?.displaySafe, case .string(let name)? = data["device"],
              let candidates = try? data["candidates"]?.decode(as: [DeviceCandidate].self), !candidates.isEmpty else {
            return DisplayText.safe(error.message)
        }
        let rows: [[Cell]] = candidates.map { [Cell($0.id), Cell($0.transport), Cell($0.path), Cell($0.serial ?? "")] }
        return "'\(name)' names \(candidates.count) locks; give the id of the one you mean:\n"
            + TextTable.render(header: ["ID", "TRANSPORT", "PATH", "SERIAL"], rows: rows, style: .plain).map { "  " + $0 }.joined(separator: "\n")
    }
}

/// A result as the daemon sent it and as the CLI reads it.
struct Reply<Value> {
    var raw: JSONValue
    var value: Value
}

/// One connection to lockdiagd for one command.
final class Session {
    let options: Options
    let client: JSONRPCClient

    /// Connects at once, so an absent daemon is reported before anything else.
    init(_ options: Options) throws(CLIError) {
        self.options = options
        client = JSONRPCClient(socketPath: options.socket)
        do throws(RPCClientError) { try client.connect() } catch { throw CLIError(error) }
    }

    func call<Value: Decodable>(_ method: String, params: (some Encodable)?, as type: Value.Type,
                                timeout: Double? = nil) throws(CLIError) -> Reply<Value> {
        let encoded: JSONValue?
        do { encoded = try params.map { try JSONValue(encoding: $0) } } catch {
            throw CLIError(status: .failure, message: "cannot encode the parameters of \(method): \(error)")
        }
        let raw: JSONValue
        do throws(RPCClientError) { raw = try client.call(method, params: encoded, timeoutSeconds: timeout ?? options.callTimeout) } catch { throw CLIError(error) }
        return Reply(raw: raw, value: try Self.decode(raw, as: type, method: method))
    }

    func call<Value: Decodable>(_ method: String, as type: Value.Type) throws(CLIError) -> Reply<Value> {
        try call(method, params: Optional<DeviceParams>.none, as: type)
    }

    static func decode<Value: Decodable>(_ raw: JSONValue, as type: Value.Type, method: String) throws(CLIError) -> Value {
        // Strings come cleaned of what a terminal would act on (DisplayText); --json prints `raw`.
        do { return try raw.displaySafe.decode(as: type) } catch {
            throw CLIError(status: .failure, message: DisplayText.safe("unexpected result from lockdiagd for \(method): \(error) — are lockdiag and lockdiagd the same version?"))
        }
    }

    /// Unsubscribes from a device's telemetry, briefly, ignoring failure: the daemon drops the
    /// subscription with the connection anyway.
    func unsubscribe(_ device: String) {
        _ = try? client.call(APIMethod.telemetryUnsubscribe, params: ["device": .string(device)], timeoutSeconds: 1)
    }
}

/// Writes an API result the way --json promises: pretty-printed, keys sorted, slashes as is,
/// and inert on a terminal (TerminalText.inertJSON).
func printJSON(_ value: JSONValue) {
    Output.out(TerminalText.inertJSON(value.prettyText))
}

extension ParsableCommand {
    /// Runs a command body: a thrown CLIError is printed on stderr, and any status but 0
    /// becomes the process's exit status.
    func perform(_ body: () throws(CLIError) -> ExitStatus) throws {
        let status: ExitStatus
        do {
            status = try body()
        } catch {
            Output.err("lockdiag: \(error.message)")
            status = error.status
        }
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}
