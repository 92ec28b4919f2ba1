import Foundation
@_spi(Fuzzing) import JSONRPC
import LockJSON
import LockDiagAPI
import LockDiagCLI

extension FuzzTarget {
    /// The one JSON stack (LockJSON) every request, reply and signed report goes through.
    static let jsonText = FuzzTarget(
        name: "json-text",
        summary: "LockJSON on any bytes: the parser never traps; what parses is written back (compact, pretty, RFC 8785) as text that parses to the same value, the canonical form is a fixed point, and what decodes as an API type encodes and decodes to the same value."
    ) { input in
        guard let value = try? JSONValue(parsing: input) else { return [] }
        let written = value.jsonBytes
        var findings: [String] = []
        if written.contains(where: { $0 < 0x20 }) { findings.append("written JSON holds a raw control character") }
        if let again = try? JSONValue(parsing: written) {
            if again != value { findings.append("JSON changes when written and read back") }
        } else {
            findings.append("written JSON does not parse")
        }
        let canonical = CanonicalJSON.bytes(value)
        // The pretty text writes 2.0 as 2 (as JSONEncoder did), so it is compared as a number.
        if (try? JSONValue(parsing: value.prettyText)).map(CanonicalJSON.bytes) != canonical {
            findings.append("pretty JSON does not read back as the same value")
        }
        if let reread = try? JSONValue(parsing: canonical) {
            if CanonicalJSON.bytes(reread) != canonical { findings.append("the canonical form is not a fixed point") }
        } else {
            findings.append("canonical JSON does not parse")
        }
        // The direct decoder and encoder agree with each other on what an API type holds.
        func roundTrip<T: Codable & Equatable>(_ type: T.Type) {
            guard let decoded = try? value.decode(as: T.self) else { return }
            guard let encoded = try? JSONBytesEncoder().encode(decoded), let tree = try? JSONValue(parsing: encoded) else {
                findings.append("\(T.self) decoded but does not encode to JSON")
                return
            }
            if (try? tree.decode(as: T.self)) != decoded { findings.append("\(T.self) changes when encoded and decoded again") }
        }
        roundTrip(DeviceStatus.self)
        roundTrip(FaultsList.self)
        roundTrip(DevicesList.self)
        roundTrip(DeviceParams.self)
        roundTrip(FaultsHistoryParams.self)
        return findings
    }

    /// Everything a client can send the daemon's socket, up to the point a method runs.
    static let jsonRPCServer = FuzzTarget(
        name: "jsonrpc-server",
        summary: "The JSON-RPC server's reading of a client's byte stream (line framing with a 2 KiB limit, JSON, request validation, batches) and the API's params decoding for every method; every error reply must be a valid one-line response."
    ) { input in
        let reading = JSONRPCFuzzing.serverReading(input, maxLineBytes: 2048)
        var findings: [String] = []
        for line in reading.errorLines {
            if line.contains(0x0A) { findings.append("an error reply spans lines") }
            let reply = line.withUnsafeBytes { JSONRPCFuzzing.clientReading($0) }
            guard case .response(_, nil, let error?)? = reply else {
                findings.append("an error reply is not a JSON-RPC error response: \(String(decoding: line.prefix(200), as: UTF8.self))")
                continue
            }
            if !(error.code >= -32768 && error.code <= -32000) { findings.append("error code \(error.code) outside the reserved range") }
        }
        for request in reading.requests {
            let params = request.params
            let method = request.method
            // Whatever the daemon would decode; only a -32602 error may come back.
            var errors: [RPCError] = []
            func attempt<T: Decodable>(_ type: T.Type) {
                if case .failure(let error) = JSONRPCFuzzing.decodeParams(params, as: type, method: method) { errors.append(error) }
            }
            attempt(DeviceParams.self)
            attempt(FaultsListParams.self)
            attempt(TestsRunParams.self)
            attempt(ActuateParams.self)
            attempt(FaultsHistoryParams.self)
            for error in errors where error.code != RPCError.Code.invalidParams {
                findings.append("params decoding failed with \(error.code), not -32602")
            }
        }
        return findings
    }

