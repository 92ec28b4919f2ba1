import LinuxIO
#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread running one `@Sendable` body, named `name` (`locksim-…`, at most 15
/// bytes, for `ps -L`): the server needs `stop()` to return only once its loop has closed every
/// pty, which Foundation's `Thread` cannot promise.
final class ServerThread: Sendable {
    /// What the new thread runs; handed over through pthread's context pointer.
    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let handle: pthread_t

    init(name: String, _ run: @escaping @Sendable () -> Void) throws(SystemError) {
        let context = Unmanaged.passRetained(Body(run: {
            Realtime.nameCurrentThread(name)
            run()
        })).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemError("pthread_create", errno: rc)
        }
        self.handle = handle
    }

    /// Waits for the body to return. Call once, never from the thread itself.
    func join() {
        _ = pthread_join(handle, nil)
    }
}
