# Scenario 3, BLE locks on the kernel's Bluetooth stack: four virtual LE controllers (`btvirt`
# from bluez-test-tools over hci_vhci) that hear each other. `locksim --ble-adapter hci0` is a
# motor-stall lock: it powers hci0 on, advertises the LDP service through the kernel's management
# API and serves GATT on a real L2CAP ATT socket. `lockdiag scan --adapter hci1` lists it as a
# likely lock; lockdiagd, through hci1, confirms its motor_stall; powering hci0 off takes it
# offline with the backoff, powering it on brings it back with its fault. Then a lock with only
# the standard services on hci2, and a second lockdiagd through hci3 that reads its battery level.
#
# One connection per controller: btvirt (BlueZ 5.66's emulator/btdev.c, send_acl) forwards ACL
# data under the sender's connection handle, which is the receiver's only while both sides gave
# the link the same handle, so a controller with two links at once (handles 42 and 43) loses
# the second one's data.
# lab-deadline: 150
. "$LAB_ROOT/scripts/lab/lib.sh"

step "modules"
# The kernel's SMP crypto goes through AF_ALG: without these btvirt stops with "Failed to open
# Virtual HCI device".
for m in bluetooth hci_vhci af_alg algif_hash algif_skcipher cmac ecb; do modprobe "$m" || fail "modprobe $m failed"; done
# Every controller's HCI and management traffic, decoded (kept with the results).
btmon > "$WORK/btmon.txt" 2>&1 &
cleanup_kill $!
cleanup_keep "$WORK/btmon.txt"

step "btvirt: four LE controllers"
btvirt -L -l4 < /dev/null > "$WORK/btvirt.log" 2>&1 &
cleanup_kill $!
cleanup_keep "$WORK/btvirt.log"
wait_for 30 "hci0 to hci3 from btvirt" test -e /sys/class/bluetooth/hci3
cleanup_keep "$WORK/btmgmt.log"
# At the end (before btvirt is killed), what the kernel says of each controller and its links.
cleanup_first "for i in 0 1 2 3; do btmgmt --index \$i info; btmgmt --index \$i con; done > $WORK/controllers.txt 2>&1; keep $WORK/controllers.txt"
for i in 1 3; do btmgmt --index $i power on >> "$WORK/btmgmt.log" 2>&1 || fail "btmgmt --index $i power on failed: $(cat "$WORK/btmgmt.log")"; done

# start_lock NAME ADAPTER ARGS…: locksim on ADAPTER; sets ADDRESS to the address it prints.
start_lock() {
    name=$1 adapter=$2
    shift 2
    "$BIN/locksim" --ble-adapter "$adapter" --activity 0 "$@" < /dev/null > "$WORK/$name.log" 2>&1 &
    cleanup_kill $!
    cleanup_keep "$WORK/$name.log"
    wait_for 30 "locksim advertising on $adapter" grep -Eq '^([0-9A-F]{2}:){5}[0-9A-F]{2}$' "$WORK/$name.log"
    ADDRESS=$(head -n1 "$WORK/$name.log")
    echo "$name: $adapter is $ADDRESS"
}

step "locksim --ble-adapter hci0 (motor-stall), which powers hci0 on and advertises"
start_lock locksim hci0 --scenario motor-stall --seed 3
LOCK=$ADDRESS
btmgmt --index 0 info >> "$WORK/btmgmt.log" 2>&1
grep -A3 '^hci0' "$WORK/btmgmt.log" | grep -q 'current settings:.*powered' || fail "hci0 is not powered on after locksim started: $(cat "$WORK/btmgmt.log")"

step "lockdiag scan --adapter hci1"
scanned() {
    "$BIN/lockdiag" scan --adapter hci1 --seconds 3 --json > "$WORK/scan.json" 2>> "$WORK/cli.err" &&
        json "$WORK/scan.json" "any(x['address']=='$LOCK' and x.get('lock_evidence')=='ldp' and x.get('connectable') and x.get('name','').startswith('LX-300 ') for x in d['devices'])"
}
wait_for 30 "lockdiag scan on hci1 listing $LOCK as a likely lock (ldp, connectable, named in its scan response)" scanned
keep "$WORK/scan.json"

step "lockdiagd --ble $LOCK through hci1"
start_daemon --no-discovery --ble "$LOCK" --ble-adapter hci1 --ble-connect-timeout 5 --record "$WORK/ble.pcapng"

