-- mqtt-version.lua: the software an MQTT broker runs, from its
-- $SYS/broker/version topic, written into the port's version.
description = [[
Connects to an MQTT broker (MQTT 3.1.1, anonymous; over TLS when version
detection found TLS, on 8883 or for secure-mqtt, else in plain, then the
other way), subscribes to $SYS/broker/version and waits for the retained
message brokers such as mosquitto publish there ("mosquitto version
2.0.11"). That text becomes the port's service name, as Nmap shows it
after -sV. Every read is bounded: at most 64 KiB per MQTT packet, 64
packets and mqtt-version.timeout (default 5s) per attempt.
]]
author = "trawl"
license = "Same as trawl"
categories = { "version", "safe", "discovery" }

local trawl = require "trawl"

local TOPIC = "$SYS/broker/version"
local MAX_PACKET = 65536   -- bytes of one MQTT packet's body
local MAX_PACKETS = 64     -- packets read before giving up
local MAX_VERSION = 256    -- bytes of the version text kept

portrule = function(host, port)
  if port.protocol ~= "tcp" or (port.state ~= "open" and port.state ~= "open|filtered") then
    return false
  end
  local n = port.version and port.version.name or port.service
  return port.number == 1883 or port.number == 8883 or n == "mqtt" or n == "secure-mqtt"
end

-- MQTT's "remaining length": 7 bits a byte, low first, at most 4 bytes.
local function varint(n)
  local out = {}
  repeat
    local b = n % 128
    n = n // 128
    if n > 0 then b = b + 128 end
    out[#out + 1] = string.char(b)
  until n == 0
  return table.concat(out)
end

local function mqtt_string(s)
  return string.pack(">s2", s)
end

local function packet(first, body)
  return string.char(first) .. varint(#body) .. body
end

local function connect_packet()
  -- protocol name, level 4 (3.1.1), flags: clean session, keep-alive 30 s;
  -- payload: a client id of our own
  local id = ("trawl-%04x%04x"):format(math.random(0, 0xffff), math.random(0, 0xffff))
  return packet(0x10, mqtt_string("MQTT") .. string.char(4, 0x02) .. string.pack(">I2", 30)
    .. mqtt_string(id))
end

local function subscribe_packet()
  return packet(0x82, string.pack(">I2", 1) .. mqtt_string(TOPIC) .. string.char(0))
end

-- A reader of whole MQTT packets from socket s, bounded in time (deadline,
-- trawl.clock_ms) and size. read() -> type, flags, body | nil, err
local function reader(s, deadline)
  local buf = ""
  local function fill(n)
    while #buf < n do
      local left = deadline - trawl.clock_ms()
      if left <= 0 then return nil, "TIMEOUT" end
      s:set_timeout(left)
      local ok, data = s:receive()
      if not ok then return nil, data end
      buf = buf .. data
    end
    return true
  end
  return function()
    local ok, err = fill(2)
    if not ok then return nil, err end
    local len, mult, pos = 0, 1, 2
    while true do
      ok, err = fill(pos)
      if not ok then return nil, err end
      local b = buf:byte(pos)
      len = len + (b & 0x7f) * mult
      if b < 128 then break end
      mult = mult * 128
      pos = pos + 1
      if pos > 5 then return nil, "malformed remaining length" end
    end
    if len > MAX_PACKET then return nil, "packet too large" end
    ok, err = fill(pos + len)
    if not ok then return nil, err end
    local first = buf:byte(1)
    local body = buf:sub(pos + 1, pos + len)
    buf = buf:sub(pos + len + 1)
    return first >> 4, first & 0x0f, body
  end
end

-- Control characters would break a line of the normal output.
local function printable(s)
  s = s:sub(1, MAX_VERSION)
  return (s:gsub("[%c\127]", function(c) return ("\\x%02x"):format(c:byte()) end))
end

-- One attempt, over TLS or not: the version text, or nil and why.
local function try(host, port, tls, timeout)
  local deadline = trawl.clock_ms() + timeout
  local s = trawl.tcp()
  s:set_timeout(timeout)
  local ok, err = s:connect(host, port, tls and "ssl" or "tcp")
  if not ok then return nil, err end
  local read = reader(s, deadline)
  local function finish(v, why)
    if v then s:send(packet(0xe0, "")) end -- DISCONNECT
    s:close()
    return v, why
  end
  ok, err = s:send(connect_packet())
  if not ok then return finish(nil, err) end
  local ty, _, body = read()
  if not ty then return finish(nil, _) end
  if ty ~= 2 or #body < 2 then return finish(nil, "no CONNACK") end
  if body:byte(2) ~= 0 then return finish(nil, ("connection refused, code %d"):format(body:byte(2))) end
  ok, err = s:send(subscribe_packet())
  if not ok then return finish(nil, err) end
  for _ = 1, MAX_PACKETS do
    local flags
    ty, flags, body = read()
    if not ty then return finish(nil, flags) end
    if ty == 3 and #body >= 2 then -- PUBLISH: topic, [packet id], payload
      local tlen = string.unpack(">I2", body)
      local topic = body:sub(3, 2 + tlen)
      local at = 3 + tlen
      if (flags >> 1) & 3 > 0 then at = at + 2 end
      if #topic == tlen and topic == TOPIC and at <= #body + 1 then
        local v = body:sub(at)
        if #v > 0 then return finish(v) end
      end
    elseif ty == 9 and #body >= 3 and body:byte(3) == 0x80 then
      return finish(nil, "subscription refused")
    end
  end
  return finish(nil, "no " .. TOPIC .. " message")
end

action = function(host, port)
  local timeout = trawl.timespec(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 5000
  local v = port.version or {}
  local tls_first = v.service_tunnel == "ssl" or port.number == 8883 or v.name == "secure-mqtt"
  local ver, err = try(host, port, tls_first, timeout)
  if not ver and not (err or ""):match("^connection refused") then
    ver, err = try(host, port, not tls_first, timeout)
  end
  if not ver then
    trawl.debug(1, "%s:%d: %s", host.ip, port.number, tostring(err))
    return nil
  end
  ver = printable(ver)
  trawl.set_port_version(host, port, { name = ver })
  local out = trawl.output_table()
  out[TOPIC] = ver
  return out
end
