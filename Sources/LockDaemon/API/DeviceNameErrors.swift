import JSONRPC
import LockDiagAPI

extension RPCError {
    /// -32001 for a device name that names no lock, -32008 (with the candidates in `data`) for
    /// one that several locks answer to: the errors of Hub.resolve.
    init(resolving error: HubError) {
        switch error {
        case .ambiguousDevice(let name, let candidates):
            let listed = (try? JSONValue(encoding: candidates)) ?? .array([])
            self.init(code: Code.ambiguousDevice, message: error.description, data: ["device": .string(name), "candidates": listed])
        case .unknownDevice(let name):
            self = .unknownDevice(name)
        default:
            self = .internalError("resolving a device name failed unexpectedly: \(error)")
        }
    }
}
