#if canImport(Glibc)
import Glibc
#endif

/// A named, joinable POSIX thread running one `@Sendable` body: for owners whose `stop()` must
/// return only once the thread has finished (closed its descriptors), which Foundation's
/// `Thread` cannot promise. The name (at most 15 bytes, as Linux keeps) shows in `ps -L`.
public final class JoinableThread: Sendable {
    /// What the new thread runs; handed over through pthread's context pointer.
    private final class Body: Sendable {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// Only read (pthread_join, pthread_setschedparam) after init.
    public let handle: pthread_t

    public init(name: String, _ run: @escaping @Sendable () -> Void) throws(SystemError) {
        let context = Unmanaged.passRetained(Body(name: name, run: run)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            Realtime.nameCurrentThread(body.name)
            body.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemError("pthread_create", errno: rc)
        }
        self.handle = handle
    }

    /// Waits for the body to return. Call once, never from the thread itself.
    public func join() {
        _ = pthread_join(handle, nil)
    }
}
