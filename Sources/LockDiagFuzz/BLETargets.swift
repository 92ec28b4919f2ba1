import BLEProtocol
import BLETransport
import LockSimulator

extension FuzzTarget {
    /// ATT PDUs in both directions: the codec on any PDU, and the simulated lock's GATT server
    /// answering it as a request from a client.
    static let bleATT = FuzzTarget(
        name: "ble-att",
        summary: "ATT PDUs of any opcode and length (length-prefixed in the input): what decodes re-encodes to a PDU that decodes equal; the simulated lock's GATT server answers each with at most one valid PDU within its MTU."
    ) { input in
        var reader = FuzzReader(input)
        let options = reader.u8()
        let serving = BLEServing(socketPath: "", services: options & 1 == 0 ? .full : .standard, receiveMTU: 23 + Int(reader.u8()) * 2,
                                 requirePairing: options & 2 != 0, ldpIndicates: options & 4 != 0, ldpWritesWithResponse: options & 8 != 0)
        let server = GATTServer(serving: serving, values: GATTServer.Values(
            deviceName: "fuzz lock", manufacturer: "lockdiag", model: "LX-300", serial: "SIM-FUZZ", hardwareRevision: "C",
            firmwareRevision: "2.4.1", softwareRevision: "1"))
        var findings: [String] = []
        while !reader.isAtEnd {
            let pdu = [UInt8](reader.take(Int(reader.u8()) + 1))
            if let decoded = try? ATTPDU(bytes: pdu) {
                let again = try? ATTPDU(bytes: decoded.bytes)
                if again != decoded { findings.append("\(decoded.opcode) does not survive encode → decode") }
            }
            let battery = reader.u8()
            guard let reply = server.handle(pdu, batteryPercent: battery, ldpWrite: { _ in }) else { continue }
            if reply.count > server.mtu { findings.append("the server answered \(reply.count) bytes with an MTU of \(server.mtu)") }
            if (try? ATTPDU(bytes: reply)) == nil { findings.append("the server's answer \(reply) does not decode") }
            for notification in server.notifyLDP(Array(pdu.prefix(64))) where notification.count > server.mtu {
                findings.append("an LDP notification of \(notification.count) bytes with an MTU of \(server.mtu)")
            }
        }
        return findings
    }

    /// The GATT client's set-up (MTU exchange, discovery, Device Information and Battery reads,
    /// the LDP service's CCCD) against a server that answers whatever the input says.
    static let gattClient = FuzzTarget(
        name: "gatt-client",
        summary: "The daemon's GATT set-up (MTU exchange, service/characteristic/descriptor discovery, DIS and Battery reads, CCCD writes) against a peer whose every answer comes from the input: a profile or a typed error, with a sane MTU and battery level."
    ) { input in
        var reader = FuzzReader(input)
        let receiveMTU = 23 + Int(reader.u8()) * 2
        let bearer = ScriptedBearer()
        while !reader.isAtEnd { bearer.replies.append([UInt8](reader.take(Int(reader.u16() % 600)))) }
        bearer.replies.reverse()
        let client = GATTClient(bearer: bearer, transactionTimeoutSeconds: 0.001)
        var findings: [String] = []
        do {
            let profile = try GATTSetup.run(client, endpoint: .attSocket(path: "/fuzz"), receiveMTU: receiveMTU)
            if profile.mtu < 23 || profile.mtu > receiveMTU { findings.append("negotiated an MTU of \(profile.mtu) (asked \(receiveMTU))") }
            if let percent = profile.batteryPercent, !(0...100).contains(percent) { findings.append("battery level \(percent) %") }
            _ = profile.serviceNames
        } catch let error as BLEError {
            _ = error.description
        } catch {
            findings.append("an untyped error: \(error)")
        }
        if bearer.sent.contains(where: { $0.count > max(receiveMTU, 23) }) { findings.append("the client sent a PDU larger than the MTU") }
        return findings
    }

    /// HCI LE advertising reports and the AD structures inside, as `lockdiag scan` reads them.
    static let bleAdvertising = FuzzTarget(
        name: "ble-advertising",
        summary: "HCI event packets (LE Advertising / Extended Advertising Report) and raw advertising data: reports parse or fail typed; AD structures re-encode to what parsed; the scan table and the lock assessment take anything."
    ) { input in
        var reader = FuzzReader(input)
        let mode = reader.u8()
        let rest = [UInt8](reader.rest())
        var findings: [String] = []
        var table = ScanTable()
        func check(_ data: [UInt8]) {
            let (parsed, problem) = AdvertisingData.parse(data)
            let encoded = parsed.bytes
            // The structures parsed (all, or those before the problem) are the data's first bytes.
            if !data.starts(with: encoded) { findings.append("re-encoded advertising data is not what was parsed") }
            if (try? AdvertisingData(bytes: encoded)) != parsed { findings.append("advertising data does not survive encode → parse") }
            _ = problem?.description
            _ = LockAssessment.assess(parsed)
            _ = (parsed.localName, parsed.serviceUUIDs, parsed.manufacturerData, parsed.serviceData, parsed.flags?.names, parsed.txPowerLevelDBm)
        }
        if mode & 1 == 0 {
            check(rest)
        } else if let reports = try? HCIEvent.advertisingReports(packet: rest) {
            for (i, report) in reports.enumerated() {
                check(report.data)
                table.add(report, at: UInt64(i) * 1_000_000)
                // A legacy report (what the encoder writes) carries at most 31 bytes of data.
                if report.data.count <= 31,
                   (try? HCIEvent.advertisingReports(packet: HCIEvent.advertisingReportPacket(report))).map({ $0.map(\.data) }) != [report.data] {
                    findings.append("a report does not survive encode → parse")
                }
            }
            for device in table.sorted { _ = (device.assessment, device.data, device.advertisedTXPowerDBm, device.problem?.description) }
        }
        return findings
    }
}

/// The peer of `gatt-client`: each receive hands over the input's next PDU; none left reads
/// as an ATT timeout.
final class ScriptedBearer: ATTBearer {
    /// Replies, last first.
    var replies: [[UInt8]] = []
    var sent: [[UInt8]] = []

    func send(_ pdu: [UInt8]) throws(GATTError) { sent.append(pdu) }

    func receive(deadlineNanoseconds: UInt64) throws(GATTError) -> [UInt8]? { replies.popLast() }
}