    /// Everything the CLI reads from whatever answers on the socket, down to what it prints.
    static let jsonRPCClient = FuzzTarget(
        name: "jsonrpc-client",
        summary: "The client's reading of reply lines (responses, notifications, batches) and the CLI's decoding and rendering of every result type and telemetry notification from them: nothing rendered carries a character a terminal would act on."
    ) { input in
        let style = Style(colour: false)
        var watch = WatchModel(device: "fuzz", statusHz: 10)
        var progress = TestProgress(device: "fuzz", test: .motor)
        var rendered: [String] = []
        for line in input.split(separator: 0x0A, omittingEmptySubsequences: true) {
            let reading = JSONRPCFuzzing.clientReading(UnsafeRawBufferPointer(rebasing: line))
            switch reading {
            case .response(_, let raw?, _)?:
                // As lockdiag's Session reads every result.
                let result = raw.displaySafe
                if let v = try? result.decode(as: DevicesList.self) { rendered.append(DevicesRenderer.render(v.devices, faults: [], style: style)) }
                if let v = try? result.decode(as: FaultsList.self) {
                    rendered.append(FaultsRenderer.render(v.faults, scope: nil, style: style))
                    _ = ExitStatus.forFaults(v.faults)
                }
                if let v = try? result.decode(as: DeviceStatus.self) {
                    rendered.append(StatusRenderer.render(v, summary: nil, faults: [], style: style))
                    rendered.append(WatchModel.statusLine(v, style: style))
                }
                if let v = try? result.decode(as: TestRun.self) {
                    rendered.append(TestRunRenderer.render(v, traceWidth: 40, style: style))
                    _ = ExitStatus.forTest(v.verdict)
                }
                // info and stats are shown together; each is paired with a plain other half.
                let info = try? result.decode(as: DaemonInfo.self)
                let stats = try? result.decode(as: DaemonStats.self)
                if info != nil || stats != nil {
                    rendered.append(InfoRenderer.render(info: info ?? plainInfo, stats: stats ?? plainStats, style: style))
                }
                if let v = try? result.decode(as: FaultHistory.self) { rendered.append(HistoryRenderer.render(v, style: style)) }
                _ = try? result.decode(as: FaultsCleared.self)
                _ = try? result.decode(as: Subscription.self)
            case .notification(_, let params?)?:
                if let n = try? params.displaySafe.decode(as: TelemetryNotification.self) {
                    rendered += watch.apply(n, style: style)
                    rendered += watch.block(width: 60, style: style)
                    progress.apply(n)
                    rendered.append(progress.line(elapsedSeconds: 1, frame: 3))
                }
            default:
                break
            }
        }
        // A plain style writes no escapes, so any control character here came from the input.
        return rendered.contains { $0.unicodeScalars.contains { $0 != "\n" && TerminalText.isUnsafe($0) } }
            ? ["rendered text carries a character a terminal would act on"] : []
    }

    static let plainInfo = DaemonInfo(version: "0", pid: 1, uptimeSeconds: 1, devices: 0, devicesOnline: 0, protocols: [],
                                      socket: "/run/lockdiag/lockdiag.sock", pollHz: 50,
                                      realtime: RealtimeInfo(requested: false, granted: [], missing: []))
    static let plainStats: DaemonStats = {
        let json: JSONValue = ["poll_hz": 50, "cycles": 0, "overruns": 0, "ring_dropped": 0, "uptime_s": 1, "devices": [],
                               "lateness_us": ["count": 0, "p50": 0, "p90": 0, "p99": 0, "p999": 0, "max": 0, "mean": 0]]
        return try! json.decode(as: DaemonStats.self)
    }()
}
