import BLEProtocol
import LockDiagTestSupport
import Testing

/// Advertising payloads captured from real devices. The bytes and the expected decodings are
/// facts taken from BlueZ's unit/test-eir.c (github.com/bluez/bluez), as collected in the
/// project notes (ble-ad-vectors.md); BlueZ's code is not used.
enum RealAdvertisements {
    /// Hex with spaces, as the notes write it.
    static func h(_ text: String) -> [UInt8] { [UInt8](hex: text.replacingOccurrences(of: " ", with: "")) }

    /// Wahoo BlueSC v1.4 (`bluesc_data`).
    static let wahooBlueSC = h("02 01 06 03 02 16 18 12 09 57 61 68 6f 6f 20 42 6c 75 65 53 43 20 76 31 2e 34")
    /// Wahoo Scale v1.3 (`wahoo_scale_data`).
    static let wahooScale = h("02 01 06 03 02 01 19 11 09 57 61 68 6f 6f 20 53 63 61 6c 65 20 76 31 2e 33 05 ff 00 00 00 9c")
    /// Mio ALPHA heart-rate strap (`mio_alpha_data`).
    static let mioAlpha = h("02 01 06 03 02 0d 18 06 09 41 4c 50 48 41")
    /// COOKOO watch (`cookoo_data`).
    static let cookoo = h("02 01 05 05 02 02 18 0a 18 0d 09 43 4f 4f 4b 4f 4f 20 77 61 74 63 68")
    /// Citizen Eco-Drive Proximity, advertisement (`citizen_adv_data`).
    static let citizenAdvertisement = h("02 01 05 05 12 7f 01 8f 01 14 09 45 63 6f 2d 44 72 69 76 65 20 50 72 6f 78 69 6d 69 74 79")
    /// Citizen Eco-Drive Proximity, scan response (`citizen_scan_data`).
    static let citizenScanResponse = h("02 0a 00 11 07 1b c5 d5 a5 02 00 46 9a e1 11 b7 8d 60 b4 45 2d")
    /// Gigaset G-tag (`gigaset_gtag_data`), with its trailing zero padding.
    static let gigasetGTag = h("02 01 06 0d ff 80 01 02 15 12 34 80 91 d0 f2 bb c5 03 02 0f 18 00 00 00 00 00 00 00 00 00")
    /// URI beacon (`uri_beacon_data`).
    static let uriBeacon = h("03 03 d8 fe 0c 16 d8 fe 00 20 00 62 6c 75 65 7a 08")
    /// Nike+ FuelBand (`fuelband_data`, classic EIR in AD structure form). The notes give the
    /// 128-bit UUID as BlueZ decodes it (ffcacade-afde-cade-defa-cade00000000); its 16 bytes here
    /// are that UUID in on-air (least significant first) order.
    static let fuelband = h("0f 09 4e 69 6b 65 2b 20 46 75 65 6c 42 61 6e 64") + h("11 07 00 00 00 00 de ca fa de de ca de af de ca ca ff")
        + h("02 0a 00")
}

@Suite struct AdvertisingDataTests {
    @Test func wahooBlueSC() throws {
        let ad = try AdvertisingData(bytes: RealAdvertisements.wahooBlueSC)
        #expect(ad.flags == ADFlags(rawValue: 0x06))
        #expect(ad.flags?.names == ["le-general-discoverable", "br-edr-not-supported"])
        #expect(ad.serviceUUIDs == [BluetoothUUID(0x1816)])
        #expect(ad.serviceListIncomplete)
        #expect(ad.completeLocalName == "Wahoo BlueSC v1.4")
        #expect(ad.bytes == RealAdvertisements.wahooBlueSC)
    }

    @Test func wahooScaleManufacturerData() throws {
        let ad = try AdvertisingData(bytes: RealAdvertisements.wahooScale)
        #expect(ad.flags?.rawValue == 0x06)
        #expect(ad.serviceUUIDs == [BluetoothUUID(0x1901)])
        #expect(ad.localName == "Wahoo Scale v1.3")
        #expect(ad.manufacturerData == [ADManufacturerData(companyID: 0x0000, data: [0x00, 0x9c])])
    }

    @Test func mioAlphaAndCookoo() throws {
        let mio = try AdvertisingData(bytes: RealAdvertisements.mioAlpha)
        #expect(mio.serviceUUIDs == [BluetoothUUID(0x180D)])
        #expect(mio.localName == "ALPHA")
        let cookoo = try AdvertisingData(bytes: RealAdvertisements.cookoo)
        #expect(cookoo.flags?.rawValue == 0x05)
        #expect(cookoo.flags?.contains(.limitedDiscoverable) == true)
        #expect(cookoo.serviceUUIDs == [BluetoothUUID(0x1802), BluetoothUUID(0x180A)])
        #expect(cookoo.localName == "COOKOO watch")
        // Device Information alone does not make a lock.
        #expect(LockAssessment.assess(cookoo).evidence == nil)
    }

    @Test func citizenAdvertisementAndScanResponse() throws {
        let adv = try AdvertisingData(bytes: RealAdvertisements.citizenAdvertisement)
        #expect(adv.flags?.rawValue == 0x05)
        let range = try #require(adv.peripheralConnectionIntervalRange)
        #expect(range.minimum == 0x017f && range.maximum == 0x018f)
        #expect(adv.localName == "Eco-Drive Proximity")
        let scan = try AdvertisingData(bytes: RealAdvertisements.citizenScanResponse)
        #expect(scan.txPowerLevelDBm == 0)
        #expect(scan.serviceUUIDs == [BluetoothUUID(string: "2d45b460-8db7-11e1-9a46-0002a5d5c51b")!])
        #expect(!scan.serviceListIncomplete)
        // Merged as a scan does: the name from one, the UUID from the other.
        let merged = adv.merged(with: scan)
        #expect(merged.localName == "Eco-Drive Proximity" && merged.serviceUUIDs.count == 1)
    }

