#!/usr/bin/env python3
"""Checks that every fault event a client was told about is in lockdiagd's history.

    check-history.py EVENTS.jsonl…

Each EVENTS line is a `telemetry` notification's params with a `fault` member, as
`lockdiag watch --json` prints it. The history comes from `lockdiag faults --history DEVICE
--json` (faults.history). An event is recorded when the history has an event of the same
code, status and first_seen, with a count no greater (the criterion of the crash test,
Tests/HistoryTests/DaemonHistoryTests.swift). Prints one line per missing event; exit 1 if any.
"""
import json
import subprocess
import sys

seen = []
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                params = json.loads(line)
            except json.JSONDecodeError:
                # The VM died in the middle of writing this line: nothing was told in it.
                continue
            fault = params.get("fault")
            if fault and fault.get("status") in ("pending", "confirmed", "healed"):
                seen.append(fault)

history = {}
for device in sorted({f["device"] for f in seen}):
    out = subprocess.run(["lockdiag", "faults", "--history", device, "--json"], capture_output=True, text=True)
    if out.returncode not in (0, 2):
        print(f"faults --history {device} failed ({out.returncode}): {out.stderr.strip()}")
        sys.exit(1)
    history[device] = json.loads(out.stdout)["events"]

missing = [f for f in seen if not any(
    e["code"] == f["code"] and e.get("status") == f["status"] and e.get("first_seen") == f["first_seen"]
    and e.get("count", 0) <= f.get("count", 0) for e in history[f["device"]])]
for f in missing:
    print(f"missing: {f['device']} {f['name']} {f['status']} first_seen {f['first_seen']} count {f.get('count')}")
print(f"{len(seen)} fault events told to the client, {sum(len(v) for v in history.values())} in the history, {len(missing)} missing")
sys.exit(1 if missing else 0)
