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
local snmp3 = require "snmp3"

portrule = function(host, port)
  if port.protocol ~= "udp" or (port.state ~= "open" and port.state ~= "open|filtered") then
    return false
  end
  local n = port.version and port.version.name or port.service
  return port.number == 161 or n == "snmp"
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
  for _ = 1, 3 do
    u:send(snmp3.discovery(msgid, math.random(1, 0x7fff)))
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
      local id, boots, time = snmp3.parse_report(data:sub(1, 65536), msgid)
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
  local n, rfc3411 = snmp3.enterprise(id)
  -- an RFC 3411 engine ID names a registered enterprise; the older form
  -- is shown by its number when the name is not known
  local enterprise = enterprise_name(n) or (not rfc3411 and tostring(n)) or nil
  local out = trawl.output_table()
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
