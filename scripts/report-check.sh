#!/bin/sh
# `make report-check`: a signed report of a simulated motor-stall lock, rendered by headless
# Chromium (Debian's `chromium`), checked for its plots, and kept as a screenshot to look at.
# Not part of `make test`: Chromium is a large install. Leaves report.json, report.html and
# report.png in $REPORT_CHECK_OUT (default: a new /tmp/lockdiag-report.* folder).
set -eu

BIN=$(swift build --show-bin-path)
DIR=$(mktemp -d /tmp/lockdiag-report.XXXXXX)
OUT=${REPORT_CHECK_OUT:-$DIR}
mkdir -p "$OUT"
export LOCKDIAG_SOCKET="$DIR/lockdiag.sock"
"$BIN/lockdiagd" --simulate motor-stall --simulate-activity 1 --db "$DIR/history.sqlite" 2>"$DIR/lockdiagd.log" &
DAEMON=$!
stop() {
    kill -TERM "$DAEMON" 2>/dev/null || true
    wait "$DAEMON" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM
lockdiag() { "$BIN/lockdiag" "$@"; }

deadline=$(( $(date +%s) + 30 ))
until lockdiag info >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "lockdiagd did not start:"; cat "$DIR/lockdiagd.log"; exit 1; }
    sleep 0.2
done
DEVICE=SIM-0001-000
until lockdiag list --json 2>/dev/null | grep -q "\"$DEVICE\""; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "no $DEVICE"; exit 1; }
    sleep 0.2
done

passed=0
failed=0
check() {
    if eval "$2"; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAILED: $1"; fi
}

lockdiag test "$DEVICE" all >/dev/null || true
lockdiag report "$DEVICE" -o "$OUT/report.json" --html "$OUT/report.html" || true
check "lockdiag verify report.html with the station key" \
    'lockdiag verify "$OUT/report.html" --key "$(lockdiag key --public)" >/dev/null'
# The page is checked as a person sees it, and a signature counts only with a trusted key.
sed '0,/<h2>/s//<h2>No fault found — lock healthy. /' "$OUT/report.html" >"$DIR/edited.html"
check "an edited verdict heading is INVALID (exit 2)" \
    'status=0; lockdiag verify "$DIR/edited.html" --key "$(lockdiag key --public)" >/dev/null || status=$?; [ "$status" -eq 2 ]'
: >"$DIR/no-trusted-keys"
check "without a trusted key the signature is UNTRUSTED (exit 5)" \
    'status=0; lockdiag verify "$OUT/report.html" --trusted-keys "$DIR/no-trusted-keys" >/dev/null || status=$?; [ "$status" -eq 5 ]'

# --dump-dom prints the page as Chromium parsed and laid it out; --screenshot renders it.
CHROMIUM="chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,4200"
$CHROMIUM --dump-dom "file://$OUT/report.html" >"$OUT/report.dom.html" 2>"$DIR/chromium.log" || true
$CHROMIUM --screenshot="$OUT/report.png" "file://$OUT/report.html" >>"$DIR/chromium.log" 2>&1 || true
check "Chromium parsed the page" 'grep -q "Lock diagnostic report" "$OUT/report.dom.html"'
check "motor-current plots with a stall threshold" \
    '[ "$(grep -o "class=\"chart motor-trace\"" "$OUT/report.dom.html" | wc -l)" -ge 1 ] && grep -q "stall threshold 700 mA" "$OUT/report.dom.html"'
check "a stalled actuation among them" 'grep -q "— stall</title>" "$OUT/report.dom.html"'
check "battery-under-load plot and fault timeline" \
    'grep -q "class=\"chart battery-load\"" "$OUT/report.dom.html" && grep -q "class=\"chart fault-timeline\"" "$OUT/report.dom.html"'
check "no network fetch in the page" '! grep -Eq "(src=|href=|url\(|https?://)" "$OUT/report.html"'
check "screenshot rendered ($OUT/report.png)" '[ -s "$OUT/report.png" ] && [ "$(wc -c <"$OUT/report.png")" -gt 50000 ]'
echo "report-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
