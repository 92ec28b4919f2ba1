import Foundation
import JSONRPC
import LinuxIO
import LockDiagAPI
import Logging

/// The socket API (docs/socket-api.md): routes each JSON-RPC method to the hub and turns the
/// hub's errors into the documented error codes.
public struct APIService: Sendable {
    public let hub: Hub
    public let socketPath: String
    public let version: String
    let startedAtNanoseconds: UInt64
    let logger: Logger
    /// The station's key and history (Station.swift): faults.history, report.create, station.info.
    public var station: Station?
    public var fleet: (any HistoryCopier)?
    /// Socket recordings (`record.start`, Recording/TrafficTaps.swift); nil: not offered.
    public var trafficTaps: TrafficTaps?
    /// Subscribers per device and the like (docs/security.md).
    public var limits = APILimits()
    /// The socket server's tallies for `daemon.stats`, once the server exists.
    public let clientStatistics = ClientStatisticsSource()
    /// Open commissioning runs (`commission.*`, APIService+Commission.swift).
    public let commissioning = CommissioningSessions()
    /// The limits commissioning judges by (firmware-specs/commissioning.json, or `--commissioning-limits`).
    public var commissioningLimits = CommissioningLimits.builtIn()

    public init(hub: Hub, socketPath: String, version: String, logger: Logger) {
        self.hub = hub
        self.socketPath = socketPath
        self.version = version
        self.logger = logger
        startedAtNanoseconds = MonotonicClock.nanoseconds()
    }

    /// The method table the JSON-RPC server dispatches through.
    public func methodTable() -> RPCMethodTable {
        var table = RPCMethodTable()
        table.register(APIMethod.daemonInfo) { _ in try encode(info()) }
        table.register(APIMethod.daemonStats) { _ in try encode(stats()) }
        table.register(APIMethod.devicesList) { _ in try encode(DevicesList(devices: hub.devices())) }
        table.register(APIMethod.deviceStatus) { call in
            let index = try resolve(try call.decodeParams(as: DeviceParams.self).device)
            guard let status = hub.status(of: index) else { throw RPCError.unknownDevice("\(index)") }
            return try encode(status)
        }
        table.register(APIMethod.faultsList) { call in
            let params = try call.decodeParams(as: FaultsListParams.self)
            let index = try params.device.map(resolve)
            return try encode(hub.faultsList(of: index))
        }
        table.register(APIMethod.faultsClear) { call in
            let index = try resolve(try call.decodeParams(as: DeviceParams.self).device)
            return try encode(try await mapped(hub.deviceID(index)) { () throws(HubError) in try await hub.clearFaults(of: index, by: requester(of: call)) })
        }
        table.register(APIMethod.testsRun) { call in
            let params = try call.decodeParams(as: TestsRunParams.self)
            let index = try resolve(params.device)
            if params.test.actuates && params.confirm != true { throw RPCError.confirmationRequired(params.test, device: hub.deviceID(index)) }
            return try encode(try await mapped(hub.deviceID(index)) { () throws(HubError) in try await hub.runTests(params.test, on: index, by: requester(of: call)) })
        }
        // Moves the bolt: needs `confirm: true`, and a technician (AccessPolicy).
        table.register(APIMethod.deviceActuate) { call in
            let params = try call.decodeParams(as: ActuateParams.self)
            try Self.requireConfirm(params.confirm, "device.actuate moves the bolt")
            let index = try resolve(params.device)
            return try encode(try await mapped(hub.deviceID(index)) { () throws(HubError) in try await hub.actuate(params.direction, on: index) })
        }
        registerImmediateAnswers(into: &table)
        table.register(APIMethod.telemetrySubscribe) { call in
            let index = try resolve(try call.decodeParams(as: DeviceParams.self).device)
            guard hub.subscribe(ConnectionSink(call.connection), to: index, limit: limits.maxSubscribersPerDevice) else {
                throw RPCError.tooManySubscribers(limit: limits.maxSubscribersPerDevice)
            }
            call.connection.setReceivesNotifications(true)
            return try encode(Subscription(device: hub.deviceID(index), statusHz: hub.statusNotificationHz))
        }
        table.register(APIMethod.telemetryUnsubscribe) { call in
            let index = try resolve(try call.decodeParams(as: DeviceParams.self).device)
            let was = hub.unsubscribe(call.connection.id, from: index)
            updateListening(call.connection)
            return try encode(Unsubscribed(device: hub.deviceID(index), unsubscribed: was))
        }
        station?.register(into: &table, hub: hub, logger: logger)
        table.register(APIMethod.devicesSubscribe) { call in
            let devices = hub.watchDevices(DeviceChangeConnectionSink(call.connection))
            call.connection.setReceivesNotifications(true)
            return try encode(DevicesSubscription(subscribed: true, devices: devices))
        }
        table.register(APIMethod.devicesUnsubscribe) { call in
            let was = hub.unwatchDevices(call.connection.id)
            updateListening(call.connection)
            return try encode(DevicesUnsubscribed(unsubscribed: was))
        }
        registerRecording(into: &table)
        registerParts(into: &table)
        registerCommissioning(into: &table)
        table.onConnectionClosed { connection in
            hub.removeSink(connection.id)
            commissioning.connectionClosed(connection.id)
            trafficTaps?.connectionClosed(connection.id)
        }
        table.onInternalError { error, call in
            logger.error("method \(call.method) from connection \(call.connection.id) failed: \(error)")
        }
        return table
    }

