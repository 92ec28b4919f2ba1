import BLEProtocol
import LockDiagTestSupport
import Testing

/// ATT PDUs against their layouts in Core Specification v5.3, Vol 3, Part F, §3.4.
@Suite struct ATTCodecTests {
    static let h = RealAdvertisements.h

    /// Each PDU and its bytes, laid out by hand from the specification's tables.
    static let vectors: [(ATTPDU, String)] = [
        (.errorResponse(ATTErrorResponse(request: .readRequest, handle: 0x0003, code: .readNotPermitted)), "01 0a 03 00 02"),
        (.exchangeMTURequest(clientReceiveMTU: 247), "02 f7 00"),
        (.exchangeMTUResponse(serverReceiveMTU: 23), "03 17 00"),
        (.findInformationRequest(ATTHandleRange(start: 0x000d, end: 0x000e)), "04 0d 00 0e 00"),
        (.findInformationResponse([ATTHandleUUID(handle: 0x000d, uuid: BluetoothUUID(0x2902))]), "05 01 0d 00 02 29"),
        (.findInformationResponse([ATTHandleUUID(handle: 0x0020, uuid: LDPGATT.command)]),
         "05 02 20 00 a0 db 44 45 8c 73 c2 af 00 45 01 00 31 50 44 4c"),
        (.findByTypeValueRequest(ATTHandleRange.all, type: 0x2800, value: [0x0f, 0x18]), "06 01 00 ff ff 00 28 0f 18"),
        (.findByTypeValueResponse([ATTHandleRange(start: 0x000a, end: 0x000d)]), "07 0a 00 0d 00"),
        (.readByTypeRequest(ATTHandleRange(start: 0x000a, end: 0x000d), type: GATTUUID.characteristic), "08 0a 00 0d 00 03 28"),
        (.readByTypeResponse([ATTHandleValue(handle: 0x000b, value: [0x12, 0x0c, 0x00, 0x19, 0x2a])]), "09 07 0b 00 12 0c 00 19 2a"),
        (.readRequest(handle: 0x000c), "0a 0c 00"),
        (.readResponse([0x57]), "0b 57"),
        (.readBlobRequest(handle: 0x0010, offset: 22), "0c 10 00 16 00"),
        (.readBlobResponse(Array("Controllers".utf8)), "0d 43 6f 6e 74 72 6f 6c 6c 65 72 73"),
        (.readByGroupTypeRequest(ATTHandleRange.all, type: GATTUUID.primaryService), "10 01 00 ff ff 00 28"),
        (.readByGroupTypeResponse([ATTGroupValue(handle: 1, endGroupHandle: 5, value: [0x00, 0x18]),
                                   ATTGroupValue(handle: 6, endGroupHandle: 9, value: [0x01, 0x18])]), "11 06 01 00 05 00 00 18 06 00 09 00 01 18"),
        (.writeRequest(handle: 0x000d, value: [0x01, 0x00]), "12 0d 00 01 00"),
        (.writeResponse, "13"),
        (.writeCommand(handle: 0x001d, value: [0xa5, 0x5a]), "52 1d 00 a5 5a"),
        (.handleValueNotification(handle: 0x000c, value: [0x55]), "1b 0c 00 55"),
        (.handleValueIndication(handle: 0x0008, value: [0x01, 0x00, 0xff, 0xff]), "1d 08 00 01 00 ff ff"),
        (.handleValueConfirmation, "1e"),
        (.other(.prepareWriteRequest, parameters: [0x01, 0x00, 0x00, 0x00, 0xaa]), "16 01 00 00 00 aa"),
    ]

    @Test func everyPDUEncodesToItsLayoutAndBack() throws {
        for (pdu, hex) in Self.vectors {
            #expect(pdu.bytes == Self.h(hex), "\(pdu.opcode)")
            #expect(try ATTPDU(bytes: Self.h(hex)) == pdu, "\(pdu.opcode)")
        }
    }

