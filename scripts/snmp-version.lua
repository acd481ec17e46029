-- snmp-version.lua: who made an SNMP agent, from its SNMPv3 engine ID,
-- written into the port's version ("net-snmp SNMPv3 server").
description = [[
Sends an SNMPv3 engine-ID discovery request (a GetRequest with no user, no
engine ID and the reportable flag, RFC 3414 section 4) to a UDP SNMP port.
The agent's Report carries its authoritative engine ID, whose first four
bytes are an IANA enterprise number (RFC 3411). The enterprise's name
(net-snmp for 8072) is appended to the port's product as
"<enterprise> SNMPv3 server", as Nmap's -sV shows it; with the script
asked for by name, the engine ID, boots and time are shown too. Names come
from Nmap's enterprise_numbers.txt when it is installed (read at run time),
else from a few built in. Bounded: one datagram of at most 64 KiB per try,
three tries within snmp-version.timeout (default 3s).
]]
author = "trawl"
license = "Same as trawl"
categories = { "version", "safe", "discovery" }

local trawl = require "trawl"

portrule = function(host, port)
  if port.protocol ~= "udp" or (port.state ~= "open" and port.state ~= "open|filtered") then
    return false
  end
  local n = port.version and port.version.name or port.service
  return port.number == 161 or n == "snmp"
end

-- ---- BER, the little SNMP needs -------------------------------------------------

local function ber_len(n)
  if n < 128 then return string.char(n) end
  if n < 256 then return string.char(0x81, n) end
  return string.char(0x82, n >> 8, n & 0xff)
end

local function tlv(tag, v) return string.char(tag) .. ber_len(#v) .. v end

local function ber_int(n)
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
local function ber_read(s, pos)
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

-- The items of a constructed value, at most max of them.
local function ber_items(v, max)
  local out, pos = {}, 1
  while pos <= #v and #out < max do
    local tag, val, nx = ber_read(v, pos)
    if not tag then return nil end
    out[#out + 1] = { tag = tag, v = val }
    pos = nx
  end
  return out
end

local function ber_uint(it)
  if not it or it.tag ~= 0x02 or #it.v < 1 or #it.v > 7 then return nil end
  local n = 0
  for i = 1, #it.v do n = n * 256 + it.v:byte(i) end
  return n
end

-- ---- the request and the answer --------------------------------------------------

local function request(msgid, reqid)
  local usm = seq(octets(""), ber_int(0), ber_int(0), octets(""), octets(""), octets(""))
  local pdu = tlv(0xa0, ber_int(reqid) .. ber_int(0) .. ber_int(0) .. seq())
  return seq(ber_int(3),
    seq(ber_int(msgid), ber_int(65507), octets("\4"), ber_int(3)),
    octets(usm),
    seq(octets(""), octets(""), pdu))
end

-- engine ID, boots, time from an answer to msgid, or nil and why.
local function parse(msg, msgid)
  local tag, top = ber_read(msg, 1)
  if tag ~= 0x30 then return nil, "not a BER sequence" end
  local it = ber_items(top, 8)
  if not it or #it < 3 or ber_uint(it[1]) ~= 3 then return nil, "not SNMPv3" end
  local g = it[2].tag == 0x30 and ber_items(it[2].v, 8)
  if not g or #g < 4 or ber_uint(g[1]) ~= msgid then return nil, "not our message" end
  if ber_uint(g[4]) ~= 3 then return nil, "not the user-based security model" end
  if it[3].tag ~= 0x04 then return nil, "no security parameters" end
  local t2, usm = ber_read(it[3].v, 1)
  local u = t2 == 0x30 and ber_items(usm, 8)
  if not u or #u < 3 or u[1].tag ~= 0x04 or #u[1].v < 4 then return nil, "no engine ID" end
  return u[1].v, ber_uint(u[2]), ber_uint(u[3])
end

-- ---- enterprise names --------------------------------------------------------------

local BUILTIN = { [2] = "IBM", [9] = "ciscoSystems", [11] = "Hewlett-Packard", [311] = "Microsoft",
  [2021] = "U.C. Davis, ECE Dept. Tom", [2636] = "Juniper Networks, Inc.", [8072] = "net-snmp" }
local FILES = { "/usr/share/nmap/nselib/data/enterprise_numbers.txt",
  "/usr/local/share/nmap/nselib/data/enterprise_numbers.txt" }

-- Nmap's data file, read at run time: "NUMBER<TAB>NAME" lines.
local function enterprise_name(n)
  local cache = trawl.registry["snmp-version.enterprises"] or {}
  trawl.registry["snmp-version.enterprises"] = cache
  if cache[n] ~= nil then return cache[n] or nil end
  local name
  for _, path in ipairs(FILES) do
    local f = io.open(path, "r")
    if f then
      local want = tostring(n) .. "\t"
      for _ = 1, 200000 do
        local line = f:read("l")
        if not line then break end
        if line:sub(1, #want) == want then
          name = line:sub(#want + 1):sub(1, 128)
          break
        end
      end
      f:close()
      if name then break end
    end
  end
  name = name or BUILTIN[n]
  cache[n] = name or false
  return name
end

-- ---- the script ----------------------------------------------------------------------

local function discover(host, port, timeout)
  local u = trawl.udp()
  local ok, err = u:connect(host, port)
  if not ok then return nil, err end
  local msgid = math.random(1, 0x7fffffff)
  local deadline = trawl.clock_ms() + timeout
  for try = 1, 3 do
    u:send(request(msgid, math.random(1, 0x7fff)))
    local until_ms = math.min(deadline, trawl.clock_ms() + timeout // 3)
    while true do
      local left = until_ms - trawl.clock_ms()
      if left <= 0 then break end
      u:set_timeout(left)
      local got, data = u:receive()
      if not got then
        if data ~= "TIMEOUT" then u:close(); return nil, data end
        break
      end
      local id, boots, time = parse(data:sub(1, 65536), msgid)
      if id then u:close(); return id, boots, time end
    end
    if trawl.clock_ms() >= deadline then break end
  end
  u:close()
  return nil, "no SNMPv3 answer"
end

action = function(host, port)
  local timeout = trawl.timespec(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 3000
  local id, boots, time = discover(host, port, timeout)
  if not id then
    trawl.debug(1, "%s:%d/udp: %s", host.ip, port.number, tostring(boots))
    return nil
  end
  local n = string.unpack(">I4", id)
  local out = trawl.output_table()
  local enterprise
  if n >= 0x80000000 then
    n = n - 0x80000000
    enterprise = enterprise_name(n)
  else -- the older form (RFC 1910): the number alone, the rest unformatted
    enterprise = enterprise_name(n) or tostring(n)
  end
  out.enterprise = enterprise or tostring(n)
  out.engine_id = trawl.tohex(id)
  out.engine_boots = boots
  out.engine_time = time
  if enterprise then
    local v = port.version or {}
    local product
    if v.product and v.product ~= "SNMPv3 server" then
      product = ("%s; %s SNMPv3 server"):format(v.product, enterprise)
    else
      product = ("%s SNMPv3 server"):format(enterprise)
    end
    trawl.set_port_version(host, port, { product = product })
  end
  return out
end