    /// The read-only methods answered on the socket server's event loop from the hub's
    /// snapshot (HubSnapshot), with no task hop and no wait on the hub's lock. Anything out of
    /// the ordinary (params of another shape, a name that is no device or several) goes to the
    /// method's ordinary body, which gives the documented error.
    private func registerImmediateAnswers(into table: inout RPCMethodTable) {
        table.registerImmediate(APIMethod.daemonInfo) { call in
            Self.noParams(call.params) ? try? .encodedResult(APIJSON.bytes(info())) : nil
        }
        table.registerImmediate(APIMethod.devicesList) { call in
            guard Self.noParams(call.params) else { return nil }
            return try? .encodedResult(hub.snapshot.devicesListJSON(now: MonotonicClock.nanoseconds(), encode: APIJSON.bytes))
        }
        table.registerImmediate(APIMethod.deviceStatus) { call in
            guard let name = Self.onlyDeviceParam(call.params, required: true) ?? nil else { return nil }
            let snapshot = hub.snapshot
            guard let view = snapshot.view(named: name) else { return nil }
            return try? .encodedResult(view.statusJSON(now: MonotonicClock.nanoseconds(), silenceNanoseconds: snapshot.silenceNanoseconds,
                                                       encode: APIJSON.bytes))
        }
        table.registerImmediate(APIMethod.faultsList) { call in
            guard let name = Self.onlyDeviceParam(call.params, required: false) else { return nil }
            let snapshot = hub.snapshot
            var views = snapshot.views
            if let name {
                guard let view = snapshot.view(named: name) else { return nil }
                views = [view]
            }
            let faults = hub.annotateSaved(views.flatMap { v in v.state.faults.ordered.map { v.state.apiFault($0) } })
            return try? .encodedResult(APIJSON.bytes(FaultsList(faults: faults, history: hub.history?.health())))
        }
    }

    /// The -32602 for a call that moves the bolt without `confirm: true`.
    static func requireConfirm(_ confirm: Bool?, _ what: String) throws(RPCError) {
        guard confirm == true else {
            throw RPCError(code: RPCError.Code.invalidParams,
                           message: "Invalid params: field 'confirm' must be true — \(what); make sure nothing is in its way",
                           data: ["field": "confirm"])
        }
    }

    /// No params, or an empty object.
    private static func noParams(_ params: JSONValue?) -> Bool {
        guard let params else { return true }
        return params == .object([:])
    }

