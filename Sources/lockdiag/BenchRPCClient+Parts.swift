import BenchKit
import LockDiagAPI

extension BenchRPCClient: BenchPartsClient {
    func checkParts(device: String, timeoutSeconds: Double) throws(BenchCallError) -> PartsResult {
        try call(APIMethod.deviceParts, DeviceParams(device: device), timeoutSeconds: timeoutSeconds)
    }
}
