#define _GNU_SOURCE
#include "CLockDiagSys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int lockdiag_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0);
}

// struct sched_attr as sched_setattr(2) describes it (SCHED_ATTR_SIZE_VER0, 48 bytes); glibc
// 2.36 has neither the struct nor a wrapper.
struct lockdiag_sched_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

int lockdiag_set_fair_slice(unsigned long long nanoseconds) {
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    if (nice == -1 && errno != 0) return -1;
    struct lockdiag_sched_attr attr = { .size = sizeof attr, .policy = SCHED_OTHER, .nice = nice, .runtime = nanoseconds };
    return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}

long long lockdiag_sched_runtime(int tid) {
    struct lockdiag_sched_attr attr = { 0 };
    if (syscall(SYS_sched_getattr, tid, &attr, sizeof attr, 0) != 0) return -1;
    return (long long)attr.runtime;
}

int lockdiag_tty_set_exclusive(int fd) { return ioctl(fd, TIOCEXCL); }

int lockdiag_tty_clear_exclusive(int fd) { return ioctl(fd, TIOCNXCL); }

int lockdiag_bytes_available(int fd) {
    int n = 0;
    if (ioctl(fd, FIONREAD, &n) != 0) return -1;
    return n;
}

static const struct { uint32_t baud; speed_t speed; } speeds[] = {
    {1200, B1200}, {2400, B2400}, {4800, B4800}, {9600, B9600}, {19200, B19200},
    {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400},
    {460800, B460800}, {500000, B500000}, {921600, B921600}, {1000000, B1000000},
    {1500000, B1500000}, {2000000, B2000000},
};

speed_t lockdiag_speed_for_baud(uint32_t baud) {
    for (unsigned i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
        if (speeds[i].baud == baud) return speeds[i].speed;
    return 0;
}

uint32_t lockdiag_baud_for_speed(speed_t speed) {
    for (unsigned i = 0; i < sizeof speeds / sizeof speeds[0]; i++)
        if (speeds[i].speed == speed) return speeds[i].baud;
    return 0;
}

int lockdiag_set_fifo_priority(int priority) {
    struct sched_param param = { .sched_priority = priority };
    return sched_setscheduler(0, SCHED_FIFO, &param);
}

int lockdiag_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int lockdiag_gettid(void) { return (int)syscall(SYS_gettid); }

int lockdiag_open_path_nofollow(const char *path) { return open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC); }

int lockdiag_fchown_group(int fd, unsigned int gid) { return fchownat(fd, "", (uid_t)-1, (gid_t)gid, AT_EMPTY_PATH); }

int lockdiag_open_pty(char *name, unsigned long name_length) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, name_length) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}