    @Test func gigasetGTagBatteryServiceAndPadding() throws {
        let ad = try AdvertisingData(bytes: RealAdvertisements.gigasetGTag)
        #expect(ad.flags?.rawValue == 0x06)
        #expect(ad.manufacturerData == [ADManufacturerData(companyID: 0x0180, data: RealAdvertisements.h("02 15 12 34 80 91 d0 f2 bb c5"))])
        #expect(ad.serviceUUIDs == [BluetoothUUID(0x180F)])
        // The zero length ends the data: the padding is not a structure.
        #expect(ad.structures.count == 3)
        let verdict = LockAssessment.assess(ad)
        #expect(verdict.evidence == .batteryService)
        #expect(verdict.isLikelyLock)
    }

    @Test func uriBeaconServiceData() throws {
        let ad = try AdvertisingData(bytes: RealAdvertisements.uriBeacon)
        #expect(ad.serviceUUIDs == [BluetoothUUID(0xFED8)])
        #expect(ad.serviceData == [ADServiceData(uuid: BluetoothUUID(0xFED8), data: [0x00, 0x20, 0x00] + Array("bluez".utf8) + [0x08])])
    }

    @Test func fuelband128BitUUIDAndTXPower() throws {
        let ad = try AdvertisingData(bytes: RealAdvertisements.fuelband)
        #expect(ad.localName == "Nike+ FuelBand")
        #expect(ad.serviceUUIDs == [BluetoothUUID(string: "ffcacade-afde-cade-defa-cade00000000")!])
        #expect(ad.txPowerLevelDBm == 0)
    }

    // MARK: Malformed data

    @Test func lengthPastTheEndIsTruncated() {
        // Wahoo Scale with its last structure cut short by one byte.
        let cut = Array(RealAdvertisements.wahooScale.dropLast())
        #expect(throws: AdvertisingDataError.truncated(offset: 25, length: 5, available: 4)) { try AdvertisingData(bytes: cut) }
        // What came before the problem is still there for a listing.
        let (partial, problem) = AdvertisingData.parse(cut)
        #expect(problem != nil)
        #expect(partial.localName == "Wahoo Scale v1.3")
    }

    @Test func impossibleFieldSizesAreRejected() {
        #expect(throws: AdvertisingDataError.badLength(offset: 0, type: 0x03, length: 3, expected: "a multiple of 2 bytes")) {
            try AdvertisingData(bytes: [0x04, 0x03, 0x0F, 0x18, 0x0A])
        }
        #expect(throws: AdvertisingDataError.self) { try AdvertisingData(bytes: [0x03, 0x0A, 0x00, 0x00]) }
        #expect(throws: AdvertisingDataError.self) { try AdvertisingData(bytes: [0x02, 0xFF, 0x4C]) }
        #expect(throws: AdvertisingDataError.self) { try AdvertisingData(bytes: [0x10, 0x07] + [UInt8](repeating: 0, count: 15)) }
    }

    @Test func emptyAndUnknownTypes() throws {
        #expect(try AdvertisingData(bytes: []).structures.isEmpty)
        let ad = try AdvertisingData(bytes: [0x03, 0x42, 0x01, 0x02])
        #expect(ad.structures == [ADStructure(type: 0x42, data: [0x01, 0x02])])
        #expect(ad.localName == nil && ad.flags == nil && ad.serviceUUIDs.isEmpty)
    }

    /// Any bytes: a value or a typed error, never a crash; and what parses re-encodes to the
    /// bytes it came from (up to the terminating zero).
    @Test func arbitraryBytesNeverCrash() {
        var random = SeededGenerator(seed: 0xAD)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 40)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next() % 4 == 0 ? random.next() % 6 : random.next()) }
            if let ad = try? AdvertisingData(bytes: bytes) {
                #expect(Array(bytes.prefix(ad.bytes.count)) == ad.bytes)
                _ = (ad.localName, ad.serviceUUIDs, ad.serviceData, ad.manufacturerData, ad.txPowerLevelDBm, ad.appearance,
                     ad.peripheralConnectionIntervalRange, ad.iBeaconProximityUUID, ad.solicitedServiceUUIDs)
            }
        }
    }

    // MARK: Lock assessment

    @Test func ldpAndVendorServicesMarkLocks() {
        let ldp = AdvertisingData(structures: [ADStructure(type: ADType.completeUUID128, data: LDPGATT.service.fullLittleEndianBytes)])
        #expect(LockAssessment.assess(ldp).evidence == .ldpService)
        let august = AdvertisingData(structures: [ADStructure(type: ADType.completeUUID16, data: [0x24, 0xFE])])
        #expect(LockAssessment.assess(august).evidence == .vendorService)
        // A Nuki lock's iBeacon: Apple's company id, 0x02 0x15, the Keyturner service UUID most significant byte first.
        let beacon = RealAdvertisements.h("4c 00 02 15 a9 2e e2 00 55 01 11 e4 91 6c 08 00 20 0c 9a 66 2f 1d 6d 6c c5")
        let nuki = AdvertisingData(structures: [ADStructure(type: ADType.manufacturerSpecificData, data: beacon)])
        #expect(nuki.iBeaconProximityUUID == BluetoothUUID(string: "a92ee200-5501-11e4-916c-0800200c9a66"))
        let verdict = LockAssessment.assess(nuki)
        #expect(verdict.evidence == .vendorService)
        #expect(verdict.reason?.contains("Nuki") == true)
    }
}
