// Wrappers for the variadic or macro-only libc calls Swift cannot import directly.
// Every symbol is prefixed `lockdiag_` (the swift-nio shim habit).
#ifndef CLOCKDIAGSYS_H
#define CLOCKDIAGSYS_H

#include <stdint.h>
#include <termios.h>
// Linux headers Glibc's Swift module map leaves out; re-exported for LinuxIO.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>

/// prctl(PR_SET_TIMERSLACK, ns): returns 0 or -1 with errno set.
int lockdiag_set_timer_slack(unsigned long nanoseconds);

/// sched_setattr(2) on the calling thread: SCHED_OTHER at its current nice value, asking the
/// fair scheduler for a `nanoseconds` slice (sched_runtime). Returns 0 or -1 with errno set.
int lockdiag_set_fair_slice(unsigned long long nanoseconds);

/// sched_getattr(2)'s sched_runtime for thread `tid` (a fair thread's slice on Linux 6.12+),
/// or -1 with errno set.
long long lockdiag_sched_runtime(int tid);

/// ioctl(fd, TIOCEXCL): exclusive tty open; 0 or -1 with errno.
int lockdiag_tty_set_exclusive(int fd);

/// ioctl(fd, TIOCNXCL); 0 or -1 with errno.
int lockdiag_tty_clear_exclusive(int fd);

/// ioctl(fd, FIONREAD, &n): bytes waiting; -1 with errno on failure.
int lockdiag_bytes_available(int fd);

/// Speed constant (B9600 …) for a baud rate in bits per second, or 0 when termios has none.
speed_t lockdiag_speed_for_baud(uint32_t baud);

/// The `CBAUD`-style value read back from termios, in bits per second, or 0 when unknown.
uint32_t lockdiag_baud_for_speed(speed_t speed);

/// sched_setscheduler(0, SCHED_FIFO, priority); 0 or -1 with errno.
int lockdiag_set_fifo_priority(int priority);

/// pthread_setaffinity_np for the calling thread to a single CPU; 0 or an errno value.
int lockdiag_pin_current_thread(int cpu);

/// posix_openpt + grantpt + unlockpt + ptsname_r (which need _GNU_SOURCE, absent from Swift's
/// Glibc module). Returns the master descriptor (O_RDWR|O_NOCTTY|O_CLOEXEC) and writes the slave's
/// path into `name`, or -1 with errno set.
int lockdiag_open_pty(char *name, unsigned long name_length);

/// The thread id (gettid) of the calling thread.
int lockdiag_gettid(void);

/// open(path, O_PATH|O_NOFOLLOW|O_CLOEXEC): a descriptor naming the file itself, a symlink's
/// own inode when path is one (O_PATH needs _GNU_SOURCE). -1 with errno on failure.
int lockdiag_open_path_nofollow(const char *path);

/// fchownat(fd, "", -1, gid, AT_EMPTY_PATH): the group of what an O_PATH descriptor names.
int lockdiag_fchown_group(int fd, unsigned int gid);

#endif
