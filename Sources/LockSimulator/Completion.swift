import LinuxIO
import Synchronization

/// A one-shot result handed from the server thread to a caller waiting for it.
///
/// The eventfd is closed only when the last reference goes, so a caller that gave up waiting
/// can never make the server thread ring a descriptor number reused by someone else.
final class Completion<Value: Sendable>: Sendable {
    private let bell: EventDoorbell
    private let value = Mutex<Value?>(nil)

    init() throws(SystemError) { bell = try EventDoorbell() }

    deinit { bell.close() }

    func complete(_ result: Value) {
        value.withLock { $0 = result }
        bell.ring()
    }

    /// The result, or nil when none came within the timeout.
    func wait(timeoutMilliseconds: Int32) -> Value? {
        if let ready = value.withLock({ $0 }) { return ready }
        _ = bell.wait(timeoutMilliseconds: timeoutMilliseconds)
        return value.withLock { $0 }
    }
}
