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
    # The daemon's own counters (per link: timeouts, USB transfer figures) at the failure, and
    # where each thread of the daemon and the simulator is blocked in the kernel.
    [ -n "${LOCKDIAG_SOCKET:-}" ] && "$BIN/lockdiag" info --json > "$WORK/info.json" 2>/dev/null
    for pid in $(pidof lockdiagd locksim); do
        for task in /proc/$pid/task/*; do
            echo "$(cat "$task/comm") ${task##*/} $(cat "$task/wchan")"
            cat "$task/stack" 2>/dev/null | sed 's/^/    /'
        done
    done > "$WORK/threads.txt" 2>&1
    keep "$WORK/threads.txt"
    for f in "$WORK"/*.json; do [ -f "$f" ] && keep "$f"; done
    exit 1
}

# Runs at exit: what must see the scenario's processes still running (cleanup_first), then kill
# what the scenario started (by pid), in reverse order.
CLEANUP_FIRST=""
on_exit() { eval "$CLEANUP_FIRST"; eval "$CLEANUP"; }
# cleanup_first COMMAND: run COMMAND (a string) when the scenario ends, before any kill.
cleanup_first() { CLEANUP_FIRST="$CLEANUP_FIRST
$1"; }
trap on_exit EXIT
# cleanup_kill PID: kill PID when the scenario ends.
cleanup_kill() { CLEANUP="kill $1 2>/dev/null
$CLEANUP"; }
# cleanup_run COMMAND: run COMMAND (a string) when the scenario ends.
cleanup_run() { CLEANUP="$CLEANUP
$1"; }
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

# lock_firmware COMMAND…: runs the simulated lock's firmware side as a real lock's runs on a CPU
# of its own: SCHED_FIFO, so the scenario's own CLI calls (seconds of CPU each on TCG's emulated
# CPUs) cannot hold its answers past LDP/1's 100 ms deadline. lockdiagd gets --realtime likewise,
# as on a bench rig; both were seen late without it (docs/lab.md).
lock_firmware() { chrt -f 70 "$@"; }

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

# recording_rows FILE FIELD…: tshark's fields of FILE (ldp.lua loaded), one row per packet, `|`
# between fields, into $WORK/rec.txt; fails when tshark does or Lua reports an error.
recording_rows() {
    file=$1
    shift
    args=""
    for field in "$@"; do args="$args -e $field"; done
    # nice: the simulated lock shares the guest's CPUs with tshark (a real lock has its own), and its
    # answers must keep their 100 ms deadline while tshark reads the file.
    # shellcheck disable=SC2086
    nice -n 19 tshark -X "lua_script:$LAB_ROOT/firmware-specs/wireshark/ldp.lua" -r "$file" -T fields -E separator='|' $args \
        > "$WORK/rec.txt" 2> "$WORK/rec.err" || fail "tshark cannot read $file: $(tail -n 2 "$WORK/rec.err")"
    ! grep -q "Lua: Error" "$WORK/rec.err" || fail "ldp.lua failed on $file: $(grep "Lua: Error" "$WORK/rec.err" | head -n 1)"
    cleanup_keep "$WORK/rec.txt"
}

daemon_alive() { kill -0 "$DAEMON" 2>/dev/null || fail "lockdiagd died: $(tail -n 3 "$WORK/lockdiagd.log" | tr '\n' ' ')"; }

# list_json FILE / faults_json FILE: the CLI's --json output into FILE.
list_json() { "$BIN/lockdiag" list --json > "$1" 2>> "$WORK/cli.err"; [ -s "$1" ]; }
faults_json() { "$BIN/lockdiag" faults --json > "$1" 2>> "$WORK/cli.err"; [ -s "$1" ]; }

# USB lock scenarios (cdc-acm, vendor-bulk): SERIAL, G (the configfs gadget) and UDC set.
# Predicates for wait_for, over fresh `lockdiag list --json` / `faults --json` output.
lock_online() { list_json "$WORK/l.json" && json "$WORK/l.json" "$(device $SERIAL).get('state')=='online'"; }
lock_unplugged() {
    list_json "$WORK/l.json" &&
        json "$WORK/l.json" "$(device $SERIAL).get('state')=='offline' and 'unplugged' in $(device $SERIAL).get('problem','')"
}
stall_confirmed() {
    faults_json "$WORK/f.json" &&
        json "$WORK/f.json" "any(f['device']=='$SERIAL' and f['name']=='motor_stall' and f['status']=='confirmed' for f in d['faults'])"
}
# The faults other than motor_stall: the replug must raise none (no comm_crc_errors, link_lost…).
other_faults() {
    python3 -c "import json,sys; print(' '.join(sorted({f['name'] for f in json.load(open(sys.argv[1]))['faults'] if f['name']!='motor_stall'})))" "$WORK/f.json"
}


# Unplugs (an empty UDC) and replugs the gadget five times: offline "unplugged", then online under
# the same id with motor_stall still listed, no other fault raised, the daemon alive.
replug_five_times() {
    before=$(other_faults)
    echo "faults other than motor_stall before the replugs: ${before:-none}"
    for cycle in 1 2 3 4 5; do
        step "unplug $cycle"
        echo "" > "$G/UDC"
        wait_for 30 "$SERIAL offline 'unplugged' after unplug $cycle" lock_unplugged
        daemon_alive
        step "replug $cycle"
        echo "$UDC" > "$G/UDC" || fail "cannot rebind the gadget (replug $cycle)"
        wait_for 60 "$SERIAL online again after replug $cycle" lock_online
        wait_for 30 "motor_stall still listed after replug $cycle" stall_confirmed
        [ "$(other_faults)" = "$before" ] || fail "replug $cycle raised a false fault: $(other_faults) (before: ${before:-none})"
        daemon_alive
    done
    [ -e "/dev/lockdiag/$SERIAL" ] || fail "/dev/lockdiag/$SERIAL gone after the replugs"
    n=$(python3 -c "import json,sys; print(sum(1 for x in json.load(open(sys.argv[1]))['devices'] if x.get('serial')=='$SERIAL'))" "$WORK/l.json")
    [ "$n" = 1 ] || fail "$SERIAL is listed $n times after the replugs (want once, under the same id)"
    echo "ok: 5 replugs, daemon alive, no false fault"
}
