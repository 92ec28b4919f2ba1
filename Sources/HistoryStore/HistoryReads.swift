import Dispatch

extension HistoryDatabase {
    /// The queue every API read of the history runs on: SQLite reads block (on the disk, on a
    /// checkpoint), and a blocked thread of Swift's cooperative pool — two threads on a
    /// two-core machine — would stall every other request of the daemon. One serial queue also
    /// bounds what readers cost: they wait in line here, not in the pool.
    static let readQueue: DispatchQueue = {
        let queue = DispatchQueue(label: "lockdiag-history-read", qos: .utility)
        queue.setSpecific(key: readQueueKey, value: true)
        return queue
    }()
    private static let readQueueKey = DispatchSpecificKey<Bool>()

    /// Whether the caller runs on the history's read queue (what `offPool` promises).
    public static var isOnReadQueue: Bool { DispatchQueue.getSpecific(key: readQueueKey) == true }

    /// Runs `body`, which may read the database, on the history's read queue and returns its
    /// result: the calling task is suspended, no cooperative thread is blocked.
    public func offPool<T: Sendable, E: Error>(_ body: @escaping @Sendable (HistoryDatabase) throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            Self.readQueue.async {
                continuation.resume(returning: Result { () throws(E) -> T in try body(self) })
            }
        }
        return try result.get()
    }
}
