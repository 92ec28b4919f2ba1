import BenchKit
import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagCLI
import Synchronization

/// The bench runner's connection to lockdiagd: JSON-RPC over the socket, connecting on its
/// first call; strings in results come cleaned of terminal controls (DisplayText).
final class BenchRPCClient: BenchClient {
    let client: JSONRPCClient

    init(socketPath: String) { client = JSONRPCClient(socketPath: socketPath) }

    func devices(timeoutSeconds: Double) throws(BenchCallError) -> [DeviceSummary] {
        let list: DevicesList = try call(APIMethod.devicesList, Optional<DeviceParams>.none, timeoutSeconds: timeoutSeconds)
        return list.devices
    }

    func status(device: String, timeoutSeconds: Double) throws(BenchCallError) -> DeviceStatus {
        try call(APIMethod.deviceStatus, DeviceParams(device: device), timeoutSeconds: timeoutSeconds)
    }

    func faults(device: String, timeoutSeconds: Double) throws(BenchCallError) -> [Fault] {
        let list: FaultsList = try call(APIMethod.faultsList, FaultsListParams(device: device), timeoutSeconds: timeoutSeconds)
        return list.faults
    }

    func runTest(_ params: TestsRunParams, timeoutSeconds: Double) throws(BenchCallError) -> TestRun {
        try call(APIMethod.testsRun, params, timeoutSeconds: timeoutSeconds)
    }

    func actuate(_ params: ActuateParams, timeoutSeconds: Double) throws(BenchCallError) -> ActuateResult {
        try call(APIMethod.deviceActuate, params, timeoutSeconds: timeoutSeconds)
    }

    func commissionStart(_ params: CommissionStartParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionProgress {
        try call(APIMethod.commissionStart, params, timeoutSeconds: timeoutSeconds)
    }

    func commissionStep(_ params: CommissionSessionParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionProgress {
        try call(APIMethod.commissionStep, params, timeoutSeconds: timeoutSeconds)
    }

    func commissionFinish(_ params: CommissionSessionParams, timeoutSeconds: Double) throws(BenchCallError) -> CommissionFinished {
        try call(APIMethod.commissionFinish, params, timeoutSeconds: timeoutSeconds)
    }

    func call<T: Decodable>(_ method: String, _ params: (some Encodable)?, timeoutSeconds: Double) throws(BenchCallError) -> T {
        let encoded: JSONValue?
        do { encoded = try params.map { try JSONValue(encoding: $0) } } catch { throw .unexpected("cannot encode \(method): \(error)") }
        let raw: JSONValue
        do throws(RPCClientError) {
            raw = try client.call(method, params: encoded, timeoutSeconds: timeoutSeconds)
        } catch {
            switch error {
            case .remote(let remote) where remote.code == RPCError.Code.deviceOffline || remote.code == RPCError.Code.unknownDevice:
                throw .lockGone
            case .remote(let remote):
                throw .refused(remote.message)
            case .daemonUnreachable:
                throw .daemonUnreachable(error.description)
            case .connectionClosed:
                throw .connectionLost(error.description)
            case .timeout:
                throw .timeout
            case .protocolError:
                throw .unexpected(error.description)
            }
        }
        do { return try raw.displaySafe.decode(as: T.self) } catch {
            throw .unexpected("unexpected result from lockdiagd for \(method): \(error) — are lockdiag and lockdiagd the same version?")
        }
    }
}

/// `bench run` on stdout and stderr: redrawn in place on a terminal, a line per event otherwise.
final class BenchTerminal: BenchConsole {
    let isLive = Terminal.stdoutIsTerminal
    /// Drawn only from the runner's thread; the mutex makes that checkable.
    private let screen = Mutex<LiveBlock?>(nil)

    func warning(_ text: String) { Output.err("lockdiag: " + text) }

    func event(_ text: String) { Output.out(text) }

    func draw(_ rows: [LockProgress], log: [String]) {
        let style = Terminal.style(json: false)
        let width = rows.map { VisibleText.width($0.lock) }.max() ?? 0
        let columns = Terminal.columns() - 1
        let lines = rows.map { VisibleText.truncate($0.line(idWidth: width, style: style), to: columns) }
        screen.withLock { screen in
            if screen == nil { screen = LiveBlock() }
            screen?.draw(lines, log: log)
        }
    }

    func finish() { screen.withLock { $0?.finish() } }

    var stopRequests: Int { BenchSignals.count }
}

extension CLIError {
    /// The exit status and message of a run that did not start.
    init(_ error: BenchRunError) {
        switch error {
        case .selection(let message):
            self.init(status: .deviceProblem, message: message)
        case .daemon(.daemonUnreachable(let message)):
            self.init(status: .daemonUnreachable, message: message)
        case .daemon(.lockGone):
            self.init(status: .deviceProblem, message: "lockdiagd refused to list its locks")
        case .daemon(.refused(let message)), .daemon(.connectionLost(let message)), .daemon(.unexpected(let message)):
            self.init(status: .failure, message: DisplayText.safe(message))
        case .daemon(.timeout):
            self.init(status: .failure, message: RPCClientError.timeout.description)
        }
    }
}
