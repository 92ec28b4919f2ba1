#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (Fuzz/corpus/NAME/seed-*) from the golden frames in
firmware-specs/vectors/frames.json, the Tuya frames checked in firmware-specs/tuya-mcu.md §8,
the JSON and YAML examples in docs/, and a GATT session and advertisements built here after
firmware-specs/ble-gatt.md. Run by `make fuzz-seeds`;
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
    # part-certificates: every certificate in the genuine-part vectors (ldp-v1.md §6.9.1).
    for v in vectors:
        part = v.get("message", {}).get("part")
        for i, cert in enumerate(part["certificates"] if part else []):
            write("part-certificates", "%s-%d" % (v["name"], i), bytes.fromhex(cert))
    # A whole session for the hub: every response and event in order, each 20 ms apart.
    session = bytes([0, 1])
    for v in vectors:
        frame = v.get("frame")
        if frame and frame["kind"] != "request" and "error" not in v:
            payload = bytes.fromhex(frame["payload"])
            session += bytes([4 + KINDS[frame["kind"]], 20, frame["type"], frame["seq"]]) + struct.pack("<H", len(payload)) + payload
    write("hub-records", "session", session)
    # A standard-services BLE lock (Drivers/GATT/GATTReading.swift): op 8, 10 ms later, the field,
    # u8 length, value — battery 87 %, the Device Information strings, then "complete".
    gatt = bytes([0, 1, 8, 10, 1, 1, 87])
    for field, text in ((2, b"Acme"), (3, b"LX-BLE"), (4, b"BLE-0001"), (5, b"B"), (6, b"1.2.0"), (7, b"")):
        gatt += bytes([8, 10, field, len(text)]) + text
    gatt += bytes([8, 10, 8, 0])
    write("hub-records", "gatt-standard-services", gatt)
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


def tuya_frame(version, command, data):
    body = bytes([0x55, 0xAA, version, command]) + struct.pack(">H", len(data)) + data
    return body + bytes([sum(body) & 0xFF])


def tuya_seeds():
    """The frames of tuya-mcu.md §8's table, and hub records carrying them."""
    table = open(os.path.join(ROOT, "firmware-specs", "tuya-mcu.md")).read()
    frames = []
    for row in re.findall(r"^\| (`55 AA.*?) \|", table, re.M):
        for text in re.findall(r"`(55 AA[^`]*)`", row):
            if "{" in text:
                head, rest = text.split("{", 1)
                payload = ("{" + rest.rsplit("}", 1)[0] + "}").encode()
                raw = bytes.fromhex(head) + payload + bytes.fromhex(rest.rsplit("}", 1)[1])
            else:
                raw = bytes.fromhex(text.replace("…", ""))
            if len(raw) >= 7:
                frames.append(raw)
    # A product-info answer and DP reports of the kinds a lock sends (value, enum, bool, string).
    frames.append(tuya_frame(3, 0x01, b'{"p":"lockdiagsimstd01","v":"1.0.0","m":0}'))
    frames.append(tuya_frame(3, 0x07, bytes([8, 2, 0, 4, 0, 0, 0, 17]) + bytes([21, 4, 0, 1, 2]) + bytes([1, 1, 0, 1, 1])))
    frames.append(tuya_frame(3, 0x07, bytes([25, 3, 0, 5]) + b"hello"))
    for i, raw in enumerate(frames):
        write("tuya-frames", "doc-%02d" % i, raw)
    write("tuya-frames", "stream-with-noise", b"\x55\x00\xaa".join(frames))
    for choice, name in ((0, "active"), (1, "lowpower"), (2, "sniff"), (0x80, "active-product")):
        records = bytes([choice, 0, 1])  # link up
        for raw in frames:
            version, command, data = raw[2], raw[3], raw[6:-1]
            if len(data) > 255:
                continue
            op = 3 if command in (0x01, 0x07, 0x08, 0x05) else 0x13
            records += bytes([op, 5, command, version, len(data)]) + data
        write("tuya-records", name, records)


