import ArgumentParser
import LockDaemon
import OptionRanges

/// `--record`, `--replay` and their bounds (docs/recording.md).
struct RecordingOptions: ParsableArguments {
    @Option(name: .customLong("record"), help: ArgumentHelp(
        "Record every lock link's bytes, both ways, to this pcapng file (Wireshark, tshark; USB as usbmon, BLE as HCI ACL/ATT); created 0600.",
        valueName: "file"))
    var path: String?

    @Option(name: .customLong("record-max-bytes"), help: ArgumentHelp(
        DaemonRanges.recordMaxBytes.help("Largest recording file, then it rotates to FILE.1, FILE.2"), valueName: "bytes"))
    var maxBytes = RecordingConfiguration(path: "").maxBytes

    @Option(name: .customLong("record-files"), help: ArgumentHelp(
        DaemonRanges.recordFiles.help("Recording files kept, the current one included"), valueName: "n"))
    var keepFiles = RecordingConfiguration(path: "").keepFiles

    @Option(name: .customLong("replay"), help: ArgumentHelp(
        "Play a recording's LDP/1 and Tuya locks back through the same driver and diagnosis, as if they were there.",
        valueName: "file"))
    var replayPath: String?

    @Option(name: .customLong("replay-speed"), help: ArgumentHelp(
        DaemonRanges.replaySpeed.help("How much faster than recorded to replay (1: as recorded)"), valueName: "factor"))
    var replaySpeed = 1.0

    func validate() throws {
        try DaemonRanges.recordMaxBytes.check(maxBytes)
        try DaemonRanges.recordFiles.check(keepFiles)
        try DaemonRanges.replaySpeed.check(replaySpeed)
        if path?.isEmpty == true { throw ValidationError("--record needs a file name, e.g. --record /var/tmp/lock.pcapng") }
    }

    var replay: ReplayConfiguration? { replayPath.map { ReplayConfiguration(path: $0, speed: replaySpeed) } }

    var configuration: RecordingConfiguration? {
        guard let path else { return nil }
        var configuration = RecordingConfiguration(path: path)
        configuration.maxBytes = maxBytes
        configuration.keepFiles = keepFiles
        return configuration
    }
}
