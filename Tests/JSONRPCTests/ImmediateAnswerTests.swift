#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LockDiagTestSupport
import Testing

@testable import JSONRPC

/// Requests a handler answers on the event loop (`JSONRPCHandler.answerNow`): docs/json-rpc.md,
/// "Pipelining".
@Suite struct ImmediateAnswerTests {
    /// A read-only request does not wait behind a slow one on the same connection.
    @Test func anImmediateAnswerDoesNotWaitBehindASlowRequest() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                try socket.send(#"{"jsonrpc":"2.0","method":"slow","id":1}"# + "\n" + #"{"jsonrpc":"2.0","method":"peek","params":{"now":true},"id":2}"# + "\n")
                #expect(try socket.readJSON() == ["jsonrpc": "2.0", "result": ["answered": "now"], "id": 2])
                #expect(probe.slowFinished.load(ordering: .relaxed) == 0)
                probe.gate.open()
                #expect(try socket.readJSON() == ["jsonrpc": "2.0", "result": "done", "id": 1])
            }
        }
    }

    /// Pipelined immediate requests are answered in the order they came; what the handler
    /// leaves (nil) runs its method's ordinary body; its errors are the client's.
    @Test func pipelinedRequestsAreAnsweredInOrderAndTheRestTakeTheOrdinaryPath() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                var lines = ""
                for id in 1...300 { lines += #"{"jsonrpc":"2.0","method":"peek","params":{"now":true},"id":\#(id)}"# + "\n" }
                try socket.send(lines)
                for id in 1...300 {
                    #expect(try socket.readJSON()["id"] == .integer(Int64(id)))
                }
                #expect(server.statistics.answeredOnLoop == 300)
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"peek","params":{},"id":"o"}"#)["result"] == "ordinary")
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"peek","params":{"now":"no such lock"},"id":"e"}"#).errorCode == -32602)
            }
        }
    }

    /// A notification answered at once still gets no reply (JSON-RPC 2.0 §4.1).
    @Test func anImmediatelyAnsweredNotificationGetsNoReply() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                try socket.send(#"{"jsonrpc":"2.0","method":"peek","params":{"now":true}}"# + "\n")
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":["after"],"id":7}"#)
                    == ["jsonrpc": "2.0", "result": ["after"], "id": 7])
            }
        }
    }

    /// The reply-size limit holds for immediate answers too.
    @Test func anImmediateAnswerOverTheReplyLimitIsTheLimitError() async throws {
        try await withServer(configure: { $0.maxReplyBytes = 200 }) { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"peek","params":{"now":100},"id":1}"#)["result"]?.stringValue?.count == 100)
                let refused = try socket.exchange(#"{"jsonrpc":"2.0","method":"peek","params":{"now":500},"id":2}"#)
                #expect(refused.errorCode == -32006)
                #expect(refused["id"] == 2)
            }
        }
    }

    /// Replies written on the loop are flushed before a half-closed connection is closed.
    @Test func answersReachAClientThatClosedItsSendingSide() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                try socket.send(#"{"jsonrpc":"2.0","method":"peek","params":{"now":true},"id":1}"# + "\n")
                socket.shutdownWrite()
                #expect(try socket.readJSON()["id"] == 1)
                #expect(try socket.readsEndOfStream())
            }
        }
    }
}
