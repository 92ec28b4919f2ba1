import Dispatch
import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport

/// Runs blocking test code (real processes, psql, deadline waits) off Swift's cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withTaskExecutorPreference(BlockingExecutor()) { try body() }
}

/// A task executor that runs each job on a private serial queue (not the cooperative pool).
final class BlockingExecutor: TaskExecutor {
    let queue = DispatchQueue(label: "lockdiag.tests.fleet.blocking")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// 32 random bytes in base64: an Ed25519 public key's shape, for enrolment tests that sign nothing.
func randomPublicKey() -> String {
    Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
}

/// daemon.info's fleet link.
func fleetInfo(_ socketPath: String) throws -> FleetLinkInfo? {
    try JSONRPCClient(socketPath: socketPath).call(APIMethod.daemonInfo, params: .object([:]), timeoutSeconds: 10)
        .decode(as: DaemonInfo.self).fleet
}

/// A station enrolled in `pg` with a password; returns its connection string.
func enrollStation(_ name: String, in pg: PostgresServer, key: String = randomPublicKey()) throws -> String {
    let password = "pw-\(name)"
    let passwordFile = pg.directory.path + "/\(name).pw"
    try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
    let r = try ChildProcess.run("lockdiag", ["fleet", "enroll", pg.adminURL, "--station", name, "--key", key, "--password-file", passwordFile],
                                 timeoutSeconds: 30)
    guard r.status == 0 else { throw PostgresServer.Failed(description: "enroll \(name) failed: \(r.stderr)") }
    return pg.url(user: name, password: password)
}

/// A PostgreSQL with the fleet schema applied by `lockdiag fleet init`.
func startFleetDatabase() throws -> PostgresServer {
    let pg = try PostgresServer()
    let r = try ChildProcess.run("lockdiag", ["fleet", "init", pg.adminURL], timeoutSeconds: 60)
    guard r.status == 0 else {
        pg.remove()
        throw PostgresServer.Failed(description: "lockdiag fleet init failed: \(r.stderr)")
    }
    return pg
}

/// The id of the daemon's first lock once it has answered IDENTIFY (has a model and a serial); nil after 15 s.
func firstIdentifiedLock(_ socketPath: String) throws -> String? {
    let client = JSONRPCClient(socketPath: socketPath)
    var device: String?
    _ = try TestSupport.wait(upTo: 15) {
        guard let lock = try client.call(APIMethod.devicesList, params: .object([:])).decode(as: DevicesList.self).devices.first,
              lock.model != nil, lock.serial != nil else { return false }
        device = lock.id
        return true
    }
    return device
}
