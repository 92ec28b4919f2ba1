import CLibUSB
import LockProtocol
import Testing
@testable import USBTransport

/// Every libusb return code has a name and advice, and they agree with libusb's own names.
@Suite struct USBErrorTests {
    @Test func everyLibusbErrorCodeIsNamedAsLibusbNamesIt() {
        // libusb.h lists 14 codes (LIBUSB_ERROR_COUNT), success included.
        #expect(LibUSBCode.allCases.count + 1 == Int(LIBUSB_ERROR_COUNT))
        for code in LibUSBCode.allCases {
            #expect(String(cString: libusb_error_name(code.rawValue)) == code.name)
            #expect(!code.advice.isEmpty)
        }
        // A code a later libusb might add reads as OTHER rather than trapping.
        #expect(LibUSBCode(returned: -42) == .other)
    }

    @Test func everyTransferStatusIsNamedAsLibusbNamesIt() {
        for status in USBTransferStatus.allCases {
            #expect(String(cString: libusb_error_name(Int32(status.rawValue))) == status.name || status == .completed)
        }
        #expect(USBTransferStatus.noDevice.rawValue == LIBUSB_TRANSFER_NO_DEVICE.rawValue)
        #expect(USBTransferStatus.stall.rawValue == LIBUSB_TRANSFER_STALL.rawValue)
        #expect(USBTransferStatus.overflow.rawValue == LIBUSB_TRANSFER_OVERFLOW.rawValue)
    }

    @Test func noDeviceIsADisconnectAndSaysToPlugItBackIn() {
        let unplugged = USBError.call("libusb_submit_transfer", .noDevice, device: "1-3")
        #expect(unplugged.isDisconnect)
        #expect(unplugged.description.contains("LIBUSB_ERROR_NO_DEVICE"))
        #expect(unplugged.description.contains("plug it back in"))
        #expect(USBError.transfer(.noDevice, endpoint: 0x81, device: "1-3").isDisconnect)
        #expect(!USBError.call("libusb_open", .access, device: "1-3").isDisconnect)
        #expect(USBError.call("libusb_open", .access, device: "1-3").description.contains("group lockdiag"))
        #expect(USBError.notPresent(.serial("LX3-1")).description.contains("with serial number LX3-1"))
    }
}

@Suite struct USBAddressTests {
    @Test func portPathsAndSerialNumbers() {
        #expect(USBAddress("1-3") == .port(bus: 1, ports: [3]))
        #expect(USBAddress("2-1.4.2") == .port(bus: 2, ports: [1, 4, 2]))
        #expect(USBAddress("1-1.4").text == "1-1.4")
        #expect(USBAddress("LX3-000123") == .serial("LX3-000123"))
        #expect(USBAddress("1-") == .serial("1-"))
        #expect(USBAddress("0-1") == .serial("0-1"))
        #expect(USBAddress("1-0") == .serial("1-0"))
        #expect(USBAddress("1-1.1.1.1.1.1.1.1") == .serial("1-1.1.1.1.1.1.1.1"))  // USB allows 7 tiers of hubs
        #expect(USBAddress("usb1") == .serial("usb1"))
    }
}

@Suite struct ByteRingTests {
    @Test func bytesComeOutInOrderAcrossTheWrap() {
        let ring = ByteRing(capacity: 8)
        var output = [UInt8](repeating: 0, count: 16)
        var expected: [UInt8] = []
        var received: [UInt8] = []
        var next: UInt8 = 0
        for round in 0..<50 {
            let chunk = (0..<(round % 5 + 1)).map { _ -> UInt8 in next &+= 1; return next }
            let taken = chunk.withUnsafeBytes { ring.write($0) }
            expected += chunk[0..<taken]
            let n = output.withUnsafeMutableBytes { ring.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(round % 3 + 1)])) }
            received += output[0..<n]
        }
        while true {
            let n = output.withUnsafeMutableBytes { ring.read(into: $0) }
            if n == 0 { break }
            received += output[0..<n]
        }
        #expect(received == expected)
    }

    @Test func aFullRingTakesNoMoreAndSaysSo() {
        let ring = ByteRing(capacity: 4)
        let bytes: [UInt8] = [1, 2, 3, 4, 5, 6]
        #expect(bytes.withUnsafeBytes { ring.write($0) } == 4)
        #expect(bytes.withUnsafeBytes { ring.write($0) } == 0)
        #expect(ring.count == 4)
    }
}

/// usb.md §2.2: an OUT transfer must be accepted within 100 ms and the answer's IN transfer end
/// within 100 ms, LDP/1's response deadline; what happens past them is USBPromiseTests'
/// `anExchangeThatRunsOutOfTimeIsATimeoutAndTheNextOneIsTried`.
@Suite struct USBTimeoutTests {
    @Test func exchangesAreHeldToLDPsResponseDeadline() {
        let timeouts = USBTimeouts()
        #expect(timeouts.outMilliseconds == 100)
        #expect(UInt64(timeouts.inMilliseconds) * 1_000_000 == LDP.responseDeadlineNanoseconds)
    }
}
