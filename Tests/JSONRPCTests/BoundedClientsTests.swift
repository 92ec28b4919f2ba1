#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LockDiagTestSupport
import Synchronization
import Testing

@testable import JSONRPC

/// What one client may cost the server: batch size, reply size, connection slots per uid and
/// the slots kept for privileged clients.
@Suite struct BoundedClientsTests {
    static func echo(_ id: Int, _ payload: String = "x") -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"echo","params":["\#(payload)"]}"#
    }

    @Test func aBatchOverTheLimitIsRefusedWholeAndNoneOfItRuns() async throws {
        try await withServer(configure: { $0.maxBatchElements = 3 }) { server, probe in
            let (refused, answered): (JSONValue, JSONValue) = try await onThread {
                let raw = try RawSocket(path: server.socketPath)
                let four = (1...4).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"update"}"# }.joined(separator: ",")
                let refused = try raw.exchange("[\(four)]")
                let three = (5...7).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"update"}"# }.joined(separator: ",")
                return (refused, try raw.exchange("[\(three)]"))
            }
            #expect(refused.errorCode == RPCError.Code.limitExceeded)
            #expect(refused["id"] == .null)
            #expect(refused["error"]?["data"]?["limit"]?.int64Value == 3)
            #expect(refused["error"]?["message"]?.stringValue?.contains("split it into batches of at most 3") == true)
            #expect(answered.arrayValue?.count == 3, "a batch at the limit runs")
            #expect(probe.notificationsHandled.load(ordering: .relaxed) == 3, "only the second batch ran")
        }
    }

    @Test func eachBatchElementCountsAgainstTheRate() async throws {
        try await withServer(configure: { c in
            c.maxRequestsPerSecondPerConnection = 0.01
            c.requestBurstPerConnection = 3
        }) { server, _ in
            let reply: JSONValue = try await onThread {
                let raw = try RawSocket(path: server.socketPath)
                let batch = (1...4).map { Self.echo($0) }.joined(separator: ",")
                return try raw.exchange("[\(batch)]")
            }
            // Four elements are four requests: more than the burst of 3.
            #expect(reply.errorCode == RPCError.Code.limitExceeded)
            #expect(server.statistics.rateLimited == 1)
        }
    }

    @Test func aReplyOverTheCapBecomesAnErrorSayingToPage() async throws {
        try await withServer(configure: { $0.maxReplyBytes = 900 }) { server, _ in
            let big = String(repeating: "a", count: 2000)
            let (small, tooBig, batch): (JSONValue, JSONValue, JSONValue) = try await onThread {
                let raw = try RawSocket(path: server.socketPath)
                return (try raw.exchange(Self.echo(1)), try raw.exchange(Self.echo(2, big)),
                        try raw.exchange("[\(Self.echo(3, String(repeating: "b", count: 600))),\(Self.echo(4, String(repeating: "c", count: 300)))]"))
            }
            #expect(small["result"] == ["x"])
            #expect(tooBig["id"]?.int64Value == 2)
            #expect(tooBig.errorCode == RPCError.Code.limitExceeded)
            #expect(tooBig["error"]?["data"]?["limit"]?.int64Value == 900)
            #expect((tooBig["error"]?["data"]?["reply_bytes"]?.int64Value ?? 0) > 2000)
            #expect(tooBig["error"]?["message"]?.stringValue?.contains("page the call") == true)
            // In a batch over the cap, the largest result gives way and the rest still come.
            let elements = try #require(batch.arrayValue)
            #expect(elements.count == 2)
            #expect(elements[0].errorCode == RPCError.Code.limitExceeded)
            #expect(elements[1]["result"]?[0]?.stringValue?.count == 300)
        }
    }

    /// Connects and waits for the first reply: "ok" when admitted, else the refusal's message.
    static func connect(_ path: String) throws -> (RawSocket, String) {
        let raw = try RawSocket(path: path)
        // A refused connection may be closed before the request is written (EPIPE); its one
        // line is there to read all the same.
        try? raw.send(echo(1) + "\n")
        let reply = try raw.readJSON()
        if reply["result"] != nil { return (raw, "ok") }
        return (raw, reply["error"]?["message"]?.stringValue ?? "\(reply)")
    }

    /// `count` connections one after the other, each kept in `held`; their outcomes.
    static func connect(_ path: String, _ count: Int, holding held: inout [RawSocket]) throws -> [String] {
        try (0..<count).map { _ in
            let (raw, outcome) = try connect(path)
            held.append(raw)
            return outcome
        }
    }

    /// A server with these connection limits whose `admission` calls clients privileged once
    /// `body` has called its second argument.
    static func withSlots(_ configure: @escaping (inout JSONRPCServer.Configuration) -> Void,
                          _ body: @escaping @Sendable (String, @Sendable () -> Void) throws -> [String]) async throws -> [String] {
        let privileged = Atomic<Bool>(false)
        var outcomes: [String] = []
        try await withServer(configure: { c in
            configure(&c)
            c.admission = { _ in .admit(privileged: privileged.load(ordering: .relaxed)) }
        }) { server, _ in
            let path = server.socketPath
            outcomes = try await onThread { try body(path, { privileged.store(true, ordering: .relaxed) }) }
        }
        return outcomes
    }

    @Test func ordinaryClientsCannotTakeTheReservedSlots() async throws {
        let outcome = try await Self.withSlots({ c in
            c.maxConnections = 4
            c.reservedPrivilegedConnections = 2
        }) { path, becomePrivileged in
            var held: [RawSocket] = []
            var outcomes = try Self.connect(path, 3, holding: &held)
            becomePrivileged()
            outcomes += try Self.connect(path, 3, holding: &held)
            return outcomes
        }
        #expect(outcome.prefix(2) == ["ok", "ok"], "two ordinary clients fit: \(outcome)")
        #expect(outcome[2].contains("limit exceeded") && outcome[2].contains("kept for technicians"), "\(outcome)")
        #expect(outcome[3...4] == ["ok", "ok"], "the two reserved slots are there for privileged clients: \(outcome)")
        #expect(outcome[5].contains("already has 4 clients connected"), "\(outcome)")
    }

    @Test func oneUIDCannotHoldMoreThanItsShare() async throws {
        let outcome = try await Self.withSlots({ c in
            c.maxConnections = 10
            c.maxConnectionsPerUser = 2
        }) { path, becomePrivileged in
            var held: [RawSocket] = []
            var outcomes = try Self.connect(path, 3, holding: &held)
            // One leaves: its slot is free again for the same uid.
            held[0].close()
            var again = "not tried"
            _ = try TestSupport.wait(upTo: 10, pollEvery: 0.05) {
                again = try Self.connect(path, 1, holding: &held)[0]
                return again == "ok"
            }
            outcomes.append(again)
            becomePrivileged()
            return outcomes + (try Self.connect(path, 1, holding: &held))
        }
        #expect(outcome.prefix(2) == ["ok", "ok"], "\(outcome)")
        #expect(outcome[2].contains("uid \(getuid()) already has 2 connections"), "\(outcome)")
        #expect(outcome[3] == "ok", "a closed connection gives its slot back")
        #expect(outcome[4] == "ok", "a privileged client is not capped per uid")
    }
}
