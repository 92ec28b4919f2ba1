#!/bin/sh
# `make lab`: runs the lab scenarios in QEMU guests booted on Debian's own kernel and prints one
# verdict line per scenario, then "N passed, M failed" last; exits non-zero on any failure.
#
#   scripts/lab/lab.sh [SCENARIO…]        (default: every scenario that has a script)
#
# Guests use TCG (nested KVM hangs at boot on the machines this project runs on), 2 vCPUs and
# LAB_MEMORY (3G), the host's / read-only over 9p under a tmpfs overlay, and the worktree's
# .build/debug binaries. Everything a guest wrote is kept under .build/lab/results/.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB_DIR=$ROOT/.build/lab
RESULTS=$LAB_DIR/results
MEMORY=${LAB_MEMORY:-3G}
here=$ROOT/scripts/lab

# Scenarios in the order they run; each boot group shares one guest.
DEVICE_SCENARIOS="cdc-acm vendor-bulk ble"   # one guest, busybox init + chroot
SYSTEMD_SCENARIOS="systemd"                  # one guest, systemd as PID 1
POWER_CUT_CYCLES=${LAB_POWER_CUT_CYCLES:-5}  # power-cut: one guest per cycle, killed outright

wanted=${*:-}
selected() {
    [ -f "$here/scenarios/$1.sh" ] || return 1
    [ -z "$wanted" ] && return 0
    case " $wanted " in *" $1 "*) return 0 ;; esac
    return 1
}

passed=0 failed=0
verdict() { # STATUS NAME TEXT
    echo "lab: $1 $2 $3"
    if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

kver=$(sh "$here/kernel.sh" "$LAB_DIR") || { echo "lab: cannot fetch Debian's kernel"; echo "0 passed, 1 failed"; exit 1; }
sh "$here/mkinitramfs.sh" "$LAB_DIR" "$kver" "$LAB_DIR/initramfs.cpio.gz" || { echo "lab: cannot build the initramfs"; echo "0 passed, 1 failed"; exit 1; }
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
echo "lab: kernel $kver, results in $RESULTS"

# qemu_start BOOT RESULTS_DIR MODE SCENARIOS [EXTRA QEMU ARGS…]: starts a guest in the background,
# its serial console in RESULTS_DIR/console-BOOT.log; sets QEMU_PID.
qemu_start() {
    boot=$1 dir=$2 mode=$3 scenarios=$4
    shift 4
    append="console=ttyS0 panic=-1 loglevel=4 lab.root=$ROOT lab.kver=$kver lab.mode=$mode lab.scenarios=$scenarios lab.boot=$boot"
    [ "$mode" = systemd ] && append="$append systemd.unit=lab.target systemd.show_status=error"
    qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$MEMORY" -machine pc \
        -display none -monitor none -serial "file:$dir/console-$boot.log" -no-reboot -nic none \
        -kernel "$LAB_DIR/kernel/boot/vmlinuz-$kver" -initrd "$LAB_DIR/initramfs.cpio.gz" -append "$append" \
        -virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap" \
        -virtfs "local,path=$dir,mount_tag=results,security_model=none,multidevs=remap" \
        "$@" < /dev/null > "$dir/qemu-$boot.log" 2>&1 &
    QEMU_PID=$!
}

# wait_qemu SECONDS: waits for the guest to power off; kills it after SECONDS. 0 if it stopped.
wait_qemu() {
    end=$(( $(date +%s) + $1 ))
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$end" ]; then
            kill -9 "$QEMU_PID" 2>/dev/null
            wait "$QEMU_PID" 2>/dev/null
            return 1
        fi
        sleep 1
    done
    wait "$QEMU_PID" 2>/dev/null
    return 0
}

# show_failure DIR SCENARIO: where its logs are, and the last lines of the scenario's and the
# daemon's log, so that a CI run's output alone says what went wrong.
show_failure() {
    echo "lab:   log: $1/$2.log"
    for f in "$1/$2.log" "$1/$2.lockdiagd.log"; do
        [ -s "$f" ] || continue
        echo "lab:   last lines of ${f##*/}:"
        tail -n 15 "$f" | sed 's/^/lab:   | /'
    done
}

deadline_of() { d=$(sed -n 's/^# lab-deadline: *\([0-9]*\).*/\1/p' "$here/scenarios/$1.sh" | head -n1); echo "${d:-120}"; }

# run_group BOOT MODE SCENARIO…: one guest for these scenarios; a verdict for each, a missing one
# counted as failed with the guest's console named.
run_group() {
    boot=$1 mode=$2
    shift 2
    list="" budget=90
    for s in "$@"; do selected "$s" || continue; list="$list $s"; budget=$((budget + $(deadline_of "$s"))); done
    [ -n "$list" ] || return 0
    dir=$RESULTS/$boot
    mkdir -p "$dir"
    started=$(date +%s)
    qemu_start "$boot" "$dir" "$mode" "$(echo $list | tr ' ' ',')"
    wait_qemu "$budget" || echo "lab: guest $boot killed after ${budget}s"
    echo "lab: guest $boot ran $(( $(date +%s) - started ))s"
    for s in $list; do
        line=$(grep -E "^(PASS|FAIL) $s " "$dir/verdicts" 2>/dev/null | tail -n1)
        if [ -n "$line" ]; then
            verdict "${line%% *}" "$s" "${line#* $s }"
        else
            reason="no verdict: the guest stopped before it (see $dir/console-$boot.log)"
            [ -f "$dir/init-failed" ] && reason="guest init failed: $(cat "$dir/init-failed")"
            verdict FAIL "$s" "$reason"
        fi
        [ "${line%% *}" = PASS ] || show_failure "$dir" "$s"
    done
}

lab_started=$(date +%s)
run_group devices chroot $DEVICE_SCENARIOS
run_group systemd systemd $SYSTEMD_SCENARIOS
selected power-cut && . "$here/power-cut-host.sh"
echo "lab: total $(( $(date +%s) - lab_started ))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
