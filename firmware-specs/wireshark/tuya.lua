-- Wireshark dissector for the Tuya MCU serial protocol as lockdiag speaks it
-- (firmware-specs/tuya-mcu.md: §2 frame, §3/§4 commands, §5 DP units); field names are the
-- spec's, under the filter name `tuyamcu`: tuyamcu.command, tuyamcu.checksum.status,
-- tuyamcu.dp_id, tuyamcu.dp_type, tuyamcu.dp_data_len, tuyamcu.value…
--
-- lockdiagd --record writes Tuya links as LINKTYPE_USER1 (148, WTAP_ENCAP_USER1):
--   wireshark -X lua_script:firmware-specs/wireshark/tuya.lua lock.pcapng
-- Each packet is one read or write; all frames in it are shown, bytes outside a frame as noise.
-- The frame has no protocol variant field: command names are the standard protocol's (§3), and
-- the low-power protocol's reports (0x05, and 0x08 with its 7-byte time prefix, §4) are
-- recognised by their length and decoded as DP units too.

local tuya = Proto("tuyamcu", "Tuya MCU serial protocol")

local commands = {
    [0x00] = "heartbeat", [0x01] = "query product information", [0x02] = "query working mode / network status (low power)",
    [0x03] = "report network status", [0x04] = "reset Wi-Fi", [0x05] = "reset and select pairing mode / real-time status report (low power)",
    [0x06] = "deliver DP commands / get local time (low power)", [0x07] = "report DP status", [0x08] = "query DP status / record report (low power)",
    [0x10] = "obtain the DP cache (low power)", [0x1C] = "get local time", [0x22] = "report DP status (acknowledged)",
    [0x23] = "DP report acknowledgement",
}
local dp_types = { [0] = "raw", [1] = "bool", [2] = "value", [3] = "string", [4] = "enum", [5] = "bitmap" }
local verdict = { [0] = "bad", [1] = "good" }

local f = {
    header = ProtoField.uint16("tuyamcu.header", "header", base.HEX),
    version = ProtoField.uint8("tuyamcu.version", "version", base.HEX),
    command = ProtoField.uint8("tuyamcu.command", "command", base.HEX, commands),
    length = ProtoField.uint16("tuyamcu.length", "length", base.DEC),
    data = ProtoField.bytes("tuyamcu.data", "data"),
    checksum = ProtoField.uint8("tuyamcu.checksum", "checksum", base.HEX),
    checksum_status = ProtoField.uint8("tuyamcu.checksum.status", "checksum verdict", base.DEC, verdict),
    noise = ProtoField.bytes("tuyamcu.noise", "noise (outside any frame)"),
    incomplete = ProtoField.bytes("tuyamcu.incomplete", "incomplete frame (continues in a later packet)"),
    time_prefix = ProtoField.bytes("tuyamcu.time", "record time (flag, year-2000, month, day, hour, minute, second)"),
    result = ProtoField.uint8("tuyamcu.result", "result", base.HEX),
    dp = ProtoField.bytes("tuyamcu.dp", "DP unit"),
    dp_id = ProtoField.uint8("tuyamcu.dp_id", "dp_id"),
    dp_type = ProtoField.uint8("tuyamcu.dp_type", "dp_type", base.DEC, dp_types),
    dp_data_len = ProtoField.uint16("tuyamcu.dp_data_len", "dp_data_len"),
    value = ProtoField.int32("tuyamcu.value", "value"),
    bool = ProtoField.uint8("tuyamcu.bool", "value (bool)"),
    enum = ProtoField.uint8("tuyamcu.enum", "value (enum index)"),
    bitmap = ProtoField.uint32("tuyamcu.bitmap", "value (bitmap)", base.HEX),
    raw = ProtoField.bytes("tuyamcu.raw", "value (raw)"),
    string = ProtoField.string("tuyamcu.string", "value (string)"),
}
tuya.fields = f

local e_sum = ProtoExpert.new("tuyamcu.checksum.bad", "checksum does not match: the frame is corrupt", expert.group.CHECKSUM, expert.severity.ERROR)
local e_dp = ProtoExpert.new("tuyamcu.dp.bad", "DP unit does not fit its type or the frame (§5): the report is undecodable", expert.group.MALFORMED, expert.severity.WARN)
tuya.experts = { e_sum, e_dp }

local fixed = { [1] = 1, [2] = 4, [4] = 1 }

