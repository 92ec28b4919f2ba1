import BLEProtocol
import LockDiagTestSupport
import Testing

/// The kernel's Bluetooth management API packets `locksim --ble-adapter` exchanges. The layouts
/// are BlueZ's doc/mgmt-api.txt ("Packet Structures", "Read Controller Information", "Set
/// Powered", "Add Advertising", "Remove Advertising", "Error Codes"); the bytes below are written
/// from that text field by field.
struct ManagementTests {
    @Test func commandsAreHeaderThenParametersLittleEndian() throws {
        // Opcode 0x0005, index 1, length 1, Powered 1.
        #expect(Management.setPowered(index: 1, on: true) == [0x05, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01])
        #expect(Management.command(.readControllerInformation, index: 0) == [0x04, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(Management.removeAdvertising(index: 2, instance: 1) == [0x3F, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01])
    }

    @Test func addAdvertisingCarriesFlagsDurationTimeoutAndBothPayloads() throws {
        let data: [UInt8] = [0x03, 0x02, 0x0F, 0x18]
        let response: [UInt8] = [0x03, 0x09, 0x4C, 0x58]
        let packet = try Management.addAdvertising(index: 0, instance: 1, flags: [.connectable, .generalDiscoverable], data: data,
                                                   scanResponse: response)
        // Instance 1, Flags 0x00000003, Duration 0, Timeout 0, lengths 4 and 4, the payloads.
        let parameters: [UInt8] = [0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x04] + data + response
        #expect(packet == [0x3E, 0x00, 0x00, 0x00, UInt8(parameters.count), 0x00] + parameters)
    }

    @Test func advertisingDataThatDoesNotFitIsRefused() {
        // With the kernel's Flags structure in front, 28 of the 31 bytes are left.
        #expect(throws: ManagementError.tooLong("advertising data", 29, maximum: 28)) {
            try Management.addAdvertising(index: 0, instance: 1, flags: [.generalDiscoverable], data: [UInt8](repeating: 0, count: 29), scanResponse: [])
        }
        #expect(throws: ManagementError.tooLong("scan response", 32, maximum: 31)) {
            try Management.addAdvertising(index: 0, instance: 1, flags: [], data: [], scanResponse: [UInt8](repeating: 0, count: 32))
        }
    }

    @Test func repliesAreMatchedToTheirCommandAndControllerAndFailuresSayWhatToDo() throws {
        // Command Complete on hci0 for Remove Advertising (0x003F), status 0, Instance 1.
        let complete = try Management.Event(packet: [0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x3F, 0x00, 0x00, 0x01])
        #expect(try complete.reply(to: .removeAdvertising, index: 0) == [0x01])
        #expect(try complete.reply(to: .addAdvertising, index: 0) == nil)
        #expect(try complete.reply(to: .removeAdvertising, index: 1) == nil)
        // Command Status on hci3 for Add Advertising (0x003E): Rejected (0x0B).
        let status = try Management.Event(packet: [0x02, 0x00, 0x03, 0x00, 0x03, 0x00, 0x3E, 0x00, 0x0B])
        #expect(throws: ManagementError.failed(.addAdvertising, index: 3, status: 0x0B)) { try status.reply(to: .addAdvertising, index: 3) }
        #expect(ManagementError.failed(.addAdvertising, index: 3, status: 0x0B).description
            == "Add Advertising on hci3 failed: Rejected — is LE enabled on the controller? (`btmgmt --index N le on`)")
        // Another event (Device Connected, 0x000B) answers nothing.
        #expect(try Management.Event(packet: [0x0B, 0x00, 0x00, 0x00, 0x00, 0x00]).reply(to: .setPowered, index: 0) == nil)
        #expect(throws: ManagementError.truncated("event parameters", 2, needed: 4)) {
            try Management.Event(packet: [0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x3F, 0x00])
        }
    }

    @Test func controllerInformationGivesTheAddressAndSettings() throws {
        // Address 00:AA:01:00:00:00 (little-endian), version 9, manufacturer 1521 (0x05F1),
        // supported 0x0001BE1B, current 0x00000200 (LE, off), class 0, name "lab".
        var p: [UInt8] = [0x00, 0x00, 0x00, 0x01, 0xAA, 0x00, 0x09, 0xF1, 0x05, 0x1B, 0xBE, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00]
        p += Array("lab".utf8) + [UInt8](repeating: 0, count: 246) + [UInt8](repeating: 0, count: 11)
        let info = try Management.ControllerInformation(parameters: p)
        #expect(info.address.text == "00:AA:01:00:00:00")
        #expect(info.supported.contains([.powered, .lowEnergy, .advertising]))
        #expect(info.current == .lowEnergy)
        #expect(info.name == "lab")
        #expect(throws: ManagementError.truncated("controller information", 10, needed: 20)) {
            try Management.ControllerInformation(parameters: Array(p.prefix(10)))
        }
    }
}