    @Test func malformedPDUsGetTypedErrors() {
        #expect(throws: ATTDecodeError.empty) { try ATTPDU(bytes: []) }
        #expect(throws: ATTDecodeError.truncated(.readRequest, needed: 2, got: 1)) { try ATTPDU(bytes: [0x0a, 0x01]) }
        #expect(throws: ATTDecodeError.truncated(.errorResponse, needed: 4, got: 3)) { try ATTPDU(bytes: [0x01, 0x0a, 0x01, 0x00]) }
        #expect(throws: ATTDecodeError.invalidRange(.findInformationRequest, ATTHandleRange(start: 5, end: 4))) {
            try ATTPDU(bytes: Self.h("04 05 00 04 00"))
        }
        #expect(throws: ATTDecodeError.invalidRange(.readByTypeRequest, ATTHandleRange(start: 0, end: 4))) {
            try ATTPDU(bytes: Self.h("08 00 00 04 00 03 28"))
        }
        #expect(throws: ATTDecodeError.badUUIDLength(.readByGroupTypeRequest, 4)) { try ATTPDU(bytes: Self.h("10 01 00 ff ff 00 28 00 00")) }
        #expect(throws: ATTDecodeError.badFormat(.findInformationResponse, 3)) { try ATTPDU(bytes: Self.h("05 03 0d 00 02 29")) }
        #expect(throws: ATTDecodeError.badListLength(.readByTypeResponse, entry: 7, total: 8)) {
            try ATTPDU(bytes: Self.h("09 07 0b 00 12 0c 00 19 2a 00"))
        }
        #expect(throws: ATTDecodeError.badListLength(.readByGroupTypeResponse, entry: 3, total: 3)) { try ATTPDU(bytes: Self.h("11 03 01 00 05")) }
        // A malformed request is answered Invalid PDU, a bad range Invalid Handle.
        #expect(ATTDecodeError.truncated(.readRequest, needed: 2, got: 0).responseCode == .invalidPDU)
        #expect(ATTDecodeError.invalidRange(.readByTypeRequest, ATTHandleRange(start: 0, end: 1)).responseCode == .invalidHandle)
    }

    @Test func errorCodesSayWhatTheyAre() {
        #expect(ATTErrorCode.insufficientAuthentication.description == "Insufficient Authentication (0x05)")
        #expect(ATTErrorCode.insufficientEncryption.needsPairing)
        #expect(!ATTErrorCode.invalidHandle.needsPairing)
        #expect(ATTErrorCode(rawValue: 0x85).name == "application error 0x85")
        #expect(ATTErrorResponse(request: .readRequest, handle: 0x2a, code: .readNotPermitted).description
                == "Read Request on handle 0x002A failed: Read Not Permitted (0x02)")
        #expect(ATTOpcode.readRequest.response == .readResponse)
        #expect(ATTOpcode.writeCommand.isCommand && ATTOpcode.writeCommand.response == nil)
    }

    @Test func arbitraryBytesDecodeOrThrowAndReencodeExactly() {
        var random = SeededGenerator(seed: 0xA77)
        let opcodes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x10, 0x11, 0x12, 0x13,
                                0x1b, 0x1d, 0x1e, 0x52, 0x16, 0xd2, 0x77]
        for _ in 0..<30_000 {
            let count = Int(random.next() % 24)
            let bytes = [opcodes[Int(random.next() % UInt64(opcodes.count))]] + (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            guard let pdu = try? ATTPDU(bytes: bytes) else { continue }
            // Only fields the PDU defines are decoded; everything decoded encodes back byte for byte
            // (Exchange MTU and the fixed-size PDUs ignore trailing bytes, which is allowed).
            let encoded = pdu.bytes
            #expect(Array(bytes.prefix(encoded.count)) == encoded, "\(bytes.hexString)")
        }
    }

    // MARK: UUIDs, addresses, GATT declarations

    @Test func uuidForms() throws {
        let battery = BluetoothUUID(0x180F)
        #expect(battery.description == "0x180F")
        #expect(battery.fullText == "0000180f-0000-1000-8000-00805f9b34fb")
        #expect(BluetoothUUID(string: "0000180F-0000-1000-8000-00805F9B34FB") == battery)
        #expect(BluetoothUUID(string: "180f") == battery && BluetoothUUID(string: "0x180F") == battery)
        #expect(BluetoothUUID(littleEndian: [0x0f, 0x18]) == battery)
        #expect(battery.attBytes == [0x0f, 0x18])
        #expect(LDPGATT.service.shortValue == nil)
        #expect(LDPGATT.service.description == "4c445031-0000-4500-afc2-738c4544dba0")
        #expect(BluetoothUUID(littleEndian: LDPGATT.service.fullLittleEndianBytes) == LDPGATT.service)
        #expect(BluetoothUUID(uint32: 0x1234_5678).shortValue == nil && BluetoothUUID(uint32: 0x1234_5678).uint32Value == 0x1234_5678)
        #expect(BluetoothUUID(string: "not-a-uuid") == nil && BluetoothUUID(string: "12345") == nil)
    }

    @Test func addresses() throws {
        let a = try BluetoothAddress(parsing: "c4:7c:8d:6a:1b:2e/random")
        #expect(a.description == "C4:7C:8D:6A:1B:2E/random" && a.type == .random)
        #expect(a.littleEndianBytes == [0x2e, 0x1b, 0x6a, 0x8d, 0x7c, 0xc4])
        #expect(try BluetoothAddress(parsing: "00:11:22:33:44:55/public").description == "00:11:22:33:44:55")
        #expect(throws: BluetoothAddressError.malformed("00:11:22:33:44")) { try BluetoothAddress(parsing: "00:11:22:33:44") }
        #expect(throws: BluetoothAddressError.malformed("00:11:22:33:44:GG")) { try BluetoothAddress(parsing: "00:11:22:33:44:GG") }
        #expect(throws: BluetoothAddressError.badType("00:11:22:33:44:55/static", "static")) { try BluetoothAddress(parsing: "00:11:22:33:44:55/static") }
        #expect(try BluetoothAddress(parsing: "7F:00:00:00:00:01/random").randomKind == "resolvable private")
    }

    @Test func gattDeclarations() throws {
        let c = try GATTCharacteristic(declaration: ATTHandleValue(handle: 0x0b, value: [0x12, 0x0c, 0x00, 0x19, 0x2a]))
        #expect(c.uuid == GATTUUID.batteryLevel && c.valueHandle == 0x0c && c.properties == [.read, .notify])
        #expect(throws: GATTDecodeError.badValueHandle(declaration: 0x0b, value: 0x0a)) {
            try GATTCharacteristic(declaration: ATTHandleValue(handle: 0x0b, value: [0x02, 0x0a, 0x00, 0x19, 0x2a]))
        }
        #expect(throws: GATTDecodeError.self) { try GATTCharacteristic(declaration: ATTHandleValue(handle: 1, value: [0x02, 0x02, 0x00])) }
        #expect(throws: GATTDecodeError.self) { try GATTService(ATTGroupValue(handle: 1, endGroupHandle: 5, value: [0, 0, 0, 0])) }
        #expect(DeviceInformation.text(Array("LX-300\0\0  ".utf8)) == "LX-300")
        #expect(DeviceInformation.text([0, 0]) == nil)
        #expect(BatteryLevel.percent([87]) == 87 && BatteryLevel.percent([101]) == nil && BatteryLevel.percent([]) == nil)
    }

    /// The LDP stream split for notifications or writes: never more than MTU − 3 bytes each,
    /// nothing lost or reordered.
    @Test func ldpStreamFragmentation() {
        var random = SeededGenerator(seed: 23)
        for mtu in [23, 24, 185, 247, 517] {
            for _ in 0..<50 {
                let stream = (0..<Int(random.next() % 1200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                let chunks = LDPGATT.fragment(stream, mtu: mtu)
                #expect(chunks.allSatisfy { !$0.isEmpty && $0.count <= mtu - 3 })
                #expect(chunks.flatMap { $0 } == stream)
                #expect(chunks.dropLast().allSatisfy { $0.count == mtu - 3 })
            }
        }
    }
}
