import BenchKit
import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagCLI
#if canImport(Glibc)
import Glibc
#endif

/// The lockdiagd that `lockdiag bench run` starts for a plan with `replay:` (docs/bench.md):
/// `lockdiagd --replay FILE --replay-speed N --no-discovery` on a socket and history database in
/// a private temporary directory, stopped (SIGTERM) and removed when the run ends.
final class BenchReplayDaemon {
    let process: Process
    let directory: String
    var socketPath: String { directory + "/lockdiag.sock" }

    /// Starts it and waits (up to 30 s) until its socket answers.
    init(_ replay: PlanReplay, planPath: String) throws(CLIError) {
        let planDirectory = (planPath as NSString).deletingLastPathComponent
        let file = replay.file.hasPrefix("/") || planDirectory.isEmpty ? replay.file : planDirectory + "/" + replay.file
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw CLIError(status: .usage, message: "the plan's replay file \(file) cannot be read — give a recording's path (relative to the plan's directory)")
        }
        var template = Array((NSTemporaryDirectory() + "/lockdiag-bench-replay-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CLIError(status: .failure, message: "cannot create a temporary directory for the replay's lockdiagd: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
        process = Process()
        // lockdiagd installed next to lockdiag (a build directory, /usr/bin), else from PATH.
        let sibling = Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("lockdiagd").path
        if let sibling, FileManager.default.isExecutableFile(atPath: sibling) {
            process.executableURL = URL(fileURLWithPath: sibling)
            process.arguments = []
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["lockdiagd"]
        }
        process.arguments! += ["--replay", file, "--replay-speed", "\(replay.speed)", "--no-discovery",
                               "--socket", socketPath, "--db", directory + "/history.sqlite"]
        let log = directory + "/lockdiagd.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        do { try process.run() } catch {
            remove()
            throw CLIError(status: .failure, message: "cannot start lockdiagd to replay \(file): \(error.localizedDescription) — install lockdiagd next to lockdiag or on PATH")
        }
        let deadline = Date().addingTimeInterval(30)
        while !Self.answers(socketPath) {
            guard process.isRunning, Date() < deadline else {
                let said = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: "\n") ?? ""
                stop()
                throw CLIError(status: .daemonUnreachable, message: "lockdiagd replaying \(file) did not start:\n\(said)")
            }
            usleep(50_000)
        }
        Output.err("lockdiag: replaying \(file) at \(replay.speed)× in a lockdiagd of its own (\(socketPath))")
    }

    static func answers(_ socket: String) -> Bool {
        (try? JSONRPCClient(socketPath: socket).call(APIMethod.daemonInfo)) != nil
    }

    /// SIGTERM, then waits up to 10 s for it to exit; removes its directory.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        remove()
    }

    private func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
