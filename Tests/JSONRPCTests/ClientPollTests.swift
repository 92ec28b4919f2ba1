import Foundation
import LockDiagTestSupport
import Testing

@testable import JSONRPC

/// `send` + `poll`: a request whose reply is collected later, with notifications in between.
@Suite struct ClientPollTests {
    @Test func notificationsBeforeTheReplyComeFirstThenTheReply() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                let id = try client.send("notify_then_reply")
                #expect(try client.poll(timeoutSeconds: 10) == .notification(method: "event", params: ["n": 1]))
                #expect(try client.poll(timeoutSeconds: 10) == .notification(method: "event", params: ["n": 2]))
                #expect(try client.poll(timeoutSeconds: 10) == .reply(id: id, result: .success("replied")))
                #expect(try client.poll(timeoutSeconds: 0.05) == nil)
            }
        }
    }

    @Test func pollTimesOutWhileTheReplyIsPendingAndErrorsComeBackAsReplies() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                let slow = try client.send("slow")
                let failing = try client.send("unknown_device")
                #expect(slow != failing)
                #expect(try client.poll(timeoutSeconds: 10) == .reply(id: failing, result: .failure(.unknownDevice("front-door"))))
                #expect(TestSupport.wait(upTo: 5) { probe.slowStarted.load(ordering: .relaxed) == 1 })
                #expect(try client.poll(timeoutSeconds: 0.05) == nil)
                probe.gate.open()
                #expect(try client.poll(timeoutSeconds: 10) == .reply(id: slow, result: .success("done")))
            }
        }
    }

    @Test func aReplyReadByACallInBetweenIsKeptForPoll() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let client = JSONRPCClient(socketPath: path)
                let slow = try client.send("slow")
                #expect(TestSupport.wait(upTo: 5) { probe.slowStarted.load(ordering: .relaxed) == 1 })
                probe.gate.open()
                // The slow reply comes back while this call waits for its own (or just after):
                // either way poll must still hand it out once.
                #expect(try client.call("echo", params: ["x"], timeoutSeconds: 10) == ["x"])
                #expect(try client.poll(timeoutSeconds: 10) == .reply(id: slow, result: .success("done")))
                #expect(try client.poll(timeoutSeconds: 0.05) == nil)
                // A late reply to a call that timed out never shows up in poll.
                #expect(throws: RPCClientError.timeout) { try client.call("ticketed", timeoutSeconds: 0.05) }
                probe.tickets.release()
                #expect(TestSupport.wait(upTo: 5) { probe.ticketed.withLock { $0.started == 1 && $0.running == 0 } })
                #expect(try client.poll(timeoutSeconds: 0.3) == nil)
            }
        }
    }
}
