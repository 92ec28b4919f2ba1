#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LockDiagTestSupport
import Synchronization
import Testing

@testable import JSONRPC

/// The transport's share of access control and limits: admission at connect, the peer's
/// groups, the socket's group, the per-connection request rate and the idle timeout.
@Suite struct AccessAndLimitsTests {
    @Test func admissionRefusesWithOneErrorLineThenCloses() async throws {
        let refusal = RPCError.permissionDenied("connecting to lockdiagd", role: "reader", group: "lockdiag")
        try await withServer(configure: { $0.admission = { _ in .refuse(refusal) } }) { server, _ in
            let reply: JSONValue = try await onThread {
                let raw = try RawSocket(path: server.socketPath)
                let line = try raw.readJSON()
                #expect(try raw.readsEndOfStream())
                return line
            }
            #expect(reply.errorCode == RPCError.Code.permissionDenied)
            #expect(reply["id"] == .null)
            #expect(reply["error"]?["data"]?["group"]?.stringValue == "lockdiag")
            #expect(reply["error"]?["message"]?.stringValue?.contains("usermod -aG lockdiag") == true)
            #expect(await eventually(upTo: 30) { server.statistics.connectionsRefused == 1 })
            #expect(server.connections.isEmpty)
        }
    }

    @Test func admissionSeesTheClientsCredentialsAndAdmitsWhomItChooses() async throws {
        let seen = Mutex<[PeerCredentials?]>([])
        try await withServer(configure: { c in
            c.admission = { peer in
                seen.withLock { $0.append(peer) }
                return peer?.uid == getuid() ? .admit(privileged: false) : .refuse(.permissionDenied("x", role: "reader", group: "g"))
            }
        }) { server, _ in
            let reply: JSONValue = try await onThread {
                try RawSocket(path: server.socketPath).exchange(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}"#)
            }
            #expect(reply["result"] == [1])
            let peer = try #require(seen.withLock { $0.first } ?? nil)
            #expect(peer.pid == getpid() && peer.uid == getuid() && peer.gid == getgid())
        }
    }

    /// A real other process with chosen groups (setpriv, running the lockdiag CLI as the
    /// client), connecting as another uid: the server reads its supplementary groups from the
    /// kernel (SO_PEERGROUPS), sorted as the kernel keeps them.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func peerGroupsComeFromTheKernel() async throws {
        let seen = Mutex<[PeerCredentials]>([])
        try await withServer(configure: { c in
            c.socketMode = 0o666
            c.admission = { peer in
                if let peer { seen.withLock { $0.append(peer) } }
                return .admit(privileged: false)
            }
        }) { server, _ in
            chmod((server.socketPath as NSString).deletingLastPathComponent, 0o755)
            let path = server.socketPath
            let result = try await onThread {
                try ChildProcess.run("lockdiag", ["info", "--socket", path],
                                     launcher: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--groups=47113,4711,4712", "--"])
            }
            #expect(result.stderr.contains("Method not found"), "the CLI did talk to the server: \(result.stderr)")
            let peer = try #require(seen.withLock { $0.first })
            #expect(peer.uid == 65534 && peer.gid == 65534)
            #expect(peer.groups == [4711, 4712, 47113])
        }
    }

    @Test func theKernelsGroupListIsReadUpToItsPadding() {
        var groups = KernelPeerGroups()
        #expect(groups.groupIDs == [])
        groups.gids[0] = 0
        groups.gids[1] = 27
        groups.gids[2] = 1000
        #expect(groups.groupIDs == [0, 27, 1000], "gid 0 first, then the rest, sorted")
        var one = KernelPeerGroups()
        one.gids[0] = 47110
        #expect(one.groupIDs == [47110])
    }

    @Test func theSocketAndTheDirectoriesItNeedsGetTheConfiguredGroup() async throws {
        let parent = try TemporaryDirectory(prefix: "jrpc")
        defer { parent.remove() }
        let path = parent.path + "/run/d.sock"
        // Root may give any group; others only one of their own.
        let group: UInt32 = getuid() == 0 ? 4711 : getgid()
        var configuration = JSONRPCServer.Configuration(socketPath: path)
        configuration.socketGroupID = group
        let server = JSONRPCServer(configuration: configuration, handler: makeTestHandler(Probe()))
        try await server.start()
        var socketInfo = stat()
        var directoryInfo = stat()
        #expect(stat(path, &socketInfo) == 0 && stat(parent.path + "/run", &directoryInfo) == 0)
        await server.stop()
        #expect(socketInfo.st_gid == group && socketInfo.st_mode & 0o777 == 0o660)
        #expect(directoryInfo.st_gid == group && directoryInfo.st_mode & 0o777 == 0o750)
    }