-- §5: dp_id, dp_type, dp_data_len (big-endian), value.
local function dissect_dps(tree, tvb, offset, stop, summary)
    while offset < stop do
        if offset + 4 > stop then tree:add_proto_expert_info(e_dp); return end
        local id, dtype, len = tvb(offset, 1):uint(), tvb(offset + 1, 1):uint(), tvb(offset + 2, 2):uint()
        local bad = offset + 4 + len > stop or (fixed[dtype] and fixed[dtype] ~= len)
            or (dtype == 5 and len ~= 1 and len ~= 2 and len ~= 4) or dtype > 5
        local unit = tree:add(f.dp, tvb(offset, math.min(4 + len, stop - offset)))
        unit:set_text(string.format("DP %d (%s)", id, dp_types[dtype] or ("type " .. dtype)))
        unit:add(f.dp_id, tvb(offset, 1))
        unit:add(f.dp_type, tvb(offset + 1, 1))
        unit:add(f.dp_data_len, tvb(offset + 2, 2))
        if bad then unit:add_proto_expert_info(e_dp); return end
        local v = tvb(offset + 4, len)
        local shown
        if dtype == 2 then unit:add(f.value, v); shown = tostring(v:int())
        elseif dtype == 1 then unit:add(f.bool, v); shown = tostring(v:uint())
        elseif dtype == 4 then unit:add(f.enum, v); shown = tostring(v:uint())
        elseif dtype == 5 then unit:add(f.bitmap, v); shown = string.format("0x%x", v:uint())
        elseif dtype == 3 then if len > 0 then unit:add(f.string, v) end; shown = "\"" .. (len > 0 and v:string() or "") .. "\""
        elseif len > 0 then unit:add(f.raw, v); shown = tostring(v:bytes()) end
        unit:append_text(" = " .. (shown or ""))
        table.insert(summary, string.format("dp%d=%s", id, shown or ""))
        offset = offset + 4 + len
    end
end

local function dissect_data(tree, tvb, command, offset, length, summary)
    local stop = offset + length
    if command == 0x06 or command == 0x07 or command == 0x22 or (command == 0x05 and length >= 4) then
        dissect_dps(tree, tvb, offset, stop, summary)
    elseif command == 0x08 and length > 7 then
        tree:add(f.time_prefix, tvb(offset, 7))
        dissect_dps(tree, tvb, offset + 7, stop, summary)
    elseif length == 1 then
        tree:add(f.result, tvb(offset, 1))
    end
end

local function dissect_frame(tvb, pinfo, tree, offset, summary)
    local left = tvb:len() - offset
    if left < 7 then return nil end
    local length = tvb(offset + 4, 2):uint()
    if length > 512 then
        -- lockdiag's decoder rejects it without buffering (§2): drop one byte and hunt again.
        return 1
    end
    if left < 7 + length then return nil end
    local sum = 0
    for i = offset, offset + 5 + length do sum = (sum + tvb(i, 1):uint()) % 256 end
    local ok = sum == tvb(offset + 6 + length, 1):uint()
    local command = tvb(offset + 3, 1):uint()
    local sub = tree:add(tuya, tvb(offset, 7 + length), "Tuya MCU frame")
    sub:add(f.header, tvb(offset, 2))
    sub:add(f.version, tvb(offset + 2, 1))
    sub:add(f.command, tvb(offset + 3, 1))
    sub:add(f.length, tvb(offset + 4, 2))
    local parts = {}
    if length > 0 then
        local d = sub:add(f.data, tvb(offset + 6, length))
        if ok then dissect_data(d, tvb, command, offset + 6, length, parts) end
    end
    local c = sub:add(f.checksum, tvb(offset + 6 + length, 1))
    sub:add(f.checksum_status, ok and 1 or 0):set_generated()
    if not ok then c:add_proto_expert_info(e_sum) end
    local text = string.format("cmd 0x%02x v%d%s%s", command, tvb(offset + 2, 1):uint(),
        #parts > 0 and (" " .. table.concat(parts, " ")) or "", ok and "" or " [checksum error]")
    sub:append_text(": " .. text)
    table.insert(summary, text)
    return 7 + length
end

function tuya.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "Tuya MCU"
    local root = tree:add(tuya, tvb(), "Tuya MCU serial protocol")
    local summary = {}
    local offset, noise_start, n = 0, nil, tvb:len()
    while offset < n do
        if offset + 1 < n and tvb(offset, 1):uint() == 0x55 and tvb(offset + 1, 1):uint() == 0xAA then
            if noise_start then root:add(f.noise, tvb(noise_start, offset - noise_start)); noise_start = nil end
            local used = dissect_frame(tvb, pinfo, root, offset, summary)
            if not used then
                root:add(f.incomplete, tvb(offset, n - offset))
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
    if noise_start then root:add(f.noise, tvb(noise_start, n - noise_start)) end
    local arrow = pinfo.p2p_dir == P2P_DIR_RECV and "MCU → module: " or (pinfo.p2p_dir == P2P_DIR_SENT and "module → MCU: " or "")
    pinfo.cols.info = arrow .. (#summary > 0 and table.concat(summary, "; ") or "noise")
    return n
end

DissectorTable.get("wtap_encap"):add((wtap_encaps or wtap).USER1, tuya)
