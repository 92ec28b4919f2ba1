#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LockDiagTestSupport
import Testing

@testable import JSONRPC

@Suite struct ClientTests {
    @Test func unreachableDaemonSaysHowToStartIt() throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let client = JSONRPCClient(socketPath: directory.socketPath)
        do {
            try client.connect()
            Issue.record("connected to nothing")
        } catch {
            guard case .daemonUnreachable(let path, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(path == directory.socketPath)
            #expect(reason.contains("no socket"))
            #expect(error.description.contains("start it with: lockdiagd"))
            #expect(error.description.contains("sudo systemctl start lockdiagd"))
            #expect(error.description.contains("--socket"))
        }
        #expect(throws: RPCClientError.self) { try client.call("echo", timeoutSeconds: 1) }
    }

    @Test func staleSocketIsUnreachable() throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(SocketFile.withUnixAddress(directory.socketPath) { bind(fd, $0, $1) } == 0)
        close(fd)
        do {
            try JSONRPCClient(socketPath: directory.socketPath).connect()
            Issue.record("connected to a stale socket")
        } catch {
            guard case .daemonUnreachable(_, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(reason.contains("nothing listens"))
        }
    }

    @Test func callsNotifiesAndReportsRemoteErrors() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                try client.connect()
                #expect(client.isConnected)
                #expect(try client.call("subtract", params: [42, 23]) == 19)
                #expect(try client.call("subtract", params: ["minuend": 42, "subtrahend": 23]) == 19)
                #expect(try client.call("echo") == .null)
                try client.notify("update", params: [1])
                #expect(TestSupport.wait(upTo: 5) { probe.notificationsHandled.load(ordering: .relaxed) == 1 })
                #expect(throws: RPCClientError.remote(.unknownDevice("front-door"))) { try client.call("unknown_device") }
                do {
                    _ = try client.call("no_such_method")
                    Issue.record("called a missing method")
                } catch {
                    guard case .remote(let rpcError) = error as? RPCClientError else { throw error }
                    #expect(rpcError.code == RPCError.Code.methodNotFound)
                }
                // The connection is still good after errors.
                #expect(try client.call("echo", params: ["ok"]) == ["ok"])
            }
        }
    }

    @Test func batchesFromTheClient() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                let results = try client.batch([
                    .call("sum", params: [1, 2, 4]),
                    .notification("notify_hello", params: [7]),
                    .call("no_such_method"),
                    .call("get_data"),
                ])
                #expect(results.count == 3)
                #expect(try results[0].get() == 7)
                #expect(throws: RPCError.self) { try results[1].get() }
                #expect(try results[2].get() == ["hello", 5])
                #expect(try client.batch([.notification("notify_hello"), .notification("notify_hello")]).isEmpty)
                #expect(try client.batch([]).isEmpty)
                #expect(TestSupport.wait(upTo: 5) { probe.notificationsHandled.load(ordering: .relaxed) == 3 })
                #expect(try client.call("echo", params: [9]) == [9])
            }
        }
    }

    @Test func largeRepliesArriveInPiecesAndAreReassembled() async throws {
        try await withServer(configure: { $0.maxRequestBytes = 8 << 20 }) { server, _ in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                let big: JSONValue = [.string(String(repeating: "0123456789abcdef\n", count: 200_000))]
                let reply = try client.call("echo", params: big, timeoutSeconds: 20)
                #expect(reply == big)
                #expect(try client.call("echo", params: [1]) == [1])
            }
        }
    }

    @Test func replyLongerThanTheClientLimitIsAProtocolError() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                client.maxResponseBytes = 1000
                #expect(throws: RPCClientError.protocolError("a reply line is longer than 1000 bytes")) {
                    try client.call("echo", params: [.string(String(repeating: "x", count: 300_000))], timeoutSeconds: 10)
                }
            }
        }
    }

    @Test func notificationsArrivingDuringACallAreQueued() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                #expect(try client.call("notify_then_reply") == "replied")
                let first = try client.nextNotification(timeoutSeconds: 0)
                #expect(first?.method == "event")
                #expect(first?.params == ["n": 1])
                #expect(try client.nextNotification(timeoutSeconds: 0)?.params == ["n": 2])
                #expect(try client.nextNotification(timeoutSeconds: 0.05) == nil)
            }
        }
    }

    @Test func subscriptionNotificationsArriveWhileWaiting() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                #expect(try client.call("subscribe") == true)
                let connection = try #require(probe.subscribers.withLock { $0.first })
                // Pushed from another thread while this one waits.
                Thread {
                    for index in 0..<3 { connection.trySendNotification(method: "tick", params: ["i": .integer(Int64(index))]) }
                }.start()
                for index in 0..<3 {
                    let notification = try #require(try client.nextNotification(timeoutSeconds: 10))
                    #expect(notification.method == "tick")
                    #expect(notification.params == ["i": .integer(Int64(index))])
                }
            }
        }
    }

    @Test func timeoutLeavesTheConnectionUsable() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                #expect(throws: RPCClientError.timeout) { try client.call("slow", timeoutSeconds: 0.1) }
                probe.gate.open()
                // The late "done" for the timed-out call is skipped, not taken as this reply.
                let fresh = try client.call("echo", params: ["fresh"], timeoutSeconds: 10)
                #expect(fresh == ["fresh"])
            }
        }
    }

    @Test func sendTimeoutDropsTheConnectionAndTheNextCallReconnects() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        // A listener that never accepts or reads: connections wait in its backlog and their
        // bytes fill the kernel buffers.
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { close(listener) }
        #expect(SocketFile.withUnixAddress(directory.socketPath) { bind(listener, $0, $1) } == 0)
        #expect(listen(listener, 8) == 0)
        let path = directory.socketPath
        try await onThread {
            let client = JSONRPCClient(socketPath: path)
            let huge: JSONValue = [.string(String(repeating: "h", count: 8 << 20))]
            #expect(throws: RPCClientError.timeout) { try client.call("echo", params: huge, timeoutSeconds: 0.3) }
            // Part of a line went out: that connection is finished.
            #expect(!client.isConnected)
            // The next call connects again (a second connection waits in the backlog) and,
            // with nobody answering, times out waiting for its reply instead.
            #expect(throws: RPCClientError.timeout) { try client.call("echo", params: [1], timeoutSeconds: 0.1) }
            #expect(client.isConnected)
        }
        var accepted = 0
        while case let fd = accept(listener, nil, nil), fd >= 0 {
            accepted += 1
            close(fd)
        }
        #expect(accepted == 2)
    }

    @Test func serverStoppingIsConnectionClosed() async throws {
        let directory = try TemporaryDirectory(prefix: "jrpc")
        defer { directory.remove() }
        let path = directory.socketPath
        let server = JSONRPCServer(configuration: .init(socketPath: path), handler: makeTestHandler(Probe()))
        try await server.start()
        let client = try await onThread { () -> Result<Void, RPCClientError> in
            // Created and used on this one thread, as the type requires.
            let client = JSONRPCClient(socketPath: path)
            return Result { () throws(RPCClientError) in _ = try client.call("echo", timeoutSeconds: 10) }
        }
        #expect(throws: Never.self) { try client.get() }
        await server.stop()
        let afterStop = try await onThread { () -> RPCClientError? in
            do {
                _ = try JSONRPCClient(socketPath: path).call("echo", timeoutSeconds: 5)
                return nil
            } catch {
                return error as? RPCClientError
            }
        }
        guard case .daemonUnreachable? = afterStop else {
            Issue.record("expected daemonUnreachable, got \(String(describing: afterStop))")
            return
        }
        #expect(RPCClientError.connectionClosed.description.contains("closed"))
    }
}