    @Test func pastTheRateARequestGetsALimitErrorAndTheConnectionCarriesOn() async throws {
        try await withServer(configure: { c in
            c.maxRequestsPerSecondPerConnection = 5
            c.requestBurstPerConnection = 3
        }) { server, _ in
            let codes: [Int?] = try await onThread {
                let raw = try RawSocket(path: server.socketPath)
                var lines = ""
                for id in 1...8 { lines += #"{"jsonrpc":"2.0","id":\#(id),"method":"echo","params":[\#(id)]}"# + "\n" }
                try raw.send(lines)
                return try (1...8).map { _ in try raw.readJSON().errorCode }
            }
            // The burst of 3 runs; the rest of the instant burst is refused (a refill of one
            // token takes 200 ms, far longer than eight lines take to arrive).
            #expect(codes.filter { $0 == nil }.count >= 3)
            #expect(codes.filter { $0 == RPCError.Code.limitExceeded }.count >= 4)
            #expect(server.statistics.rateLimited >= 4)
            // The bucket refills: the same connection is served again.
            let recovered: Bool = try await onThread {
                let raw = try RawSocket(path: server.socketPath)
                return try TestSupport.wait(upTo: 5, pollEvery: 0.05) {
                    try raw.exchange(#"{"jsonrpc":"2.0","id":9,"method":"echo","params":[9]}"#)["result"] == [9]
                }
            }
            #expect(recovered)
        }
    }

    @Test func aRateLimitErrorSaysWhatToDo() {
        let error = RPCError.rateLimited(requestsPerSecond: 50, burst: 100)
        #expect(error.code == -32006)
        #expect(error.message.contains("more than 50 requests per second"))
        #expect(error.message.contains("subscribe to telemetry instead of polling"))
    }

    @Test func anIdleConnectionIsClosedButAListeningOneIsNot() async throws {
        try await withServer(configure: { $0.idleTimeoutSeconds = 1 }) { server, probe in
            // The listener connects first: if it were subject to the timeout it would go first.
            // A request still running keeps it from being idle while the test marks it as
            // listening (as a subscribe call would), however slow the test runner is.
            let listener = try RawSocket(path: server.socketPath)
            try listener.send(#"{"jsonrpc":"2.0","id":1,"method":"slow"}"# + "\n")
            #expect(await eventually(upTo: 30) { probe.slowStarted.load(ordering: .relaxed) == 1 })
            let listening = try #require(server.connections.first)
            listening.setReceivesNotifications(true)
            probe.gate.open()
            let done: JSONValue = try await onThread { try listener.readJSON() }
            #expect(done["result"] == "done")

            let (line, closed): (JSONValue, Bool) = try await onThread {
                let idle = try RawSocket(path: server.socketPath)
                return (try idle.readJSON(timeoutSeconds: 10), try idle.readsEndOfStream())
            }
            #expect(line.errorCode == RPCError.Code.limitExceeded)
            #expect(line["error"]?["message"]?.stringValue?.contains("no request for 1 s") == true)
            #expect(closed)
            #expect(server.statistics.idleClosed == 1)
            // Well past its own timeout, the listener still gets notifications.
            #expect(listening.trySendNotification(method: "tick", params: ["n": 1]))
            let tick: JSONValue = try await onThread { try listener.readJSON() }
            #expect(tick["method"]?.stringValue == "tick")
        }
    }

    @Test func theEventLoopProbeAnswersWhileServingAndNotAfter() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let server = JSONRPCServer(configuration: .init(socketPath: directory.socketPath), handler: makeTestHandler(Probe()))
        #expect(server.eventLoopResponds(within: 1) == nil)
        try await server.start()
        let answered = try await onThread { server.eventLoopResponds(within: 5) }
        #expect(answered == true)
        await server.stop()
        #expect(server.eventLoopResponds(within: 1) == nil)
    }
}
