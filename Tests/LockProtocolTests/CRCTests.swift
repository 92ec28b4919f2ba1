import LockProtocol
import Testing

@Suite struct CRCTests {
    // Check values from the reveng CRC catalogue, as quoted in ldp-v1.md §3.1.
    @Test func checkValuesMatchTheCatalogue() {
        let check = Array("123456789".utf8)
        #expect(CRC.crc8(check) == 0xF4)
        #expect(CRC.crc16(check) == 0x29B1)
    }

    @Test func emptyInputGivesTheInitialValue() {
        #expect(CRC.crc8([]) == 0x00)
        #expect(CRC.crc16([]) == 0xFFFF)
    }
}