    /// The `device` of params that hold nothing else (an object with that string, or, when
    /// not `required`, no params or an empty object: .some(nil)); nil for any other shape.
    private static func onlyDeviceParam(_ params: JSONValue?, required: Bool) -> String?? {
        guard let params else { return required ? nil : .some(nil) }
        guard case .object(let members) = params else { return nil }
        if members.isEmpty, !required { return .some(nil) }
        guard members.count == 1, case .string(let name)? = members["device"] else { return nil }
        return .some(name)
    }

    func info() -> DaemonInfo {
        let count = hub.deviceCount()
        let realtime = hub.loop.realtime ?? RealtimeReport()
        return DaemonInfo(version: version, pid: getpid(), uptimeSeconds: uptime(), devices: count.total, devicesOnline: count.online,
                          protocols: ["LDP/1", "GATT", "Tuya MCU"], socket: socketPath, pollHz: hub.loop.configuration.pollHz,
                          realtime: RealtimeInfo(requested: hub.loop.configuration.realtime != nil, granted: realtime.granted,
                                                 missing: realtime.missing),
                          health: DaemonHealth(history: hub.history?.health()), fleet: fleet?.info())
    }

    func stats() -> DaemonStats {
        let s = hub.loop.statistics
        let h = s.lateness
        return DaemonStats(pollHz: s.pollHz, cycles: s.cycles, overruns: s.overruns,
                           latenessMicroseconds: LatenessSummary(count: h.count, p50: h.percentile(0.5), p90: h.percentile(0.9),
                                                                 p99: h.percentile(0.99), p999: h.percentile(0.999),
                                                                 max: h.maxMicroseconds, mean: (h.meanMicroseconds * 10).rounded() / 10),
                           ringDropped: s.ringDropped, uptimeSeconds: uptime(), devices: hub.linkStats(),
                           clients: clientStatistics.current())
    }

    /// Tells the server whether `connection` still waits for notifications of either kind
    /// (telemetry, device changes, recordings): a listening connection is not idle.
    func updateListening(_ connection: RPCConnection) {
        let watchesDevices = hub.deviceWatchers.withLock { $0[connection.id] != nil }
        let records = trafficTaps?.isRecording(connection.id) == true
        connection.setReceivesNotifications(watchesDevices || records || hub.hasSubscriptions(connection.id))
    }

    private func uptime() -> Double { Double(MonotonicClock.nanoseconds() - startedAtNanoseconds) / 1e9 }

    func resolve(_ device: String) throws(RPCError) -> Int {
        do { return try hub.resolve(device) } catch { throw RPCError(resolving: error) }
    }

    func mapped<T>(_ device: String, _ body: () async throws(HubError) -> T) async throws(RPCError) -> T {
        do {
            return try await body()
        } catch {
            throw RPCError(hub: error, device: device)
        }
    }
}

private func encode(_ value: some Encodable) throws -> JSONValue { try JSONValue(encoding: value) }

/// API values as JSON bytes (LockJSON's direct encoder), for answers and notifications that
/// skip the JSON tree.
enum APIJSON {
    static func bytes(_ value: some Encodable) throws -> [UInt8] { try JSONBytesEncoder().encode(value) }
}

/// A socket connection seen as a telemetry subscriber.
final class ConnectionSink: TelemetrySink {
    let connection: RPCConnection
    var sinkID: UInt64 { connection.id }

    init(_ connection: RPCConnection) { self.connection = connection }

    func offer(_ delivery: TelemetryDelivery, lost: Int) -> Bool {
        let line = try? delivery.line(lost: lost) { note in
            NotificationLine(method: APIMethod.telemetryNotification, encodedParams: try APIJSON.bytes(note))
        }
        guard let line else { return false }
        return connection.trySendNotification(line)
    }
}

/// A socket connection seen as a `devices.changed` subscriber.
final class DeviceChangeConnectionSink: DeviceChangeSink {
    let connection: RPCConnection
    var sinkID: UInt64 { connection.id }

    init(_ connection: RPCConnection) { self.connection = connection }

    func offer(_ change: DeviceChange) -> Bool {
        guard let params = try? JSONValue(encoding: change) else { return false }
        return connection.trySendNotification(method: APIMethod.devicesChangedNotification, params: params)
    }
}
