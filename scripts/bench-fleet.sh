#!/bin/sh
# `make bench-fleet` (a benchmark, not a test): Debian's PostgreSQL started in a temporary folder (initdb and
# pg_ctl, a private Unix socket, no TCP; as root the server runs as the postgres user), then
# lockdiag-fleet-bench (Benchmarks/FleetBenchmark), which applies the fleet schema, enrolls its stations and runs.
# Everything started here is stopped and removed at the end, also on failure or Ctrl-C. BENCH_ARGS adds options.
set -eu

BIN=$(swift build -c release --show-bin-path)
PG=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/lockdiag-bench-fleet.XXXXXX)
AS=""
[ "$(id -u)" != 0 ] || AS="runuser -u postgres --"
STARTED=""
stop() {
    [ -z "$STARTED" ] || $AS "$PG/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir -p "$DIR/sock" "$DIR/histories"
PASSWORD=bench-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
echo "$PASSWORD" > "$DIR/pw"
[ -z "$AS" ] || chown postgres "$DIR" "$DIR/sock" "$DIR/pw"
$AS "$PG/initdb" -D "$DIR/data" -U postgres --auth=scram-sha-256 --pwfile="$DIR/pw" -E UTF8 --no-instructions >/dev/null
$AS "$PG/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $DIR/sock -c max_connections=200" start >/dev/null
STARTED=1

ADMIN="postgresql://postgres:$PASSWORD@/postgres?host=$DIR/sock"
# shellcheck disable=SC2086
"$BIN/lockdiag-fleet-bench" --admin-url "$ADMIN" --directory "$DIR/histories" ${BENCH_ARGS:-}
