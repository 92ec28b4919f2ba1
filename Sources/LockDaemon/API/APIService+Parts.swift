import JSONRPC
import LockDiagAPI

extension APIService {
    /// `device.parts` (docs/socket-api.md): checks the lock's accessories now. Technician only
    /// (AccessPolicy's default): it sends the lock requests and raises faults.
    func registerParts(into table: inout RPCMethodTable) {
        table.register(APIMethod.deviceParts) { call in
            let index: Int
            do { index = try hub.resolve(try call.decodeParams(as: DeviceParams.self).device) } catch let error as HubError {
                throw RPCError(resolving: error)
            }
            return try JSONValue(encoding: try await mapped(hub.deviceID(index)) { () throws(HubError) in try await hub.checkParts(of: index) })
        }
    }
}
