/// Locks that live in the daemon's process but not in its core: `lockdiagd --simulate` composes
/// simulated locks at the edge and hands them over through this, so the core never links the
/// simulator (NUT's `dummy-ups` is just another driver).
public protocol EmbeddedLocks: Sendable {
    /// Starts the locks, their links under `directory` (the socket's, already made with its mode
    /// and group), and returns the serial device path of each, polled like a `--serial` path.
    func start(directory: String) throws -> [String]
    /// Stops the locks and removes what `start` made; called once the poll loop has stopped.
    func stop()
}
