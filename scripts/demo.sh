#!/bin/sh
# `make demo`: lockdiagd with simulated locks (healthy and faulty) on real ptys, diagnosed by the
# lockdiag CLI over the daemon's socket, then the daemon is stopped. Needs a built package.
set -eu

BIN=$(swift build --show-bin-path)
DIR=$(mktemp -d /tmp/lockdiag-demo.XXXXXX)
SOCKET="$DIR/lockdiag.sock"
SCENARIOS="healthy,motor-stall,clutch-slip,battery-worn,fingerprint-degraded,noisy-line"
# With --simulate-seed 1 the simulated locks' serial numbers are SIM-0001-000, -001, … in that order.
HEALTHY=SIM-0001-000
FAULTY="SIM-0001-001 SIM-0001-002 SIM-0001-003 SIM-0001-004 SIM-0001-005"

"$BIN/lockdiagd" --socket "$SOCKET" --db "$DIR/history.sqlite" --simulate "$SCENARIOS" --simulate-seed 1 --simulate-activity 1.5 \
    2>"$DIR/lockdiagd.log" &
DAEMON=$!
stop() {
    kill -TERM "$DAEMON" 2>/dev/null || true
    wait "$DAEMON" 2>/dev/null || true
    rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Both programs read the socket path from LOCKDIAG_SOCKET.
export LOCKDIAG_SOCKET="$SOCKET"
lockdiag() { "$BIN/lockdiag" "$@"; }

# Wait for the daemon, then for every faulty lock's first confirmed fault (deadline 45 s: the
# simulated locks are used every ~1.5 s, and a fault confirms on its second failed check).
deadline=$(( $(date +%s) + 45 ))
until lockdiag info >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "lockdiagd did not start:"; cat "$DIR/lockdiagd.log"; exit 1; }
    sleep 0.2
done
echo "lockdiagd is diagnosing six simulated locks: $SCENARIOS"
printf 'waiting for the diagnosis to settle'
for id in $FAULTY; do
    until lockdiag faults "$id" --json 2>/dev/null | grep -q '"confirmed"'; do
        [ "$(date +%s)" -lt "$deadline" ] || break
        printf '.'
        sleep 0.5
    done
done
echo

echo; echo '$ lockdiag list'
lockdiag list || true
echo; echo '$ lockdiag faults'
lockdiag faults || true
echo; echo "\$ lockdiag status $HEALTHY"
lockdiag status "$HEALTHY" || true
echo; echo '$ lockdiag test SIM-0001-003 battery'
lockdiag test SIM-0001-003 battery || true
echo; echo "\$ lockdiag parts $HEALTHY"
lockdiag parts "$HEALTHY" || true
echo; echo "(exit status of lockdiag: 0 healthy, 2 confirmed faults or a failed test, 3 daemon unreachable, 4 device problem)"
