# Scenario 2, a vendor-bulk lock: a configfs gadget 1209:0001 whose one function is FunctionFS,
# served by `locksim --functionfs` (the lock's firmware side of firmware-specs/usb.md §2: vendor
# interface 0xFF/0x4C/0x01, one bulk OUT and one bulk IN endpoint, whose addresses
# the UDC picks: dummy_hcd gives OUT 0x02), on dummy_hcd; lockdiagd finds it by udev
# discovery and talks to it through libusb on the real usbfs. Five unplug/replug cycles as for
# cdc-acm, then an unplug in the middle of a motor self-test: reported, never resent. The lock's
# traffic is recorded (--record) and tshark reads it as usbmon records of the gadget's real bus,
# device address and endpoints, with LDP/1 decoded inside (docs/recording.md); at the end
# lockdiagd --replay plays the file back and confirms the same motor_stall.
# lab-deadline: 420
. "$LAB_ROOT/scripts/lab/lib.sh"
SERIAL=SIM-0002-000      # locksim's serial for seed 2: the USB serial number matches IDENTIFY
G=/sys/kernel/config/usb_gadget/lab-bulk
UDC=dummy_udc.0
FFS=/dev/ffs-lab-lock

step "modules"
for m in libcomposite dummy_hcd usb_f_fs; do modprobe "$m" || fail "modprobe $m failed"; done
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config

step "udev with the project's rules"
pidof systemd-udevd > /dev/null || start_udev_with_lockdiag_rules

step "gadget 1209:0001 serial $SERIAL with a FunctionFS function"
mkdir "$G" || fail "cannot create a configfs gadget"
echo 0x1209 > "$G/idVendor"
echo 0x0001 > "$G/idProduct"
echo 0x0204 > "$G/bcdDevice"
mkdir "$G/strings/0x409"
echo "$SERIAL" > "$G/strings/0x409/serialnumber"
echo "Lockdiag lab" > "$G/strings/0x409/manufacturer"
echo "LX-300 lock controller (vendor bulk)" > "$G/strings/0x409/product"
mkdir "$G/configs/c.1" "$G/functions/ffs.lablock"
ln -s "$G/functions/ffs.lablock" "$G/configs/c.1/"
mkdir -p "$FFS"
mount -t functionfs lablock "$FFS" || fail "cannot mount FunctionFS"

step "locksim --functionfs (motor-stall)"
lock_firmware "$BIN/locksim" --functionfs "$FFS" --scenario motor-stall --seed 2 < /dev/null > "$WORK/locksim.log" 2>&1 &
SIM=$!
cleanup_kill $SIM
cleanup_keep "$WORK/locksim.log"
wait_for 60 "locksim's descriptors on $FFS/ep0" grep -qx "ready $FFS" "$WORK/locksim.log"
echo "$UDC" > "$G/UDC" || fail "cannot bind the gadget to $UDC"
cleanup_run "echo '' > $G/UDC 2>/dev/null"

step "udev: the USB device node and /dev/lockdiag/$SERIAL"
wait_for 30 "/dev/lockdiag/$SERIAL from udev/70-lockdiag.rules" test -e "/dev/lockdiag/$SERIAL"
node=$(readlink -f "/dev/lockdiag/$SERIAL")
echo "link: /dev/lockdiag/$SERIAL -> $node"
case "$node" in /dev/bus/usb/*) ;; *) fail "/dev/lockdiag/$SERIAL points at $node, not a USB device node" ;; esac
perm=$(stat -c '%G %a' "$node")
[ "$perm" = "lockdiag 660" ] || fail "$node is '$perm', not group lockdiag mode 660 as udev/70-lockdiag.rules says"

step "lockdiagd with udev discovery (libusb)"
start_daemon --realtime --record "$WORK/usb.pcapng"
wait_for 90 "$SERIAL online in lockdiag list" lock_online
json "$WORK/l.json" "$(device $SERIAL).get('transport')=='usb' and $(device $SERIAL)['usb']['product_id']=='0001'" ||
    fail "lockdiag list shows $SERIAL not as a usb lock 1209:0001: $(cat "$WORK/l.json")"
step "motor_stall confirmed"
wait_for 60 "motor_stall confirmed on $SERIAL" stall_confirmed

step "the recording: usbmon records of bus/device $node, LDP/1 inside"
# /dev/bus/usb/BBB/DDD: the bus and device address usbmon must name. The recorder writes every 5 ms.
bus=$(basename "$(dirname "$node")" | sed 's/^0*//') dev=$(basename "$node" | sed 's/^0*//')
# The endpoints the host enumerated (FunctionFS numbers them itself), from the interface's sysfs.
epout="" epin=""
for e in $(cat "/sys$(udevadm info -q path -n "$node")"/*:*/ep_*/bEndpointAddress); do
    if [ $((0x$e & 0x80)) = 0 ]; then epout=0x$e; else epin=0x$e; fi
