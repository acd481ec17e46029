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
local mqtt = require "mqtt"

local TOPIC = "$SYS/broker/version"
local MAX_PACKETS = 64     -- packets read before giving up
local MAX_VERSION = 256    -- bytes of the version text kept

portrule = function(host, port)
  if port.protocol ~= "tcp" or (port.state ~= "open" and port.state ~= "open|filtered") then
    return false
  end
  local n = port.version and port.version.name or port.service
  return port.number == 1883 or port.number == 8883 or n == "mqtt" or n == "secure-mqtt"
end

-- A reader of whole MQTT packets from socket s, bounded in time (deadline,
-- trawl.clock_ms) and size. read() -> type, flags, body | nil, err
local function reader(s, deadline)
  local buf = ""
  return function()
    while true do
      local ty, flags, body, used = mqtt.parse(buf)
      if ty then
        buf = buf:sub(used + 1)
        return ty, flags, body
      end
      if flags ~= "short" then return nil, flags end
      local left = deadline - trawl.clock_ms()
      if left <= 0 then return nil, "TIMEOUT" end
      s:set_timeout(left)
      local ok, data = s:receive()
      if not ok then return nil, data end
      buf = buf .. data
    end
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
    if v then s:send(mqtt.disconnect()) end
    s:close()
    return v, why
  end
  local id = ("trawl-%04x%04x"):format(math.random(0, 0xffff), math.random(0, 0xffff))
  ok, err = s:send(mqtt.connect(id))
  if not ok then return finish(nil, err) end
  local ty, flags, body = read()
  if not ty then return finish(nil, flags) end
  if ty ~= mqtt.CONNACK or #body < 2 then return finish(nil, "no CONNACK") end
  if body:byte(2) ~= 0 then return finish(nil, ("connection refused, code %d"):format(body:byte(2))) end
  ok, err = s:send(mqtt.subscribe(TOPIC, 1))
  if not ok then return finish(nil, err) end
  for _ = 1, MAX_PACKETS do
    ty, flags, body = read()
    if not ty then return finish(nil, flags) end
    if ty == mqtt.PUBLISH then
      local topic, payload = mqtt.publish(flags, body)
      if topic == TOPIC and #payload > 0 then return finish(payload) end
    elseif ty == mqtt.SUBACK and #body >= 3 and body:byte(3) == 0x80 then
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
