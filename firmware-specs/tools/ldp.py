#!/usr/bin/env python3
"""Reference encoder for LDP/1 (firmware-specs/ldp-v1.md), independent of lockdiag's Swift code.

    python3 ldp.py vectors           # print the golden vectors (vectors/frames.json)
    python3 ldp.py frame KIND SEQ TYPE [PAYLOAD_HEX]   # print one frame in hex
    python3 ldp.py check             # print both CRC check values and check Ed25519 on RFC 8032's TEST 1
    python3 ldp.py demo-root         # print the simulator's demo maker root (public half) as JSON

Standard library only, so a firmware engineer can run it anywhere: Ed25519 for the genuine-part
messages (§6.9-§6.11) is written below from the algorithm as RFC 8032 §5.1 describes it.
"""
import hashlib
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


# --- Ed25519, from RFC 8032 §5.1 (the description, not its sample code) ---------------------
# Curve edwards25519: -x^2 + y^2 = 1 + d x^2 y^2 over GF(p); group order L; base point B with
# y = 4/5 and x even. Points in extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, xy = T/Z.

ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def _ed_x(y: int, sign: int) -> int:
    u = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P) % ED_P
    x = pow(u, (ED_P + 3) // 8, ED_P)
    if (x * x - u) % ED_P != 0:
        x = x * ED_SQRT_M1 % ED_P
    if x & 1 != sign:
        x = ED_P - x
    return x


_BY = 4 * pow(5, ED_P - 2, ED_P) % ED_P
_BX = _ed_x(_BY, 0)
ED_B = (_BX, _BY, 1, _BX * _BY % ED_P)


def _ed_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % ED_P
    bb = (y1 + x1) * (y2 + x2) % ED_P
    cc = 2 * ED_D * t1 * t2 % ED_P
    dd = 2 * z1 * z2 % ED_P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def _ed_mul(k: int, point):
    result = (0, 1, 1, 0)
    while k:
        if k & 1:
            result = _ed_add(result, point)
        point = _ed_add(point, point)
        k >>= 1
    return result


def _ed_encode(point) -> bytes:
    x, y, z, _ = point
    zi = pow(z, ED_P - 2, ED_P)
    x, y = x * zi % ED_P, y * zi % ED_P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _ed_expand(seed: bytes):
    h = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(h[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    return scalar, h[32:]


def ed25519_public(seed: bytes) -> bytes:
    return _ed_encode(_ed_mul(_ed_expand(seed)[0], ED_B))


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    scalar, prefix = _ed_expand(seed)
    public = _ed_encode(_ed_mul(scalar, ED_B))
    r = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % ED_L
    big_r = _ed_encode(_ed_mul(r, ED_B))
    k = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % ED_L
    return big_r + ((r + k * scalar) % ED_L).to_bytes(32, "little")


# --- Genuine parts (ldp-v1.md §6.9-§6.11) -------------------------------------------------

CERT_DOMAIN = b"LDP/1 part-cert\x00"
PROOF_DOMAIN = b"LDP/1 prove-part\x00"
PART_KINDS = {"fingerprint_module": 1, "battery_pack": 2, "motor_unit": 3, "intermediate": 0x80}
# The simulator's demo maker (docs/simulator.md): its root's private seed is public, so a station
# must trust it only when told to (lockdiagd --simulate, tests), never by default.
DEMO_MAKER_ID = 1
DEMO_ROOT_SEED = hashlib.sha256(b"lockdiag demo maker root - never trust in production").digest()
DEMO_INTERMEDIATE_SEED = hashlib.sha256(b"lockdiag demo maker intermediate").digest()
# 2026-01-01 and 2036-01-01, 00:00 UTC.
DEMO_NOT_BEFORE = 1767225600
DEMO_NOT_AFTER = 2082758400


def part_seed(serial: str) -> bytes:
    """A demo part's private seed: derived from its serial, as the simulator does."""
    return hashlib.sha256(b"lockdiag demo part " + serial.encode()).digest()


def key_id(public: bytes) -> bytes:
    return hashlib.sha256(public).digest()[:8]


def certificate(kind: int, maker: int, not_before: int, not_after: int, issuer_seed: bytes,
                subject_public: bytes, serial: str) -> bytes:
    body = struct.pack("<BBHII", 1, kind, maker, not_before, not_after) + \
        key_id(ed25519_public(issuer_seed)) + subject_public + s(serial)
    return body + ed25519_sign(issuer_seed, CERT_DOMAIN + body)


def proof_message(kind: int, part_serial: str, lock_serial: str, challenge: bytes) -> bytes:
    return PROOF_DOMAIN + bytes([kind]) + s(part_serial) + s(lock_serial) + bytes([len(challenge)]) + challenge


def demo_root() -> dict:
    public = ed25519_public(DEMO_ROOT_SEED)
    return {"maker_id": DEMO_MAKER_ID, "maker": "lockdiag demo maker (simulator only)",
            "public_key": public.hex(), "key_id": key_id(public).hex(),
            "note": "The private seed of this root is public (SHA-256 of a text in tools/ldp.py): trust it only "
                    "for the simulator, never on a production station."}


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

    # LDP/1.1 genuine parts (§6.9-§6.11): the example exchange with the demo maker's keys.
    lock_serial = "LX3-000123"
    fp_serial = "FPM-2026-004711"
    bp_serial = "BAT-2026-000815"
    intermediate_public = ed25519_public(DEMO_INTERMEDIATE_SEED)
    intermediate = certificate(0x80, DEMO_MAKER_ID, DEMO_NOT_BEFORE, DEMO_NOT_AFTER, DEMO_ROOT_SEED,
                               intermediate_public, "DEMO-CA-1")
    fp_cert = certificate(1, DEMO_MAKER_ID, DEMO_NOT_BEFORE, DEMO_NOT_AFTER, DEMO_INTERMEDIATE_SEED,
                          ed25519_public(part_seed(fp_serial)), fp_serial)
    bp_cert = certificate(2, DEMO_MAKER_ID, DEMO_NOT_BEFORE, DEMO_NOT_AFTER, DEMO_ROOT_SEED,
                          ed25519_public(part_seed(bp_serial)), bp_serial)
    add("identify-response-ldp-1-1", "An LDP/1.1 lock: protocol_minor 1, capability bit 8 GENUINE_PARTS set.",
        "response", 1, 0x01,
        struct.pack("<BIHH", 1, 0x1FF, 1000, 4096) + s("LX-300") + s("C") + s("2.5.0") + s(lock_serial),
        {"response": "identify", "protocol_minor": 1, "capabilities": 0x1FF, "trace_sample_rate_hz": 1000,
         "trace_capacity": 4096, "model": "LX-300", "hardware_revision": "C", "firmware_version": "2.5.0",
         "serial": lock_serial})
    add("list-parts-request", "Host asks for the first fitted part.", "request", 11, 0x09, bytes([0]),
        {"request": "list_parts", "index": 0})
    add("list-parts-response", "Part 0 of 3, maker 1: the fingerprint module, its certificate issued by the maker's intermediate.",
        "response", 11, 0x09,
        bytes([3, 0]) + struct.pack("<H", DEMO_MAKER_ID) + bytes([1]) + s(fp_serial) + bytes([2]) +
        bytes([len(fp_cert)]) + fp_cert + bytes([len(intermediate)]) + intermediate,
        {"response": "parts", "count": 3, "index": 0, "maker_id": DEMO_MAKER_ID,
         "part": {"kind": 1, "serial": fp_serial, "certificates": [fp_cert.hex(), intermediate.hex()]}})
    add("list-parts-response-root-signed", "Part 1 of 3: the battery pack, its certificate signed by the maker's root directly.",
        "response", 12, 0x09,
        bytes([3, 1]) + struct.pack("<H", DEMO_MAKER_ID) + bytes([2]) + s(bp_serial) + bytes([1]) +
        bytes([len(bp_cert)]) + bp_cert,
        {"response": "parts", "count": 3, "index": 1, "maker_id": DEMO_MAKER_ID,
         "part": {"kind": 2, "serial": bp_serial, "certificates": [bp_cert.hex()]}})
    add("list-parts-response-past-end", "Index 3 of 3 parts: the response ends after the maker id.",
        "response", 13, 0x09, bytes([3, 3]) + struct.pack("<H", DEMO_MAKER_ID),
        {"response": "parts", "count": 3, "index": 3, "maker_id": DEMO_MAKER_ID})
    challenge = hashlib.sha256(b"example host challenge").digest()
    proof = proof_message(1, fp_serial, lock_serial, challenge)
    signature = ed25519_sign(part_seed(fp_serial), proof)
    add("prove-part-request", "Host challenges part 0 with 32 fresh random bytes.", "request", 14, 0x0A,
        bytes([0, len(challenge)]) + challenge,
        {"request": "prove_part", "index": 0, "challenge": challenge.hex()})
    add("prove-part-response", "The fingerprint module signs the challenge, its kind and serial and the lock's serial.",
        "response", 14, 0x0A, bytes([0]) + s(fp_serial) + bytes([len(challenge)]) + challenge + signature,
        {"response": "part_proof", "index": 0, "part_serial": fp_serial, "challenge": challenge.hex(),
         "signature": signature.hex()})

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
    parts = {
        "meaning": "The keys and signed messages behind the genuine-part vectors: a host that trusts demo_root "
                   "and checks at checked_at finds both parts genuine.",
        "demo_root": demo_root(),
        "intermediate_public_key": intermediate_public.hex(),
        "lock_serial": lock_serial,
        "checked_at": 1780000000,
        "certificate_signed_bytes": (CERT_DOMAIN + fp_cert[:-64]).hex(),
        "proof_signed_bytes": proof.hex(),
        "parts": [{"serial": fp_serial, "kind": 1, "public_key": ed25519_public(part_seed(fp_serial)).hex(), "verdict": "genuine"},
                  {"serial": bp_serial, "kind": 2, "public_key": ed25519_public(part_seed(bp_serial)).hex(), "verdict": "genuine"}],
    }
    return {"protocol": "LDP/1", "protocol_minor": 1, "generated_by": "firmware-specs/tools/ldp.py", "vectors": v,
            "genuine_parts": parts}


def main(argv):
    if len(argv) >= 2 and argv[1] == "vectors":
        print(json.dumps(vectors(), indent=2))
    elif len(argv) >= 5 and argv[1] == "frame":
        kind = KINDS[argv[2]] if argv[2] in KINDS else int(argv[2], 0)
        payload = bytes.fromhex(argv[5]) if len(argv) > 5 else b""
        print(frame(kind, int(argv[3], 0), int(argv[4], 0), payload).hex())
    elif len(argv) >= 2 and argv[1] == "demo-root":
        print(json.dumps(demo_root(), indent=2))
    elif len(argv) >= 2 and argv[1] == "check":
        print("CRC-8/SMBUS check 0x%02X" % crc8_smbus(b"123456789"))
        print("CRC-16/IBM-3740 check 0x%04X" % crc16_ibm3740(b"123456789"))
        # RFC 8032 §7.1, TEST 1: the published key pair and signature of the empty message.
        seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        ok = ed25519_public(seed).hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" and \
            ed25519_sign(seed, b"").hex() == ("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
                                               "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        print("Ed25519 RFC 8032 TEST 1 " + ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
