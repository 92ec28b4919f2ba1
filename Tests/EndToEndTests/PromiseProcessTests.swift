import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// Promises of docs/socket-api.md, docs/security.md, docs/reports.md and the README that no
/// other test kept, each against a real lockdiagd.
@Suite(.serialized) struct PromiseProcessTests {
    /// socket-api.md: a subscription ends with its connection. With one subscriber allowed per
    /// device, a second client may subscribe once the first has hung up without unsubscribing.
    @Test func aSubscriptionEndsWithItsConnection() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0", "--max-subscribers", "1"])
        defer { #expect(daemon.stop() == 0) }
        let first = JSONRPCClient(socketPath: daemon.socketPath)
        try first.connect()
        #expect(try TestSupport.wait(upTo: 10) { try devices(first).first?.online == true })
        let id = JSONValue.string(try devices(first)[0].id)
        _ = try first.call(APIMethod.telemetrySubscribe, params: ["device": id])

        let second = JSONRPCClient(socketPath: daemon.socketPath)
        try second.connect()
        func subscribe() -> RPCError? {
            do {
                _ = try second.call(APIMethod.telemetrySubscribe, params: ["device": id])
                return nil
            } catch {
                if case .remote(let e) = error { return e }
                return RPCError(code: 0, message: "\(error)")
            }
        }
        let refused = subscribe()
        #expect(refused?.code == RPCError.Code.limitExceeded && refused?.message.contains("already 1 subscribers") == true,
                "the limit did not hold, so the check below could not fail: \(String(describing: refused))")
        first.close()
        // The server sees the hang-up on its own time: wait for it, with a deadline.
        #expect(TestSupport.wait(upTo: 10, pollEvery: 0.1) { subscribe() == nil }, "the closed connection still holds its subscription")
        #expect(try second.nextNotification(timeoutSeconds: 5)?.method == APIMethod.telemetryNotification)
    }

    /// socket-api.md report.create: an unknown device gives -32001; a technician's call is audited
    /// with its outcome.
    @Test func reportCreateIsAuditedAndAnUnknownDeviceIsMinus32001() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 10) { try devices(client).first?.online == true })
        let id = try devices(client)[0].id
        #expect {
            try client.call(APIMethod.reportCreate, params: ["device": "nobody"])
        } throws: { error in
            guard case .remote(let e) = error as? RPCClientError else { return false }
            return e.code == RPCError.Code.unknownDevice
        }
        _ = try client.call(APIMethod.reportCreate, params: ["device": .string(id)])
        let line = daemon.child.waitForErrorLine(containing: "command=report.create {\"device\":\"\(id)\"} → succeeded", within: 5)
        #expect(line?.contains("audit: uid=\(getuid())") == true, "\(daemon.child.allErrors)")
        #expect(daemon.child.allErrors.contains("command=report.create {\"device\":\"nobody\"} → failed -32001"))
    }

    /// socket-api.md report.create: technicians only — a reader gets -32004 from `lockdiag report`.
    @Test(.enabled(if: OtherUser.canSwitch, "needs root and setpriv to act as a reader"))
    func aReaderCannotSignAReport() throws {
        let readerGID: UInt32 = 47110
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0",
                                        "--reader-group", "\(readerGID)", "--technician-group", "47111"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 10) { try devices(client).first?.online == true })
        let id = try devices(client)[0].id
        let output = try TemporaryDirectory(prefix: "report")
        defer { output.remove() }
        chmod(output.path, 0o777)
        let reader = OtherUser(uid: 65534, gid: 65534, groups: [readerGID])
        let report = try reader.run("lockdiag", ["report", id, "--output", output.path + "/r.html", "--socket", daemon.socketPath])
        #expect(report.status == 1, "\(report.stderr)")
        #expect(report.stderr.contains("permission denied: report.create needs the technician role"), "\(report.stderr)")
        #expect(daemon.child.waitForErrorLine(containing: "command=report.create", within: 5)?.contains("→ DENIED") == true)
        #expect(!FileManager.default.fileExists(atPath: output.path + "/r.html"))
    }

    /// README and socket-api.md: with no `--socket`, lockdiagd (not root) serves on
    /// `$XDG_RUNTIME_DIR/lockdiag.sock`, or on `$LOCKDIAG_SOCKET`, and `lockdiag` finds it the same
    /// way; with no `--db`, the history is `$XDG_STATE_HOME/lockdiag/history.sqlite`, or
    /// `~/.local/state/lockdiag/history.sqlite` when XDG_STATE_HOME is unset, in a 0750 folder.
    @Test(.enabled(if: OtherUser.canSwitch && !FileManager.default.fileExists(atPath: "/run/lockdiag/lockdiag.sock"),
                   "needs root and setpriv (the defaults are for other users), and no system daemon here"))
    func defaultSocketAndDatabasePathsFollowTheEnvironment() throws {
        let root = try TemporaryDirectory(prefix: "xdg")
        defer { root.remove() }
        chmod(root.path, 0o755)
        let user = OtherUser(uid: 65534, gid: 65534)
        for name in ["run", "state", "home"] {
            mkdir(root.path + "/" + name, 0o700)
            chown(root.path + "/" + name, user.uid, user.gid)
        }
        let arguments = ["--simulate", "healthy", "--simulate-activity", "0", "--no-discovery"]

        func serve(_ environment: [String: String], socket: String, database: String) throws {
            let daemon = try ChildProcess("lockdiagd", arguments, environment: environment, launcher: user.launcher)
            defer {
                daemon.signal(SIGTERM)
                #expect(daemon.waitForExit(within: 15))
            }
            #expect(daemon.waitForErrorLine(containing: "ready:", within: 30) != nil, "\(daemon.allErrors)")
            #expect(daemonServes(socket), "no daemon on \(socket): \(daemon.allErrors)")
            #expect(FileManager.default.fileExists(atPath: database), "no history at \(database)")
            var info = stat()
            #expect(stat((database as NSString).deletingLastPathComponent, &info) == 0 && info.st_mode & 0o777 == 0o750)
            // The CLI, as the same user in the same environment, finds the daemon with no --socket
            // (and, once the simulated lock has answered, lists it by its serial).
            var list: (status: Int32, stdout: String, stderr: String) = (-1, "", "")
            #expect(try TestSupport.wait(upTo: 10, pollEvery: 0.2) {
                list = try ChildProcess.run("lockdiag", ["list"], environment: environment.merging(["NO_COLOR": "1"]) { a, _ in a },
                                            launcher: user.launcher)
                return list.stdout.contains("SIM-")
            }, "\(list.stdout)")
            #expect(list.status == 0 || list.status == 2, "\(list.stderr)")
        }
        try serve(["XDG_RUNTIME_DIR": root.path + "/run", "XDG_STATE_HOME": root.path + "/state", "LOCKDIAG_SOCKET": "", "HOME": "/nonexistent"],
                  socket: root.path + "/run/lockdiag.sock", database: root.path + "/state/lockdiag/history.sqlite")
        try serve(["XDG_RUNTIME_DIR": root.path + "/run", "XDG_STATE_HOME": "", "LOCKDIAG_SOCKET": root.path + "/run/env.sock",
                   "HOME": root.path + "/home"],
                  socket: root.path + "/run/env.sock", database: root.path + "/home/.local/state/lockdiag/history.sqlite")
    }

    /// simulator.md: scenarios with no Tuya equivalent (a dead fingerprint sensor, a worn
    /// battery) show nothing over Tuya. A motor-stall lock on the same simulator shows its
    /// stored alarm, so the daemon has looked at all three by then.
    @Test func scenariosWithNoTuyaEquivalentShowNothingOverTuya() throws {
        let links = try TemporaryDirectory(prefix: "tuya")
        defer { links.remove() }
        let sim = try ChildProcess("locksim", ["--pty", "--count", "3", "--link-dir", links.path, "--seed", "5", "--dialect", "tuya",
                                               "--scenario", "fingerprint-dead,battery-worn,motor-stall", "--activity", "0"])
        defer { sim.terminate() }
        let paths = try (0..<3).map { _ in try #require(sim.readLine(within: 10)) }
        let daemon = try DaemonProcess(paths.flatMap { ["--serial", $0] } + ["--dialect", "tuya", "--no-discovery"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        func status(_ path: String) throws -> DeviceStatus {
            try client.call(APIMethod.deviceStatus, params: ["device": .string(path)]).decode(as: DeviceStatus.self)
        }
        func faults(_ path: String) throws -> [Fault] {
            try client.call(APIMethod.faultsList, params: ["device": .string(path)]).decode(as: FaultsList.self).faults
        }
        #expect(try TestSupport.wait(upTo: 20) { try status(paths[2]).tuya?.alarms.contains { $0.alarm == "tongue_bad" } == true },
                "the control lock's alarm never came: the checks below could not fail")
        // Each lock has been talked with for as long as the control lock (which has reported
        // what its fault memory held at start): at least as many frames each.
        let control = try #require(try linkStats(client)[paths[2]]).frames
        var frames: [UInt64] = []
        #expect(try TestSupport.wait(upTo: 20) {
            let stats = try linkStats(client)
            frames = paths.prefix(2).map { stats[$0]?.frames ?? 0 }
            return frames.allSatisfy { $0 >= control }
        }, "frames \(frames), the control lock's \(control)")
        for path in paths.prefix(2) {
            // Link health (link_lost, response_timeout) is not what the lock reports; on a shared
            // machine it is not this promise's business.
            let shown = try faults(path).filter { $0.category != "communication" }.map(\.name)
            #expect(shown.isEmpty, "\(path): \(shown)")
            #expect(try status(path).tuya?.alarms.isEmpty == true)
        }
    }

    /// README: `lockdiag` looks at /run/lockdiag/lockdiag.sock first whenever it exists. In a
    /// private mount namespace (unshare), /run is a fresh tmpfs whose lockdiag/lockdiag.sock
    /// leads to a real daemon; the CLI finds it with no --socket, though $XDG_RUNTIME_DIR points
    /// elsewhere, and does not without it.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), "needs root and unshare"))
    func theCLIPrefersTheSystemSocketWhenItExists() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try TestSupport.wait(upTo: 10) { try devices(client).first?.online == true })
        let cli = try ChildProcess.product("lockdiag")
        func list(withSystemSocket: Bool) throws -> (status: Int32, out: String, err: String) {
            let link = withSystemSocket ? "mkdir /run/lockdiag && ln -s \(daemon.socketPath) /run/lockdiag/lockdiag.sock && " : ""
            let script = "mount -t tmpfs tmpfs /run && \(link)XDG_RUNTIME_DIR=/nonexistent LOCKDIAG_SOCKET= NO_COLOR=1 \(cli) list"
            return try runTool("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script])
        }
        let found = try list(withSystemSocket: true)
        #expect(found.status == 0 || found.status == 2, "\(found.err)")
        #expect(found.out.contains("SIM-"), "\(found.out)")
        let missing = try list(withSystemSocket: false)
        #expect(missing.status == 3, "without the system socket: \(missing.status) \(missing.out) \(missing.err)")
    }
}
