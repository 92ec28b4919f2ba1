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
}
