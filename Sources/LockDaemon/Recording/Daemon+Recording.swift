import Foundation
import PcapNG

/// `lockdiagd --replay FILE`: which recording, and how fast.
public struct ReplayConfiguration: Sendable, Equatable {
    public var path: String
    /// 1 plays the recording at its own pace, 10 ten times faster (`--replay-speed`).
    public var speed: Double = 1

    public init(path: String, speed: Double = 1) {
        self.path = path
        self.speed = speed
    }
}

extension Daemon {
    /// Starts `--record`, if asked for: the file is opened (0600) before any lock is touched, so a
    /// path lockdiagd cannot write stops it at once with what to do.
    func startRecording() throws -> TrafficRecorder? {
        guard let recording = configuration.recording else { return nil }
        let recorder = try TrafficRecorder(configuration: recording, version: version, logger: logger)
        try recorder.start()
        logger.notice("recording every link's bytes to \(recording.path) (pcapng, at most \(recording.maxBytes) bytes a file, \(recording.keepFiles) file(s) kept)")
        return recorder
    }

    /// Adds `--replay`'s locks: one per LDP/1 interface of the recording, listed with transport
    /// `replay` and the recorded link's name as their path (until IDENTIFY gives their serial).
    func addReplayedLocks(hub: Hub) throws {
        guard let replay = configuration.replay else { return }
        guard let bytes = FileManager.default.contents(atPath: replay.path) else {
            throw RecordingError(description: "--replay \(replay.path): cannot read it — check the path and that lockdiagd may read it")
        }
        let file: PcapNGFile
        do { file = try PcapNGFile(bytes: [UInt8](bytes)) } catch {
            throw RecordingError(description: "--replay \(replay.path): \(error) — give a file lockdiagd --record wrote")
        }
        var replayed = 0
        for (index, interface) in file.interfaces.enumerated() {
            let name = interface.name ?? "interface \(index)"
            // Tuya interfaces say their dialect in their description (the frames cannot tell).
            var dialect = DialectSpec.ldp
            if interface.linkType == TrafficRecorder.tuyaLinkType {
                guard let recorded = Self.recordedDialect(interface.description), recorded.kind != .ldp else {
                    logger.warning("--replay \(replay.path): \(name) is a Tuya MCU link whose description names no Tuya dialect; give a file lockdiagd --record wrote")
                    continue
                }
                guard recorded.kind != .tuyaSniff else {
                    logger.warning("--replay \(replay.path): \(name) was recorded by a passive tap (tuya-sniff); only links lockdiagd spoke on (tuya, tuya-lowpower, ldp) are replayed")
                    continue
                }
                dialect = recorded
            } else if ![TrafficRecorder.ldpLinkType, .usbLinuxMmapped, .bluetoothHCIH4WithPHDR].contains(interface.linkType) {
                logger.warning("--replay \(replay.path): \(name) is neither LDP/1 nor Tuya MCU (link type \(interface.linkType.rawValue)); it is not replayed")
                continue
            }
            // USB and BLE links hold the stream inside usbmon records or ATT PDUs: unwrap it.
            let packets = file.packets.compactMap { packet -> RecordedPacket? in
                guard packet.interface == index,
                      let stream = LinkEncapsulation.streamBytes(of: packet.bytes, linkType: interface.linkType, direction: packet.direction)
                else { return nil }
                return RecordedPacket(interface: index, timestampNanoseconds: packet.timestampNanoseconds,
                                      direction: stream.toLock ? .outbound : .inbound, bytes: stream.bytes)
            }
            let link = ReplayLink(transport: "replay", path: name, packets: packets, speed: replay.speed,
                                  wire: dialect.kind == .ldp ? .ldp : .tuya)
            let counts = link.counts
            guard try hub.addReplayDevice(link, dialect: dialect) != nil else {
                logger.error("no free device slot for the replay of \(name)")
                continue
            }
            logger.notice("replaying \(name) from \(replay.path) at \(replay.speed)× (\(counts.answers) answers, \(counts.events) events)")
            replayed += 1
        }
        if replayed == 0 {
            throw RecordingError(description: "--replay \(replay.path): the recording has no LDP/1 or Tuya MCU link lockdiagd spoke on to replay")
        }
    }

    /// The dialect an interface's description names (`… (dialect tuya-lowpower)`).
    static func recordedDialect(_ description: String?) -> DialectSpec? {
        guard let description, let start = description.range(of: "(dialect ") else { return nil }
        let rest = description[start.upperBound...]
        guard let end = rest.firstIndex(of: ")") else { return nil }
        return try? DialectSpec.parse(String(rest[..<end]))
    }
}
