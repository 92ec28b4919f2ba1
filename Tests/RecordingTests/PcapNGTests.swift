import Foundation
import LockDiagTestSupport
import PcapNG
import Testing

/// Files from the pcapng writer, read back by Debian's real tshark (apt package tshark; `make
/// test` installs it): the interfaces with their options, the packet count, timestamps and
/// directions as tshark reports them.
@Suite struct PcapNGTests {
    static let tshark = "/usr/bin/tshark"

    /// Runs tshark on `file` with `arguments`; fails the test with tshark's own message.
    static func tshark(_ file: String, _ arguments: [String]) throws -> String {
        let result = try runTool(tshark, ["-r", file] + arguments)
        #expect(result.status == 0, "tshark: \(result.err)")
        return result.out
    }

    /// `frame.packet_flags_direction` as tshark prints it (`0x00000002`).
    static func direction(_ field: String) -> PacketDirection? {
        UInt32(field.hasPrefix("0x") ? String(field.dropFirst(2)) : field, radix: 16).flatMap(PacketDirection.init(rawValue:))
    }

    @Test(arguments: [TimestampResolution.microseconds, .nanoseconds])
    func tsharkReadsInterfacesPacketsTimestampsAndDirections(resolution: TimestampResolution) throws {
        let directory = try TemporaryDirectory(prefix: "pcapng")
        defer { directory.remove() }
        var file = PcapNG.sectionHeaderBlock(SectionHeader(hardware: "test-host", os: "Linux", userApplication: "lockdiagd 9.9",
                                                           comments: ["may hold unlock events"]))
        file += PcapNG.interfaceDescriptionBlock(InterfaceDescription(
            linkType: .user(0), name: "serial:/dev/ttyACM0", description: "LDP/1 lock, serial 42", resolution: resolution))
        file += PcapNG.interfaceDescriptionBlock(InterfaceDescription(
            linkType: .user(1), name: "serial:/dev/ttyUSB3", description: "Tuya MCU lock", resolution: resolution,
            comments: ["odd-length option value"]))
        // 2026-12-05 06:00:00.123456789 UTC.
        let seconds: UInt64 = 1_796_450_400
        let nanoseconds = seconds * 1_000_000_000 + 123_456_789
        let units = nanoseconds / resolution.nanosecondsPerUnit
        let packets: [(UInt32, [UInt8], PacketDirection)] = [
            (0, [0x55, 0xAA, 0x01], .outbound),       // 3 bytes: padded
            (1, [0x55, 0xAA, 0x03, 0x00, 0x00], .inbound),
            (0, Array(repeating: 0x42, count: 64), .inbound),
        ]
        for (i, (interface, bytes, direction)) in packets.enumerated() {
            bytes.withUnsafeBytes {
                PcapNG.appendEnhancedPacketBlock(to: &file, interface: interface, timestamp: units + UInt64(i),
                                                 packet: $0, direction: direction)
            }
        }
        let path = directory.path + "/t.pcapng"
        try Data(file).write(to: URL(fileURLWithPath: path))

        let fields = try Self.tshark(path, ["-T", "fields", "-e", "frame.interface_id", "-e", "frame.interface_name",
                                            "-e", "frame.len", "-e", "frame.time_epoch", "-e", "frame.packet_flags_direction",
                                            "-E", "separator=|"])
        let rows = fields.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 3)
        #expect(rows.map { $0[0] } == ["0", "1", "0"])
        #expect(rows.map { $0[1] } == ["serial:/dev/ttyACM0", "serial:/dev/ttyUSB3", "serial:/dev/ttyACM0"])
        #expect(rows.map { $0[2] } == ["3", "5", "64"])
        // tshark prints the epoch time with the interface's precision; direction 1 = inbound, 2 = outbound.
        // (tshark 4.0 prints nine digits whatever the precision).
        let fraction = resolution == .nanoseconds ? ["123456789", "123456790", "123456791"] : ["123456000", "123457000", "123458000"]
        #expect(rows.map { $0[3] } == fraction.map { "\(seconds).\($0)" })
        #expect(rows.map { Self.direction($0[4]) } == [.outbound, .inbound, .inbound], "\(rows)")

