#!/usr/bin/env python3
"""Reference encoder for LDP/1 (firmware-specs/ldp-v1.md), independent of lockdiag's Swift code.

    python3 ldp.py vectors           # print the golden vectors (vectors/frames.json)
    python3 ldp.py frame KIND SEQ TYPE [PAYLOAD_HEX]   # print one frame in hex
    python3 ldp.py check             # print both CRC check values

Standard library only, so a firmware engineer can run it anywhere.
"""
import json
import struct
import sys

SYNC = b"\xA5\x5A"
VERSION = 1
MAX_PAYLOAD = 512
KINDS = {"request": 0, "response": 1, "event": 2, "nak": 3}


def crc8_smbus(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc16_ibm3740(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def frame(kind: int, seq: int, mtype: int, payload: bytes = b"", version: int = VERSION,
          length: int | None = None) -> bytes:
    length = len(payload) if length is None else length
    header = struct.pack("<BBBBH", version, kind, seq, mtype, length)
    header += bytes([crc8_smbus(header)])
    body = header + payload
    return SYNC + body + struct.pack("<H", crc16_ibm3740(body))


def s(text: str) -> bytes:
    raw = text.encode()
    return bytes([len(raw)]) + raw


def fault_record(code, status, occurrences, first, last, mv, ma, temp, bolt) -> bytes:
    return struct.pack("<HBBIIHHhBB", code, status, occurrences, first, last, mv, ma, temp, bolt, 0)


def trace_body(actuation, rate, total, flags, first, samples) -> bytes:
    return struct.pack("<HHHBHB", actuation, rate, total, flags, first, len(samples)) + \
        struct.pack("<%dH" % len(samples), *samples)


def vectors():
    v = []

    def add(name, meaning, kind, seq, mtype, payload, message, **extra):
        raw = frame(KINDS[kind], seq, mtype, payload, **extra)
        v.append({
            "name": name, "meaning": meaning, "hex": raw.hex(),
            "frame": {"version": extra.get("version", VERSION), "kind": kind, "seq": seq,
                      "type": mtype, "payload": payload.hex()},
            "message": message,
        })

    add("identify-request", "Host asks the lock who it is.", "request", 1, 0x01, b"",
        {"request": "identify"})
    add("identify-response", "An LX-300 rev C, firmware 2.4.1, serial LX3-000123, all capabilities, 1 kHz traces of up to 4096 samples.",
        "response", 1, 0x01,
        struct.pack("<BIHH", 0, 0xFF, 1000, 4096) + s("LX-300") + s("C") + s("2.4.1") + s("LX3-000123"),
        {"response": "identify", "protocol_minor": 0, "capabilities": 0xFF, "trace_sample_rate_hz": 1000,
         "trace_capacity": 4096, "model": "LX-300", "hardware_revision": "C", "firmware_version": "2.4.1",
         "serial": "LX3-000123"})
    add("read-status-request", "Host polls the lock's status.", "request", 2, 0x02, b"",
        {"request": "read_status"})
    add("read-status-response", "Locked, door closed, motor idle, calibrated; 5.912 V, 81 %, 23.5 °C, 0 mA; 1532 actuations, up 86400 s.",
        "response", 2, 0x02,
        struct.pack("<BBBBHBBhHII", 1, 1, 0, 0x01, 5912, 81, 0, 235, 0, 1532, 86400),
        {"response": "status", "bolt": 1, "door": 1, "motor": 0, "flags": 1, "battery_mv": 5912,
         "battery_pct": 81, "active_faults": 0, "temperature_dc": 235, "motor_current_ma": 0,
         "actuations": 1532, "uptime_s": 86400})
    add("read-motor-trace-request", "Host asks for 4 samples of the latest trace from index 0.", "request", 3, 0x03,
        struct.pack("<HHB", 0xFFFF, 0, 4), {"request": "read_motor_trace", "actuation": 0xFFFF, "first_index": 0, "max_count": 4})
    add("read-motor-trace-response", "Actuation 7 at 1 kHz, 812 samples, complete; samples 0-3 show the inrush.",
        "response", 3, 0x03, trace_body(7, 1000, 812, 0x01, 0, [1210, 1460, 1380, 990]),
        {"response": "motor_trace", "actuation": 7, "sample_rate_hz": 1000, "total_samples": 812, "flags": 1,
         "first_index": 0, "samples": [1210, 1460, 1380, 990]})
    add("read-fingerprint-status-request", "Host polls the fingerprint sensor.", "request", 4, 0x04, b"",
        {"request": "read_fingerprint_status"})
    add("read-fingerprint-status-response", "Sensor ready, link OK, last image quality 78, self-test passed, 12 of 100 templates.",
        "response", 4, 0x04, struct.pack("<BBBBHHBBH", 1, 0x01, 78, 1, 12, 100, 0, 0, 0),
        {"response": "fingerprint", "state": 1, "flags": 1, "last_image_quality": 78, "last_selftest": 1,
         "templates_used": 12, "templates_capacity": 100, "failed_attempts": 0, "lockout_remaining_s": 0})
    add("read-faults-request", "Host reads the fault memory.", "request", 5, 0x05, b"", {"request": "read_faults"})
    add("read-faults-response", "One confirmed, failing motor stall seen 3 times; freeze frame 5.410 V, 1480 mA, 21.0 °C, bolt intermediate.",
        "response", 5, 0x05, bytes([1]) + fault_record(0x0101, 0x0F, 3, 3600, 7200, 5410, 1480, 210, 4),
        {"response": "faults", "faults": [{"code": 0x0101, "status": 0x0F, "occurrences": 3, "first_seen_s": 3600,
                                          "last_seen_s": 7200, "snapshot_battery_mv": 5410,
                                          "snapshot_motor_current_ma": 1480, "snapshot_temperature_dc": 210,
                                          "snapshot_bolt": 4}]})
    add("clear-faults-request", "Host clears every fault.", "request", 6, 0x06, struct.pack("<H", 0xFFFF),
        {"request": "clear_faults", "code": 0xFFFF})
    add("clear-faults-response", "Two records cleared.", "response", 6, 0x06, bytes([2]),
        {"response": "faults_cleared", "cleared": 2})
    add("run-selftest-request", "Host starts the motor self-test.", "request", 7, 0x07, bytes([1]),
        {"request": "run_selftest", "test": 1})
    add("run-selftest-response", "Motor self-test accepted, about 2.5 s.", "response", 7, 0x07, struct.pack("<BH", 1, 2500),
        {"response": "selftest_accepted", "test": 1, "expected_duration_ms": 2500})
    add("actuate-request", "Host asks the lock to unlock.", "request", 8, 0x08, bytes([2]),
        {"request": "actuate", "direction": 2})
    add("actuate-response", "Accepted as actuation 8.", "response", 8, 0x08, struct.pack("<H", 8),
        {"response": "actuation_accepted", "actuation": 8})
    add("nak-busy", "The lock is busy with an actuation and refuses a self-test.", "nak", 9, 0x07, bytes([0x03]),
        {"nak": 3})
    add("event-actuation-started", "Actuation 8 towards unlocked, host command, battery 5.910 V at rest.",
        "event", 40, 0x81, struct.pack("<HBBHH", 8, 2, 0, 5910, 0),
        {"event": "actuation_started", "actuation": 8, "direction": 2, "source": 0, "battery_mv": 5910})
    add("event-actuation-finished", "Actuation 8 reached the end position in 812 ms; peak 1460 mA, running 240 mA; 5910 mV at rest, 5838 mV loaded.",
        "event", 41, 0x82, struct.pack("<HBBHHHHHHBB", 8, 2, 0, 812, 1460, 240, 5910, 5838, 812, 2, 0),
        {"event": "actuation_finished", "actuation": 8, "direction": 2, "result": 0, "duration_ms": 812,
         "peak_current_ma": 1460, "running_current_ma": 240, "battery_rest_mv": 5910, "battery_loaded_mv": 5838,
         "samples": 812, "bolt": 2})
    add("event-trace-chunk", "Live chunk of actuation 8: samples 32-35 (running current), not yet complete.",
        "event", 42, 0x83, trace_body(8, 1000, 36, 0x00, 32, [251, 248, 244, 247]),
        {"event": "trace_chunk", "actuation": 8, "sample_rate_hz": 1000, "total_samples": 36, "flags": 0,
         "first_index": 32, "samples": [251, 248, 244, 247]})
    add("event-fault-raised", "Battery low raised, pending and failing.", "event", 43, 0x84,
        fault_record(0x0201, 0x03, 1, 90000, 90000, 4980, 0, 190, 1),
        {"event": "fault_raised", "code": 0x0201, "status": 0x03, "occurrences": 1, "first_seen_s": 90000,
         "last_seen_s": 90000, "snapshot_battery_mv": 4980, "snapshot_motor_current_ma": 0,
         "snapshot_temperature_dc": 190, "snapshot_bolt": 1})
    add("event-selftest-result", "Battery self-test failed: 5.9 V at rest, 4.6 V under 1 A: 1300 mΩ.", "event", 44, 0x85,
        bytes([2, 1, 4]) + struct.pack("<BiBiBiBi", 4, 5900, 5, 4600, 6, 1000, 7, 1300),
        {"event": "selftest_result", "test": 2, "result": 1,
         "measurements": [[4, 5900], [5, 4600], [6, 1000], [7, 1300]]})
    add("event-tamper", "Forced bolt detected at uptime 4000 s.", "event", 45, 0x86, struct.pack("<BBI", 1, 0, 4000),
        {"event": "tamper", "cause": 1, "uptime_s": 4000})
    add("status-response-with-trailing-field", "A later LDP/1.x status with two extra bytes: readers ignore them.",
        "response", 10, 0x02,
        struct.pack("<BBBBHBBhHII", 2, 1, 0, 0x01, 6100, 95, 0, 200, 0, 10, 60) + b"\x12\x34",
        {"response": "status", "bolt": 2, "door": 1, "motor": 0, "flags": 1, "battery_mv": 6100,
         "battery_pct": 95, "active_faults": 0, "temperature_dc": 200, "motor_current_ma": 0,
         "actuations": 10, "uptime_s": 60})

    # Malformed frames: what a receiver must report.
    good = frame(1, 2, 0x02, struct.pack("<BBBBHBBhHII", 1, 1, 0, 1, 5912, 81, 0, 235, 0, 1532, 86400))
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 0xFF
    bad_hcrc = bytearray(good)
    bad_hcrc[8] ^= 0x01
    v.append({"name": "bad-crc", "meaning": "A status response whose last CRC byte was flipped.",
              "hex": bytes(bad_crc).hex(), "error": "crc_mismatch"})
    v.append({"name": "bad-header-crc", "meaning": "A status response whose header check byte was flipped.",
              "hex": bytes(bad_hcrc).hex(), "error": "header_crc_mismatch"})
    v.append({"name": "truncated", "meaning": "A status response cut off after 15 bytes; the link then closed.",
              "hex": good[:15].hex(), "error": "truncated"})
    v.append({"name": "oversized-length", "meaning": "A header announcing 600 payload bytes (the maximum is 512).",
              "hex": frame(1, 3, 0x03, b"", length=600)[:9].hex(), "error": "oversized_length"})
    v.append({"name": "unsupported-version", "meaning": "A well-formed frame of protocol major version 2.",
              "hex": frame(0, 4, 0x01, b"", version=2).hex(), "error": "unsupported_version"})
    v.append({"name": "unknown-type", "meaning": "A valid request of type 0x7E, which LDP/1 does not define: frames fine, message unknown.",
              "hex": frame(0, 5, 0x7E, b"").hex(), "frame": {"version": 1, "kind": "request", "seq": 5, "type": 0x7E, "payload": ""},
              "error": "unknown_message_type"})
    v.append({"name": "short-payload", "meaning": "A status response with only 6 of its 20 payload bytes: frames fine, message malformed.",
              "hex": frame(1, 6, 0x02, bytes(6)).hex(), "frame": {"version": 1, "kind": "response", "seq": 6, "type": 0x02, "payload": bytes(6).hex()},
              "error": "payload_too_short"})
    return {"protocol": "LDP/1", "generated_by": "firmware-specs/tools/ldp.py", "vectors": v}


def main(argv):
    if len(argv) >= 2 and argv[1] == "vectors":
        print(json.dumps(vectors(), indent=2))
    elif len(argv) >= 5 and argv[1] == "frame":
        kind = KINDS[argv[2]] if argv[2] in KINDS else int(argv[2], 0)
        payload = bytes.fromhex(argv[5]) if len(argv) > 5 else b""
        print(frame(kind, int(argv[3], 0), int(argv[4], 0), payload).hex())
    elif len(argv) >= 2 and argv[1] == "check":
        print("CRC-8/SMBUS check 0x%02X" % crc8_smbus(b"123456789"))
        print("CRC-16/IBM-3740 check 0x%04X" % crc16_ibm3740(b"123456789"))
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
