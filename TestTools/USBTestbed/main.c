// lockdiag-usb-testbed: an umockdev testbed (fake sysfs, /dev nodes, udev database, uevents,
// usbdevfs ioctl replay) driven by one command per line on stdin, for the USB and hotplug
// end-to-end tests. The tests run lockdiagd against it with
//   env UMOCKDEV_DIR=<dir> LD_PRELOAD=libumockdev-preload.so.0 lockdiagd …
// so the real libudev and libusb code paths run against the devices described here.
//
// libumockdev is loaded at run time (dlopen) so that building lockdiag never needs it; the
// tests need the Debian packages `umockdev` and `libumockdev-dev` (`make deps` installs them).
//
// Commands (each answered with one line, "ok …" or "error …"):
//   add FILE               add the devices an umockdev description (.umockdev) describes; lines
//                          starting with '#' are comments (umockdev itself has none). umockdev
//                          sends an "add" uevent for each device.
//   ioctl DEVNODE FILE     replay usbdevfs ioctls for DEVNODE from an .ioctl script
//   uevent SYSPATH ACTION  send a uevent ("add", "remove", "change") for a device
//   remove SYSPATH         remove a device (and its children) from sysfs and /dev; no uevent
//   link DEVNODE TARGET    make the /dev node a symlink to TARGET (e.g. a simulator's pty)
//   busy DEVNODE           another program holds the device's interfaces: every
//                          USBDEVFS_CLAIMINTERFACE on DEVNODE fails with EBUSY, as the kernel
//                          answers when another handle has claimed it; other ioctls get
//                          umockdev's defaults (no replay script)
//   claims                 "ok N": the claims refused so far
//   hang DEVNODE in|out    a lock whose firmware hangs: it accepts every OUT transfer but never
//                          ends an IN transfer (in), or never accepts an OUT transfer (out). Its
//                          URBs stay pending until the host discards them (usbfs DISCARDURB, as
//                          libusb does when a transfer's timeout passes), which ends them with
//                          -ENOENT, as the kernel does
//   quit                   remove the testbed and exit (end of input does the same)
// On start it prints "dir PATH": the testbed root, the UMOCKDEV_DIR for the program under test.
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { unsigned int domain; int code; char *message; } GErrorView;
typedef void Testbed;

static Testbed *(*testbed_new)(void);
static const char *(*testbed_root)(Testbed *);
static int (*add_from_string)(Testbed *, const char *, GErrorView **);
static int (*load_ioctl)(Testbed *, const char *, const char *, GErrorView **);
static void (*send_uevent)(Testbed *, const char *, const char *);
static void (*remove_device)(Testbed *, const char *);
static void (*object_unref)(void *);
static int (*attach_ioctl)(Testbed *, const char *, void *, GErrorView **);
static void *(*ioctl_base_new)(void);
static unsigned long (*client_request)(void *);
static void (*client_complete)(void *, long, int);
static unsigned long (*signal_connect)(void *, const char *, void *, void *, void *, int);
static void *(*client_arg)(void *);
static void *(*data_resolve)(void *, size_t, size_t, GErrorView **);
static void (*data_update)(void *, size_t, const void *, int);
static void (*data_unref)(void *);

// The public head of umockdev's UMockdevIoctlData (umockdev.h): the bytes it holds.
typedef struct { void *g_type_instance; unsigned ref_count; void *qdata; unsigned char *data; int data_len; unsigned long client_addr; } IoctlDataView;

// Counted on umockdev's ioctl thread, read on the main one.
static int refused_claims;

// A hung lock's URBs, touched only on umockdev's ioctl thread: the one the host is waiting on,
// and the ones that ended and wait to be reaped (their client addresses).
static int hung_direction_in;
static unsigned long pending_urb;
static unsigned long reapable[8];
static int reapable_count;

// Writes a URB's outcome into the client's struct usbdevfs_urb (read back by REAPURB).
static void finish_urb(void *urb, int status, int actual_length) {
    data_update(urb, offsetof(struct usbdevfs_urb, status), &status, sizeof status);
    data_update(urb, offsetof(struct usbdevfs_urb, actual_length), &actual_length, sizeof actual_length);
}

