#!/bin/sh
# Runs lab scenarios inside the guest, one after another, each under its deadline (the
# "# lab-deadline: SECONDS" line of its script), and appends one verdict line per scenario to
# /lab-results/verdicts: "PASS NAME SECONDSs" or "FAIL NAME SECONDSs: REASON". Each scenario's
# output goes to /lab-results/NAME.log. LAB_OUT_DIR and LAB_SCENARIO_DIR change those two folders
# (LabHarnessTests runs the failure paths on the host with scenarios of its own).
LAB_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export LAB_ROOT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
OUT=${LAB_OUT_DIR:-/lab-results}
SCENARIOS=${LAB_SCENARIO_DIR:-$LAB_ROOT/scripts/lab/scenarios}
for name in $(echo "$1" | tr ',' ' '); do
    script=$SCENARIOS/$name.sh
    deadline=$(sed -n 's/^# lab-deadline: *\([0-9]*\).*/\1/p' "$script" | head -n1)
    deadline=${deadline:-120}
    echo "lab: scenario $name (deadline ${deadline}s)"
    rm -f "$OUT/$name.reason"
    start=$(cut -d. -f1 /proc/uptime)
    LAB_SCENARIO=$name LAB_OUT=$OUT timeout -s KILL "$deadline" sh "$script" > "$OUT/$name.log" 2>&1
    rc=$?
    seconds=$(( $(cut -d. -f1 /proc/uptime) - start ))
    if [ $rc = 0 ]; then
        echo "PASS $name ${seconds}s" >> "$OUT/verdicts"
    else
        if [ -s "$OUT/$name.reason" ]; then reason=$(head -n1 "$OUT/$name.reason")
        elif [ $rc = 137 ]; then reason="deadline of ${deadline}s passed (last step: $(grep '^step:' "$OUT/$name.log" | tail -n1))"
        else reason="exit status $rc"; fi
        echo "FAIL $name ${seconds}s: $reason" >> "$OUT/verdicts"
    fi
    tail -n1 "$OUT/verdicts"
    sync
done
