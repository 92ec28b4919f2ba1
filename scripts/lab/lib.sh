# Helpers for lab scenario scripts (sourced; plain POSIX sh). Each scenario runs as root in the
# guest with LAB_ROOT (the worktree), LAB_OUT (the results share) and LAB_SCENARIO set.
BIN=$LAB_ROOT/.build/debug
WORK=$(mktemp -d /tmp/lab-$LAB_SCENARIO.XXXXXX)
CLEANUP=""

# A step's name, so a deadline failure says where it stopped.
step() { echo "step: $*"; }

# Ends the scenario as failed with REASON (the verdict line's text).
fail() {
    echo "FAIL: $*"
    echo "$*" > "$LAB_OUT/$LAB_SCENARIO.reason"
    exit 1
}

# Runs at exit: kill what the scenario started (by pid), in reverse order.
on_exit() { eval "$CLEANUP"; }
trap on_exit EXIT
# cleanup_kill PID: kill PID when the scenario ends.
cleanup_kill() { CLEANUP="kill $1 2>/dev/null; $CLEANUP"; }

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
