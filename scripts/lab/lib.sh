# Helpers for lab scenario scripts (sourced; plain POSIX sh). Each scenario runs as root in the
# guest with LAB_ROOT (the worktree), LAB_OUT (the results share) and LAB_SCENARIO set.
BIN=$LAB_ROOT/.build/debug
WORK=$(mktemp -d /tmp/lab-$LAB_SCENARIO.XXXXXX)
CLEANUP=""

# A step's name, so a deadline failure says where it stopped.
step() { echo "step: $* (at $(cut -d' ' -f1 /proc/uptime) s)"; }

# Ends the scenario as failed with REASON (the verdict line's text).
fail() {
    echo "FAIL: $*"
    echo "$*" > "$LAB_OUT/$LAB_SCENARIO.reason"
    for f in "$WORK"/*.json; do [ -f "$f" ] && keep "$f"; done
    exit 1
}

# Runs at exit: kill what the scenario started (by pid), in reverse order.
on_exit() { eval "$CLEANUP"; }
trap on_exit EXIT
# cleanup_kill PID: kill PID when the scenario ends.
cleanup_kill() { CLEANUP="kill $1 2>/dev/null
$CLEANUP"; }
# cleanup_keep FILE: keep FILE in the results when the scenario ends.
cleanup_keep() { CLEANUP="$CLEANUP
keep $1"; }

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.2 s until it succeeds, or fails
# the scenario with "timed out after SECONDS s waiting for DESCRIPTION".
wait_for() {
    limit=$1 what=$2
    shift 2
    end=$(( $(cut -d. -f1 /proc/uptime) + limit ))
    while ! "$@" > /dev/null 2>&1; do
        [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || fail "timed out after ${limit}s waiting for $what"
        sleep 0.2
    done
}

# Copies a file into the results (kept on the host) under the scenario's name.
keep() { cp "$1" "$LAB_OUT/$LAB_SCENARIO.$(basename "$1")" 2>/dev/null || true; }

# json FILE PYTHON-EXPRESSION: exit 0 if the expression, over `d` (FILE's JSON), is true.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }

# A device from devices.list by id, as a Python expression for json().
device() { echo "next((x for x in d['devices'] if x['id']=='$1'), {})"; }

# Starts systemd-udevd with the project's rules and the lockdiag groups (sysusers), as the
# udev/README.md install steps do.
start_udev_with_lockdiag_rules() {
    install -D -m 0644 "$LAB_ROOT/udev/lockdiag.sysusers.conf" /etc/sysusers.d/lockdiag.conf
    systemd-sysusers /etc/sysusers.d/lockdiag.conf || fail "systemd-sysusers failed on udev/lockdiag.sysusers.conf"
    install -D -m 0644 "$LAB_ROOT/udev/70-lockdiag.rules" /etc/udev/rules.d/70-lockdiag.rules
    /lib/systemd/systemd-udevd --daemon || fail "systemd-udevd did not start"
    udevadm trigger --action=add
    udevadm settle -t 30
}

# Starts lockdiagd in the background with ARGS, its log in $WORK/lockdiagd.log (kept on failure);
# sets DAEMON and LOCKDIAG_SOCKET, and waits for its socket.
start_daemon() {
    export LOCKDIAG_SOCKET=$WORK/lockdiag.sock
    "$BIN/lockdiagd" --socket "$LOCKDIAG_SOCKET" --db "${DB:-$WORK/history.sqlite}" "$@" > "$WORK/lockdiagd.log" 2>&1 &
    DAEMON=$!
    cleanup_kill $DAEMON
    cleanup_keep "$WORK/lockdiagd.log"
    cleanup_keep "$WORK/cli.err"
    wait_for 60 "lockdiagd's socket" test -S "$LOCKDIAG_SOCKET"
}

daemon_alive() { kill -0 "$DAEMON" 2>/dev/null || fail "lockdiagd died: $(tail -n 3 "$WORK/lockdiagd.log" | tr '\n' ' ')"; }

# list_json FILE / faults_json FILE: the CLI's --json output into FILE.
list_json() { "$BIN/lockdiag" list --json > "$1" 2>> "$WORK/cli.err"; [ -s "$1" ]; }
faults_json() { "$BIN/lockdiag" faults --json > "$1" 2>> "$WORK/cli.err"; [ -s "$1" ]; }
