import Foundation
import HistoryStore
import JSONRPC
import LinuxIO
import LockDiagAPI
import LockJSON
import Logging
import Reports

/// The diagnostic station: its signing key, its host name and its history. Serves
/// `faults.history`, `report.create` and `station.info` (docs/socket-api.md).
public struct Station: Sendable {
    public let key: StationKey
    public let host: String
    public let history: HistoryRecorder
    public let version: String

    public init(key: StationKey, host: String = Station.hostName(), history: HistoryRecorder, version: String) {
        self.key = key
        self.host = host
        self.history = history
        self.version = version
    }

    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Registers the station's methods.
    func register(into table: inout RPCMethodTable, hub: Hub, logger: Logger) {
        table.register(APIMethod.faultsHistory) { call in
            let params = try call.decodeParams(as: FaultsHistoryParams.self)
            return try JSONValue(encoding: try await faultHistory(params, hub: hub))
        }
        table.register(APIMethod.reportCreate) { call in
            let params = try call.decodeParams(as: DeviceParams.self)
            let station = self
            let (signed, notKept) = try await history.database.offPool { (db) throws(RPCError) in
                let signed = try station.makeReport(params.device, hub: hub)
                return (signed, Self.keep(signed, in: db))
            }
            logger.notice("report \(signed.report.reportID) on \(signed.report.device.id) signed for \(requester(of: call))")
            if let notKept { logger.warning("report \(signed.report.reportID) was signed but not kept in the history (so not sent to the fleet): \(notKept)") }
            return try JSONValue(encoding: signed)
        }
        table.register(APIMethod.stationInfo) { _ in
            // Counting the history's rows reads every table: on the read queue too.
            let history = self.history
            let info = await history.database.offPool { _ in history.info() }
            return try JSONValue(encoding: StationInfo(
                host: host,
                key: StationKeyInfo(algorithm: ReportSigner.algorithm, publicKey: key.publicKey.base64,
                                    fingerprint: key.publicKey.fingerprint, path: key.path),
                history: info))
        }
    }

    /// Keeps a copy of a signed report in the history, for the fleet (docs/fleet.md); returns why not, if not. The
    /// client still gets its report: a copy that could not be kept is logged, not an error of the call.
    static func keep(_ signed: SignedReport, in db: HistoryDatabase) -> String? {
        keep(reportID: signed.report.reportID, device: signed.report.device.id, createdAt: signed.report.createdAt,
             keyFingerprint: signed.signature.keyFingerprint, signed: signed, in: db)
    }

