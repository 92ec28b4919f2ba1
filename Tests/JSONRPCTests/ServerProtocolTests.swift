#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LockDiagTestSupport
import Testing

@testable import JSONRPC

/// JSON-RPC 2.0 conformance over a real socket, with the spec's own examples
/// (jsonrpc.org/specification §7) where it has them.
@Suite struct ServerProtocolTests {
    @Test func singleCallWithArrayAndObjectParams() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                #expect(try socket.exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#)
                    == ["jsonrpc": "2.0", "result": 19, "id": 1])
                #expect(try socket.exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#)
                    == ["jsonrpc": "2.0", "result": -19, "id": 2])
                #expect(try socket.exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#)
                    == ["jsonrpc": "2.0", "result": 19, "id": 3])
                #expect(try socket.exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#)
                    == ["jsonrpc": "2.0", "result": 19, "id": 4])
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"get_data","id":5}"#)["result"] == ["hello", 5])
            }
        }
    }

    @Test func idsAreEchoedExactly() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":"abc-1"}"#)["id"] == "abc-1")
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":""}"#)["id"] == "")
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":-9007199254740993}"#)["id"] == -9_007_199_254_740_993)
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":1.5}"#)["id"] == 1.5)
                // "id": null is a request, answered with id null; it is not a notification.
                let reply = try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":["x"],"id":null}"#)
                #expect(reply == ["jsonrpc": "2.0", "result": ["x"], "id": nil])
                #expect(reply.objectValue?.keys.contains("id") == true)
            }
        }
    }

    @Test func notificationGetsNoReply() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                try socket.send(#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"# + "\n")
                try socket.send(#"{"jsonrpc": "2.0", "method": "foobar"}"# + "\n")  // unknown: still silent
                try socket.send(#"{"jsonrpc": "2.0", "method": "fail"}"# + "\n")  // failing: still silent
                // The first line back is the reply to the next request: nothing came for the notifications.
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":["after"],"id":7}"#)
                    == ["jsonrpc": "2.0", "result": ["after"], "id": 7])
                #expect(TestSupport.wait(upTo: 5) { probe.notificationsHandled.load(ordering: .relaxed) == 1 })
            }
        }
    }

    @Test func everyStandardErrorCode() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                // -32700, id null
                let parse = try socket.exchange(#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#)
                #expect(parse.errorCode == -32700)
                #expect(parse["id"] == .null)
                #expect(parse["jsonrpc"] == "2.0")
                // A repeated member name is not read as either value (docs/json-rpc.md, -32700).
                let repeated = try socket.exchange(#"{"jsonrpc": "2.0", "method": "echo", "params": [1], "id": 1, "id": 2}"#)
                #expect(repeated.errorCode == -32700)
                #expect(repeated["id"] == .null)
                #expect(repeated["error"]?["message"]?.stringValue?.contains(#"duplicate member name "id""#) == true)
                // -32600
                let invalid = try socket.exchange(#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#)
                #expect(invalid.errorCode == -32600)
                #expect(invalid["id"] == .null)
                #expect(try socket.exchange(#"{"jsonrpc": "1.0", "method": "echo", "id": 4}"#).errorCode == -32600)
                #expect(try socket.exchange(#"{"method": "echo", "id": 4}"#)["id"] == 4)
                #expect(try socket.exchange(#"{"jsonrpc": "2.0", "method": "echo", "params": 3, "id": 4}"#).errorCode == -32600)
                #expect(try socket.exchange(#""just a string""#).errorCode == -32600)
                // -32601
                let missing = try socket.exchange(#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#)
                #expect(missing.errorCode == -32601)
                #expect(missing["id"] == "1")
                #expect(missing["error"]?["message"]?.stringValue?.contains("foobar") == true)
                // -32602, with the field named
                let params = try socket.exchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 1}, "id": 9}"#)
                #expect(params.errorCode == -32602)
                #expect(params["error"]?["message"]?.stringValue?.contains("subtrahend") == true)
                // -32603, without the internals
                let internalFailure = try socket.exchange(#"{"jsonrpc": "2.0", "method": "fail", "id": 10}"#)
                #expect(internalFailure.errorCode == -32603)
                #expect(internalFailure["id"] == 10)
                #expect(internalFailure.jsonText.contains("secret") == false)
                // An application error passes through with its data.
                let application = try socket.exchange(#"{"jsonrpc": "2.0", "method": "unknown_device", "id": 11}"#)
                #expect(application.errorCode == -32001)
                #expect(application["error"]?["data"] == ["device": "front-door"])
                #expect(application["error"]?["message"] == "unknown device 'front-door' — `lockdiag list` shows the known ones")
            }
            #expect(server.statistics.parseErrors == 2)  // the broken line and the repeated "id"
            #expect(server.statistics.internalErrors == 1)
            // The daemon's log gets what the client did not.
            #expect(probe.internalErrors.withLock { $0 } == ["fail: database at /var/lib/secret.db is corrupt"])
        }
    }

    @Test func specBatchExample() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                let reply = try socket.exchange("""
                    [{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},\
                    {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},\
                    {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},\
                    {"foo": "boo"},\
                    {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},\
                    {"jsonrpc": "2.0", "method": "get_data", "id": "9"}]
                    """)
                guard let responses = reply.arrayValue else {
                    Issue.record("batch reply is not an array: \(reply)")
                    return
                }
                #expect(responses.count == 5)
                #expect(responses[0] == ["jsonrpc": "2.0", "result": 7, "id": "1"])
                #expect(responses[1] == ["jsonrpc": "2.0", "result": 19, "id": "2"])
                #expect(responses[2].errorCode == -32600)
                #expect(responses[2]["id"] == .null)
                #expect(responses[3].errorCode == -32601)
                #expect(responses[3]["id"] == "5")
                #expect(responses[4] == ["jsonrpc": "2.0", "result": ["hello", 5], "id": "9"])
                #expect(probe.notificationsHandled.load(ordering: .relaxed) == 1)
            }
        }
    }

    @Test func degenerateBatches() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                // Empty array: one Invalid Request, not an array.
                let empty = try socket.exchange("[]")
                #expect(empty.errorCode == -32600)
                #expect(empty["id"] == .null)
                // Non-objects: one Invalid Request each.
                let one = try socket.exchange("[1]")
                #expect(one.arrayValue?.map(\.errorCode) == [-32600])
                let three = try socket.exchange("[1,2,3]")
                #expect(three.arrayValue?.map(\.errorCode) == [-32600, -32600, -32600])
                #expect(three.arrayValue?.allSatisfy { $0["id"] == .null } == true)
                // A batch that is not valid JSON is one parse error.
                let broken = try socket.exchange(#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method""#)
                #expect(broken.errorCode == -32700)
                // Only notifications: nothing at all comes back.
                try socket.send(#"[{"jsonrpc": "2.0", "method": "notify_hello", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"# + "\n")
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":["next"],"id":1}"#)["result"] == ["next"])
                #expect(TestSupport.wait(upTo: 5) { probe.notificationsHandled.load(ordering: .relaxed) == 2 })
            }
        }
    }

    @Test func invalidJSONAndUTF8KeepTheConnectionUsable() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                #expect(try socket.exchange("{not json").errorCode == -32700)
                try socket.send([0x22, 0xFF, 0xFE, 0x22, 0x0A])
                #expect(try socket.readJSON().errorCode == -32700)
                try socket.send([0xC0, 0x0A])
                #expect(try socket.readJSON().errorCode == -32700)
                // Blank and whitespace-only lines are skipped silently; CRLF is fine.
                try socket.send("\n\n   \n\t\r\n")
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":1}"# + "\r")["result"] == [1])
                // A request split across many writes.
                for byte in #"{"jsonrpc":"2.0","method":"echo","params":["split"],"id":2}"#.utf8 { try socket.send([byte]) }
                try socket.send("\n")
                #expect(try socket.readJSON()["result"] == ["split"])
            }
            #expect(server.statistics.parseErrors == 3)
        }
    }

    @Test func oversizedLineIsRejectedAndTheConnectionStillWorks() async throws {
        try await withServer(configure: { $0.maxRequestBytes = 1024 }) { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                let big = #"{"jsonrpc":"2.0","method":"echo","params":[""# + String(repeating: "x", count: 5000) + #""],"id":1}"#
                let rejected = try socket.exchange(big)
                #expect(rejected.errorCode == -32006)
                #expect(rejected["id"] == .null)
                #expect(rejected["error"]?["message"]?.stringValue?.contains("1024") == true)
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":["small"],"id":2}"#)["result"] == ["small"])
                // An oversized line trickling in, then a good one in the same write as its end.
                try socket.send(String(repeating: "y", count: 800))
                try socket.send(String(repeating: "y", count: 800))
                try socket.send("yyy\n" + #"{"jsonrpc":"2.0","method":"echo","params":["after"],"id":3}"# + "\n")
                #expect(try socket.readJSON().errorCode == -32006)
                #expect(try socket.readJSON()["result"] == ["after"])
                // Just under the limit still passes.
                let padding = String(repeating: "z", count: 1024 - #"{"jsonrpc":"2.0","method":"echo","params":[""],"id":4}"#.utf8.count)
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[""# + padding + #""],"id":4}"#)["id"] == 4)
            }
            #expect(server.statistics.oversizedRequests == 2)
        }
    }

    @Test func requestsOnOneConnectionRunConcurrently() async throws {
        try await withServer { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                try socket.send(#"{"jsonrpc":"2.0","method":"slow","id":"slow"}"# + "\n")
                #expect(TestSupport.wait(upTo: 5) { probe.slowStarted.load(ordering: .relaxed) == 1 })
                // The fast one overtakes the slow one.
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":"fast"}"#)["id"] == "fast")
                probe.gate.open()
                #expect(try socket.readJSON() == ["jsonrpc": "2.0", "result": "done", "id": "slow"])
            }
        }
    }

    @Test func requestsPastTheInFlightLimitWaitTheirTurn() async throws {
        try await withServer(configure: { $0.maxConcurrentRequestsPerConnection = 2 }) { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                var pipeline = ""
                for id in 1...5 { pipeline += #"{"jsonrpc":"2.0","method":"ticketed","id":\#(id)}"# + "\n" }
                pipeline += #"{"jsonrpc":"2.0","method":"echo","params":["last"],"id":6}"# + "\n"
                try socket.send(pipeline)
                #expect(TestSupport.wait(upTo: 5) { probe.ticketed.withLock { $0.started } == 2 })
                // One finishes, the next one starts: the limit holds requests back, it refuses none.
                probe.tickets.release()
                #expect(try socket.readJSON()["result"] == "ticket")
                #expect(TestSupport.wait(upTo: 5) { probe.ticketed.withLock { $0.started } == 3 })
                probe.tickets.release(4)
                var ids: [Int] = []
                for _ in 0..<5 {
                    let reply = try socket.readJSON()
                    #expect(reply["error"] == nil)
                    if let id = reply["id"]?.intValue { ids.append(id) }
                }
                #expect(ids.contains(6))
                #expect(ids.count == 5)
                #expect(probe.ticketed.withLock { $0.maxRunning } == 2)
            }
        }
    }

    /// json-rpc.md § Batches: a batch's elements run concurrently, and the batch is one request
    /// against the in-flight limit: five blocked elements run at once under a limit of two, and
    /// a plain request on the same connection is still answered meanwhile.
    @Test func aBatchRunsItsElementsAtOnceAndCountsOnceAgainstTheInFlightLimit() async throws {
        try await withServer(configure: { $0.maxConcurrentRequestsPerConnection = 2 }) { server, probe in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                let batch = (1...5).map { #"{"jsonrpc":"2.0","method":"ticketed","id":\#($0)}"# }.joined(separator: ",")
                try socket.send("[" + batch + "]\n")
                #expect(TestSupport.wait(upTo: 5) { probe.ticketed.withLock { $0.running } == 5 },
                        "elements running at once: \(probe.ticketed.withLock { $0.running })")
                #expect(try socket.exchange(#"{"jsonrpc":"2.0","method":"echo","params":["meanwhile"],"id":"plain"}"#)["id"] == "plain")
                probe.tickets.release(5)
                let replies = try #require(try socket.readJSON().arrayValue)
                #expect(replies.map { $0["id"]?.intValue } == [1, 2, 3, 4, 5])
                #expect(replies.allSatisfy { $0["result"] == "ticket" })
            }
        }
    }

    @Test func halfClosedClientStillGetsItsReply() async throws {
        try await withServer { server, _ in
            let path = server.socketPath
            try await onThread {
                let socket = try RawSocket(path: path)
                // No final newline, then end of input: what `printf … | socat` does.
                try socket.send(#"{"jsonrpc":"2.0","method":"echo","params":["eof"],"id":1}"#)
                socket.shutdownWrite()
                #expect(try socket.readJSON()["result"] == ["eof"])
                #expect(try socket.readsEndOfStream())
            }
        }
    }
}
