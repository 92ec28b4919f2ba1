#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LockDiagTestSupport
import Testing

@testable import JSONRPC

/// The socket file, connections, limits, notifications and shutdown.
@Suite struct ServerLifecycleTests {
    @Test func socketFileAndDirectoryModes() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let path = directory.path + "/run/lockdiag/d.sock"
        let server = JSONRPCServer(configuration: .init(socketPath: path), handler: makeTestHandler(Probe()))
        try await server.start()
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o7777 == 0o660)
        #expect(stat(directory.path + "/run/lockdiag", &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o750)
        #expect(stat(directory.path + "/run", &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o750)
        await server.stop()
        #expect(access(path, F_OK) != 0, "stop() removes the socket file")
    }

    @Test func customModes() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        var configuration = JSONRPCServer.Configuration(socketPath: directory.path + "/x/d.sock")
        configuration.socketMode = 0o600
        configuration.directoryMode = 0o700
        let server = JSONRPCServer(configuration: configuration, handler: makeTestHandler(Probe()))
        try await server.start()
        var info = stat()
        #expect(stat(configuration.socketPath, &info) == 0 && info.st_mode & 0o7777 == 0o600)
        #expect(stat(directory.path + "/x", &info) == 0 && info.st_mode & 0o7777 == 0o700)
        await server.stop()
    }

    @Test func staleSocketFileIsReplaced() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let path = directory.socketPath
        // What a crashed server leaves: a bound socket file with nobody listening.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(SocketFile.withUnixAddress(path) { bind(fd, $0, $1) } == 0)
        close(fd)
        #expect(access(path, F_OK) == 0)

        let server = JSONRPCServer(configuration: .init(socketPath: path), handler: makeTestHandler(Probe()))
        try await server.start()
        let reply = try await onThread {
            try JSONRPCClient(socketPath: path).call("echo", params: ["fresh"], timeoutSeconds: 10)
        }
        #expect(reply == ["fresh"])
        await server.stop()
    }

    @Test func liveServerIsNotClobbered() async throws {
        try await withServer { first, _ in
            let second = JSONRPCServer(configuration: .init(socketPath: first.socketPath), handler: makeTestHandler(Probe()))
            await #expect(throws: JSONRPCServerError.anotherServerIsListening(path: first.socketPath)) {
                try await second.start()
            }
            #expect(JSONRPCServerError.anotherServerIsListening(path: "/p").description.contains("systemctl stop lockdiagd"))
            // The first server still owns its socket and serves.
            let path = first.socketPath
            let reply = try await onThread { try JSONRPCClient(socketPath: path).call("echo", params: [1], timeoutSeconds: 10) }
            #expect(reply == [1])
            await second.stop()
            #expect(access(path, F_OK) == 0, "the failed server must not remove the live one's socket")
        }
    }

    @Test func refusesAPathThatIsNotASocket() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let path = directory.socketPath
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        let server = JSONRPCServer(configuration: .init(socketPath: path), handler: makeTestHandler(Probe()))
        await #expect(throws: JSONRPCServerError.pathIsNotASocket(path: path)) { try await server.start() }
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
    }

    @Test func refusesAPathTooLongForSunPath() async throws {
        let path = "/tmp/" + String(repeating: "p", count: 120)
        let server = JSONRPCServer(configuration: .init(socketPath: path), handler: makeTestHandler(Probe()))
        await #expect(throws: JSONRPCServerError.socketPathTooLong(path: path, maxBytes: 107)) { try await server.start() }
    }

    @Test func startTwiceIsAnError() async throws {
        try await withServer { server, _ in
            await #expect(throws: JSONRPCServerError.alreadyStarted) { try await server.start() }
        }
    }

    @Test func peerCredentialsAreTheClientProcess() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            let socket = try RawSocket(path: path)
            let whoami = try await onThread { try socket.exchange(#"{"jsonrpc":"2.0","method":"whoami","id":1}"#) }
            let reply = try #require(whoami["result"])
            #expect(reply["pid"]?.int64Value == Int64(getpid()))
            #expect(reply["uid"]?.int64Value == Int64(getuid()))
            #expect(reply["gid"]?.int64Value == Int64(getgid()))
            let connection = try #require(server.connections.first)
            #expect(connection.peer.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) } == PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()))
            #expect(reply["connection"]?.int64Value == Int64(connection.id))
            socket.close()
        }
    }

    @Test func concurrentClients() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        try await onThread {
                            let rpc = JSONRPCClient(socketPath: path)
                            for index in 0..<50 {
                                let params: JSONValue = ["client": .integer(Int64(client)), "index": .integer(Int64(index))]
                                let reply = try rpc.call("echo", params: params, timeoutSeconds: 20)
                                #expect(reply == params)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.statistics.connectionsTotal == 8)
            #expect(server.statistics.requests == 400)
        }
    }

    @Test func clientVanishingMidRequestHarmsNothing() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                try socket.send(#"{"jsonrpc":"2.0","method":"slow","id":1}"# + "\n")
                #expect(TestSupport.wait(upTo: 5) { probe.slowStarted.load(ordering: .relaxed) == 1 })
                socket.close()
            }
            #expect(await eventually { server.statistics.connectionsOpen == 0 })
            #expect(probe.closedConnections.withLock { $0.count } == 1)
            // The handler runs on to its end; its reply has nowhere to go and is dropped.
            probe.gate.open()
            #expect(await eventually { probe.slowFinished.load(ordering: .relaxed) == 1 })
            let reply = try await onThread { try JSONRPCClient(socketPath: path).call("echo", params: ["still here"], timeoutSeconds: 10) }
            #expect(reply == ["still here"])
        }
    }

    @Test func maxConnections() async throws {
        try await withServer(configure: { $0.maxConnections = 2 }) { server, _ in
            let path = server.socketPath
            let first = try RawSocket(path: path)
            let second = try RawSocket(path: path)
            try await onThread {
                // Both are served.
                #expect(try first.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":1}"#)["id"] == 1)
                #expect(try second.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[2],"id":2}"#)["id"] == 2)
                // The third gets one error line, then end of stream.
                let third = try RawSocket(path: path)
                let refusal = try third.readJSON()
                #expect(refusal.errorCode == -32006)
                #expect(refusal["id"] == .null)
                #expect(try third.readsEndOfStream())
                // The client library reports the server's reason, not a bare close.
                do {
                    _ = try JSONRPCClient(socketPath: path).call("echo", timeoutSeconds: 10)
                    Issue.record("a client past the limit was served")
                } catch {
                    guard case .remote(let rpcError) = error as? RPCClientError else {
                        Issue.record("unexpected \(error)")
                        return
                    }
                    #expect(rpcError.code == RPCError.Code.limitExceeded)
                }
            }
            #expect(server.statistics.connectionsRejected == 2)
            first.close()
            #expect(await eventually { server.statistics.connectionsOpen == 1 })
            let reply = try await onThread { try JSONRPCClient(socketPath: path).call("echo", params: [3], timeoutSeconds: 10) }
            #expect(reply == [3])
            second.close()
        }
    }

    @Test func gracefulStopFinishesInFlightRequests() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let probe = Probe()
        let path = directory.socketPath
        let server = JSONRPCServer(configuration: .init(socketPath: path), handler: makeTestHandler(probe))
        try await server.start()
        let socket = try RawSocket(path: path)
        try socket.send(#"{"jsonrpc":"2.0","method":"slow","id":"in-flight"}"# + "\n")
        #expect(await eventually { probe.slowStarted.load(ordering: .relaxed) == 1 })

        async let stopped: Void = server.stop()
        // Stopping: no longer accepting, but the slow request is still running.
        #expect(await eventually {
            (try? RawSocket(path: path)) == nil
        })
        #expect(probe.slowFinished.load(ordering: .relaxed) == 0)
        probe.gate.open()
        let reply = try await onThread { try socket.readJSON() }
        #expect(reply == ["jsonrpc": "2.0", "result": "done", "id": "in-flight"])
        #expect(try await onThread { try socket.readsEndOfStream() })
        await stopped
        #expect(access(path, F_OK) != 0)
        // Connection 1 is the in-flight one (others may be the probes above).
        #expect(probe.closedConnections.withLock { $0.contains(1) })
    }

    @Test func stopClosesStuckRequestsAfterTheGracePeriod() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let probe = Probe()
        var configuration = JSONRPCServer.Configuration(socketPath: directory.socketPath)
        configuration.shutdownGracePeriodSeconds = 0.2
        let server = JSONRPCServer(configuration: configuration, handler: makeTestHandler(probe))
        try await server.start()
        let socket = try RawSocket(path: configuration.socketPath)
        try socket.send(#"{"jsonrpc":"2.0","method":"slow","id":1}"# + "\n")
        #expect(await eventually { probe.slowStarted.load(ordering: .relaxed) == 1 })
        await server.stop()
        #expect(try await onThread { try socket.readsEndOfStream() })
        // The stuck handler finishes after the event loop is gone; its reply is dropped quietly.
        probe.gate.open()
        #expect(await eventually { probe.slowFinished.load(ordering: .relaxed) == 1 })
    }

    @Test func notificationsToASlowReaderAreDroppedWithoutBlocking() async throws {
        try await withServer(configure: { $0.outboundHighWaterMarkBytes = 64 * 1024 }) { server, probe in
            let path = server.socketPath
            // A subscriber that then stops reading.
            let sleeper = try RawSocket(path: path)
            let subscribed = try await onThread { try sleeper.exchange(#"{"jsonrpc":"2.0","method":"subscribe","id":1}"#) }
            #expect(subscribed["result"] == true)
            let connection = try #require(probe.subscribers.withLock { $0.first })

            let payload: JSONValue = ["blob": .string(String(repeating: "n", count: 4000))]
            var sent = 0
            var refused = false
            var slowestCall = 0.0
            let started = Date()
            // Bounded: the socket buffers plus the mark hold far fewer than this many.
            for _ in 0..<20_000 {
                let before = Date()
                let accepted = connection.trySendNotification(method: "telemetry", params: payload)
                slowestCall = max(slowestCall, Date().timeIntervalSince(before))
                if !accepted {
                    refused = true
                    break
                }
                sent += 1
            }
            #expect(refused, "trySendNotification kept accepting for a client that does not read")
            #expect(sent > 0)
            #expect(slowestCall < 0.5, "a call took \(slowestCall) s: it must never wait")
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(server.statistics.notificationsDropped >= 1)
            #expect(server.statistics.notificationsSent == sent)

            // Another client is served while the sleeper's buffers are full.
            let reply = try await onThread { try JSONRPCClient(socketPath: path).call("echo", params: ["unaffected"], timeoutSeconds: 10) }
            #expect(reply == ["unaffected"])

            // Once the sleeper reads, everything accepted arrives, in order, and sending resumes.
            let accepted = sent
            let received = try await onThread { () -> Int in
                var count = 0
                while count < accepted {
                    let line = try sleeper.readJSON()
                    #expect(line["method"] == "telemetry")
                    count += 1
                }
                return count
            }
            #expect(received == sent)
            #expect(await eventually { connection.queuedNotificationBytes == 0 })
            #expect(connection.trySendNotification(method: "telemetry", params: ["after": true]))
            #expect(try await onThread { try sleeper.readJSON()["params"] } == ["after": true])
        }
    }

    @Test func clientThatDoesNotReadItsRepliesIsThrottledNotDropped() async throws {
        try await withServer(configure: { $0.outboundHighWaterMarkBytes = 32 * 1024 }) { server, _ in
            let path = server.socketPath
            let greedy = try RawSocket(path: path)
            let connection = try #require(await eventually { !server.connections.isEmpty } ? server.connections.first : nil)
            // Far more reply bytes than the kernel and the mark hold together.
            let requests = 3000
            let line = #"{"jsonrpc":"2.0","method":"echo","params":[""# + String(repeating: "r", count: 1000) + #""],"id":1}"# + "\n"
            let sender = Task.detached {
                try await onThread {
                    for _ in 0..<requests { try greedy.send(line) }
                }
            }
            // Replies pile up unread until NIO holds more than the mark: the server stops
            // reading this client (and so the sender blocks), rather than buffering without end.
            #expect(await eventually(upTo: 10) { !connection.channel.isWritable })
            // Meanwhile other clients are served.
            let reply = try await onThread { try JSONRPCClient(socketPath: path).call("echo", params: ["other"], timeoutSeconds: 10) }
            #expect(reply == ["other"])
            // Once it reads, every request is answered: nothing was dropped.
            let answered = try await onThread { () -> Int in
                var count = 0
                while count < requests, try greedy.readJSON()["result"] != nil { count += 1 }
                return count
            }
            #expect(answered == requests)
            try await sender.value
        }
    }

    @Test func notificationToAClosedConnectionIsRefused() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"subscribe","id":1}"#)["result"] == true)
                socket.close()
            }
            let connection = try #require(probe.subscribers.withLock { $0.first })
            #expect(await eventually { !connection.isOpen })
            #expect(connection.trySendNotification(method: "telemetry", params: [1]) == false)
            connection.close()  // harmless when already closed
        }
    }

    @Test func serverCanCloseAConnection() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            let socket = try RawSocket(path: path)
            let subscribed = try await onThread { try socket.exchange(#"{"jsonrpc":"2.0","method":"subscribe","id":1}"#) }
            #expect(subscribed["result"] == true)
            let connection = try #require(probe.subscribers.withLock { $0.first })
            connection.close()
            #expect(try await onThread { try socket.readsEndOfStream() })
            #expect(await eventually { server.statistics.connectionsOpen == 0 })
        }
    }
}
