import BLEProtocol
import BLETransport
import Foundation
import LinuxIO
import LockDiagTestSupport
import LockProtocol
import LockSimulator
import Testing

/// A simulated BLE lock (the simulator's GATT server on its own thread) and a GATT client
/// connected to it over a real Unix SOCK_SEQPACKET socket: one ATT PDU per packet.
final class GATTRig {
    let directory: TemporaryDirectory
    let simulator: SimulatorServer
    let path: String

    init(scenario: Scenario = .healthy, services: BLEServing.Services = .full, mtu: Int = 247, requirePairing: Bool = false,
         activitySeconds: Double? = nil) throws {
        directory = try TemporaryDirectory(prefix: "gatt")
        path = directory.path + "/lock.att"
        let serving = BLEServing(socketPath: path, services: services, receiveMTU: mtu, requirePairing: requirePairing)
        simulator = try SimulatorServer(configurations: [SimulatorConfiguration(
            scenario: scenario, seed: 11, activityIntervalNanoseconds: activitySeconds.map { UInt64($0 * 1e9) }, ble: serving)])
        try simulator.start()
    }

    /// A new connection and a client on it.
    func connect(timeoutSeconds: Double = 5) throws -> (GATTClient, ATTSocket) {
        let socket = ATTSocket(fd: try SeqPacket.connect(path))
        return (GATTClient(bearer: socket, transactionTimeoutSeconds: timeoutSeconds), socket)
    }

    deinit {
        simulator.stop()
        directory.remove()
    }
}

@Suite struct GATTClientTests {
    @Test(arguments: [(247, 23, 23), (247, 247, 247), (517, 247, 247), (23, 247, 23), (100, 247, 100)])
    func mtuExchangeTakesTheSmallerSide(client: Int, server: Int, expected: Int) throws {
        let rig = try GATTRig(mtu: server)
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        #expect(try gatt.exchangeMTU(receiveMTU: client) == expected)
        #expect(gatt.mtu == expected)
    }

