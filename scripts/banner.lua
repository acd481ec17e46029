-- banner.lua: the first thing a TCP service says.
description = [[
Connects to an open TCP port and reports whatever the service sends first,
within five seconds (banner.timeout, e.g. 2s or 500ms). Non-printable bytes
are shown as \xNN; the banner is cut to one line (plus one more line per -v).
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

local trawl = require "trawl"

portrule = function(host, port)
  return port.protocol == "tcp" and port.state == "open"
end

-- "5", "5s", "500ms", "2m" -> milliseconds
local function timespec(s)
  if not s then return nil end
  local n, unit = tostring(s):match("^%s*([%d%.]+)%s*(%a*)%s*$")
  n = tonumber(n)
  if not n then return nil end
  local mult = ({ [""] = 1000, s = 1000, ms = 1, m = 60000, h = 3600000 })[unit]
  return mult and math.floor(n * mult) or nil
end

-- Printable ASCII stays, everything else becomes \xNN.
local function printable(s)
  return (s:gsub("[^\32-\126]", function(c) return ("\\x%02X"):format(c:byte()) end))
end

-- Cut to the room left on the first output line (and a full line more for
-- each -v), never in the middle of a \xNN escape, then wrap.
local function layout(out)
  local width = 75
  local first = width - 1 - #SCRIPT_NAME - 5
  local other = width - 1 - 3
  local total = first + trawl.verbosity() * other
  if #out > total then
    while #out > total do
      if out:sub(-4):match("\\x%x%x") then out = out:sub(1, -5) else out = out:sub(1, -2) end
    end
    out = out:sub(1, total - 3) .. "..."
  end
  local lines, room = {}, first
  while #out >= room do
    lines[#lines + 1] = out:sub(1, room)
    out = out:sub(room + 1)
    room = other
  end
  lines[#lines + 1] = out
  if lines[#lines] == "" then lines[#lines] = nil end
  return table.concat(lines, "\n")
end

action = function(host, port)
  local timeout = timespec(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 5000
  local sock = trawl.tcp()
  sock:set_timeout(timeout)
  local ok, err = sock:connect(host, port)
  if not ok then
    trawl.debug(1, "connect to %s:%d failed: %s", host.ip, port.number, err)
    return nil
  end
  local data
  ok, data = sock:receive()
  sock:close()
  if not ok then return nil end
  data = data:match("^%s*(.-)%s*$")
  if data == "" then return nil end
  return layout(printable(data))
end