        // capinfos-style summary from tshark itself: the section and interface options.
        let info = try runTool("/usr/bin/capinfos", [path])
        #expect(info.status == 0, "\(info.err)")
        #expect(info.out.contains("Number of packets:   3") || info.out.contains("Number of packets = 3"), "\(info.out)")
        #expect(info.out.contains("test-host"))
        #expect(info.out.contains("lockdiagd 9.9"))
        #expect(info.out.contains("may hold unlock events"))
        #expect(info.out.contains("LDP/1 lock, serial 42"))
        #expect(info.out.contains("Tuya MCU lock"))
        #expect(info.out.contains("USER 0") || info.out.contains("147"), "\(info.out)")
    }

    @Test func whatTheWriterWritesTheReaderReadsBack() throws {
        var file = PcapNG.sectionHeaderBlock(SectionHeader(hardware: "h", os: "o", userApplication: "a", comments: ["c"]))
        let interface = InterfaceDescription(linkType: .user(1), name: "serial:/dev/ttyUSB0", description: "d", resolution: .nanoseconds)
        file += PcapNG.interfaceDescriptionBlock(interface)
        let packet: [UInt8] = [0x55, 0xAA, 0x03, 0x07, 0x00, 0x00, 0x09]
        packet.withUnsafeBytes { PcapNG.appendEnhancedPacketBlock(to: &file, interface: 0, timestamp: 1_234_567_890_123, packet: $0, direction: .inbound) }
        let read = try PcapNGFile(bytes: file)
        #expect(read.section == SectionHeader(hardware: "h", os: "o", userApplication: "a", comments: ["c"]))
        #expect(read.interfaces == [interface])
        #expect(read.packets == [RecordedPacket(interface: 0, timestampNanoseconds: 1_234_567_890_123, direction: .inbound, bytes: packet)])
        // Cut anywhere inside the last block: a typed error, never a crash or a short packet.
        for cut in 1..<40 {
            #expect(throws: PcapNGReadError.self) { try PcapNGFile(bytes: Array(file.dropLast(cut))) }
        }
        #expect(throws: PcapNGReadError.self) { try PcapNGFile(bytes: Array("not a capture at all".utf8)) }
    }

    /// `lockdiag record` says where packets were lost in a comment on the next packet: tshark
    /// reads it (`frame.comment`), with the packet, its direction and the packets around it intact.
    @Test(arguments: [PacketDirection.inbound, .unknown])
    func aPacketCommentIsReadByTshark(direction: PacketDirection) throws {
        let directory = try TemporaryDirectory(prefix: "pcapc")
        defer { directory.remove() }
        var file = PcapNG.sectionHeaderBlock(SectionHeader(userApplication: "lockdiagd 9.9"))
        file += PcapNG.interfaceDescriptionBlock(InterfaceDescription(linkType: .user(0), name: "serial:/dev/x", resolution: .nanoseconds))
        let packets: [([UInt8], String?)] = [([1, 2, 3], nil), ([4, 5, 6, 7, 8], "12 packet(s) lost just before this one"), ([9], nil)]
        for (bytes, comment) in packets {
            bytes.withUnsafeBytes {
                PcapNG.appendEnhancedPacketBlock(to: &file, interface: 0, timestamp: 1_000, packet: $0, direction: direction, comment: comment)
            }
        }
        let path = directory.path + "/c.pcapng"
        try Data(file).write(to: URL(fileURLWithPath: path))
        let out = try Self.tshark(path, ["-T", "fields", "-e", "frame.len", "-e", "frame.comment", "-e", "frame.packet_flags_direction",
                                         "-E", "separator=|"])
        let rows = out.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.map { $0[0] } == ["3", "5", "1"], "\(rows)")
        #expect(rows.map { $0[1] } == ["", "12 packet(s) lost just before this one", ""], "\(rows)")
        if direction != .unknown { #expect(rows.allSatisfy { Self.direction($0[2]) == direction }, "\(rows)") }
        let read = try PcapNGFile(bytes: file)
        #expect(read.packets.map(\.bytes) == packets.map(\.0))
        #expect(read.packets.allSatisfy { $0.direction == direction })
    }

    /// What `lockdiagd --record` wraps a USB or BLE link's bytes in is what `--replay` unwraps:
    /// a bulk OUT submission and IN completion carry the data whole; BLE bytes longer than
    /// ATT_MTU − 3 become several PDUs, in order; records that carry no stream bytes are skipped.
    @Test func usbmonAndATTRecordsUnwrapToTheStreamTheyCarry() {
        let stream: [UInt8] = Array(0..<50)
        func wrap(_ encapsulation: LinkEncapsulation, toLock: Bool) -> [[UInt8]] {
            var scratch: [UInt8] = [], packets: [[UInt8]] = []
            stream.withUnsafeBytes { bytes in
                encapsulation.packets(bytes, toLock: toLock, wallNanoseconds: 1_796_450_400_123_456_789, urbID: 9, scratch: &scratch) {
                    packets.append(Array($0))
                }
            }
            return packets
        }
        let usb = LinkEncapsulation.usb(USBMonitorAddress(bus: 2, device: 9, outEndpoint: 0x02, inEndpoint: 0x83))
        for toLock in [true, false] {
            let packets = wrap(usb, toLock: toLock)
            #expect(packets.count == 1 && packets[0].count == 64 + stream.count)
            #expect(packets[0][8] == UInt8(ascii: toLock ? "S" : "C") && packets[0][10] == (toLock ? 0x02 : 0x83) && packets[0][11] == 9)
            #expect(LinkEncapsulation.streamBytes(of: packets[0], linkType: .usbLinuxMmapped, direction: .unknown)
                    == StreamBytes(toLock: toLock, bytes: stream))
        }
        // An 'S' on the IN endpoint (a read asked for) carries no lock bytes.
        var submissionIn = wrap(usb, toLock: false)[0]
        submissionIn[8] = UInt8(ascii: "S")
        #expect(LinkEncapsulation.streamBytes(of: submissionIn, linkType: .usbLinuxMmapped, direction: .unknown) == nil)

        let att = LinkEncapsulation.att(ATTStreamAddress(commandHandle: 0x1D, writeOpcode: ATTStreamAddress.writeCommand, dataHandle: 0x1F,
                                                         dataOpcode: ATTStreamAddress.notification, mtu: 23, connectionHandle: 3))
        for toLock in [true, false] {
            let packets = wrap(att, toLock: toLock)
            #expect(packets.map(\.count) == [20, 20, 10].map { $0 + LinkEncapsulation.attHeaderBytes })
            let unwrapped = packets.compactMap { LinkEncapsulation.streamBytes(of: $0, linkType: .bluetoothHCIH4WithPHDR, direction: .unknown) }
            #expect(unwrapped.allSatisfy { $0.toLock == toLock } && unwrapped.flatMap(\.bytes) == stream)
            #expect(packets.allSatisfy { $0[13] == (toLock ? 0x52 : 0x1B) && $0[14] == (toLock ? 0x1D : 0x1F) && $0[3] == (toLock ? 0 : 1) })
        }
    }
}
