import Foundation
import JSONRPC
@_spi(Fuzzing) import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Logging
import Testing

/// The query path (docs/architecture.md, "The query path"): the read-only methods answered on the
/// event loop from the hub's snapshot, over a real socket, against a hub fed records by hand and
/// otherwise still (its thread is not running), so both paths see the same state.
@Suite struct QueryPathTests {
    /// What the snapshot answers equals what the ordinary path answers; params of another shape
    /// (an extra member) are what sends a request down the ordinary path.
    @Test func snapshotAnswersEqualTheOrdinaryPathsAndFollowEveryChange() async throws {
        try await Self.withAPI { rig, server, socket in
            try await Self.compare(rig: rig, socket: socket)
            // Half the calls went the snapshot's way.
            #expect(server.statistics.answeredOnLoop == server.statistics.requests / 2, "\(server.statistics)")
        }
    }

    /// A fed hub (HubRecordFeeder) behind the daemon's method table on a real socket.
    static func withAPI(_ body: (HubRecordFeeder, JSONRPCServer, String) async throws -> Void) async throws {
        let rig = try HubRecordFeeder()
        let directory = try TemporaryDirectory(prefix: "query")
        defer { directory.remove() }
        let socket = directory.path + "/s.sock"
        let api = APIService(hub: rig.hub, socketPath: socket, version: "test", logger: Logger(label: "test.query"))
        let server = JSONRPCServer(configuration: JSONRPCServer.Configuration(socketPath: socket), handler: api.methodTable())
        try await server.start()
        do {
            try await body(rig, server, socket)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    struct NotAnObject: Error {}

    static func compare(rig: HubRecordFeeder, socket: String) async throws {
        let id = try #require(rig.hub.devices().first?.id)

        func both(_ method: String, _ params: JSONValue) async throws -> (snapshot: JSONValue, ordinary: JSONValue) {
            guard case .object(var other) = params else { throw NotAnObject() }
            other["ordinary_path"] = true
            let extended = JSONValue.object(other)
            return try await DeviceNameTests.onThread {
                let client = JSONRPCClient(socketPath: socket)
                return (try client.call(method, params: params, timeoutSeconds: 10), try client.call(method, params: extended, timeoutSeconds: 10))
            }
        }
        func expectSame() async throws {
            let device: JSONValue = .object(["device": .string(id)])
            let calls: [(String, JSONValue)] = [(APIMethod.deviceStatus, device), (APIMethod.faultsList, .object([:])),
                                                (APIMethod.faultsList, device), (APIMethod.devicesList, .object([:]))]
            for (method, params) in calls {
                let (snapshot, ordinary) = try await both(method, params)
                #expect(snapshot == ordinary, "\(method) \(params)")
            }
        }
        try await expectSame()
        // A link that drops frames: faults raised by the records the hub took, in the next answer.
        rig.feed(.linkUp)
        rig.feed(.counters, LinkHealthTests.counters(requests: 10, frames: 10))
        rig.feed(.counters, LinkHealthTests.counters(requests: 18, frames: 13, timeouts: 5, crcErrors: 3))
        rig.feed(.counters, LinkHealthTests.counters(requests: 26, frames: 13, timeouts: 13, crcErrors: 3))
        let faults = try await both(APIMethod.faultsList, .object(["device": .string(id)])).snapshot
        let names = faults["faults"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(names.contains("response_timeout") && names.contains("comm_crc_errors"), "\(names)")
        try await expectSame()
        rig.feed(.linkDown)
        try await expectSame()
    }

    /// A name that is no device takes the ordinary path and gets its documented error.
    @Test func anUnknownNameIsTheDocumentedError() async throws {
        try await Self.withAPI { _, _, socket in
            let error: RPCError? = try await DeviceNameTests.onThread { () -> RPCError? in
                do {
                    _ = try JSONRPCClient(socketPath: socket).call(APIMethod.deviceStatus, params: ["device": "nope"], timeoutSeconds: 10)
                    return nil
                } catch {
                    if case .remote(let e)? = error as? RPCClientError { return e }
                    return nil
                }
            }
            #expect(error?.code == RPCError.Code.unknownDevice)
        }
    }
}