// umockdev's "handle-ioctl" signal for a hung lock: usbfs's URB life cycle, nothing more.
static int hang_urbs(void *handler, void *client, void *data) {
    (void)handler, (void)data;
    unsigned long request = client_request(client);
    void *arg = client_arg(client);
    unsigned long address = *(unsigned long *)((IoctlDataView *)arg)->data;
    if (request == USBDEVFS_SUBMITURB) {
        void *urb = data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        if (!urb) return 0;
        struct usbdevfs_urb *view = (struct usbdevfs_urb *)((IoctlDataView *)urb)->data;
        int in = (view->endpoint & 0x80) != 0;
        if (in == hung_direction_in || reapable_count == 8) {
            pending_urb = address;
        } else {
            finish_urb(urb, 0, in ? 0 : view->buffer_length);
            reapable[reapable_count++] = address;
        }
        data_unref(urb);
        client_complete(client, 0, 0);
        return 1;
    }
    if (request == USBDEVFS_DISCARDURB) {
        if (address != pending_urb || pending_urb == 0) {
            client_complete(client, -1, EINVAL);
            return 1;
        }
        void *urb = data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        if (!urb) return 0;
        finish_urb(urb, -ENOENT, 0);
        data_unref(urb);
        reapable[reapable_count++] = pending_urb;
        pending_urb = 0;
        client_complete(client, 0, 0);
        return 1;
    }
    if (request == USBDEVFS_REAPURBNDELAY || request == USBDEVFS_REAPURB) {
        if (reapable_count == 0) {
            client_complete(client, -1, EAGAIN);
            return 1;
        }
        void *where = data_resolve(arg, 0, sizeof(void *), NULL);
        if (!where) return 0;
        data_update(where, 0, &reapable[0], sizeof reapable[0]);
        data_unref(where);
        memmove(reapable, reapable + 1, sizeof reapable[0] * (size_t)--reapable_count);
        client_complete(client, 0, 0);
        return 1;
    }
    return 0;
}

// umockdev's "handle-ioctl" signal (UMockdevIoctlBase): refuse claims, leave the rest.
static int refuse_claims(void *handler, void *client, void *data) {
    (void)handler, (void)data;
    if (client_request(client) != USBDEVFS_CLAIMINTERFACE) return 0;
    __atomic_add_fetch(&refused_claims, 1, __ATOMIC_RELAXED);
    client_complete(client, -1, EBUSY);
    return 1;
}

static void *need(void *library, const char *name) {
    void *symbol = dlsym(library, name);
    if (!symbol) {
        fprintf(stderr, "lockdiag-usb-testbed: %s missing from libumockdev: %s\n", name, dlerror());
        exit(2);
    }
    return symbol;
}

static void answer(int ok, const char *detail) {
    printf("%s%s%s\n", ok ? "ok" : "error", detail && *detail ? " " : "", detail ? detail : "");
    fflush(stdout);
}

// umockdev descriptions have no comment syntax; ours carry comments saying how they were made.
static char *read_without_comments(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) return NULL;
    size_t capacity = 4096, length = 0;
    char *text = malloc(capacity);
    char line[8192];
    while (fgets(line, sizeof line, file)) {
        if (line[0] == '#') continue;
        size_t n = strlen(line);
        if (length + n + 1 > capacity) {
            capacity = (length + n + 1) * 2;
            text = realloc(text, capacity);
        }
        memcpy(text + length, line, n);
        length += n;
    }
    text[length] = 0;
    fclose(file);
    return text;
}

