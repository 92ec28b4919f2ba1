import BLEProtocol
import LockDiagTestSupport
import Testing

/// LE advertising report events as a raw HCI socket delivers them (Core Specification v5.3,
/// Vol 4, Part E, §7.7.65.2), wrapped around the real payloads of AdvertisingDataTests.
@Suite struct HCIEventTests {
    static let h = RealAdvertisements.h

    /// `04 3E len 02 01 | type addrType addr[6] len data rssi`.
    static func legacyPacket(type: UInt8, addressType: UInt8, address: [UInt8], data: [UInt8], rssi: Int8) -> [UInt8] {
        let parameters: [UInt8] = [0x02, 0x01, type, addressType] + address + [UInt8(data.count)] + data + [UInt8(bitPattern: rssi)]
        return [0x04, 0x3E, UInt8(parameters.count)] + parameters
    }

    @Test func legacyReportAroundARealPayload() throws {
        // The address goes on the air least significant byte first.
        let packet = Self.legacyPacket(type: 0x00, addressType: 0x01, address: Self.h("2e 1b 6a 8d 7c c4"),
                                       data: RealAdvertisements.gigasetGTag.prefix(21).map { $0 }, rssi: -61)
        let reports = try HCIEvent.advertisingReports(packet: packet)
        #expect(reports.count == 1)
        let r = try #require(reports.first)
        #expect(r.address.description == "C4:7C:8D:6A:1B:2E/random")
        #expect(r.address.randomKind == "static")
        #expect(r.eventType.connectable && r.eventType.scannable && !r.eventType.scanResponse)
        #expect(r.rssiDBm == -61)
        #expect(try AdvertisingData(bytes: r.data).serviceUUIDs == [BluetoothUUID(0x180F)])
        // The builder the simulator docs use produces the same packet.
        #expect(HCIEvent.advertisingReportPacket(r) == packet)
    }

    @Test func severalReportsOneAfterTheOther() throws {
        var parameters: [UInt8] = [0x02, 0x02]
        parameters += [0x00, 0x00] + Self.h("01 02 03 04 05 06") + [UInt8(RealAdvertisements.cookoo.count)] + RealAdvertisements.cookoo + [0xC4]
        parameters += [0x04, 0x00] + Self.h("01 02 03 04 05 06") + [0x00, 0x7F]
        let reports = try HCIEvent.advertisingReports(packet: [0x04, 0x3E, UInt8(parameters.count)] + parameters)
        #expect(reports.count == 2)
        #expect(reports[0].address.description == "06:05:04:03:02:01")
        #expect(reports[0].rssiDBm == -60)
        #expect(reports[1].eventType.scanResponse)
        #expect(reports[1].rssiDBm == nil)  // 127: not available
    }

    @Test func extendedReport() throws {
        var parameters: [UInt8] = [0x0D, 0x01]
        parameters += [0x13, 0x00, 0x00] + Self.h("aa bb cc dd ee ff") + [0x01, 0x00, 0xFF, 0x08, 0xB5, 0x00, 0x00, 0x00]
        parameters += [UInt8](repeating: 0, count: 6) + [UInt8(RealAdvertisements.mioAlpha.count)] + RealAdvertisements.mioAlpha
        let reports = try HCIEvent.advertisingReports(packet: [0x04, 0x3E, UInt8(parameters.count)] + parameters)
        let r = try #require(reports.first)
        #expect(r.address.description == "FF:EE:DD:CC:BB:AA")
        #expect(r.eventType.connectable && r.eventType.scannable)
        #expect(r.txPowerDBm == 8)
        #expect(r.rssiDBm == -75)
        #expect(try AdvertisingData(bytes: r.data).localName == "ALPHA")
    }

    @Test func otherEventsAreIgnoredAndBrokenOnesRejected() {
        #expect((try? HCIEvent.advertisingReports(packet: [0x04, 0x0E, 0x04, 0x01, 0x0B, 0x20, 0x00])) == [])
        #expect((try? HCIEvent.advertisingReports(packet: [0x02, 0x00, 0x00])) == [])
        #expect(throws: HCIEventError.self) { try HCIEvent.advertisingReports(packet: [0x04, 0x3E, 0x0A, 0x02]) }
        #expect(throws: HCIEventError.badReportCount(0)) { try HCIEvent.advertisingReports(packet: [0x04, 0x3E, 0x02, 0x02, 0x00]) }
        let long = Self.legacyPacket(type: 0, addressType: 0, address: [1, 2, 3, 4, 5, 6], data: [UInt8](repeating: 0, count: 32), rssi: 0)
        #expect(throws: HCIEventError.badDataLength(32, maximum: 31)) { try HCIEvent.advertisingReports(packet: long) }
        #expect(throws: HCIEventError.badAddressType(0x09)) {
            try HCIEvent.advertisingReports(packet: Self.legacyPacket(type: 0, addressType: 9, address: [1, 2, 3, 4, 5, 6], data: [], rssi: 0))
        }
    }

    @Test func arbitraryPacketsNeverCrash() {
        var random = SeededGenerator(seed: 0x3E)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 60)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if bytes.count > 3 && random.next() % 2 == 0 {
                bytes[0] = 0x04
                bytes[1] = 0x3E
                bytes[2] = UInt8(bytes.count - 3)
                bytes[3] = random.next() % 2 == 0 ? 0x02 : 0x0D
            }
            _ = try? HCIEvent.advertisingReports(packet: bytes)
        }
    }

    // MARK: Scan table

    @Test func reportsAreDedupedAndMergedWithScanResponses() throws {
        let citizen = BluetoothAddress(bytes: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55])
        let gtag = BluetoothAddress(bytes: [0xC4, 0x7C, 0x8D, 0x6A, 0x1B, 0x2E], type: .random)
        let adv = LEAdvertisingEventType(legacy: 0x00)!, scanRsp = LEAdvertisingEventType(legacy: 0x04)!
        var table = ScanTable()
        table.add(LEAdvertisingReport(eventType: adv, address: citizen, data: RealAdvertisements.citizenAdvertisement, rssiDBm: -70), at: 1)
        table.add(LEAdvertisingReport(eventType: scanRsp, address: citizen, data: RealAdvertisements.citizenScanResponse, rssiDBm: -66), at: 2)
        table.add(LEAdvertisingReport(eventType: adv, address: citizen, data: RealAdvertisements.citizenAdvertisement, rssiDBm: -80), at: 3)
        table.add(LEAdvertisingReport(eventType: adv, address: gtag, data: RealAdvertisements.gigasetGTag.prefix(21).map { $0 }, rssiDBm: -90), at: 4)
        table.add(LEAdvertisingReport(eventType: adv, address: gtag, data: [0x05, 0x03], rssiDBm: -91), at: 5)
        #expect(table.devices.count == 2)
        #expect(table.reports == 5)
        #expect(table.malformed == 1)
        let c = try #require(table.devices[citizen])
        #expect(c.reports == 3)
        #expect(c.rssiDBm == -80 && c.strongestRSSIDBm == -66)
        #expect(c.data.localName == "Eco-Drive Proximity")
        #expect(c.data.serviceUUIDs == [BluetoothUUID(string: "2d45b460-8db7-11e1-9a46-0002a5d5c51b")!])
        #expect(c.advertisedTXPowerDBm == 0)
        let g = try #require(table.devices[gtag])
        // The malformed report is counted but does not erase what was heard before.
        #expect(g.problem != nil)
        #expect(g.data.serviceUUIDs == [BluetoothUUID(0x180F)])
        // Likely locks first, whatever the signal.
        #expect(table.sorted.map(\.address) == [gtag, citizen])
    }
}
