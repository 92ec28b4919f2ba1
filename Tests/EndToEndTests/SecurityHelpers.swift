import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport

/// Another user, for real: a uid, a primary gid and supplementary groups, applied with setpriv
/// (util-linux) to a real product process. Needs root.
struct OtherUser {
    var uid: UInt32
    var gid: UInt32
    var groups: [UInt32] = []

    static let canSwitch = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    var launcher: [String] {
        let groupOption = groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        return ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", groupOption, "--"]
    }

    /// Runs `product` as this user to completion (stdin closed).
    func run(_ product: String, _ arguments: [String], timeoutSeconds: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(product, arguments, environment: ["NO_COLOR": "1"], timeoutSeconds: timeoutSeconds, launcher: launcher)
    }
}

/// Link counters of every device, by id.
func linkStats(_ client: JSONRPCClient) throws -> [String: LinkStats] {
    let stats = try client.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
    return Dictionary(uniqueKeysWithValues: stats.devices.map { ($0.device, $0) })
}

func devices(_ client: JSONRPCClient) throws -> [DeviceSummary] {
    try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices
}

/// Waits until every device in `ids` has answered at least `frames` more frames than now: proof
/// that it is still being polled. Counters are published once a second. Async, so the wait does
/// not hold one of the test runner's few threads (the in-process servers of other tests need them).
func stillPolled(_ ids: [String], by client: JSONRPCClient, frames: UInt64 = 40, within seconds: Double = 15) async throws -> Bool {
    let before = try linkStats(client)
    return try await TestSupport.wait(upTo: seconds, pollEvery: 0.2) { () async throws -> Bool in
        let now = try linkStats(client)
        return ids.allSatisfy { id in (now[id]?.frames ?? 0) >= (before[id]?.frames ?? 0) + frames }
    }
}

/// The socket server's tallies from `daemon.stats`, asked on a fresh connection.
func clientStats(_ socketPath: String) throws -> ClientStats {
    let fresh = JSONRPCClient(socketPath: socketPath)
    defer { fresh.close() }
    let stats = try fresh.call(APIMethod.daemonStats).decode(as: DaemonStats.self)
    guard let clients = stats.clients else { throw RPCClientError.protocolError("daemon.stats has no clients") }
    return clients
}

/// A fresh connection can still ask the daemon something.
func daemonServes(_ socketPath: String) -> Bool {
    let fresh = JSONRPCClient(socketPath: socketPath)
    defer { fresh.close() }
    return (try? fresh.call(APIMethod.daemonInfo, timeoutSeconds: 10).decode(as: DaemonInfo.self)) != nil
}
