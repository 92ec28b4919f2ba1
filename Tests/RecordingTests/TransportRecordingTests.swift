import Foundation
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import PcapNG
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// USB bulk and BLE links recorded as their transport's own records (usbmon, HCI ACL/ATT), read
/// by Debian's tshark with ldp.lua down to LDP/1 fields, and replayed by lockdiagd.
@Suite(.serialized) struct TransportRecordingTests {
    static func recordingFixture(_ name: String) -> String { TestSupport.repositoryRoot.path + "/Tests/Recordings/" + name }

    /// SIGTERM to lockdiagd under umockdev-run (which the test runner starts with SIGTERM
    /// blocked), so it closes its recording; then its exit status.
    static func stopUnderUmockdevRun(_ daemon: DaemonProcess) -> Int32? {
        let runner = daemon.child.process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(runner)/task/\(runner)/children", encoding: .utf8)) ?? ""
        for pid in children.split(separator: " ").compactMap({ Int32($0) }) { kill(pid, SIGTERM) }
        return daemon.stop()
    }

    /// The real libusb transport on lock-bulk.umockdev (bus 1, device 7, endpoints 0x01 OUT and
    /// 0x81 IN), its URBs replayed by umockdev from lock-bulk.ioctl: IDENTIFY, READ_STATUS, then
    /// an unplug. The recording holds a usbmon 'S' with each request on 0x01 and a 'C' with each
    /// answer on 0x81, which tshark decodes as USB and ldp.lua as LDP/1; `--replay` brings the
    /// lock back with the identity and status the live one had.
    @Test func aUSBBulkLockIsRecordedAsUsbmonDecodedAndReplayed() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/umockdev-run"), "umockdev missing: `make deps` installs it")
        let directory = try TemporaryDirectory(prefix: "recu")
        defer { directory.remove() }
        let description = try String(contentsOfFile: Self.recordingFixture("lock-bulk.umockdev"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        let device = directory.path + "/lock-bulk.umockdev"
        try description.write(toFile: device, atomically: true, encoding: .utf8)
        let file = directory.path + "/usb.pcapng"
        let live = try DaemonProcess(["--no-discovery", "--usb", "1-3", "--record", file],
                                     launcher: ["/usr/bin/umockdev-run", "--device", device, "--ioctl",
                                                "/dev/bus/usb/001/007=" + Self.recordingFixture("lock-bulk.ioctl"), "--"])
        let liveClient = JSONRPCClient(socketPath: live.socketPath)
        func status(_ client: JSONRPCClient) throws -> DeviceStatus {
            try client.call(APIMethod.deviceStatus, params: ["device": "LX3-000123"]).decode(as: DeviceStatus.self)
        }
        #expect(try TestSupport.wait(upTo: 15) { try status(liveClient).battery.voltageMillivolts != nil })
        let liveStatus = try status(liveClient)
        #expect(Self.stopUnderUmockdevRun(live) == 0)

        let rows = try DaemonRecordingTests.fields(file, script: DaemonRecordingTests.ldpScript, [
            "frame.interface_description", "frame.packet_flags_direction", "usb.urb_type", "usb.transfer_type",
            "usb.endpoint_address", "usb.bus_id", "usb.device_address", "ldp1.kind", "ldp1.type", "ldp1.crc.status",
            "ldp1.serial", "ldp1.battery_mv"])
        try #require(rows.count >= 4, "\(rows)")
        #expect(rows[0][0].contains("usbmon records: bus 1 device 7, bulk OUT endpoint 0x01, bulk IN 0x81"), "\(rows[0])")
        // Bulk (3) on bus 1, device 7: requests as submissions on 0x01, answers as completions on 0x81.
        #expect(rows.allSatisfy { $0[3] == "0x03" && $0[5] == "1" && $0[6] == "7" }, "\(rows.prefix(3))")
        let outbound = rows.filter { PcapNGTests.direction($0[1]) == .outbound }
        let inbound = rows.filter { PcapNGTests.direction($0[1]) == .inbound }
        #expect(!outbound.isEmpty && outbound.allSatisfy { $0[2] == "'S'" && $0[4] == "0x01" && $0[7] == "0" }, "\(outbound.prefix(3))")
        #expect(!inbound.isEmpty && inbound.allSatisfy { $0[2] == "'C'" && $0[4] == "0x81" && $0[7] == "1" }, "\(inbound.prefix(3))")
        #expect(rows.allSatisfy { $0[9] == "1" }, "a CRC verdict is bad or a packet was not decoded as LDP/1")
        #expect(inbound.contains { $0[8] == "0x01" && $0[10] == "LX3-000123" })
        #expect(inbound.contains { $0[8] == "0x02" && $0[11] == "6120" })

        let replay = try DaemonProcess(["--replay", file, "--no-discovery"])
        defer { replay.stop() }
        let client = JSONRPCClient(socketPath: replay.socketPath)
        #expect(try TestSupport.wait(upTo: 15) {
            let lock = try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first
            return lock?.id == "LX3-000123" && lock?.model == "LX-300" && lock?.transport == "replay"
        })
        #expect(try TestSupport.wait(upTo: 15) { try status(client).battery.voltageMillivolts == liveStatus.battery.voltageMillivolts })
        let replayed = try status(client)
        #expect(replayed.lock == liveStatus.lock && replayed.door == liveStatus.door && replayed.actuations == liveStatus.actuations)
    }

    /// lock-bulk.ioctl's transfers' data: IDENTIFY's request and answer, READ_STATUS's request
    /// and answer, … (frames made with firmware-specs/tools/ldp.py).
    static func fixtureFrames() throws -> [[UInt8]] {
        let script = try String(contentsOfFile: Self.recordingFixture("lock-bulk.ioctl"), encoding: .utf8)
        return script.split(separator: "\n").filter { $0.contains("USBDEVFS_REAPURBNDELAY") }
            .map { line in Array(line.split(separator: " ").last!.utf8).chunked2().compactMap { UInt8($0, radix: 16) } }
    }

    /// A file whose packets are not in time order (edited by hand, merged by a tool) is replayed,
    /// never a crash: times count from the earliest packet.
    @Test func aRecordingOutOfTimeOrderIsReplayed() throws {
        let frames = try Self.fixtureFrames()
        let directory = try TemporaryDirectory(prefix: "recoo")
        defer { directory.remove() }
        var file = PcapNG.sectionHeaderBlock(SectionHeader(userApplication: "test"))
        file += PcapNG.interfaceDescriptionBlock(InterfaceDescription(linkType: .user(0), name: "serial:/dev/x", resolution: .nanoseconds))
        for (bytes, time, direction) in [(frames[0], UInt64(5_000_000), PacketDirection.outbound), (frames[1], 6_000_000, .inbound),
                                         (frames[2], 1_000_000, .outbound), (frames[3], 2_000_000, .inbound)] {
            bytes.withUnsafeBytes { PcapNG.appendEnhancedPacketBlock(to: &file, interface: 0, timestamp: time, packet: $0, direction: direction) }
        }
        let path = directory.path + "/disordered.pcapng"
        try Data(file).write(to: URL(fileURLWithPath: path))
        let replay = try DaemonProcess(["--replay", path, "--no-discovery"])
        defer { replay.stop() }
        let client = JSONRPCClient(socketPath: replay.socketPath)
        #expect(try TestSupport.wait(upTo: 15) {
            try client.call(APIMethod.devicesList).decode(as: DevicesList.self).devices.first?.id == "LX3-000123"
        })
    }

    /// An answer longer than one IN transfer: the next record on the IN endpoint starts inside a
    /// frame. ldp.lua still decodes it (the endpoint is known to carry LDP/1 from its first
    /// record): the frame after the cut is found, the cut tail is noise.
    @Test func aUsbmonRecordThatStartsInsideAFrameIsStillDecoded() throws {
        // lock-bulk.ioctl's IDENTIFY request and answer and READ_STATUS answer (firmware-specs/tools/ldp.py).
        let frames = try Self.fixtureFrames()
        let (request, identify, status) = (frames[0], frames[1], frames[3])
        let directory = try TemporaryDirectory(prefix: "recuc")
        defer { directory.remove() }
        var file = PcapNG.sectionHeaderBlock(SectionHeader(userApplication: "test"))
        let usb = LinkEncapsulation.usb(USBMonitorAddress(bus: 1, device: 7, outEndpoint: 0x01, inEndpoint: 0x81))
        file += PcapNG.interfaceDescriptionBlock(InterfaceDescription(linkType: usb.linkType, name: "usb:1-3", resolution: .nanoseconds))
        var scratch: [UInt8] = []
        for (n, (bytes, toLock)) in [(request, true), (Array(identify[0..<20]), false), (Array(identify[20...]) + status, false)].enumerated() {
            bytes.withUnsafeBytes { data in
                usb.packets(data, toLock: toLock, wallNanoseconds: 1_000_000 * UInt64(n + 1), urbID: UInt64(n), scratch: &scratch) {
                    PcapNG.appendEnhancedPacketBlock(to: &file, interface: 0, timestamp: 1_000_000 * UInt64(n + 1), packet: $0,
                                                     direction: toLock ? .outbound : .inbound)
                }
            }
        }
        let path = directory.path + "/cut.pcapng"
        try Data(file).write(to: URL(fileURLWithPath: path))
        let rows = try DaemonRecordingTests.fields(path, script: DaemonRecordingTests.ldpScript,
                                                   ["usb.endpoint_address", "ldp1.type", "ldp1.incomplete", "ldp1.noise", "ldp1.battery_mv"])
        try #require(rows.count == 3, "\(rows)")
        #expect(rows[0][1] == "0x01")
        #expect(rows[1][0] == "0x81" && !rows[1][2].isEmpty, "the first part of IDENTIFY's answer: \(rows[1])")
        #expect(rows[2][0] == "0x81" && rows[2][1] == "0x02" && rows[2][4] == "6120" && !rows[2][3].isEmpty,
                "the rest of IDENTIFY's answer (noise) and READ_STATUS's: \(rows[2])")
    }
}

extension Array where Element == UInt8 {
    /// Hex text's bytes two by two (`"a55a"` → `["a5", "5a"]`).
    func chunked2() -> [String] {
        stride(from: 0, to: count - 1, by: 2).map { String(decoding: self[$0..<($0 + 2)], as: UTF8.self) }
    }
}
