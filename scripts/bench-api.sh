#!/bin/sh
# `make bench-api` (a benchmark, not a test): NUT's upsd with the dummy-ups driver and lockdiagd
# with simulated locks, each in a temporary folder and on its own socket, both driven by the same
# client (lockdiag-api-bench, Benchmarks/APIBenchmark). Every process and folder started here is
# removed at the end, also on failure or Ctrl-C. Needs nut-server (the Makefile installs it) and
# a release build of lockdiagd and lockdiag-api-bench. BENCH_ARGS adds client options, e.g.
# BENCH_ARGS="--requests 20000 --event-seconds 30". BENCH_API_PERF=FILE records lockdiagd with
# `perf record -g` into FILE for the whole run (the figures are then perf's, not the daemon's).
set -eu

BIN=$(swift build -c release --show-bin-path)
NUT=/lib/nut
DIR=$(mktemp -d /tmp/lockdiag-bench-api.XXXXXX)
UPSD="" DRIVER="" DAEMON="" PERF=""
stop() {
    [ -z "$PERF" ] || { kill -INT "$PERF" 2>/dev/null || true; wait "$PERF" 2>/dev/null || true; }
    for pid in $DAEMON $UPSD $DRIVER; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $DAEMON $UPSD $DRIVER; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

# A port nobody listens on now (the kernel's pick; upsd binds it a moment later).
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# NUT's configuration (ups.conf(5), upsd.conf(5), upsd.users(5); dummy-ups(8) reads a .dev file of
# "variable: value" lines relative to the configuration folder).
mkdir -p "$DIR/nut/state"
printf 'battery.charge: 100\nups.status: OL\ndevice.model: bench\n' > "$DIR/nut/bench.dev"
printf '[bench]\n\tdriver = dummy-ups\n\tport = bench.dev\n\tdesc = "lockdiag bench-api"\n' > "$DIR/nut/ups.conf"
printf 'LISTEN 127.0.0.1 %s\nMAXCONN 128\n' "$PORT" > "$DIR/nut/upsd.conf"
printf '[bench]\n\tpassword = bench\n\tupsmon primary\n' > "$DIR/nut/upsd.users"
chmod 0600 "$DIR/nut/upsd.users" "$DIR/nut/upsd.conf"
export NUT_CONFPATH="$DIR/nut" NUT_STATEPATH="$DIR/nut/state" NUT_ALTPIDPATH="$DIR/nut/state"

"$NUT/dummy-ups" -a bench -u root -F >"$DIR/dummy-ups.log" 2>&1 &
DRIVER=$!
deadline=$(( $(date +%s) + 15 ))
until ls "$DIR/nut/state"/dummy-ups-bench* >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "dummy-ups did not start:"; cat "$DIR/dummy-ups.log"; exit 1; }
    sleep 0.1
done
"$NUT/upsd" -u root -F >"$DIR/upsd.log" 2>&1 &
UPSD=$!

# lockdiagd: three simulated locks, its own socket and history in the folder, no discovery, the per-connection
# rate limiter lifted (a guard, not the query path) and room for 64 subscribers of one lock.
SOCKET="$DIR/lockdiag.sock"
"$BIN/lockdiagd" --socket "$SOCKET" --db "$DIR/history.sqlite" --no-discovery --simulate healthy,motor-stall,battery-worn --simulate-seed 1 \
    --rate-limit 0 --max-subscribers 64 --max-connections 128 2>"$DIR/lockdiagd.log" &
DAEMON=$!

# Both answer before the client starts: upsd with the dummy's variable, lockdiagd with its status.
deadline=$(( $(date +%s) + 30 ))
until python3 - "$PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"GET VAR bench battery.charge\n")
sys.exit(0 if s.recv(200).startswith(b"VAR ") else 1)
PY
do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "upsd did not answer GET VAR:"; cat "$DIR/upsd.log" "$DIR/dummy-ups.log"; exit 1; }
    sleep 0.2
done
until python3 - "$SOCKET" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"device.status","params":{"device":"SIM-0001-000"}}\n')
sys.exit(0 if b'"result"' in s.recv(4096) else 1)
PY
do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "lockdiagd did not start:"; cat "$DIR/lockdiagd.log"; exit 1; }
    sleep 0.2
done

echo "upsd $("$NUT/upsd" -V 2>&1 | head -1 | sed 's/.*upsd //') (dummy-ups) on 127.0.0.1:$PORT; lockdiagd (release) with 3 simulated locks on $SOCKET"
if [ -n "${BENCH_API_PERF:-}" ]; then
    perf record -g -o "$BENCH_API_PERF" -p "$DAEMON" >"$DIR/perf.log" 2>&1 &
    PERF=$!
fi
# shellcheck disable=SC2086
"$BIN/lockdiag-api-bench" --socket "$SOCKET" --nut-port "$PORT" --ups bench --device SIM-0001-000 ${BENCH_ARGS:-}
