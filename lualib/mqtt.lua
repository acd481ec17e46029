-- mqtt.lua: MQTT 3.1.1 packets for trawl scripts (OASIS MQTT 3.1.1,
-- sections 2 and 3): building CONNECT, SUBSCRIBE and DISCONNECT, and
-- reading packets out of received bytes, bounded. Pure functions on
-- strings (no sockets), so that the parser can be fuzzed on its own
-- (tests/fuzz/fuzz_lua_version.c).
--   local mqtt = require "mqtt"
--   sock:send(mqtt.connect("client-id"))
--   local ty, flags, body, used = mqtt.parse(buf)  -- nil, "short" or nil, err
--   local topic, payload = mqtt.publish(flags, body)
local M = {}

M.MAX_PACKET = 65536 -- bytes of one packet's body; longer is an error
M.CONNACK, M.PUBLISH, M.SUBACK = 2, 3, 9

-- the "remaining length": 7 bits a byte, low first, at most 4 bytes
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

local function packet(first, body) return string.char(first) .. varint(#body) .. body end
local function str(s) return string.pack(">s2", s) end

-- CONNECT: protocol "MQTT" level 4, clean session, keep-alive 30 s
function M.connect(client_id)
  return packet(0x10, str("MQTT") .. string.char(4, 0x02) .. string.pack(">I2", 30) .. str(client_id))
end

-- SUBSCRIBE (packet id pid) to one topic filter at QoS 0
function M.subscribe(topic, pid)
  return packet(0x82, string.pack(">I2", pid) .. str(topic) .. string.char(0))
end

function M.disconnect() return packet(0xe0, "") end

-- The first packet of buf: type, flags, body, bytes used; nil, "short"
-- when buf does not hold all of it yet; nil and a reason when it is
-- malformed or longer than max (default M.MAX_PACKET).
function M.parse(buf, max)
  max = max or M.MAX_PACKET
  if #buf < 2 then return nil, "short" end
  local len, mult, pos = 0, 1, 2
  while true do
    if pos > #buf then return nil, "short" end
    local b = buf:byte(pos)
    len = len + (b & 0x7f) * mult
    if b < 128 then break end
    mult = mult * 128
    pos = pos + 1
    if pos > 5 then return nil, "malformed remaining length" end
  end
  if len > max then return nil, "packet too large" end
  if #buf < pos + len then return nil, "short" end
  local first = buf:byte(1)
  return first >> 4, first & 0x0f, buf:sub(pos + 1, pos + len), pos + len
end

-- A PUBLISH body: topic and payload (nil when malformed).
function M.publish(flags, body)
  if #body < 2 then return nil end
  local tlen = string.unpack(">I2", body)
  if 2 + tlen > #body then return nil end
  local at = 3 + tlen
  if (flags >> 1) & 3 > 0 then at = at + 2 end -- QoS 1 and 2 carry a packet id
  if at > #body + 1 then return nil end
  return body:sub(3, 2 + tlen), body:sub(at)
end

return M