def ble_seeds():
    ldp_service = bytes.fromhex("a0db44458c73c2af00450000315044 4c".replace(" ", ""))
    pdus = [
        bytes.fromhex("02f700"),              # Exchange MTU Request, 247
        bytes.fromhex("100100ffff0028"),      # Read By Group Type: primary services
        bytes.fromhex("080100ffff0328"),      # Read By Type: characteristic declarations
        bytes.fromhex("040100ffff"),          # Find Information
        bytes.fromhex("0a0300"), bytes.fromhex("0c03000100"),  # Read, Read Blob
        bytes.fromhex("060100ffff00280f18"),  # Find By Type Value: Battery Service
        bytes.fromhex("1204000100"),          # Write Request: a CCCD, notifications on
        bytes.fromhex("5211000206000000"),    # Write Command: LDP bytes
        bytes.fromhex("1e"),                  # Handle Value Confirmation
        bytes.fromhex("01"), bytes.fromhex("ff0102"),
    ]
    att = bytes([0, 112])
    for pdu in pdus:
        att += bytes([len(pdu) - 1]) + pdu + bytes([57])
    write("ble-att", "requests", att)
    write("ble-att", "requests-standard-paired", bytes([3, 0]) + att[2:])
    replies = [
        bytes.fromhex("03f700"),                                      # MTU 247
        bytes.fromhex("1106" "01000300" "0f18" "04000800" "0a18"),     # Battery 1–3, Device Information 4–8
        bytes.fromhex("1114") + bytes([0x09, 0x00, 0xFF, 0xFF]) + ldp_service,  # LDP 9–ffff (16-byte list)
        bytes.fromhex("011009000a"),                                  # attribute not found
        bytes.fromhex("0907" "0500" "020600242a" "0700" "020800262a"), # DIS: model 6, firmware 8
        bytes.fromhex("010805000a"),
        bytes.fromhex("0b") + b"LX-300",
        bytes.fromhex("0b") + b"2.4.1",
        bytes.fromhex("0907" "0200" "120300192a"),                    # Battery Level 3: read, notify
        bytes.fromhex("010802000a"),
        bytes.fromhex("0b57"),
        bytes.fromhex("0501" "04000229"),                             # its CCCD at 4
        bytes.fromhex("13"),
        bytes.fromhex("1b0300") + bytes([0x56]),
    ]
    script = bytes([112])
    for reply in replies:
        script += struct.pack("<H", len(reply)) + reply
    write("gatt-client", "session", script)
    ad = (bytes([2, 0x01, 0x06]) + bytes([8, 0x09]) + b"LX-300A" + bytes([3, 0x03, 0x0F, 0x18])
          + bytes([17, 0x07]) + ldp_service + bytes([2, 0x0A, 0xF4]) + bytes([5, 0xFF, 0xD0, 0x07, 1, 2]))
    write("ble-advertising", "ad", bytes([0]) + ad[:31])
    write("ble-advertising", "ad-long", bytes([0]) + ad)
    address = bytes([0x11, 0x22, 0x33, 0x44, 0x55, 0xC6])
    for event_type, name in ((0, "adv-ind"), (4, "scan-rsp")):
        data = ad[:31]
        params = bytes([0x02, 1, event_type, 1]) + address + bytes([len(data)]) + data + bytes([0xC4])
        write("ble-advertising", "hci-" + name, bytes([1, 0x04, 0x3E, len(params)]) + params)


def file_seeds():
    bench = open(os.path.join(ROOT, "docs", "bench.md")).read()
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", bench, re.S)):
        write("bench-plan", "docs-%02d" % i, block.encode())
    write("bench-plan", "minimal", b"locks: all\nsteps:\n  - wait_for_attach: 10s\n  - actuate: {cycles: 1}\n")
    write("bench-plan", "anchors", b"locks: &a all\nsteps: [*a, {soak: 1m}]\nlimits: {x: {min: 1}}\n")
    for i, value in enumerate(json_blocks()[:8]):
        write("report-verify", "raw-%02d" % i, bytes([0]) + json.dumps(value).encode())
    write("report-verify", "json-unchanged", bytes([1]))
    write("report-verify", "json-flip", bytes([1, 0x10, 0x00, ord("X"), 0x80, 0x00, ord("0")]))
    write("report-verify", "html-flip", bytes([2, 0x40, 0x00, ord("y")]))
    write("report-verify", "certificate-json-unchanged", bytes([3]))
    write("report-verify", "certificate-html-flip", bytes([4, 0x40, 0x00, ord("y")]))
    limits = open(os.path.join(ROOT, "firmware-specs", "commissioning.json"), "rb").read()
    write("commissioning-limits", "shipped", limits)
    write("commissioning-limits", "no-default", limits.replace(b'"default"', b'"LX-1"'))
    write("commissioning-limits", "out-of-range", limits.replace(b'"max_throw_ms": 1200', b'"max_throw_ms": 1e300'))
    write("commissioning-limits", "empty-object", b"{}")


if __name__ == "__main__":
    clear_seeds()
    ldp_seeds()
    json_seeds()
    tuya_seeds()
    ble_seeds()
    file_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print("%-20s %d seeds" % (target, len([n for n in os.listdir(os.path.join(CORPUS, target)) if n.startswith("seed-")])))
    sys.exit(0)
