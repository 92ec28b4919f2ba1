import ArgumentParser
import Foundation
import JSONRPC
import LinuxIO
import LockDiagAPI
import LockDiagCLI
import OptionRanges
import PcapNG
#if canImport(Glibc)
import Glibc
#endif

extension LockDiag {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record one lock's traffic into a pcapng file (technician).",
            usage: "lockdiag record <device> -o <file> [--seconds <seconds>] [<options>]",
            discussion: """
                Every byte to and from the lock for --seconds (or until Ctrl-C), as lockdiagd sees it, \
                written into FILE as `lockdiagd --record` writes its files: open it with the dissectors \
                in firmware-specs/wireshark/ and replay it with `lockdiagd --replay`. FILE is created \
                0600 (it may hold unlock events). If this client reads too slowly, lockdiagd drops \
                packets rather than wait: the file then says how many, in a comment on the next \
                packet, and so does stderr.
                """)

        @OptionGroup var options: Options

        @Argument(help: "The device id from `lockdiag list` (or its path).")
        var device: String

        @Option(help: ArgumentHelp(Record.secondsRange.help("How long to record (default 60)"), valueName: "seconds"))
        var seconds: Double?

        @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The pcapng file to write.", valueName: "file"))
        var output: String

        static let secondsRange = OptionRange<Double>("--seconds", 0.1...86_400, unit: "seconds")

        func validate() throws {
            if let seconds { try Self.secondsRange.check(seconds) }
        }

        func run() throws {
            try perform { () throws(CLIError) in
                StopSignals.install()
                let seconds = self.seconds ?? 60
                let fd: Int32
                do throws(OwnerOnlyFile.OpenError) { fd = try OwnerOnlyFile.create(output) } catch {
                    throw CLIError(status: .failure, message: error.description)
                }
                defer { close(fd) }
                let started: RecordStarted
                let session: Session
                do throws(CLIError) {
                    session = try Session(options)
                    started = try session.call(APIMethod.recordStart, params: DeviceParams(device: device), as: RecordStarted.self).value
                } catch {
                    unlink(output) // refused (no daemon, not a technician, no such lock): leave no empty file
                    throw error
                }
                var file = RecordFile(fd: fd, path: output)
                try file.begin(started)
                if !options.json { Output.err("recording \(started.device) into \(output) for \(Self.formatted(seconds)) s… (Ctrl-C stops early)") }
                let deadline = monotonicSeconds() + seconds
                while !StopSignals.received, monotonicSeconds() < deadline {
                    let next: (method: String, params: JSONValue)?
                    do throws(RPCClientError) {
                        next = try session.client.nextNotification(timeoutSeconds: min(0.1, max(0, deadline - monotonicSeconds())))
                    } catch {
                        throw CLIError(error)
                    }
                    if let next, next.method == APIMethod.recordChunkNotification { try file.write(next.params) }
                }
                let stop = try session.call(APIMethod.recordStop, params: RecordStopParams(recording: started.recording), as: RecordStopped.self)
                // Chunks sent before the reply are queued ahead of it: take them too.
                while let next = try? session.client.nextNotification(timeoutSeconds: 0) {
                    if next.method == APIMethod.recordChunkNotification { try file.write(next.params) }
                }
                if options.json {
                    printJSON(stop.raw)
                } else {
                    Output.out("\(file.packets) packet(s) recorded from \(started.device) into \(output)")
                }
                if stop.value.lostPackets > 0 {
                    Output.err("lockdiag: \(stop.value.lostPackets) packet(s) lost: this client read too slowly or lockdiagd's tap fell behind; the file says where")
                }
                return .ok
            }
        }

        static func formatted(_ seconds: Double) -> String {
            seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        }
    }
}

/// The file `lockdiag record` writes: a section header and one interface from `record.start`,
/// then an Enhanced Packet Block per packet of each `record.chunk`.
struct RecordFile {
    let fd: Int32
    let path: String
    private(set) var packets = 0
    private var recording = 0

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    mutating func begin(_ started: RecordStarted) throws(CLIError) {
        recording = started.recording
        var bytes = PcapNG.sectionHeaderBlock(SectionHeader(hardware: started.hardware, os: started.os,
                                                            userApplication: started.application, comments: [started.comment]))
        bytes += PcapNG.interfaceDescriptionBlock(InterfaceDescription(
            linkType: LinkType(rawValue: UInt16(clamping: started.interface.linkType)), name: started.interface.name,
            description: started.interface.description, hardware: started.interface.hardware, resolution: .nanoseconds))
        try put(bytes)
    }

    /// Writes a `record.chunk`'s packets; its `lost_packets` becomes a comment on the first.
    mutating func write(_ params: JSONValue) throws(CLIError) {
        guard let chunk = try? params.decode(as: RecordChunk.self), chunk.recording == recording else {
            Output.err("lockdiag: skipped a record.chunk lockdiagd sent in an unexpected form")
            return
        }
        var bytes: [UInt8] = []
        for (n, packet) in chunk.packets.enumerated() {
            guard let data = Data(base64Encoded: packet.data) else {
                Output.err("lockdiag: skipped a packet whose data is not base64")
                continue
            }
            let comment = n == 0 && chunk.lostPackets > 0
                ? "\(chunk.lostPackets) packet(s) lost just before this one: lockdiag read too slowly or lockdiagd's tap fell behind"
                : nil
            if comment != nil { Output.err("lockdiag: \(chunk.lostPackets) packet(s) lost (noted in the file)") }
            data.withUnsafeBytes { raw in
                PcapNG.appendEnhancedPacketBlock(to: &bytes, interface: 0, timestamp: packet.timeNanoseconds, packet: raw,
                                                 direction: packet.direction == RecordedBytes.fromLock ? .inbound : .outbound, comment: comment)
            }
            packets += 1
        }
        try put(bytes)
    }

    private func put(_ bytes: [UInt8]) throws(CLIError) {
        guard bytes.withUnsafeBytes({ OwnerOnlyFile.writeAll(fd, $0) }) else {
            throw CLIError(status: .failure, message: "\(SystemError.last("write", path: path)) — free disk space or write elsewhere")
        }
    }
}
