# Scenario 5, a power cut (one boot of it; scripts/lab/power-cut-host.sh drives the cycles): the
# history on a virtio-blk ext4 disk, lockdiagd --simulate raising and clearing faults, a client
# recording every fault event it is told about on the host's results share
# (scripts/lab/ldp-client.py). The host kills QEMU outright at a random moment after
# "running-CYCLE" appears; the next boot checks that every event of the cycle before is in the
# history, then runs the next cycle.
# lab-deadline: 240
. "$LAB_ROOT/scripts/lab/lib.sh"
cycle=$(cat "$LAB_OUT/cycle")
last=$(cat "$LAB_OUT/cycles")
export PATH=$BIN:$PATH

step "mount the history disk (cycle $cycle)"
mkdir -p /mnt/history
modprobe crc32c_generic  # ext4's metadata checksums (a soft dependency modprobe does not follow)
mount -t ext4 /dev/vda /mnt/history || fail "cannot mount the history disk /dev/vda (cycle $cycle)"
DB=/mnt/history/history.sqlite
# --simulate locks whose faults come and go: stalls and timeouts per actuation, a tamper, a
# flaky line; the client clears them every 3 s so they are raised again.
start_daemon --no-discovery --simulate motor-stall,clutch-slip,tamper,flaky

if [ "$cycle" -gt 1 ]; then
    step "every event of cycle $((cycle - 1)) in the history"
    python3 "$LAB_ROOT/scripts/lab/ldp-client.py" check "$LOCKDIAG_SOCKET" "$LAB_OUT/events-$((cycle - 1)).jsonl" > "$WORK/check.txt" 2>&1
    rc=$?
    cat "$WORK/check.txt"
    cp "$WORK/check.txt" "$LAB_OUT/check-$((cycle - 1)).txt"
    [ $rc = 0 ] || fail "after power cut $((cycle - 1)): $(tail -n1 "$WORK/check.txt"); first: $(head -n1 "$WORK/check.txt")"
fi
if [ "$cycle" -gt "$last" ]; then
    sqlite3 "$DB" "PRAGMA integrity_check" | grep -qx ok || fail "the history fails sqlite's integrity check after $last power cuts"
    echo "ok: $last power cuts, every fault event the client saw is in the history"
    exit 0
fi

step "cycle $cycle: a client watching every lock, clearing faults every 3 s"
four_listed() { list_json "$WORK/l.json" && json "$WORK/l.json" "len(d['devices'])==4"; }
wait_for 60 "four simulated locks listed" four_listed
events=$LAB_OUT/events-$cycle.jsonl
: > "$events"
python3 "$LAB_ROOT/scripts/lab/ldp-client.py" watch "$LOCKDIAG_SOCKET" "$events" > "$WORK/client.log" 2>&1 &
cleanup_keep "$WORK/client.log"
cleanup_kill $!
# The cut comes after the client has been told something: a cycle without events proves nothing.
wait_for 120 "the client's first fault event" test -s "$events"
echo "$cycle" > "$LAB_OUT/running-$cycle"
sync
step "running until the power is cut"
while :; do sleep 1; done