    @Test func discoveryFindsEveryServiceCharacteristicAndDescriptor() throws {
        let rig = try GATTRig()
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        // At the default MTU of 23 the 128-bit LDP service needs a discovery round of its own.
        let services = try gatt.discoverPrimaryServices()
        #expect(services.map(\.uuid) == [GATTUUID.genericAccessService, GATTUUID.genericAttributeService, GATTUUID.batteryService,
                                         GATTUUID.deviceInformationService, LDPGATT.service])
        // Groups are contiguous and in order.
        for (a, b) in zip(services, services.dropFirst()) { #expect(a.handles.end + 1 == b.handles.start) }

        let dis = try gatt.discoverCharacteristics(of: services[3])
        #expect(dis.map(\.uuid) == [GATTUUID.manufacturerName, GATTUUID.modelNumber, GATTUUID.serialNumber,
                                    GATTUUID.hardwareRevision, GATTUUID.firmwareRevision, GATTUUID.softwareRevision])
        #expect(dis.allSatisfy { $0.properties == .read })

        let ldp = try gatt.discoverCharacteristics(of: services[4])
        #expect(ldp.map(\.uuid) == [LDPGATT.command, LDPGATT.responseEvent])
        #expect(ldp[0].properties == [.write, .writeWithoutResponse])
        #expect(ldp[1].properties == .notify)
        #expect(ldp[1].endHandle == services[4].handles.end)
        let descriptors = try gatt.discoverDescriptors(of: ldp[1])
        #expect(descriptors.map(\.uuid) == [GATTUUID.clientCharacteristicConfiguration])

        let battery = try #require(try gatt.discoverCharacteristics(of: services[2]).first)
        #expect(battery.uuid == GATTUUID.batteryLevel && battery.properties == [.read, .notify])
        #expect(try gatt.discoverDescriptors(of: battery).map(\.uuid) == [GATTUUID.clientCharacteristicConfiguration])
    }

    /// The manufacturer name is 35 bytes: at MTU 23 a Read Response carries 22, so the client
    /// must continue with Read Blob; at 247 one read is enough.
    @Test(arguments: [23, 247]) func longReads(mtu: Int) throws {
        let rig = try GATTRig(mtu: mtu)
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        try gatt.exchangeMTU(receiveMTU: 247)
        let dis = try gatt.discoverCharacteristics(of: try #require(try gatt.discoverPrimaryServices().first { $0.uuid == GATTUUID.deviceInformationService }))
        let manufacturer = try #require(dis.first { $0.uuid == GATTUUID.manufacturerName })
        let value = try gatt.read(manufacturer.valueHandle)
        #expect(String(decoding: value, as: UTF8.self) == "Lockdiag Simulated Lock Controllers")
        let serial = try #require(dis.first { $0.uuid == GATTUUID.serialNumber })
        #expect(String(decoding: try gatt.read(serial.valueHandle), as: UTF8.self) == "SIM-000B-000")
    }

    @Test func setUpReadsTheStandardServicesAndEnablesTheLDPStream() throws {
        let rig = try GATTRig(scenario: .batteryLow, mtu: 23)
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        let profile = try GATTSetup.run(gatt, endpoint: .attSocket(path: rig.path), receiveMTU: 247)
        #expect(profile.mtu == 23)
        #expect(profile.serviceNames == ["ldp", "battery", "device_information"])
        #expect(profile.deviceInformation == DeviceInformation(manufacturer: "Lockdiag Simulated Lock Controllers", model: "LX-300",
                                                              serial: "SIM-000B-000", hardwareRevision: "SIM", firmwareRevision: "2.4.1",
                                                              softwareRevision: "locksim"))
        let percent = try #require(profile.batteryPercent)
        #expect((10...14).contains(percent))
        let ldp = try #require(profile.ldp)
        #expect(ldp.commandWithoutResponse && !ldp.dataIndicates)
        #expect(profile.battery?.notifies == true)

        let standard = try GATTRig(services: .standard)
        let (plain, plainSocket) = try standard.connect()
        defer { FileIO.close(plainSocket.fd) }
        let basic = try GATTSetup.run(plain, endpoint: .attSocket(path: standard.path), receiveMTU: 247)
        #expect(basic.ldp == nil)
        #expect(basic.serviceNames == ["battery", "device_information"])
        #expect(basic.deviceInformation.model == "LX-300")
    }

    /// IDENTIFY written in one Write Command; its response (longer than 20 bytes) comes back in
    /// several notifications at MTU 23, one at 247, and reassembles into the same frame.
    @Test(arguments: [23, 247]) func ldpNotificationsFragmentAndReassemble(mtu: Int) throws {
        let rig = try GATTRig(mtu: mtu)
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        let profile = try GATTSetup.run(gatt, endpoint: .attSocket(path: rig.path), receiveMTU: 247)
        let ldp = try #require(profile.ldp)
        try gatt.writeWithoutResponse(ldp.commandHandle, Request.identify.frame(seq: 7).encoded)
        let decoder = FrameDecoder()
        var frames: [Frame] = []
        var sizes: [Int] = []
        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while !frames.contains(where: { $0.header.kind == .response }), let n = try gatt.nextNotification(deadlineNanoseconds: deadline) {
            #expect(n.handle == ldp.dataHandle)
            sizes.append(n.value.count)
            decoder.feed(n.value) { if case .frame(let f) = $0 { frames.append(f.copied()) } }
        }
        let response = try #require(frames.first { $0.header.kind == .response })
        #expect(response.header.seq == 7)
        guard case .response(.identify(let identity)) = try Message(response) else {
            Issue.record("not an IDENTIFY response")
            return
        }
        #expect(identity.serial == "SIM-000B-000")
        #expect(sizes.allSatisfy { $0 <= mtu - 3 })
        if mtu == 23 { #expect(sizes.count > 1) }
        #expect(decoder.counters.crcErrors == 0 && decoder.counters.noiseBytes == 0)
    }

    @Test func batteryLevelNotifiesWhenItChanges() throws {
        let rig = try GATTRig()
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        let profile = try GATTSetup.run(gatt, endpoint: .attSocket(path: rig.path), receiveMTU: 247)
        let battery = try #require(profile.battery)
        #expect((profile.batteryPercent ?? 0) > 80)
        try rig.simulator.setScenario(.batteryLow, lock: 0)
        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        var level: Int?
        while level == nil, let n = try gatt.nextNotification(deadlineNanoseconds: deadline) {
            if n.handle == battery.valueHandle { level = BatteryLevel.percent(n.value) }
        }
        #expect((level ?? 100) < 20)
    }

    @Test func errorResponsesAreTyped() throws {
        let rig = try GATTRig()
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        let profile = try GATTSetup.run(gatt, endpoint: .attSocket(path: rig.path), receiveMTU: 23)
        let ldp = try #require(profile.ldp)
        func code(_ body: () throws -> Void) -> ATTErrorCode? {
            do { try body() } catch let error as GATTError {
                if case .attError(let e) = error { return e.code }
            } catch {}
            return nil
        }
        #expect(code { _ = try gatt.read(0x0FFF) } == .invalidHandle)
        #expect(code { _ = try gatt.read(ldp.commandHandle) } == .readNotPermitted)
        #expect(code { try gatt.write(ldp.dataHandle, [0x01]) } == .writeNotPermitted)
        #expect(code { try gatt.write(ldp.dataHandle + 1, [0x01]) } == .invalidAttributeValueLength)
        #expect(code { _ = try gatt.transact(.readBlobRequest(handle: 3, offset: 200)) } == .invalidOffset)
        #expect(code { _ = try gatt.transact(.readBlobRequest(handle: 3, offset: 0)) } != nil)
        #expect(code { _ = try gatt.transact(.readByGroupTypeRequest(.all, type: GATTUUID.characteristic)) } == .unsupportedGroupType)
        #expect(code { _ = try gatt.transact(.other(.prepareWriteRequest, parameters: [1, 0, 0, 0, 0])) } == .requestNotSupported)
        // Error responses do not spoil the connection.
        #expect(BatteryLevel.percent(try gatt.read(try #require(profile.battery).valueHandle)) != nil)
    }

    @Test func aLockThatWantsPairingSaysSo() throws {
        let rig = try GATTRig(requirePairing: true)
        let (gatt, socket) = try rig.connect()
        defer { FileIO.close(socket.fd) }
        do {
            _ = try GATTSetup.run(gatt, endpoint: .attSocket(path: rig.path), receiveMTU: 247)
            Issue.record("set-up succeeded on a lock that wants pairing")
        } catch {
            guard case .gatt(_, .attError(let e)) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(e.code == .insufficientAuthentication)
            #expect(error.description.contains("--ble-security medium"))
            #expect(error.description.contains("bluetoothctl pair"))
        }
    }

    /// A hung GATT server: the request times out with a typed error, and the client refuses to
    /// use the bearer again (ATT's rule after a transaction timeout).
    @Test func transactionTimeoutPoisonsTheBearer() throws {
        let rig = try GATTRig()
        let (gatt, socket) = try rig.connect(timeoutSeconds: 0.3)
        defer { FileIO.close(socket.fd) }
        let services = try gatt.discoverPrimaryServices()
        try rig.simulator.hang(lock: 0)
        let started = MonotonicClock.nanoseconds()
        #expect(throws: GATTError.transactionTimedOut(.readRequest, seconds: 0.3)) { _ = try gatt.read(services[0].handles.start + 2) }
        #expect(MonotonicClock.nanoseconds() - started >= 300_000_000)
        try rig.simulator.resume(lock: 0)
        #expect(throws: GATTError.transactionTimedOut(.readRequest, seconds: 0.3)) { _ = try gatt.read(3) }
        #expect(GATTError.transactionTimedOut(.readRequest, seconds: 30).description.contains("ATT transaction timeout"))
    }

    /// A peer that sends garbage, answers with the wrong PDU, or asks us things.
    @Test func misbehavingPeer() throws {
        let (mine, theirs) = try SeqPacket.pair()
        defer {
            FileIO.close(mine)
            FileIO.close(theirs)
        }
        let gatt = GATTClient(bearer: ATTSocket(fd: mine), transactionTimeoutSeconds: 2)
        let peer = Thread {
            func receive() -> [UInt8] {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 600, alignment: 1)
                defer { buffer.deallocate() }
                while true {
                    if let n = try? SeqPacket.receive(theirs, into: buffer), n > 0 { return Array(buffer[0..<n]) }
                    usleep(1000)
                }
            }
            // 1: a request of its own (must be refused), an unknown opcode, then the answer.
            _ = receive()
            _ = try? SeqPacket.send(theirs, ATTPDU.readRequest(handle: 1).bytes)
            _ = try? SeqPacket.send(theirs, [0x3F, 0x00])
            _ = try? SeqPacket.send(theirs, ATTPDU.handleValueIndication(handle: 9, value: [1]).bytes)
            _ = try? SeqPacket.send(theirs, ATTPDU.readResponse([0x42]).bytes)
            // 2: a malformed answer.
            _ = receive()
            _ = try? SeqPacket.send(theirs, [0x0B])
            _ = try? SeqPacket.send(theirs, [0x09, 0x07, 0x01])
        }
        peer.start()
        #expect(try gatt.read(5) == [0x42])
        #expect(gatt.notifications == [ATTNotification(handle: 9, value: [1], indicated: true)])
        #expect(throws: GATTError.malformed(.badListLength(.readByTypeResponse, entry: 7, total: 1))) {
            _ = try gatt.transact(.readByTypeRequest(.all, type: GATTUUID.characteristic))
        }
    }
}
