-- banner.lua: the first thing a TCP service says.
description = [[
Connects to an open TCP port and reports whatever the service sends first,
within five seconds (banner.timeout, e.g. 2s or 500ms). Ports that look
like TLS (443, 993, service https...) are tried over TLS first and then in
plain; other ports in plain first, then over TLS. Non-printable bytes are
shown as \xNN; the banner is cut to one line (plus one more line per -v).
banner.ports limits it to some ports ("21-23,25", or "common").
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

local trawl = require "trawl"
local shortport = require "shortport"

-- "21-23,25" -> a set test; "common" is a handful of talkative services.
local function port_set(spec)
  if spec == "common" then spec = "13,17,21-23,25,129,194,587,990,992,994,6667,6697" end
  local ranges = {}
  for item in tostring(spec):gsub("^[Tt]:", ""):gmatch("[^,]+") do
    local a, b = item:match("^%s*(%d+)%s*%-%s*(%d+)%s*$")
    if not a then a = item:match("^%s*(%d+)%s*$"); b = a end
    if a then ranges[#ranges + 1] = { tonumber(a), tonumber(b) } end
  end
  return function(n)
    for _, r in ipairs(ranges) do if n >= r[1] and n <= r[2] then return true end end
    return false
  end
end

local only = trawl.get_script_args(SCRIPT_NAME .. ".ports")
only = only and port_set(only)

-- Every TCP port the engine offers (open, open|filtered, unfiltered).
portrule = function(host, port)
  return port.protocol == "tcp" and (not only or only(port.number))
end

-- Printable ASCII stays, every other byte becomes \xNN (upper case hex).
local function printable(s)
  return (s:gsub("[^\32-\126]", function(c) return ("\\x%02X"):format(c:byte()) end))
end

-- The output layout: a 75-column terminal, the first line shared with
-- "| banner: ", following lines with "|   "; one line, plus one per -v.
-- Too long: cut (never inside a \xNN) and end with "...". A banner that
-- fills its last line exactly leaves an empty line after it.
local function layout(out)
  local width, offset = 75, 5
  local first = #SCRIPT_NAME < width - offset and width - 1 - #SCRIPT_NAME - offset or 0
  local other = width - 1 - (offset - 2)
  local extra = math.max(trawl.verbosity(), 0)
  local total = first > 0 and first + extra * other or (1 + extra) * other
  if #out > total then
    while #out > total do
      if out:sub(-4):match("^\\x%x%x$") then out = out:sub(1, -5) else out = out:sub(1, -2) end
    end
    out = out:sub(1, total - 3) .. "..."
  end
  local lines, room = {}, first
  while #out >= room do
    lines[#lines + 1] = room > 0 and out:sub(1, room) or " "
    out = out:sub(room + 1)
    room = other
  end
  lines[#lines + 1] = out
  return table.concat(lines, "\n")
end

-- Connect over proto and take whatever comes first.
local function grab(host, port, proto, timeout)
  local sock = trawl.tcp()
  sock:set_timeout(timeout)
  local ok, err = sock:connect(host, port, proto)
  if not ok then return nil, err end
  local data
  ok, data = sock:receive()
  sock:close()
  if not ok then return nil, data end
  return data
end

action = function(host, port)
  local timeout = trawl.timespec(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 5000
  local order = shortport.is_ssl(port) and { "ssl", "tcp" } or { "tcp", "ssl" }
  local data, err
  for _, proto in ipairs(order) do
    data, err = grab(host, port, proto, timeout)
    if data then break end
    trawl.debug(3, "%s:%d over %s: %s", host.ip, port.number, proto, err)
  end
  if not data then return nil end
  data = data:match("^%s*(.-)%s*$")
  if data == "" then return nil end
  return layout(printable(data))
end
