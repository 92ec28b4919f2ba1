import BLEProtocol
import Foundation
import LockDiagTestSupport
import LockSimulator
import Testing

/// The simulator's GATT server without I/O: PDUs in, PDUs out.
@Suite struct GATTServerTests {
    static let values = GATTServer.Values(deviceName: "LX-300 SIM-0001-000", manufacturer: "Lockdiag Simulated Lock Controllers", model: "LX-300",
                                          serial: "SIM-0001-000", hardwareRevision: "SIM", firmwareRevision: "2.4.1", softwareRevision: "locksim")

    static func server(_ serving: BLEServing = BLEServing(socketPath: "/unused")) -> GATTServer { GATTServer(serving: serving, values: values) }

    static func ask(_ server: GATTServer, _ pdu: ATTPDU, written: inout [UInt8]) -> ATTPDU? {
        server.handle(pdu.bytes, batteryPercent: 77) { written += $0 }.map { try! ATTPDU(bytes: $0) }
    }

    static func ask(_ server: GATTServer, _ pdu: ATTPDU) -> ATTPDU? {
        var ignored: [UInt8] = []
        return ask(server, pdu, written: &ignored)
    }

    @Test func malformedRequestsAreAnsweredWithInvalidPDUOrInvalidHandle() {
        let s = Self.server()
        #expect(s.handle([0x0a, 0x01], batteryPercent: 0) { _ in } == ATTPDU.errorResponse(ATTErrorResponse(request: .readRequest, handle: 0, code: .invalidPDU)).bytes)
        #expect(Self.ask(s, .findInformationRequest(ATTHandleRange(start: 1, end: 2))) != nil)
        #expect(s.handle([0x04, 0x05, 0x00, 0x01, 0x00], batteryPercent: 0) { _ in }
                == ATTPDU.errorResponse(ATTErrorResponse(request: .findInformationRequest, handle: 5, code: .invalidHandle)).bytes)
        // Malformed commands and empty packets get no answer.
        #expect(s.handle([0x52, 0x01], batteryPercent: 0) { _ in } == nil)
        #expect(s.handle([], batteryPercent: 0) { _ in } == nil)
        #expect(s.malformed == 4)
    }

    @Test func theMTUIsExchangedOnceAndResetByANewConnection() {
        let s = Self.server(BLEServing(socketPath: "/unused", receiveMTU: 185))
        #expect(Self.ask(s, .exchangeMTURequest(clientReceiveMTU: 517)) == .exchangeMTUResponse(serverReceiveMTU: 185))
        #expect(s.mtu == 185)
        _ = Self.ask(s, .exchangeMTURequest(clientReceiveMTU: 30))
        #expect(s.mtu == 185)
        s.reset()
        #expect(s.mtu == 23)
    }

    @Test func ldpNotificationsOnlyOnceEnabledAndCutToTheMTU() throws {
        let s = Self.server()
        let stream = [UInt8](repeating: 0xA5, count: 50)
        #expect(s.notifyLDP(stream).isEmpty)
        let cccd = s.ldpDataHandle + 1
        #expect(Self.ask(s, .writeRequest(handle: cccd, value: [0x01])) == .errorResponse(ATTErrorResponse(request: .writeRequest, handle: cccd, code: .invalidAttributeValueLength)))
        #expect(Self.ask(s, .writeRequest(handle: cccd, value: [0x01, 0x00])) == .writeResponse)
        #expect(Self.ask(s, .readRequest(handle: cccd)) == .readResponse([0x01, 0x00]))
        let pdus = try s.notifyLDP(stream).map { try ATTPDU(bytes: $0) }
        #expect(pdus.count == 3)
        var reassembled: [UInt8] = []
        for pdu in pdus {
            guard case .handleValueNotification(let handle, let value) = pdu else { Issue.record("\(pdu)"); continue }
            #expect(handle == s.ldpDataHandle && value.count <= 20)
            reassembled += value
        }
        #expect(reassembled == stream)
        // Writes on the command characteristic reach the lock, with or without response.
        var written: [UInt8] = []
        #expect(Self.ask(s, .writeCommand(handle: s.ldpDataHandle - 2, value: [1, 2]), written: &written) == nil)
        #expect(Self.ask(s, .writeRequest(handle: s.ldpDataHandle - 2, value: [3]), written: &written) == .writeResponse)
        #expect(written == [1, 2, 3])
    }

    @Test func indicationsWaitForTheirConfirmation() throws {
        let s = Self.server(BLEServing(socketPath: "/unused", ldpIndicates: true))
        _ = Self.ask(s, .writeRequest(handle: s.ldpDataHandle + 1, value: [0x02, 0x00]))
        let first = s.notifyLDP([UInt8](repeating: 1, count: 45))
        #expect(first.count == 1)
        #expect(try ATTPDU(bytes: first[0]) == .handleValueIndication(handle: s.ldpDataHandle, value: [UInt8](repeating: 1, count: 20)))
        #expect(s.notifyLDP([]).isEmpty)
        #expect(Self.ask(s, .handleValueConfirmation) == nil)
        #expect(try s.notifyLDP([]).map { try ATTPDU(bytes: $0) } == [.handleValueIndication(handle: s.ldpDataHandle, value: [UInt8](repeating: 1, count: 20))])
        _ = Self.ask(s, .handleValueConfirmation)
        #expect(try s.notifyLDP([]).map { try ATTPDU(bytes: $0) } == [.handleValueIndication(handle: s.ldpDataHandle, value: [1, 1, 1, 1, 1])])
        _ = Self.ask(s, .handleValueConfirmation)
        #expect(s.notifyLDP([]).isEmpty)
    }

    @Test func batteryNotifiesOnChangeOnly() {
        let s = Self.server()
        #expect(s.notifyBattery(80) == nil)
        _ = s.handle(ATTPDU.writeRequest(handle: s.batteryHandle + 1, value: [0x01, 0x00]).bytes, batteryPercent: 80) { _ in }
        #expect(s.notifyBattery(80) == nil)
        #expect(s.notifyBattery(79) == ATTPDU.handleValueNotification(handle: s.batteryHandle, value: [79]).bytes)
        #expect(s.notifyBattery(79) == nil)
    }

    @Test func aStandardLockHasNoLDPAndAPairingLockRefusesValues() {
        let standard = Self.server(BLEServing(socketPath: "/unused", services: .standard))
        guard case .readByGroupTypeResponse(let first) = Self.ask(standard, .readByGroupTypeRequest(.all, type: GATTUUID.primaryService)),
              case .readByGroupTypeResponse(let second) = Self.ask(standard, .readByGroupTypeRequest(ATTHandleRange(start: 0x0e, end: 0xffff), type: GATTUUID.primaryService)) else {
            Issue.record("no services")
            return
        }
        #expect((first + second).map(\.value) == [[0x00, 0x18], [0x01, 0x18], [0x0f, 0x18], [0x0a, 0x18]])
        #expect(standard.notifyLDP([1, 2, 3]).isEmpty)

        let pairing = Self.server(BLEServing(socketPath: "/unused", requirePairing: true))
        #expect(Self.ask(pairing, .readRequest(handle: pairing.batteryHandle)) == .errorResponse(ATTErrorResponse(request: .readRequest, handle: pairing.batteryHandle, code: .insufficientAuthentication)))
        // The GAP service stays readable: a central may learn the name before pairing.
        #expect(Self.ask(pairing, .readRequest(handle: 3)) == .readResponse(Array("LX-300 SIM-0001-000".utf8)))
    }

    /// Any PDU the server could be sent: an answer that is itself a valid PDU, or none; never a crash.
    @Test func arbitraryPDUsGetWellFormedAnswers() {
        let s = Self.server()
        var random = SeededGenerator(seed: 0x6A77)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 12)
            let bytes = [UInt8(truncatingIfNeeded: random.next() % 0x20)] + (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next() % 40) }
            if let answer = s.handle(bytes, batteryPercent: 50, ldpWrite: { _ in }) {
                #expect((try? ATTPDU(bytes: answer)) != nil, "\(bytes.hexString) → \(answer.hexString)")
                #expect(answer.count <= s.mtu)
            }
        }
    }
}

