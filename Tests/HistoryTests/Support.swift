import Foundation

/// Runs a blocking test body (real processes, deadline waits, seconds of CPU) on a thread of its
/// own, so it never holds one of the few threads of the cooperative pool that other suites'
/// async tests and their servers run on.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
