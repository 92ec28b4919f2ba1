import CLockDiagSys
#if canImport(Glibc)
import Glibc
#endif

/// The real-time knobs of ../shared/TESTING.md, each returning what it could not get instead of
/// failing, so `--realtime` can say exactly what it has.
public enum Realtime {
    /// PR_SET_TIMERSLACK for the calling thread (the default 50 µs slack is most of a normal
    /// thread's wake-up lateness).
    public static func setTimerSlack(nanoseconds: UInt) -> SystemError? {
        lockdiag_set_timer_slack(nanoseconds) == 0 ? nil : .last("prctl(PR_SET_TIMERSLACK)")
    }

    /// Asks the fair scheduler for a `nanoseconds` time slice for the calling thread, keeping
    /// SCHED_OTHER and its nice value; needs no privilege. On EEVDF (Linux 6.12+) a shorter
    /// slice gives the thread an earlier virtual deadline, so its wake-up preempts a thread on a
    /// default slice instead of waiting for it (the kernel's
    /// Documentation/scheduler/sched-eevdf.rst; sched_setattr(2), sched_runtime; the kernel
    /// clamps it to 0.1–100 ms). Older kernels accept and ignore it.
    public static func setFairSlice(nanoseconds: UInt64) -> SystemError? {
        lockdiag_set_fair_slice(nanoseconds) == 0 ? nil : .last("sched_setattr(SCHED_OTHER, slice \(nanoseconds) ns)")
    }

    /// The fair-scheduler slice thread `tid` runs with (sched_getattr's sched_runtime, ns; 0
    /// before Linux 6.12); nil when it cannot be read.
    public static func fairSlice(thread tid: Int32) -> UInt64? {
        let runtime = lockdiag_sched_runtime(tid)
        return runtime < 0 ? nil : UInt64(runtime)
    }

    /// SCHED_FIFO at `priority` for the calling thread.
    public static func setFIFO(priority: Int32) -> SystemError? {
        lockdiag_set_fifo_priority(priority) == 0 ? nil : .last("sched_setscheduler(SCHED_FIFO, \(priority))")
    }

    /// mlockall(MCL_CURRENT | MCL_FUTURE): no page faults on the hot path later.
    public static func lockMemory() -> SystemError? {
        mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? nil : .last("mlockall")
    }

    /// Names the calling thread for `ps -L`, `top -H` and `chrt -p` (/proc/thread-self/comm;
    /// Foundation's Thread.name stays inside Foundation on Linux). Linux keeps 15 bytes.
    public static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// Pins the calling thread to one CPU.
    public static func pinCurrentThread(to cpu: Int32) -> SystemError? {
        let rc = lockdiag_pin_current_thread(cpu)
        return rc == 0 ? nil : SystemError("pthread_setaffinity_np(cpu \(cpu))", errno: rc)
    }

    /// Holds a PM QoS request of 0 µs on /dev/cpu_dma_latency while the returned descriptor is
    /// open: keeps CPUs out of deep idle states system-wide (costs power; only for --realtime).
    public static func holdCPUWakeLatency() -> Result<Int32, SystemError> {
        do throws(SystemError) {
            let fd = try FileIO.open("/dev/cpu_dma_latency", flags: O_WRONLY)
            var zero: Int32 = 0
            guard Glibc.write(fd, &zero, 4) == 4 else {
                let error = SystemError.last("write", path: "/dev/cpu_dma_latency")
                FileIO.close(fd)
                return .failure(error)
            }
            return .success(fd)
        } catch {
            return .failure(error)
        }
    }

    public static var onlineCPUs: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