    /// Keeps any signed document (a report, a commissioning certificate) as its canonical JSON.
    static func keep(reportID: String, device: String, createdAt: String, keyFingerprint: String, signed: some Encodable,
                     in db: HistoryDatabase) -> String? {
        do {
            let json = String(decoding: try CanonicalJSON.bytes(of: signed), as: UTF8.self)
            try db.keepReport(reportID: reportID, device: device, createdAtMilliseconds: APITime.parse(createdAt) ?? WallClock.milliseconds(),
                              keyFingerprint: keyFingerprint, signedJSON: json)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// A device's id: the live one if it is attached, else the name itself if the history knows
    /// it (a lock that was unplugged still has its history).
    func historyID(_ name: String, hub: Hub) throws(RPCError) -> (id: String, index: Int?) {
        do {
            let index = try hub.resolve(name)
            return (hub.deviceID(index), index)
        } catch {
            // A name several locks answer to must not fall back to whichever history it finds.
            if case .ambiguousDevice = error { throw RPCError(resolving: error) }
        }
        let known = (try? history.database.deviceRecord(name)) != nil
            || ((try? history.database.faultEvents(device: name, limit: 1).events.isEmpty) == false)
        guard known else { throw RPCError.unknownDevice(name) }
        return (name, nil)
    }

    /// One page of a device's fault history, newest page first. Read on the history's read
    /// queue, never on the cooperative pool.
    func faultHistory(_ params: FaultsHistoryParams, hub: Hub) async throws(RPCError) -> FaultHistory {
        var since: Int64?
        if let text = params.since {
            guard let ms = APITime.parse(text) else {
                throw RPCError.invalidParams("since: '\(text)' is not a time — give ISO 8601 UTC, e.g. 2026-11-28T09:00:00Z or 2026-11-28")
            }
            since = ms
        }
        let limit = params.limit ?? FaultsHistoryParams.defaultLimit
        guard (1...FaultsHistoryParams.maxLimit).contains(limit) else {
            throw RPCError.invalidParams("limit: give 1 to \(FaultsHistoryParams.maxLimit) events per page, and follow next_cursor for more")
        }
        let sinceMilliseconds = since
        let beforeID = try params.cursor.map { text throws(RPCError) in try FaultHistoryCursor.eventID(text) }
        let station = self
        return try await history.database.offPool { (db) throws(RPCError) -> FaultHistory in
            let (id, _) = try station.historyID(params.device, hub: hub)
            do {
                let (events, truncated) = try db.faultEvents(device: id, sinceMilliseconds: sinceMilliseconds, beforeID: beforeID, limit: limit)
                let next = truncated ? events.first.map { FaultHistoryCursor.text(before: $0.id) } : nil
                return FaultHistory(device: id, since: params.since, record: try db.deviceRecord(id), events: events,
                                    truncated: truncated, nextCursor: next)
            } catch {
                throw RPCError.internalError("\(error)")
            }
        }
    }

    /// Builds and signs a report on a device from the live state and the history.
    func makeReport(_ name: String, hub: Hub) throws(RPCError) -> SignedReport {
        let (id, index) = try historyID(name, hub: hub)
        // The latest actuation may still sit in the telemetry queue.
        history.flush()
        let db = history.database
        do {
            let record = try db.deviceRecord(id)
            let status = index.flatMap(hub.status(of:))
            let faults = index.map { hub.faults(of: $0) } ?? []
            let (events, truncated) = try db.faultEvents(device: id, limit: 1000)
            var selfTests: [ReportSelfTest] = []
            for run in try db.testRuns(device: id, limit: 20) {
                for result in run.results where !selfTests.contains(where: { $0.test == result.test }) {
                    selfTests.append(ReportSelfTest(test: result.test, startedAt: run.startedAt, result: result))
                }
            }
            var actuations: [ReportActuation] = []
            for stored in try db.actuations(device: id, limit: 6).reversed() {
                let start = stored.atMilliseconds
                let samples = try db.statusSamples(device: id, fromMilliseconds: start - 200,
                                                   toMilliseconds: start + Int64(stored.summary.durationMilliseconds) + 300)
                // The sag chart needs both quantities; a sample without them is no point on it.
                actuations.append(ReportActuation(summary: stored.summary, trace: stored.trace, battery: samples.compactMap { sample in
                    guard let millivolts = sample.batteryMillivolts, let milliamps = sample.motorCurrentMilliamps else { return nil }
                    return BatteryPoint(offsetMilliseconds: Int(sample.atMilliseconds - start), batteryMillivolts: millivolts,
                                        motorCurrentMilliamps: milliamps)
                }))
            }
            let c = hub.diagnosis
            let device = reportDevice(id, index: index, hub: hub, record: record)
            let report = DiagnosticReport(
                reportID: UUID().uuidString.lowercased(), createdAt: APITime.format(milliseconds: WallClock.milliseconds()),
                station: ReportStation(host: host, software: "lockdiagd \(version)", keyFingerprint: key.publicKey.fingerprint),
                device: device, verdict: ReportVerdict.judge(faults: faults, selfTests: selfTests), status: status,
                activeFaults: faults, faultHistory: events, faultHistoryTruncated: truncated, selfTests: selfTests,
                actuations: actuations,
                thresholds: ReportThresholds(stallCurrentMilliamps: c.stallCurrentMilliamps, stallToRunningRatio: c.stallToRunningRatio,
                                             overcurrentMilliamps: c.overcurrentMilliamps, openCircuitMaxMilliamps: c.openCircuitMaxMilliamps,
                                             wornResistanceMilliohms: c.wornResistanceMilliohms, batteryLowPercent: c.batteryLowPercent,
                                             batteryCriticalPercent: c.batteryCriticalPercent),
                parts: ReportParts(index.flatMap(hub.parts(of:)), notCheckedBecause: hub.partsNotChecked(index)))
            return try ReportSigner.sign(report, with: key)
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError.internalError("could not build the report: \(error)")
        }
    }
}

extension Station {
    /// The lock as a report or certificate names it: live details if attached, else the history's.
    func reportDevice(_ id: String, index: Int?, hub: Hub) -> ReportDevice {
        reportDevice(id, index: index, hub: hub, record: try? history.database.deviceRecord(id))
    }

    func reportDevice(_ id: String, index: Int?, hub: Hub, record: DeviceRecord?) -> ReportDevice {
        let summary = index.flatMap { i in hub.devices().first { $0.id == hub.deviceID(i) } }
        return ReportDevice(
            id: id, serial: summary?.serial ?? record?.serial, model: summary?.model ?? record?.model,
            hardwareRevision: summary?.hardwareRevision ?? record?.hardwareRevision,
            firmware: summary?.firmware ?? record?.firmware.last?.version, transport: summary?.transport ?? record?.transport ?? "unknown",
            path: summary?.path ?? record?.path ?? "unknown", state: summary?.state ?? "not connected", firstSeen: record?.firstSeen,
            firmwareHistory: record?.firmware ?? [])
    }
}

/// `faults.history`'s cursor: opaque to clients; it names the oldest event of the page it
/// follows, so the next page starts below it whatever was recorded since.
enum FaultHistoryCursor {
    static let prefix = "faults.history/v1/"

    static func text(before id: Int64) -> String { Data((prefix + String(id)).utf8).base64EncodedString() }

    static func eventID(_ text: String) throws(RPCError) -> Int64 {
        guard let data = Data(base64Encoded: text), let plain = String(data: data, encoding: .utf8), plain.hasPrefix(prefix),
              let id = Int64(plain.dropFirst(prefix.count)) else {
            throw RPCError.invalidParams("cursor: '\(text)' is not a cursor faults.history gave — pass next_cursor as it came, "
                                         + "or leave cursor out to start from the newest events")
        }
        return id
    }
}

/// Who sent a call, as the history records it: `uid 1000, pid 4242`.
func requester(of call: RPCCall) -> String {
    call.connection.peer.map { "uid \($0.uid), pid \($0.pid)" } ?? "unknown peer"
}

extension Station {
    /// Opens the history database and the station key (creating either on first start) and says
    /// so in the log.
    public static func open(database path: String, key keyPath: String?, version: String, logger: Logger) throws -> Station {
        let database = try HistoryDatabase(path: path)
        let keyFile = keyPath ?? DefaultPaths.stationKey(nextTo: path)
        let (key, created) = try StationKey.loadOrCreate(path: keyFile)
        if created {
            logger.notice("created the station key \(keyFile) (Ed25519, mode 0600), fingerprint \(key.publicKey.fingerprint)")
        }
        let recorder = HistoryRecorder(database: database, logger: logger)
        try database.capAudit(keeping: recorder.retention.auditEntries)
        logger.info("history \(path) (schema \((try? database.schemaVersion()) ?? "?")); station key \(key.publicKey.fingerprint)")
        return Station(key: key, history: recorder, version: version)
    }
}