int main(void) {
    void *library = dlopen("libumockdev.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        fprintf(stderr, "lockdiag-usb-testbed: cannot load libumockdev.so.0 (%s) — install the Debian packages "
                        "umockdev and libumockdev-dev (`make deps`)\n", dlerror());
        return 2;
    }
    testbed_new = need(library, "umockdev_testbed_new");
    testbed_root = need(library, "umockdev_testbed_get_root_dir");
    add_from_string = need(library, "umockdev_testbed_add_from_string");
    load_ioctl = need(library, "umockdev_testbed_load_ioctl");
    send_uevent = need(library, "umockdev_testbed_uevent");
    remove_device = need(library, "umockdev_testbed_remove_device");
    object_unref = need(RTLD_DEFAULT, "g_object_unref");
    attach_ioctl = need(library, "umockdev_testbed_attach_ioctl");
    ioctl_base_new = need(library, "umockdev_ioctl_base_new");
    client_request = need(library, "umockdev_ioctl_client_get_request");
    client_complete = need(library, "umockdev_ioctl_client_complete");
    signal_connect = need(RTLD_DEFAULT, "g_signal_connect_data");
    client_arg = need(library, "umockdev_ioctl_client_get_arg");
    data_resolve = need(library, "umockdev_ioctl_data_resolve");
    data_update = need(library, "umockdev_ioctl_data_update");
    data_unref = need(RTLD_DEFAULT, "g_object_unref");

    Testbed *testbed = testbed_new();
    const char *root = testbed_root(testbed);
    printf("dir %s\n", root);
    fflush(stdout);

    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *argument = strchr(line, ' ');
        if (argument) *argument++ = 0;
        GErrorView *error = NULL;
        if (strcmp(line, "quit") == 0) {
            break;
        } else if (strcmp(line, "add") == 0 && argument) {
            char *text = read_without_comments(argument);
            if (!text) { answer(0, strerror(errno)); continue; }
            int ok = add_from_string(testbed, text, &error);
            free(text);
            answer(ok, error ? error->message : NULL);
        } else if (strcmp(line, "ioctl") == 0 && argument && strchr(argument, ' ')) {
            char *file = strchr(argument, ' ');
            *file++ = 0;
            int ok = load_ioctl(testbed, argument, file, &error);
            answer(ok, error ? error->message : NULL);
        } else if (strcmp(line, "uevent") == 0 && argument && strchr(argument, ' ')) {
            char *action = strchr(argument, ' ');
            *action++ = 0;
            send_uevent(testbed, argument, action);
            answer(1, NULL);
        } else if (strcmp(line, "remove") == 0 && argument) {
            remove_device(testbed, argument);
            answer(1, NULL);
        } else if (strcmp(line, "link") == 0 && argument && strchr(argument, ' ')) {
            char *target = strchr(argument, ' ');
            *target++ = 0;
            char node[4096];
            snprintf(node, sizeof node, "%s%s", root, argument);
            unlink(node);
            if (symlink(target, node) != 0) { answer(0, strerror(errno)); continue; }
            answer(1, NULL);
        } else if (strcmp(line, "busy") == 0 && argument) {
            void *handler = ioctl_base_new();
            signal_connect(handler, "handle-ioctl", (void *)refuse_claims, NULL, NULL, 0);
            int ok = attach_ioctl(testbed, argument, handler, &error);
            object_unref(handler);
            answer(ok, error ? error->message : NULL);
        } else if (strcmp(line, "hang") == 0 && argument && strchr(argument, ' ')) {
            char *direction = strchr(argument, ' ');
            *direction++ = 0;
            hung_direction_in = strcmp(direction, "in") == 0;
            void *handler = ioctl_base_new();
            signal_connect(handler, "handle-ioctl", (void *)hang_urbs, NULL, NULL, 0);
            int ok = attach_ioctl(testbed, argument, handler, &error);
            object_unref(handler);
            answer(ok, error ? error->message : NULL);
        } else if (strcmp(line, "claims") == 0) {
            char count[32];
            snprintf(count, sizeof count, "%d", __atomic_load_n(&refused_claims, __ATOMIC_RELAXED));
            answer(1, count);
        } else {
            answer(0, "unknown command (add FILE | ioctl DEVNODE FILE | uevent SYSPATH ACTION | remove SYSPATH | link DEVNODE TARGET | busy DEVNODE | claims | hang DEVNODE in|out | quit)");
        }
    }
    // Removes the testbed directory.
    object_unref(testbed);
    return 0;
}