done
[ -n "$epout" ] && [ -n "$epin" ] || fail "no bulk endpoints of $node in sysfs"
recorded() {
    recording_rows "$WORK/usb.pcapng" usb.urb_type usb.endpoint_address usb.bus_id usb.device_address ldp1.kind ldp1.serial ldp1.crc.status &&
        grep -q "^'S'|$epout|$bus|$dev|0|" "$WORK/rec.txt" && grep -Eq "^'C'\|$epin\|$bus\|$dev\|[0-9,]*\|$SERIAL\|" "$WORK/rec.txt"
}
recorded || fail "no IDENTIFY exchange as usbmon 'S' on $epout and 'C' on $epin of bus $bus device $dev in the recording: $(head -n 4 "$WORK/rec.txt" | tr '\n' ' ')"
bad=$(awk -F'|' '$7 ~ /(^|,)0(,|$)/' "$WORK/rec.txt" | head -n 1)
[ -z "$bad" ] || fail "a bad CRC verdict in the recording: $bad"
# usb.md §2.2 step 3: an IN transfer that carries the answer (a response or NAK, kind 1 or 3)
# carries it first, before the events queued since the last exchange.
late=$(awk -F'|' -v ep="$epin" '$1 == "\047C\047" && $2 == ep && $5 ~ /(^|,)[13](,|$)/ && $5 !~ /^[13](,|$)/' "$WORK/rec.txt" | head -n 1)
[ -z "$late" ] || fail "an IN transfer with events before its answer (usb.md §2.2): $late"
echo "recorded: $(wc -l < "$WORK/rec.txt") usbmon records, bus $bus device $dev, endpoints $epout and $epin"
replug_five_times

step "unplug in the middle of a motor self-test"
accepted() { sed -n 's/^\(plugged\|accepted\) commands=\([0-9]*\).*/\2/p' "$WORK/locksim.log" | tail -n1; }
before=$(accepted)
"$BIN/lockdiag" test "$SERIAL" motor --yes --json > "$WORK/selftest.json" 2> "$WORK/selftest.err" &
TEST=$!
# Unplugged once the lock has accepted RUN_SELFTEST (locksim says so); the test runs ~2 s.
selftest_accepted() { grep -qx "accepted commands=$((before + 1))" "$WORK/locksim.log"; }
wait_for 60 "the lock accepting the motor self-test" selftest_accepted
echo "" > "$G/UDC"
wait "$TEST"
rc=$?
cat "$WORK/selftest.json" "$WORK/selftest.err"
[ $rc != 0 ] || fail "the self-test interrupted by the unplug was reported as passed"
wait_for 30 "$SERIAL offline 'unplugged'" lock_unplugged
echo "$UDC" > "$G/UDC" || fail "cannot rebind the gadget"
wait_for 60 "$SERIAL online again" lock_online
replugged() { grep -E '^(un)?plugged ' "$WORK/locksim.log" | tail -n1 | grep -q '^plugged '; }
wait_for 30 "locksim plugged in again" replugged
after=$(sed -n 's/^unplugged commands=\([0-9]*\).*/\1/p' "$WORK/locksim.log" | tail -n1)
echo "commands accepted: $before before the self-test, $after at the unplug, $(accepted) after the replug"
[ "$(accepted)" = "$after" ] || fail "the lock accepted $(($(accepted) - after)) command(s) after the replug: the self-test was resent"
[ "$after" = $((before + 1)) ] || fail "the lock accepted $((after - before)) commands for one self-test before the unplug (0: the unplug came first, the lab missed the window)"
daemon_alive

step "the recording replayed (lockdiagd --replay): the same motor_stall as live"
kill -TERM "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
export LOCKDIAG_SOCKET=$WORK/replay.sock
"$BIN/lockdiagd" --replay "$WORK/usb.pcapng" --replay-speed 4 --no-discovery --socket "$LOCKDIAG_SOCKET" \
    --db "$WORK/replay.sqlite" > "$WORK/replay.log" 2>&1 &
REPLAY=$!
cleanup_kill $REPLAY
cleanup_keep "$WORK/replay.log"
wait_for 60 "motor_stall confirmed on the replayed $SERIAL" stall_confirmed
kill -0 "$REPLAY" 2>/dev/null || fail "lockdiagd --replay died: $(tail -n 3 "$WORK/replay.log" | tr '\n' ' ')"
echo "ok"
