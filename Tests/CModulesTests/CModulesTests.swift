import CBlueZ
import CLibUSB
import CLockDiagSys
import CUdev
import Testing

/// Each C module links and answers one real call into its library.
@Suite struct CModulesTests {
    @Test func libusbInitialisesAContext() throws {
        var context: OpaquePointer?
        let rc = libusb_init(&context)
        #expect(rc == 0, "libusb_init returned \(rc)")
        #expect(context != nil)
        if let context { libusb_exit(context) }
        let version = libusb_get_version().pointee
        #expect(version.major == 1)
    }

    @Test func libbluetoothRoundTripsAnAddress() {
        var address = bdaddr_t()
        #expect(str2ba("AA:BB:CC:DD:EE:0F", &address) == 0)
        // bdaddr_t is little-endian: the last printed octet is stored first.
        #expect(address.b.0 == 0x0F && address.b.5 == 0xAA)
        var text = [CChar](repeating: 0, count: 18)
        #expect(ba2str(&address, &text) == 17)
        #expect(String(decoding: text.prefix(17).map { UInt8(bitPattern: $0) }, as: UTF8.self) == "AA:BB:CC:DD:EE:0F")
    }

    @Test func libudevCreatesAContext() {
        let udev = udev_new()
        #expect(udev != nil)
        if let udev { udev_unref(udev) }
    }

    @Test func shimMapsBaudRates() {
        #expect(lockdiag_speed_for_baud(115_200) == speed_t(B115200))
        #expect(lockdiag_baud_for_speed(speed_t(B9600)) == 9600)
        #expect(lockdiag_speed_for_baud(12_345) == 0)
    }
}