/// What `locksim --ble-adapter` advertises, read back as `lockdiag scan` reads it.
struct LockAdvertisementTests {
    @Test func aFullLockAdvertisesTheLDPServiceAndIsALikelyLock() throws {
        let serving = BLEServing(radio: .adapter("hci0"))
        let (data, response) = serving.advertisement(deviceName: "LX-300 SIM-0003-000")
        #expect(data.count <= Management.maximumAdvertisingBytesWithFlags)
        let heard = try AdvertisingData(bytes: data).merged(with: AdvertisingData(bytes: response))
        #expect(heard.serviceUUIDs == [LDPGATT.service, GATTUUID.batteryService])
        #expect(heard.completeLocalName == "LX-300 SIM-0003-000")
        #expect(LockAssessment.assess(heard).evidence == .ldpService)
    }

    @Test func aStandardServicesLockAdvertisesTheBatteryServiceAndALongNameIsShortened() throws {
        let serving = BLEServing(radio: .adapter("hci0"), services: .standard)
        let name = String(repeating: "N", count: 40)
        let (data, response) = serving.advertisement(deviceName: name)
        let heard = try AdvertisingData(bytes: data).merged(with: AdvertisingData(bytes: response))
        #expect(heard.serviceUUIDs == [GATTUUID.batteryService])
        #expect(LockAssessment.assess(heard).evidence == .batteryService)
        #expect(response.count == Management.maximumAdvertisingBytes)
        #expect(heard.completeLocalName == nil && heard.shortenedLocalName == String(repeating: "N", count: 29))
    }
}
