import Foundation
import Glibc
import HistoryStore
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// Each documented limit of lockdiagd, hit on purpose: the client past it gets the documented
/// -32006 error (or is disconnected with one), and the daemon goes on serving everyone else.
@Suite(.serialized) struct LimitsTests {
    static let quiet = ["--simulate", "healthy", "--simulate-activity", "0"]

    @Test func connectionsPastTheLimitAreRefusedAndTheOthersCarryOn() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--max-connections", "3"])
        defer { #expect(daemon.stop() == 0) }
        // Three connections that were answered (the readiness probe's may take a moment to leave).
        var held: [RawConnection] = []
        #expect(try await TestSupport.wait(upTo: 60, pollEvery: 0.05) { () async throws -> Bool in
            let connection = try RawConnection(daemon.socketPath)
            connection.send(#"{"jsonrpc":"2.0","id":1,"method":"daemon.info"}"# + "\n")
            if connection.line(within: 20)?["result"]?["pid"] != nil { held.append(connection) }
            return held.count == 3
        })
        let fourth = try RawConnection(daemon.socketPath)
        let refusal = fourth.line(within: 20)
        #expect(refusal?["error"]?["code"]?.intValue == -32006)
        #expect(refusal?["error"]?["message"]?.stringValue?.contains("already has 3 clients connected") == true)
        #expect(fourth.line(within: 2) == nil, "closed after the one line")
        // The three are still served; once one leaves there is room again.
        held[0].send(#"{"jsonrpc":"2.0","id":9,"method":"devices.list"}"# + "\n")
        #expect(held[0].line()?["result"] != nil)
        held.removeLast()
        #expect(await TestSupport.wait(upTo: 5) { () async -> Bool in daemonServes(daemon.socketPath) })
        held[0].send(#"{"jsonrpc":"2.0","id":10,"method":"daemon.stats"}"# + "\n")
        #expect((held[0].line()?["result"]?["clients"]?["connections_over_limit"]?.intValue ?? 0) >= 1)
    }

    @Test func aClientOverItsRateGetsErrorsWhileOthersAreServed() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--rate-limit", "10", "--rate-burst", "5"])
        defer { #expect(daemon.stop() == 0) }
        let greedy = try RawConnection(daemon.socketPath)
        var lines = ""
        for id in 1...40 { lines += #"{"jsonrpc":"2.0","id":\#(id),"method":"device.status","params":{"device":"SIM-0001-000"}}"# + "\n" }
        greedy.send(lines)
        var limited = 0
        var answered = 0
        for _ in 1...40 {
            guard let reply = greedy.line() else { break }
            if reply["error"]?["code"]?.intValue == -32006 {
                limited += 1
                #expect(reply["error"]?["message"]?.stringValue?.contains("more than 10 requests per second") == true)
                #expect(reply["id"]?.intValue != nil, "the refused request's own id")
            } else {
                answered += 1
            }
        }
        #expect(answered + limited == 40)
        #expect(answered >= 5 && limited >= 20, "answered \(answered), limited \(limited)")
        #expect(daemonServes(daemon.socketPath), "another client is not slowed by the greedy one")
        #expect(try clientStats(daemon.socketPath).rateLimited == limited)
    }

    @Test func anOversizedRequestIsRefusedAndTheConnectionStaysUsable() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--max-request-bytes", "1024"])
        defer { #expect(daemon.stop() == 0) }
        let raw = try RawConnection(daemon.socketPath)
        raw.send(#"{"jsonrpc":"2.0","id":1,"method":"devices.list","params":{"pad":""# + String(repeating: "x", count: 2000) + "\"}}\n")
        let refusal = raw.line()
        #expect(refusal?["error"]?["code"]?.intValue == -32006)
        #expect(refusal?["error"]?["message"]?.stringValue?.contains("longer than 1024 bytes") == true)
        #expect(try clientStats(daemon.socketPath).oversizedRequests == 1)
        raw.send(#"{"jsonrpc":"2.0","id":2,"method":"daemon.info"}"# + "\n")
        #expect(raw.line()?["id"]?.intValue == 2)
    }

    @Test func anIdleClientIsClosedButASubscriberIsNot() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--idle-timeout", "1"])
        defer { #expect(daemon.stop() == 0) }
        let subscriber = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try await TestSupport.wait(upTo: 10) { () async throws -> Bool in try devices(subscriber).first?.online == true })
        _ = try subscriber.call(APIMethod.telemetrySubscribe, params: ["device": "SIM-0001-000"])
        let idle = try RawConnection(daemon.socketPath)
        let closing = idle.line(within: 10)
        #expect(closing?["error"]?["code"]?.intValue == -32006)
        #expect(closing?["error"]?["message"]?.stringValue?.contains("no request for 1 s") == true)
        #expect(idle.line(within: 2) == nil)
        // Well past the timeout the subscriber still gets telemetry and can still ask.
        let idleClosedAt = Date()
        var notes = 0
        while Date().timeIntervalSince(idleClosedAt) < 2.5, let note = try subscriber.nextNotification(timeoutSeconds: 3) {
            if note.method == APIMethod.telemetryNotification { notes += 1 }
        }
        #expect(notes > 5)
        #expect(try subscriber.call(APIMethod.daemonInfo).decode(as: DaemonInfo.self).devices == 1)
        #expect(try clientStats(daemon.socketPath).idleClosed >= 1)
    }

    @Test func subscribersPastTheLimitPerDeviceAreRefused() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--max-subscribers", "1"])
        defer { #expect(daemon.stop() == 0) }
        let first = JSONRPCClient(socketPath: daemon.socketPath)
        let second = JSONRPCClient(socketPath: daemon.socketPath)
        #expect(try await TestSupport.wait(upTo: 10) { () async throws -> Bool in try devices(first).first?.online == true })
        _ = try first.call(APIMethod.telemetrySubscribe, params: ["device": "SIM-0001-000"])
        // Subscribing again is not a second subscriber.
        _ = try first.call(APIMethod.telemetrySubscribe, params: ["device": "SIM-0001-000"])
        #expect {
            try second.call(APIMethod.telemetrySubscribe, params: ["device": "SIM-0001-000"])
        } throws: { error in
            guard case .remote(let remote) = error as? RPCClientError else { return false }
            return remote.code == -32006 && remote.message.contains("already 1 subscribers")
        }
        // Once the first leaves, the second may.
        _ = try first.call(APIMethod.telemetryUnsubscribe, params: ["device": "SIM-0001-000"])
        _ = try second.call(APIMethod.telemetrySubscribe, params: ["device": "SIM-0001-000"])
        #expect(try second.nextNotification(timeoutSeconds: 5)?.method == APIMethod.telemetryNotification)
    }

    @Test func aBatchOverTheLimitIsRefusedAndOneAtTheLimitRuns() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--max-batch", "2"])
        defer { #expect(daemon.stop() == 0) }
        let raw = try RawConnection(daemon.socketPath)
        let call = { (id: Int) in #"{"jsonrpc":"2.0","id":\#(id),"method":"daemon.info"}"# }
        raw.send("[\(call(1)),\(call(2)),\(call(3))]\n")
        let refused = raw.line(within: 20)
        #expect(refused?["error"]?["code"]?.intValue == -32006)
        #expect(refused?["error"]?["message"]?.stringValue?.contains("at most 2") == true)
        raw.send("[\(call(4)),\(call(5))]\n")
        #expect(raw.line(within: 20)?.arrayValue?.count == 2)
    }

    /// `lockdiag list --follow` and `watch` wait on subscriptions: neither kind is idle.
    @Test func aDevicesSubscriberOutlivesTheIdleTimeout() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--idle-timeout", "1"])
        defer { #expect(daemon.stop() == 0) }
        let follower = try RawConnection(daemon.socketPath)
        follower.send(#"{"jsonrpc":"2.0","id":1,"method":"devices.subscribe"}"# + "\n")
        #expect(follower.line(within: 20)?["result"]?["subscribed"]?.boolValue == true)
        // A connection opened after it is closed for idleness: the timeout has passed for both.
        let idle = try RawConnection(daemon.socketPath)
        #expect(idle.line(within: 20)?["error"]?["message"]?.stringValue?.contains("no request for 1 s") == true)
        follower.send(#"{"jsonrpc":"2.0","id":2,"method":"daemon.info"}"# + "\n")
        var reply = follower.line(within: 20)
        while let method = reply?["method"]?.stringValue, method == APIMethod.devicesChangedNotification { reply = follower.line(within: 20) }
        #expect(reply?["id"]?.intValue == 2, "still served, not closed: \(String(describing: reply))")
    }

    /// The real `lockdiag list --follow`, quiet for longer than the idle timeout, keeps going.
    @Test func listFollowIsNotCutOffByTheIdleTimeout() async throws {
        let daemon = try DaemonProcess(Self.quiet + ["--idle-timeout", "1"])
        defer { #expect(daemon.stop() == 0) }
        let follower = try ChildProcess("lockdiag", ["list", "--follow", "--socket", daemon.socketPath])
        #expect(follower.readLine(within: 20) != nil, "the list came: \(follower.allErrors)")
        let idle = try RawConnection(daemon.socketPath)
        #expect(idle.line(within: 20)?["error"]?["message"]?.stringValue?.contains("no request for 1 s") == true)
        #expect(!follower.waitForExit(within: 2), "still following: \(follower.allErrors)")
        follower.signal(SIGINT)
        #expect(follower.waitForExit(within: 10))
    }

    /// A history of `count` events of a device the daemon knows only from its database.
    static func seededHistory(_ directory: TemporaryDirectory, count: Int, evidenceBytes: Int = 40) throws {
        let db = try HistoryDatabase(path: directory.path + "/history.sqlite")
        try db.write((0..<count).map { i in Self.event(i, evidenceBytes: evidenceBytes) })
    }

    static func event(_ i: Int, evidenceBytes: Int = 40) -> HistoryRecord {
        let at = 1_700_000_000_000 + Int64(i) * 1000
        return .fault(FaultEvent(device: "ARCHIVED-1", code: "0x0101", name: "motor_stall", title: "Motor stall", severity: "error",
                                 event: .raised, status: .pending, at: APITime.format(milliseconds: at), count: i + 1,
                                 firstSeen: APITime.format(milliseconds: at), source: "host",
                                 evidence: "event \(i) " + String(repeating: "e", count: evidenceBytes), freezeFrame: nil, advice: "check the bolt"),
                      atMilliseconds: at)
    }

    @Test func faultsHistoryPagesAreStableWhileEventsAreAdded() async throws {
        let directory = try TemporaryDirectory()
        try Self.seededHistory(directory, count: 1200)
        let daemon = try DaemonProcess(Self.quiet, directory: directory)
        defer {
            #expect(daemon.stop() == 0)
            directory.remove()
        }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        func page(_ cursor: String?, limit: Int? = nil) throws -> FaultHistory {
            try client.call(APIMethod.faultsHistory, params: try JSONValue(encoding: FaultsHistoryParams(device: "ARCHIVED-1", limit: limit, cursor: cursor)))
                .decode(as: FaultHistory.self)
        }
        let first = try page(nil)
        #expect(first.events.count == FaultsHistoryParams.defaultLimit)
        #expect(first.truncated && first.nextCursor != nil)
        #expect(first.events.last?.evidence.hasPrefix("event 1199 ") == true, "the newest page comes first")
        // Events recorded between pages do not shift the pages that follow.
        try HistoryDatabase(path: daemon.databasePath).write((1200..<1300).map { Self.event($0) })
        var seen = first.events.map(\.evidence)
        var cursor = first.nextCursor
        while let next = cursor {
            let older = try page(next)
            seen = older.events.map(\.evidence) + seen
            cursor = older.nextCursor
        }
        #expect(seen == (0..<1200).map { "event \($0) " + String(repeating: "e", count: 40) }, "every event once, in order")
        // The newest page now starts with the added events; a bad cursor and a page too large are refused.
        #expect(try page(nil, limit: 1).events.first?.evidence.hasPrefix("event 1299 ") == true)
        #expect { try page("bm90IGEgY3Vyc29y") } throws: { error in
            guard case .remote(let remote) = error as? RPCClientError else { return false }
            return remote.code == RPCError.Code.invalidParams && remote.message.contains("next_cursor")
        }
        #expect { try page(nil, limit: FaultsHistoryParams.maxLimit + 1) } throws: { error in
            guard case .remote(let remote) = error as? RPCClientError else { return false }
            return remote.code == RPCError.Code.invalidParams
        }
    }

    @Test func aReplyOverTheCapIsAnErrorAndAPageFits() async throws {
        let directory = try TemporaryDirectory()
        try Self.seededHistory(directory, count: 300, evidenceBytes: 1000)
        let daemon = try DaemonProcess(Self.quiet + ["--max-reply-bytes", "65536"], directory: directory)
        defer {
            #expect(daemon.stop() == 0)
            directory.remove()
        }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        #expect {
            try client.call(APIMethod.faultsHistory, params: ["device": "ARCHIVED-1", "limit": 300])
        } throws: { error in
            guard case .remote(let remote) = error as? RPCClientError else { return false }
            return remote.code == -32006 && remote.message.contains("page the call") && remote.data?["limit"]?.intValue == 65536
        }
        let page = try client.call(APIMethod.faultsHistory, params: ["device": "ARCHIVED-1", "limit": 20]).decode(as: FaultHistory.self)
        #expect(page.events.count == 20)
        // lockdiag follows the pages by itself.
        let cli = try ChildProcess.run("lockdiag", ["faults", "--history", "ARCHIVED-1", "--json", "--socket", daemon.socketPath])
        #expect(cli.status == 0, "\(cli.stderr)")
        let whole = try JSONValue(parsing: Array(cli.stdout.utf8))
        #expect(whole["events"]?.arrayValue?.count == 300, "\(cli.stderr)")
    }
}
