import Dispatch

/// Runs a blocking test body (real processes, deadline waits, seconds of CPU) on a dispatch
/// queue of its own instead of the cooperative pool, whose few threads other suites' async tests
/// and their servers need. It stays in the test's task (a task-executor preference, SE-0417),
/// so its expectations are attributed to the test.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withTaskExecutorPreference(BlockingExecutor()) { try body() }
}

/// A task executor that runs each job on a private serial queue (not the cooperative pool).
final class BlockingExecutor: TaskExecutor {
    let queue = DispatchQueue(label: "lockdiag.tests.blocking")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
