-- Wireshark dissector for LDP/1, the Lock Diagnostic Protocol (firmware-specs/ldp-v1.md).
-- Field names are the spec's (§3 frame, §5 NAK, §6 messages, §7 events), under the filter name
-- `ldp1` (Wireshark's `ldp` is the MPLS Label Distribution Protocol): ldp1.seq, ldp1.type, ldp1.crc.status…
--
-- lockdiagd --record writes serial LDP/1 links as their byte stream, LINKTYPE_USER0 (147,
-- Wireshark's WTAP_ENCAP_USER0), where this dissector registers; vendor-bulk USB links as usbmon
-- records (LINKTYPE_USB_LINUX_MMAPPED, 220), where it is a heuristic of the USB bulk payload
-- ("usb.bulk": an endpoint whose first data started with an LDP/1 frame header); BLE links as HCI ACL packets
-- carrying ATT (201), where it decodes the values of writes, notifications and indications on
-- the handles whose first value started with an LDP/1 frame header (Wireshark's ATT dissector
-- has no heuristic list, so a post-dissector reads `btatt.value`).
--   wireshark -X lua_script:firmware-specs/wireshark/ldp.lua lock.pcapng
-- or copy it to ~/.local/lib/wireshark/plugins/. Each packet is one read or write of the link;
-- all frames in it are shown, bytes outside a frame as noise, and a frame cut by the end of
-- the packet as incomplete (it continues in the next packet of the same direction).

local ldp = Proto("ldp1", "Lock Diagnostic Protocol (LDP/1)")

local kinds = { [0] = "request", [1] = "response", [2] = "event", [3] = "NAK" }
local types = {
    [0x01] = "IDENTIFY", [0x02] = "READ_STATUS", [0x03] = "READ_MOTOR_TRACE",
    [0x04] = "READ_FINGERPRINT_STATUS", [0x05] = "READ_FAULTS", [0x06] = "CLEAR_FAULTS",
    [0x07] = "RUN_SELFTEST", [0x08] = "ACTUATE", [0x09] = "LIST_PARTS", [0x0A] = "PROVE_PART",
    [0x81] = "ACTUATION_STARTED", [0x82] = "ACTUATION_FINISHED", [0x83] = "TRACE_CHUNK",
    [0x84] = "FAULT_RAISED", [0x85] = "SELFTEST_RESULT", [0x86] = "TAMPER",
}
local nak_codes = {
    [0x01] = "UNKNOWN_MESSAGE", [0x02] = "MALFORMED", [0x03] = "BUSY", [0x04] = "UNSUPPORTED_VERSION",
    [0x05] = "NOT_AVAILABLE", [0x06] = "REFUSED", [0x07] = "HARDWARE_FAILURE",
}
local bolt = { [0] = "unknown", [1] = "locked", [2] = "unlocked", [3] = "moving", [4] = "intermediate" }
local door = { [0] = "unknown", [1] = "closed", [2] = "open" }
local motor = { [0] = "idle", [1] = "driving towards locked", [2] = "driving towards unlocked", [3] = "braking", [4] = "disabled by a fault" }
local direction = { [1] = "lock", [2] = "unlock" }
local source = { [0] = "host command", [1] = "self-test", [2] = "user", [3] = "automatic", [4] = "manual" }
local result = { [0] = "end position reached", [1] = "stalled", [2] = "timeout", [3] = "open circuit", [4] = "overcurrent" }
local verdict = { [0] = "bad", [1] = "good" }

local f = {
    sync0 = ProtoField.uint8("ldp1.sync0", "sync0", base.HEX),
    sync1 = ProtoField.uint8("ldp1.sync1", "sync1", base.HEX),
    version = ProtoField.uint8("ldp1.version", "version", base.HEX),
    kind = ProtoField.uint8("ldp1.kind", "kind", base.DEC, kinds),
    seq = ProtoField.uint8("ldp1.seq", "seq", base.DEC),
    type = ProtoField.uint8("ldp1.type", "type", base.HEX, types),
    length = ProtoField.uint16("ldp1.length", "length", base.DEC),
    hcrc = ProtoField.uint8("ldp1.hcrc", "hcrc", base.HEX),
    hcrc_status = ProtoField.uint8("ldp1.hcrc.status", "hcrc verdict", base.DEC, verdict),
    payload = ProtoField.bytes("ldp1.payload", "payload"),
    crc = ProtoField.uint16("ldp1.crc", "crc", base.HEX),
    crc_status = ProtoField.uint8("ldp1.crc.status", "crc verdict", base.DEC, verdict),
    noise = ProtoField.bytes("ldp1.noise", "noise (outside any frame)"),
    incomplete = ProtoField.bytes("ldp1.incomplete", "incomplete frame (continues in a later packet)"),
    nak_code = ProtoField.uint8("ldp1.nak_code", "code", base.HEX, nak_codes),
    -- §6.1 IDENTIFY
    protocol_minor = ProtoField.uint8("ldp1.protocol_minor", "protocol_minor"),
    capabilities = ProtoField.uint32("ldp1.capabilities", "capabilities", base.HEX),
    trace_sample_rate_hz = ProtoField.uint16("ldp1.trace_sample_rate_hz", "trace_sample_rate_hz"),
    trace_capacity = ProtoField.uint16("ldp1.trace_capacity", "trace_capacity"),
    model = ProtoField.string("ldp1.model", "model"),
    hardware_revision = ProtoField.string("ldp1.hardware_revision", "hardware_revision"),
    firmware_version = ProtoField.string("ldp1.firmware_version", "firmware_version"),
    serial = ProtoField.string("ldp1.serial", "serial"),
    -- §6.2 READ_STATUS
    bolt = ProtoField.uint8("ldp1.bolt", "bolt", base.DEC, bolt),
    door = ProtoField.uint8("ldp1.door", "door", base.DEC, door),
    motor = ProtoField.uint8("ldp1.motor", "motor", base.DEC, motor),
    flags = ProtoField.uint8("ldp1.flags", "flags", base.HEX),
    battery_mv = ProtoField.uint16("ldp1.battery_mv", "battery_mv"),
    battery_pct = ProtoField.uint8("ldp1.battery_pct", "battery_pct"),
    active_faults = ProtoField.uint8("ldp1.active_faults", "active_faults"),
    temperature_dc = ProtoField.int16("ldp1.temperature_dc", "temperature_dc"),
    motor_current_ma = ProtoField.uint16("ldp1.motor_current_ma", "motor_current_ma"),
    actuations = ProtoField.uint32("ldp1.actuations", "actuations"),
    uptime_s = ProtoField.uint32("ldp1.uptime_s", "uptime_s"),
    -- §6.8 ACTUATE, §7.1, §7.2
    direction = ProtoField.uint8("ldp1.direction", "direction", base.DEC, direction),
    actuation = ProtoField.uint16("ldp1.actuation", "actuation"),
    source = ProtoField.uint8("ldp1.source", "source", base.DEC, source),
    result = ProtoField.uint8("ldp1.result", "result", base.DEC, result),
    duration_ms = ProtoField.uint16("ldp1.duration_ms", "duration_ms"),
    peak_current_ma = ProtoField.uint16("ldp1.peak_current_ma", "peak_current_ma"),
    running_current_ma = ProtoField.uint16("ldp1.running_current_ma", "running_current_ma"),
    battery_rest_mv = ProtoField.uint16("ldp1.battery_rest_mv", "battery_rest_mv"),
    battery_loaded_mv = ProtoField.uint16("ldp1.battery_loaded_mv", "battery_loaded_mv"),
    samples = ProtoField.uint16("ldp1.samples", "samples"),
}
ldp.fields = f

local e_crc = ProtoExpert.new("ldp1.crc.bad", "CRC-16 does not match: the frame is corrupt", expert.group.CHECKSUM, expert.severity.ERROR)
local e_hcrc = ProtoExpert.new("ldp1.hcrc.bad", "header CRC-8 does not match: false sync or corrupt header", expert.group.CHECKSUM, expert.severity.ERROR)
local e_incomplete = ProtoExpert.new("ldp1.incomplete.expert", "frame continues beyond this packet", expert.group.SEQUENCE, expert.severity.NOTE)
ldp.experts = { e_crc, e_hcrc, e_incomplete }

local band, bxor, lshift, rshift = bit32.band, bit32.bxor, bit32.lshift, bit32.rshift

-- §3.1: CRC-8/SMBUS (poly 0x07, init 0) and CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF).
local function crc8(tvb, offset, count)
    local crc = 0
    for i = offset, offset + count - 1 do
        crc = bxor(crc, tvb(i, 1):uint())
        for _ = 1, 8 do
            if band(crc, 0x80) ~= 0 then crc = band(bxor(lshift(crc, 1), 0x07), 0xFF) else crc = band(lshift(crc, 1), 0xFF) end
        end
    end
    return crc
end

local function crc16(tvb, offset, count)
    local crc = 0xFFFF
    for i = offset, offset + count - 1 do
        crc = bxor(crc, lshift(tvb(i, 1):uint(), 8))
        for _ = 1, 8 do
            if band(crc, 0x8000) ~= 0 then crc = band(bxor(lshift(crc, 1), 0x1021), 0xFFFF) else crc = band(lshift(crc, 1), 0xFFFF) end
        end
    end
    return crc
end

-- A length-prefixed str (§1): one byte count, then UTF-8.
local function add_str(tree, field, tvb, offset, stop)
    if offset >= stop then return stop end
    local n = tvb(offset, 1):uint()
    if offset + 1 + n > stop then return stop end
    tree:add(field, tvb(offset + 1, n), tvb(offset + 1, n):string(ENC_UTF_8))
    return offset + 1 + n
end

local function add_fields(tree, tvb, offset, stop, list)
    for _, item in ipairs(list) do
        local field, size = item[1], item[2]
        if offset + size > stop then return end
        tree:add_le(field, tvb(offset, size))
        offset = offset + size
    end
end

local function dissect_payload(tree, tvb, kind, mtype, offset, length)
    local stop = offset + length
    if kind == 3 then
        add_fields(tree, tvb, offset, stop, { { f.nak_code, 1 } })
    elseif kind == 1 and mtype == 0x01 then
        add_fields(tree, tvb, offset, stop, { { f.protocol_minor, 1 }, { f.capabilities, 4 }, { f.trace_sample_rate_hz, 2 }, { f.trace_capacity, 2 } })
        local o = offset + 9
        o = add_str(tree, f.model, tvb, o, stop)
        o = add_str(tree, f.hardware_revision, tvb, o, stop)
        o = add_str(tree, f.firmware_version, tvb, o, stop)
        add_str(tree, f.serial, tvb, o, stop)
    elseif kind == 1 and mtype == 0x02 then
        add_fields(tree, tvb, offset, stop, { { f.bolt, 1 }, { f.door, 1 }, { f.motor, 1 }, { f.flags, 1 }, { f.battery_mv, 2 },
            { f.battery_pct, 1 }, { f.active_faults, 1 }, { f.temperature_dc, 2 }, { f.motor_current_ma, 2 }, { f.actuations, 4 }, { f.uptime_s, 4 } })
    elseif kind == 0 and mtype == 0x08 then
        add_fields(tree, tvb, offset, stop, { { f.direction, 1 } })
    elseif kind == 1 and mtype == 0x08 then
        add_fields(tree, tvb, offset, stop, { { f.actuation, 2 } })
    elseif kind == 2 and mtype == 0x81 then
        add_fields(tree, tvb, offset, stop, { { f.actuation, 2 }, { f.direction, 1 }, { f.source, 1 }, { f.battery_mv, 2 } })
    elseif kind == 2 and mtype == 0x82 then
        add_fields(tree, tvb, offset, stop, { { f.actuation, 2 }, { f.direction, 1 }, { f.result, 1 }, { f.duration_ms, 2 },
            { f.peak_current_ma, 2 }, { f.running_current_ma, 2 }, { f.battery_rest_mv, 2 }, { f.battery_loaded_mv, 2 },
            { f.samples, 2 }, { f.bolt, 1 } })
    end
end

-- One frame at `offset` (sync found): returns the bytes it takes, or nil when the packet ends first.
local function dissect_frame(tvb, pinfo, tree, offset, summary)
    local left = tvb:len() - offset
    if left < 9 then return nil end
    local length = tvb(offset + 6, 2):le_uint()
    local hcrc_ok = crc8(tvb, offset + 2, 6) == tvb(offset + 8, 1):uint()
    local oversized = hcrc_ok and length > 512
    local version_ok = tvb(offset + 2, 1):uint() == 0x01
    local framed = hcrc_ok and not oversized and version_ok
    local size = framed and (11 + length) or 9
    if framed and left < size then return nil end
    local kind, seq, mtype = tvb(offset + 3, 1):uint(), tvb(offset + 4, 1):uint(), tvb(offset + 5, 1):uint()
    local sub = tree:add(ldp, tvb(offset, size), "LDP/1 frame")
    sub:add(f.sync0, tvb(offset, 1))
    sub:add(f.sync1, tvb(offset + 1, 1))
    sub:add(f.version, tvb(offset + 2, 1))
    sub:add(f.kind, tvb(offset + 3, 1))
    sub:add(f.seq, tvb(offset + 4, 1))
    sub:add(f.type, tvb(offset + 5, 1))
    sub:add_le(f.length, tvb(offset + 6, 2))
    local h = sub:add(f.hcrc, tvb(offset + 8, 1))
    sub:add(f.hcrc_status, hcrc_ok and 1 or 0):set_generated()
    if not framed then
        -- §3.2: a receiver drops one byte and hunts again, so a frame inside these bytes is still found.
        local why = not hcrc_ok and "header CRC error" or (oversized and "oversized length" or "unsupported version")
        if not hcrc_ok then h:add_proto_expert_info(e_hcrc) end
        sub:append_text(": " .. why)
        table.insert(summary, why)
        return 1
    end
    if length > 0 then
        local p = sub:add(f.payload, tvb(offset + 9, length))
        dissect_payload(p, tvb, kind, mtype, offset + 9, length)
    end
    local crc_ok = crc16(tvb, offset + 2, 7 + length) == tvb(offset + 9 + length, 2):le_uint()
    local c = sub:add_le(f.crc, tvb(offset + 9 + length, 2))
    sub:add(f.crc_status, crc_ok and 1 or 0):set_generated()
    if not crc_ok then c:add_proto_expert_info(e_crc) end
    local name = types[mtype] or string.format("type 0x%02x", mtype)
    local text = string.format("%s %s seq=%d%s", name, kinds[kind] or ("kind " .. kind), seq, crc_ok and "" or " [CRC error]")
    sub:append_text(": " .. text)
    table.insert(summary, text)
    return size
end

function ldp.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "LDP/1"
    local root = tree:add(ldp, tvb(), "Lock Diagnostic Protocol (LDP/1)")
    local summary = {}
    local offset, noise_start = 0, nil
    local n = tvb:len()
    while offset < n do
        if offset + 1 < n and tvb(offset, 1):uint() == 0xA5 and tvb(offset + 1, 1):uint() == 0x5A then
            if noise_start then root:add(f.noise, tvb(noise_start, offset - noise_start)); noise_start = nil end
            local used = dissect_frame(tvb, pinfo, root, offset, summary)
            if not used then
                root:add(f.incomplete, tvb(offset, n - offset)):add_proto_expert_info(e_incomplete)
                table.insert(summary, "incomplete frame")
                offset = n
            else
                offset = offset + used
            end
        else
            noise_start = noise_start or offset
            offset = offset + 1
        end
    end
    if noise_start then
        -- A lone 0xA5 at the very end may be the start of a frame in the next read.
        root:add(f.noise, tvb(noise_start, n - noise_start))
    end
    local arrow = pinfo.p2p_dir == P2P_DIR_RECV and "lock → host: " or (pinfo.p2p_dir == P2P_DIR_SENT and "host → lock: " or "")
    pinfo.cols.info = arrow .. (#summary > 0 and table.concat(summary, "; ") or "noise")
    return n
end

DissectorTable.get("wtap_encap"):add((wtap_encaps or wtap).USER0, ldp)

-- Bytes that start with sync0 sync1 version 1: an LDP/1 frame (ldp-v1.md §3.1).
local function starts_frame(tvb)
    return tvb:len() >= 3 and tvb(0, 1):uint() == 0xA5 and tvb(1, 1):uint() == 0x5A and tvb(2, 1):uint() == 0x01
end

-- USB bulk: usb.md §2.2 sends each request as one OUT transfer and each answer (response first,
-- then events) as IN transfers, so an endpoint's first data starts with a frame; a later record
-- may start inside one (an answer longer than one 1024-byte IN transfer), so an endpoint is known
-- to carry LDP/1 once one of its records started with a frame, and every later record is decoded.
local usb_bus = Field.new("usb.bus_id")
local usb_device = Field.new("usb.device_address")
local usb_endpoint = Field.new("usb.endpoint_address")
local ldp_endpoints = {}

ldp:register_heuristic("usb.bulk", function(tvb, pinfo, tree)
    local bus, device, endpoint = usb_bus(), usb_device(), usb_endpoint()
    local key = bus and device and endpoint and ((bus.value * 256 + device.value) * 256 + endpoint.value) or nil
    if not (key and ldp_endpoints[key]) then
        if not starts_frame(tvb) then return false end
        if key then ldp_endpoints[key] = true end
    end
    ldp.dissector(tvb, pinfo, tree)
    return true
end)

-- Bluetooth LE: ble-gatt.md §2 lets a frame start anywhere in a value, so a handle is known to
-- carry LDP/1 once one of its values started with a frame (the first write or notification of
-- a recording does), and every later value on it is decoded. Keyed by the ACL connection too.
local att_opcode = Field.new("btatt.opcode")
local att_handle = Field.new("btatt.handle")
local att_value = Field.new("btatt.value")
local acl_connection = Field.new("bthci_acl.chandle")
local ldp_handles = {}
local ldp_ble = Proto("ldp1_ble", "LDP/1 over Bluetooth LE ATT")
local stream_opcodes = { [0x12] = true, [0x52] = true, [0x1B] = true, [0x1D] = true }

function ldp_ble.dissector(tvb, pinfo, tree)
    local opcode, handle, value = att_opcode(), att_handle(), att_value()
    if not (opcode and handle and value) or not stream_opcodes[opcode.value] then return end
    local connection = acl_connection()
    local key = (connection and connection.value or 0) * 65536 + handle.value
    local bytes = value.range:tvb()
    if not ldp_handles[key] then
        if not starts_frame(bytes) then return end
        ldp_handles[key] = true
    end
    ldp.dissector(bytes, pinfo, tree)
end

function ldp_ble.init()
    ldp_handles = {}
    ldp_endpoints = {}
end

register_postdissector(ldp_ble)