# The BLE locks' entries in `lockdiag list --json`, by path (their address).
ble_device() { echo "next((x for x in d['devices'] if x['path']=='$1'), {})"; }
ble_online() { list_json "$WORK/l.json" && json "$WORK/l.json" "$(ble_device "$1").get('state')=='online'"; }
stall_confirmed_on() {
    id=$(python3 -c "import json,sys; print(next((x['id'] for x in json.load(open(sys.argv[1]))['devices'] if x['path']==sys.argv[2]), ''))" "$WORK/l.json" "$1")
    faults_json "$WORK/f.json" &&
        json "$WORK/f.json" "any(f['device']=='$id' and f['name']=='motor_stall' and f['status']=='confirmed' for f in d['faults'])"
}
ble_offline_backing_off() {
    list_json "$WORK/l.json" &&
        json "$WORK/l.json" "$(ble_device "$1").get('state')=='offline' and 'next attempt in' in $(ble_device "$1").get('problem','') and $(ble_device "$1")['ble'].get('phase')=='waiting' and $(ble_device "$1")['ble'].get('next_attempt_in_s') is not None"
}

wait_for 60 "$LOCK online in lockdiag list" ble_online "$LOCK"
json "$WORK/l.json" "$(ble_device "$LOCK").get('transport')=='ble' and 'ldp' in $(ble_device "$LOCK")['ble']['services']" ||
    fail "lockdiag list shows $LOCK not as a BLE lock with the LDP service: $(cat "$WORK/l.json")"
step "motor_stall confirmed over BLE"
wait_for 60 "motor_stall confirmed on $LOCK" stall_confirmed_on "$LOCK"
step "the recording: HCI ACL/ATT writes and notifications, LDP/1 inside"
# (At an ATT_MTU of 23 an answer spans notifications; ldp.lua shows its first as incomplete.)
recording_rows "$WORK/ble.pcapng" btl2cap.cid btatt.opcode ldp1.kind ldp1.incomplete
grep -q "^0x0004|0x52|0|" "$WORK/rec.txt" || fail "no ATT Write Command carrying an LDP/1 request in the recording: $(head -n 3 "$WORK/rec.txt" | tr '\n' ' ')"
grep -Eq "^0x0004\|0x1[bd]\|([^|]+\||\|.)" "$WORK/rec.txt" || fail "no notification carrying LDP/1 in the recording: $(head -n 3 "$WORK/rec.txt" | tr '\n' ' ')"
echo "recorded: $(wc -l < "$WORK/rec.txt") ATT PDUs"

step "btmgmt --index 0 power off: the lock goes offline"
btmgmt --index 0 power off >> "$WORK/btmgmt.log" 2>&1 || fail "btmgmt --index 0 power off failed"
wait_for 40 "$LOCK offline, backing off" ble_offline_backing_off "$LOCK"
echo "offline: $(python3 -c "import json,sys; x=next(x for x in json.load(open(sys.argv[1]))['devices'] if x['path']==sys.argv[2]); print(x['problem'], '| next_attempt_in_s', x['ble']['next_attempt_in_s'])" "$WORK/l.json" "$LOCK")"
daemon_alive

step "btmgmt --index 0 power on: the lock comes back with its fault"
btmgmt --index 0 power on >> "$WORK/btmgmt.log" 2>&1 || fail "btmgmt --index 0 power on failed"
wait_for 60 "$LOCK online again after power on" ble_online "$LOCK"
wait_for 30 "motor_stall confirmed on $LOCK after power on" stall_confirmed_on "$LOCK"

step "locksim --ble-adapter hci2 --gatt-services standard, and lockdiagd through hci3"
kill "$DAEMON"
wait "$DAEMON"
[ ! -e "$LOCKDIAG_SOCKET" ] || fail "the first lockdiagd left its socket behind"
mv "$WORK/lockdiagd.log" "$WORK/lockdiagd-1.log"
cleanup_keep "$WORK/lockdiagd-1.log"
start_lock standard hci2 --gatt-services standard --scenario healthy --seed 4
STANDARD=$ADDRESS
start_daemon --no-discovery --ble "$STANDARD" --ble-adapter hci3 --ble-connect-timeout 5
standard_battery() {
    list_json "$WORK/l.json" &&
        json "$WORK/l.json" "$(ble_device "$STANDARD").get('state')=='online' and isinstance($(ble_device "$STANDARD")['ble'].get('battery_percent'), int) and 'ldp' not in $(ble_device "$STANDARD")['ble']['services']"
}
wait_for 60 "$STANDARD online with a battery level" standard_battery
echo "standard: battery $(python3 -c "import json,sys; print(next(x for x in json.load(open(sys.argv[1]))['devices'] if x['path']==sys.argv[2])['ble']['battery_percent'])" "$WORK/l.json" "$STANDARD") %"
daemon_alive
echo "ok: BLE lock diagnosed through the kernel, power cycle survived, standard lock's battery read"
