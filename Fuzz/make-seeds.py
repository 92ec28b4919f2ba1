#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (Fuzz/corpus/NAME/seed-*) from the golden frames in
firmware-specs/vectors/frames.json and the JSON examples in docs/. Run by `make fuzz-seeds`;
the output is committed, so the seeds change only when the vectors or the docs do."""
import json, os, re, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")
KINDS = {"request": 0, "response": 1, "event": 2, "nak": 3}


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "seed-" + name), "wb") as f:
        f.write(data)


def clear_seeds():
    if not os.path.isdir(CORPUS):
        return
    for target in os.listdir(CORPUS):
        for name in os.listdir(os.path.join(CORPUS, target)):
            if name.startswith("seed-"):
                os.remove(os.path.join(CORPUS, target, name))


def ldp_seeds():
    vectors = json.load(open(os.path.join(ROOT, "firmware-specs", "vectors", "frames.json")))["vectors"]
    stream = b""
    for v in vectors:
        raw = bytes.fromhex(v["hex"])
        write("ldp-frames", v["name"], raw)
        stream += raw + b"\x00\xa5\x13"  # noise between frames, including a false sync byte
        frame = v.get("frame")
        if not frame:
            continue
        kind = KINDS[frame["kind"]]
        payload = bytes.fromhex(frame["payload"])
        write("ldp-messages", v["name"], bytes([kind, frame["type"]]) + payload)
        if kind != 0:
            # hub-records: link up, then this frame (op 4+kind, 10 ms later, type, seq, u16 length, body).
            record = bytes([0, 1, 4 + kind, 10, frame["type"], frame["seq"]]) + struct.pack("<H", len(payload)) + payload
            write("hub-records", v["name"], record)
        else:
            # simulator-requests, framed mode: [1] then (10 ms, kind, type, u8 length, body).
            write("simulator-requests", v["name"], bytes([1, 10, kind, frame["type"], len(payload)]) + payload)
            write("simulator-requests", v["name"] + "-raw", bytes([0, 10, len(raw) - 1]) + raw)
    write("ldp-frames", "all-in-one-stream", stream)
    # A whole session for the hub: every response and event in order, each 20 ms apart.
    session = bytes([0, 1])
    for v in vectors:
        frame = v.get("frame")
        if frame and frame["kind"] != "request" and "error" not in v:
            payload = bytes.fromhex(frame["payload"])
            session += bytes([4 + KINDS[frame["kind"]], 20, frame["type"], frame["seq"]]) + struct.pack("<H", len(payload)) + payload
    write("hub-records", "session", session)
    requests = bytes([1])
    for v in vectors:
        frame = v.get("frame")
        if frame and frame["kind"] == "request" and "error" not in v:
            payload = bytes.fromhex(frame["payload"])
            requests += bytes([50, 0, frame["type"], len(payload)]) + payload
    write("simulator-requests", "session", requests)


def json_blocks():
    """Every ```json block of the API docs, one JSON text each."""
    blocks = []
    for doc in ("docs/socket-api.md", "docs/json-rpc.md", "docs/security.md"):
        path = os.path.join(ROOT, doc)
        if not os.path.exists(path):
            continue
        for block in re.findall(r"```json\n(.*?)```", open(path).read(), re.S):
            try:
                blocks.append(json.loads(block))
            except json.JSONDecodeError:
                pass
    return blocks


def json_seeds():
    blocks = json_blocks()
    for i, value in enumerate(blocks):
        text = json.dumps(value, ensure_ascii=False).encode()
        write("json-text", "docs-%02d" % i, text)
        if isinstance(value, dict) and value.get("jsonrpc") == "2.0" and "method" in value and "id" in value:
            write("jsonrpc-server", "docs-%02d" % i, text + b"\n")
        elif isinstance(value, dict) and value.get("jsonrpc") == "2.0":
            write("jsonrpc-client", "docs-%02d" % i, text + b"\n")
        elif isinstance(value, dict):
            write("jsonrpc-client", "docs-%02d" % i, json.dumps({"jsonrpc": "2.0", "id": i, "result": value}).encode() + b"\n")
    write("json-text", "escapes", '{"a":"\\u00e9\\n\\ud83d\\ude00","b":[1,-2.5e3,true,false,null],"c":{}}'.encode())
    methods = ["daemon.info", "daemon.stats", "devices.list", "device.status", "faults.list", "faults.clear", "tests.run",
               "telemetry.subscribe", "telemetry.unsubscribe"]
    lines = b""
    for i, m in enumerate(methods):
        lines += json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": {"device": "SIM-0001-000", "test": "motor", "confirm": True}}).encode() + b"\n"
    lines += b'[{"jsonrpc":"2.0","id":"a","method":"devices.list"},{"jsonrpc":"2.0","method":"faults.list"},1,[]]\n'
    lines += b'[]\n{"jsonrpc":"2.0","id":null,"method":"x","params":null}\r\n\n{bad\n'
    lines += b'{"jsonrpc":"2.0","id":7,"method":"tests.run","params":{"device":"x","test":"teleport"}}'
    write("jsonrpc-server", "all-methods", lines)
    notification = {"jsonrpc": "2.0", "method": "telemetry", "params": {"device": "SIM-0001-000", "lost": 3,
                    "trace": {"actuation": 2366, "first_index": 0, "sample_rate_hz": 1000, "samples_ma": [1574, 1439, 1376, 0, 90000]}}}
    write("jsonrpc-client", "telemetry-trace", json.dumps(notification).encode() + b"\n")
    write("jsonrpc-client", "errors", b'{"jsonrpc":"2.0","id":null,"error":{"code":-32004,"message":"permission denied","data":{"group":"lockdiag"}}}\n'
          b'[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"x"}}]\n')


if __name__ == "__main__":
    clear_seeds()
    ldp_seeds()
    json_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print("%-20s %d seeds" % (target, len([n for n in os.listdir(os.path.join(CORPUS, target)) if n.startswith("seed-")])))
    sys.exit(0)
