import DeviceDiscovery
import Foundation
import JSONRPC
import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import LockSimulator
import Logging
import Testing

/// One lock per name (issue 14, item 2), in the hub: discovery's events given as values, with
/// simulated locks on real ptys behind them, two of which share a serial number.
@Suite(.serialized) struct DeviceNameTests {
    static let shared = "LX3-TWIN-0001"

    /// Locks 0 and 1 share a serial number; lock 2 has its own.
    static func rig() throws -> HotplugRegistryTests.Rig {
        try HotplugRegistryTests.Rig(configurations: [
            SimulatorConfiguration(seed: 4, index: 0, serial: shared),
            SimulatorConfiguration(seed: 4, index: 1, serial: shared),
            SimulatorConfiguration(seed: 4, index: 2),
        ])
    }

    /// Two locks plugged in at once with one USB serial number are two devices with two ids,
    /// each resolving to itself; neither takes over the other's slot.
    @Test func twoLocksSharingASerialAreTwoDevicesEachNamedByItsID() throws {
        let rig = try Self.rig()
        defer { rig.stop() }
        let first = try #require(rig.hub.deviceAppeared(rig.tty(0, serial: Self.shared, port: "1-4"), links: rig.links))
        let second = try #require(rig.hub.deviceAppeared(rig.tty(1, serial: Self.shared, port: "1-5"), links: rig.links),
                                  "the second lock was taken for the first one replugged")
        #expect(first != second)
        #expect(TestSupport.wait(upTo: 10) { rig.hub.devices().filter { $0.online && $0.serial == Self.shared }.count == 2 })
        let devices = rig.hub.devices()
        #expect(Set(devices.map(\.id)).count == devices.count, "\(devices.map(\.id))")
        let ids = rig.simulator.devicePaths.prefix(2).map { path in devices.first { $0.path == path }?.id }
        #expect(ids[0] == Self.shared && ids[1] == "\(Self.shared)@\(rig.simulator.devicePaths[1])", "\(ids)")
        #expect(try rig.hub.resolve(Self.shared) == first)
        #expect(try rig.hub.resolve(ids[1] ?? "") == second)
        // Unplugged, the first keeps its id: the second does not take it when it identifies again.
        rig.hub.deviceDisappeared(rig.tty(0, serial: Self.shared, port: "1-4"))
        #expect(try rig.hub.resolve(Self.shared) == first)
        #expect(rig.hub.devices().first { $0.path == rig.simulator.devicePaths[1] }?.id == ids[1])
    }

    /// socket-api.md § Devices and ids: `SERIAL@PATH#2` when `SERIAL@PATH` is taken too — here by
    /// an unplugged lock still listed, whose path a third lock with the same serial now has.
    @Test func aThirdLockWithTheSameSerialOnATakenPathGetsANumber() throws {
        let rig = try Self.rig()
        defer { rig.stop() }
        _ = try #require(rig.hub.deviceAppeared(rig.tty(0, serial: Self.shared, port: "1-4"), links: rig.links))
        _ = try #require(rig.hub.deviceAppeared(rig.tty(1, serial: Self.shared, port: "1-5"), links: rig.links))
        let path = rig.simulator.devicePaths[1]
        #expect(TestSupport.wait(upTo: 10) { rig.hub.devices().contains { $0.id == "\(Self.shared)@\(path)" } })
        rig.hub.deviceDisappeared(rig.tty(1, serial: Self.shared, port: "1-5"))
        // On another port with no USB serial number: another lock (nothing says otherwise), whose
        // tty has the unplugged one's path and whose IDENTIFY gives the same serial number.
        let third = try #require(rig.hub.deviceAppeared(rig.tty(1, serial: nil, port: "1-6"), links: rig.links))
        #expect(TestSupport.wait(upTo: 10) { rig.hub.devices().contains { $0.id == "\(Self.shared)@\(path)#2" && $0.online } },
                "\(rig.hub.devices().map { "\($0.id) \($0.path) \($0.state)" })")
        #expect(try rig.hub.resolve("\(Self.shared)@\(path)#2") == third)
        let ids = rig.hub.devices().map(\.id)
        #expect(Set(ids).count == ids.count && ids.count == 3, "\(ids)")
    }

    /// A path two listed locks have (one unplugged from a port, another plugged into it) names
    /// neither: the typed error lists both, with their ids — in the hub, for every socket method
    /// that takes a device, and in the CLI (exit 4, the candidates, "give the id").
    @Test func aPathTwoLocksHaveIsAnErrorListingBoth() async throws {
        let rig = try Self.rig()
        defer { rig.stop() }
        let gone = try #require(rig.hub.deviceAppeared(rig.tty(2, serial: "LX3-GONE", port: "1-4"), links: rig.links))
        rig.hub.deviceDisappeared(rig.tty(2, serial: "LX3-GONE", port: "1-4"))
        let node = rig.simulator.devicePaths[2]
        let newcomer = try #require(rig.hub.deviceAppeared(rig.tty(2, serial: "LX3-NEW", port: "1-4", devnode: node), links: rig.links))
        #expect(gone != newcomer)
        #expect {
            try rig.hub.resolve(node)
        } throws: { error in
            guard case .ambiguousDevice(let name, let candidates)? = error as? HubError else { return false }
            return name == node && candidates.map(\.path) == [node, node] && Set(candidates.map(\.id)).count == 2
                && candidates.allSatisfy { $0.transport == "serial" }
        }
        // Each is still reachable by its id (once the newcomer has identified itself, its id is settled).
        #expect(TestSupport.wait(upTo: 10) { rig.hub.devices().contains { $0.path == node && $0.online && $0.serial != nil } })
        let twins = rig.hub.devices().filter { $0.path == node }
        #expect(twins.count == 2 && Set(twins.map(\.id)).count == 2, "\(twins.map(\.id))")
        #expect(Set(try twins.map { try rig.hub.resolve($0.id) }) == [gone, newcomer])
        #expect(throws: HubError.unknownDevice("nope")) { try rig.hub.resolve("nope") }

        // Over a real socket, with the daemon's method table.
        let directory = try TemporaryDirectory(prefix: "names")
        defer { directory.remove() }
        let socket = directory.path + "/s.sock"
        var api = APIService(hub: rig.hub, socketPath: socket, version: "test", logger: Logger(label: "test.names"))
        api.station = try Station.open(database: directory.path + "/h.sqlite", key: directory.path + "/station.key", version: "test",
                                       logger: Logger(label: "test.names"))
        let server = JSONRPCServer(configuration: JSONRPCServer.Configuration(socketPath: socket), handler: api.methodTable())
        try await server.start()
        let methods: [(String, JSONValue)] = [
            (APIMethod.deviceStatus, [:]), (APIMethod.faultsList, [:]), (APIMethod.faultsClear, [:]),
            (APIMethod.testsRun, ["test": "battery"]), (APIMethod.deviceActuate, ["direction": "unlock", "confirm": true]),
            (APIMethod.telemetrySubscribe, [:]), (APIMethod.telemetryUnsubscribe, [:]),
            // The history methods must not fall back to whichever history has the name.
            (APIMethod.faultsHistory, [:]), (APIMethod.reportCreate, [:]),
        ]
        let errors: [RPCError?] = try await Self.onThread {
            let client = JSONRPCClient(socketPath: socket)
            return methods.map { method, extra -> RPCError? in
                guard case .object(var params) = extra else { return nil }
                params["device"] = .string(node)
                do {
                    _ = try client.call(method, params: .object(params), timeoutSeconds: 10)
                    return nil
                } catch {
                    guard case .remote(let e)? = error as? RPCClientError else { return nil }
                    return e
                }
            }
        }
        for ((method, _), error) in zip(methods, errors) {
            #expect(error?.code == RPCError.Code.ambiguousDevice, "\(method): \(String(describing: error))")
            guard case .object(let data)? = error?.data, let candidates = try? data["candidates"]?.decode(as: [DeviceCandidate].self) else {
                Issue.record("\(method): no candidates in \(String(describing: error))")
                continue
            }
            #expect(data["device"] == .string(node) && Set(candidates.map(\.id)) == Set(twins.map(\.id)), "\(method)")
        }
        // The CLI prints the candidates and says to give the id; exit 4, a device problem.
        let cli = try await Self.onThread { try ChildProcess.run("lockdiag", ["clear", node, "--socket", socket]) }
        #expect(cli.status == 4, "\(cli.stderr)")
        #expect(cli.stderr.contains("names 2 locks; give the id of the one you mean"), "\(cli.stderr)")
        for twin in twins { #expect(cli.stderr.contains(twin.id), "\(cli.stderr)") }
        await server.stop()
    }

    /// Runs blocking code (the POSIX client, a child process) off the cooperative pool.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
