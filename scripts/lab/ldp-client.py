#!/usr/bin/env python3
"""A lockdiagd client for the power-cut scenario, over the JSON-RPC socket itself (one JSON text
per line, docs/json-rpc.md): one process, where six `lockdiag watch` would each start a Swift
binary under TCG.

    ldp-client.py watch SOCKET EVENTS.jsonl   subscribe to every device's telemetry; append each
                                              `fault` notification's params to EVENTS, flushed
                                              line by line; clear every device's faults every 3 s
    ldp-client.py check SOCKET EVENTS.jsonl…  every fault event in EVENTS is in faults.history:
                                              same code, status and first_seen, count no greater
                                              (the crash test's criterion,
                                              Tests/HistoryTests/DaemonHistoryTests.swift)
"""
import json
import os
import socket
import sys
import threading
import time


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.next_id = 0
        self.notifications = []

    def send(self, method, params):
        self.next_id += 1
        self.sock.sendall((json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}) + "\n").encode())
        return self.next_id

    def read(self):
        line = self.file.readline()
        if not line:
            raise SystemExit("lockdiagd closed the connection")
        return json.loads(line)

    def call(self, method, params):
        wanted = self.send(method, params)
        while True:
            message = self.read()
            if message.get("id") == wanted:
                if "error" in message:
                    raise SystemExit(f"{method}: {message['error']}")
                return message["result"]
            self.notifications.append(message)


def watch(path, events_path):
    client = Client(path)
    devices = [d["id"] for d in client.call("devices.list", {})["devices"]]
    for device in devices:
        client.call("telemetry.subscribe", {"device": device})
    out = os.open(events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(message):
        params = message.get("params", {})
        if message.get("method") == "telemetry" and "fault" in params:
            # One write per event: on the host (9p, no cache) before anything else happens.
            os.write(out, (json.dumps(params) + "\n").encode())

    for message in client.notifications:
        record(message)
    client.notifications = []

    def clear_every_three_seconds():
        clearer = Client(path)
        while True:
            time.sleep(3)
            for device in devices:
                clearer.call("faults.clear", {"device": device})

    threading.Thread(target=clear_every_three_seconds, daemon=True).start()
    while True:
        record(client.read())


def check(path, events_paths):
    seen = []
    for events_path in events_paths:
        with open(events_path) as f:
            for line in f:
                try:
                    fault = json.loads(line).get("fault")
                except json.JSONDecodeError:
                    continue  # cut in the middle of this line: nothing was told in it
                if fault:
                    seen.append(fault)
    client = Client(path)
    history = {}
    for device in sorted({f["device"] for f in seen}):
        history[device] = client.call("faults.history", {"device": device})["events"]
    missing = [f for f in seen if not any(
        e["code"] == f["code"] and e.get("status") == f["status"] and e.get("first_seen") == f["first_seen"]
        and e.get("count", 0) <= f.get("count", 0) for e in history[f["device"]])]
    for f in missing:
        print(f"missing: {f['device']} {f['name']} {f['status']} first_seen {f['first_seen']} count {f.get('count')}")
    print(f"{len(seen)} fault events told to the client, {sum(len(v) for v in history.values())} in the history, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "watch":
        watch(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit(__doc__)
