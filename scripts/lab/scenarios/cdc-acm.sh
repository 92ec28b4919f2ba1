# Scenario 1, a CDC-ACM lock: a configfs USB gadget 1209:0002 (usb_f_acm) on dummy_hcd, the
# simulator serving LDP/1 on the gadget's /dev/ttyGS0 (its firmware side), the host side through
# the kernel's cdc-acm driver, the real systemd-udevd applying udev/70-lockdiag.rules, and lockdiagd
# finding it by udev discovery. Unplug (unbind the UDC) and replug five times.
# lab-deadline: 420
. "$LAB_ROOT/scripts/lab/lib.sh"
SERIAL=SIM-0001-000      # locksim's serial for seed 1, lock 0: the USB serial number matches IDENTIFY
G=/sys/kernel/config/usb_gadget/lab-acm
UDC=dummy_udc.0

step "modules"
for m in libcomposite dummy_hcd usb_f_acm cdc_acm; do modprobe "$m" || fail "modprobe $m failed"; done
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config

step "udev with the project's rules"
start_udev_with_lockdiag_rules

step "gadget 1209:0002 serial $SERIAL"
mkdir "$G" || fail "cannot create a configfs gadget"
echo 0x1209 > "$G/idVendor"
echo 0x0002 > "$G/idProduct"
mkdir "$G/strings/0x409"
echo "$SERIAL" > "$G/strings/0x409/serialnumber"
echo "Lockdiag lab" > "$G/strings/0x409/manufacturer"
echo "LX-300 lock controller (CDC-ACM)" > "$G/strings/0x409/product"
mkdir "$G/configs/c.1" "$G/functions/acm.usb0"
ln -s "$G/functions/acm.usb0" "$G/configs/c.1/"
echo "$UDC" > "$G/UDC" || fail "cannot bind the gadget to $UDC"
cleanup_run "echo '' > $G/UDC 2>/dev/null"  # the next scenario needs the UDC
wait_for 30 "/dev/ttyGS0" test -c /dev/ttyGS0

step "udev link /dev/lockdiag/$SERIAL"
wait_for 30 "/dev/lockdiag/$SERIAL from udev/70-lockdiag.rules" test -e "/dev/lockdiag/$SERIAL"
node=$(readlink -f "/dev/lockdiag/$SERIAL")
echo "link: /dev/lockdiag/$SERIAL -> $node"
case "$node" in /dev/ttyACM*) ;; *) fail "/dev/lockdiag/$SERIAL points at $node, not a ttyACM" ;; esac
perm=$(stat -c '%G %a' "$node")
[ "$perm" = "lockdiag 660" ] || fail "$node is '$perm', not group lockdiag mode 660 as udev/70-lockdiag.rules says"
udevadm info "$node" | grep -q 'E: ID_MM_DEVICE_IGNORE=1' || fail "$node lacks ID_MM_DEVICE_IGNORE=1"

step "locksim on /dev/ttyGS0 (motor-stall)"
lock_firmware "$BIN/locksim" --tty /dev/ttyGS0 --scenario motor-stall --seed 1 < /dev/null > "$WORK/locksim.log" 2>&1 &
SIM=$!
cleanup_kill $SIM
cleanup_keep "$WORK/locksim.log"
# It prints the tty once it serves: a daemon started earlier would see a lock that does not answer.
wait_for 60 "locksim serving /dev/ttyGS0" grep -qx /dev/ttyGS0 "$WORK/locksim.log"

step "lockdiagd with udev discovery"
start_daemon --realtime

wait_for 90 "$SERIAL online in lockdiag list" lock_online
json "$WORK/l.json" "$(device $SERIAL).get('transport')=='serial' and $(device $SERIAL).get('path')=='/dev/lockdiag/$SERIAL'" ||
    fail "lockdiag list shows $SERIAL not as serial on /dev/lockdiag/$SERIAL: $(cat "$WORK/l.json")"
step "motor_stall confirmed"
wait_for 60 "motor_stall confirmed on $SERIAL" stall_confirmed
replug_five_times
