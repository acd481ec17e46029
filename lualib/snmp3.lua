-- snmp3.lua: SNMPv3 engine-ID discovery for trawl scripts (RFC 3414
-- section 4: a GetRequest with no user and no engine ID, flagged
-- reportable; the agent's Report names its authoritative engine), with
-- the little BER that needs. Pure functions on strings, so that the
-- parser can be fuzzed on its own (tests/fuzz/fuzz_lua_version.c).
--   local snmp3 = require "snmp3"
--   udp:send(snmp3.discovery(msgid, reqid))
--   local engine_id, boots, time = snmp3.parse_report(datagram, msgid)
--   local enterprise, is_rfc3411 = snmp3.enterprise(engine_id)
local M = {}

local function ber_len(n)
  if n < 128 then return string.char(n) end
  if n < 256 then return string.char(0x81, n) end
  return string.char(0x82, n >> 8, n & 0xff)
end

local function tlv(tag, v) return string.char(tag) .. ber_len(#v) .. v end

local function int(n)
  local bytes = {}
  repeat
    table.insert(bytes, 1, n & 0xff)
    n = n >> 8
  until n == 0
  if bytes[1] >= 0x80 then table.insert(bytes, 1, 0) end
  return tlv(0x02, string.char(table.unpack(bytes)))
end

local function octets(s) return tlv(0x04, s) end
local function seq(...) return tlv(0x30, table.concat({ ... })) end

-- One TLV at pos of s: tag, value, next position; nil when it does not
-- fit in s (every length is checked against what is there).
function M.ber_read(s, pos)
  if pos + 1 > #s then return nil end
  local tag, l = s:byte(pos), s:byte(pos + 1)
  pos = pos + 2
  if l >= 0x80 then
    local nb = l - 0x80
    if nb < 1 or nb > 3 or pos + nb - 1 > #s then return nil end
    l = 0
    for i = 0, nb - 1 do l = l * 256 + s:byte(pos + i) end
    pos = pos + nb
  end
  if pos + l - 1 > #s then return nil end
  return tag, s:sub(pos, pos + l - 1), pos + l
end

-- The items of a constructed value, at most max of them; nil if malformed.
local function items(v, max)
  local out, pos = {}, 1
  while pos <= #v and #out < max do
    local tag, val, nx = M.ber_read(v, pos)
    if not tag then return nil end
    out[#out + 1] = { tag = tag, v = val }
    pos = nx
  end
  return out
end

local function uint(it)
  if not it or it.tag ~= 0x02 or #it.v < 1 or #it.v > 7 then return nil end
  local n = 0
  for i = 1, #it.v do n = n * 256 + it.v:byte(i) end
  return n
end

-- The discovery request: msgID msgid, maxSize 65507, flags reportable,
-- the user-based security model with everything empty, an empty GetRequest.
function M.discovery(msgid, reqid)
  local usm = seq(octets(""), int(0), int(0), octets(""), octets(""), octets(""))
  local pdu = tlv(0xa0, int(reqid) .. int(0) .. int(0) .. seq())
  return seq(int(3), seq(int(msgid), int(65507), octets("\4"), int(3)), octets(usm),
    seq(octets(""), octets(""), pdu))
end

-- engine ID, boots, time from the answer to msgid; nil and why otherwise.
function M.parse_report(msg, msgid)
  local tag, top = M.ber_read(msg, 1)
  if tag ~= 0x30 then return nil, "not a BER sequence" end
  local it = items(top, 8)
  if not it or #it < 3 or uint(it[1]) ~= 3 then return nil, "not SNMPv3" end
  local g = it[2].tag == 0x30 and items(it[2].v, 8)
  if not g or #g < 4 or uint(g[1]) ~= msgid then return nil, "not our message" end
  if uint(g[4]) ~= 3 then return nil, "not the user-based security model" end
  if it[3].tag ~= 0x04 then return nil, "no security parameters" end
  local t2, usm = M.ber_read(it[3].v, 1)
  local u = t2 == 0x30 and items(usm, 8)
  if not u or #u < 3 or u[1].tag ~= 0x04 or #u[1].v < 4 then return nil, "no engine ID" end
  return u[1].v, uint(u[2]), uint(u[3])
end

-- The IANA enterprise number an engine ID starts with, and whether it is
-- in RFC 3411's form (high bit set) or the older RFC 1910 one.
function M.enterprise(engine_id)
  if #engine_id < 4 then return nil end
  local n = string.unpack(">I4", engine_id)
  if n >= 0x80000000 then return n - 0x80000000, true end
  return n, false
end

return M
