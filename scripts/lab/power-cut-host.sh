# Sourced by lab.sh: scenario 5's cycles. Each boot of scenarios/power-cut.sh runs one cycle on
# the same ext4 disk image (made here with mkfs.ext4); once the guest says "running-CYCLE", QEMU
# is killed with SIGKILL after a random 1–12 s. A last boot checks the last cycle and the disk.
pc_dir=$RESULTS/power-cut
mkdir -p "$pc_dir"
pc_disk=$LAB_DIR/power-cut.ext4
rm -f "$pc_disk"
truncate -s 256M "$pc_disk"
mkfs.ext4 -q -F "$pc_disk"
echo "$POWER_CUT_CYCLES" > "$pc_dir/cycles"
pc_started=$(date +%s)
pc_failed=""
pc_cycle=1
while [ "$pc_cycle" -le $((POWER_CUT_CYCLES + 1)) ] && [ -z "$pc_failed" ]; do
    echo "$pc_cycle" > "$pc_dir/cycle"
    qemu_start "power-cut-$pc_cycle" "$pc_dir" chroot power-cut -drive "file=$pc_disk,if=virtio,format=raw,cache=writeback"
    if [ "$pc_cycle" -le "$POWER_CUT_CYCLES" ]; then
        end=$(( $(date +%s) + 240 ))
        while [ ! -f "$pc_dir/running-$pc_cycle" ] && kill -0 "$QEMU_PID" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
        if [ -f "$pc_dir/running-$pc_cycle" ]; then
            after=$(( 1 + $(od -An -N2 -tu2 /dev/urandom) % 12 ))
            sleep "$after"
            kill -9 "$QEMU_PID" 2>/dev/null
            wait "$QEMU_PID" 2>/dev/null
            echo "lab: power-cut cycle $pc_cycle: QEMU killed ${after}s into the run, $(wc -l < "$pc_dir/events-$pc_cycle.jsonl") fault events seen"
        else
            wait_qemu 5
            pc_failed=$(grep '^FAIL power-cut ' "$pc_dir/verdicts" 2>/dev/null | tail -n1 | sed 's/^FAIL power-cut [0-9]*s: //')
            [ -n "$pc_failed" ] || pc_failed="cycle $pc_cycle never started running (see $pc_dir/console-power-cut-$pc_cycle.log)"
        fi
    else
        wait_qemu 300 || echo "lab: the last power-cut guest was killed after 300s"
        line=$(grep -E '^(PASS|FAIL) power-cut ' "$pc_dir/verdicts" 2>/dev/null | tail -n1)
        case "$line" in
            PASS*) ;;
            FAIL*) pc_failed=$(echo "$line" | sed 's/^FAIL power-cut [0-9]*s: //') ;;
            *) pc_failed="no verdict from the checking boot (see $pc_dir/console-power-cut-$pc_cycle.log)" ;;
        esac
    fi
    pc_cycle=$((pc_cycle + 1))
done
if [ -z "$pc_failed" ]; then
    verdict PASS power-cut "$(( $(date +%s) - pc_started ))s: $POWER_CUT_CYCLES power cuts, $(cat "$pc_dir"/events-*.jsonl | wc -l) fault events seen, all in the history"
else
    verdict FAIL power-cut "$(( $(date +%s) - pc_started ))s: $pc_failed"
    echo "lab:   logs: $pc_dir/"
fi
