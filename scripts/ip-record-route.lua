-- ip-record-route.lua: the route recorded by the IP Record Route option.
description = [[
Sends one ICMP echo request carrying the IPv4 Record Route option with
nine empty slots (the most the 40 bytes of IP options hold; built with
trawl.packet.build_icmp{record_route = 9}) and lists the addresses the
routers on the way, and the host itself, wrote into the option the host
echoes back in its reply, as `ping -R` does: the way there and, while
slots are left, the way back. Our own address is not among them: the
request leaves raw with the option empty, and the reply is read from the
capture before our IP stack sees it (`ping -R` shows it first and last,
written by its own kernel). The reply comes through the loop's packet
dispatcher (a waiter registered before the request is sent).
The option is checked before it is read: the packet parser validates its
length and pointer (a malformed option is reported, never read), and only
the slots before the pointer, at most as many as the option holds, are
listed. IPv4 only; needs root.
Arguments: ip-record-route.timeout (ms, default 2000).
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

local trawl = require "trawl"

local SLOTS = 9

hostrule = function(host)
  return trawl.is_privileged() and host.srcip ~= nil and host.interface ~= nil
    and host.ip:find(":", 1, true) == nil
end

-- The hops of a packet table's ip.rr, checked again here: a list of
-- dotted quads, no more than the option's slots, or nil and why.
local function hops_of(ip)
  local rr = ip and ip.rr
  if not rr then return nil, "the reply carries no record route option" end
  if type(rr.hops) ~= "table" or type(rr.slots) ~= "number" or rr.slots > SLOTS
    or #rr.hops > rr.slots then
    return nil, "inconsistent record route option"
  end
  local hops = {}
  for i = 1, #rr.hops do
    local a = rr.hops[i]
    if type(a) ~= "string" or not a:match("^%d+%.%d+%.%d+%.%d+$") then
      return nil, "bad address in the record route option"
    end
    hops[i] = a
  end
  return hops, rr
end

action = function(host)
  local cap, err = trawl.pcap_open(host.interface)
  if not cap then
    trawl.debug(1, "ip-record-route: cannot capture on %s: %s", host.interface, err)
    return nil
  end
  local id = math.random(1, 65535)
  local pkt
  pkt, err = trawl.packet.build_icmp{ src = host.srcip, dst = host.ip, id = id, seq = 1,
    record_route = SLOTS, data = "trawl ip-record-route" }
  if not pkt then
    cap:close()
    return nil
  end
  local timeout = tonumber(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 2000
  local w = cap:waiter{ proto = "icmp", src = host.ip, icmp_type = 0, icmp_id = id,
    timeout = timeout }
  if not w then
    cap:close()
    return nil
  end
  if not trawl.raw_send(pkt) then
    cap:close()
    return nil
  end
  local reply = w:wait()
  cap:close()
  if not reply then return nil end
  local o = trawl.output_table()
  if reply.error then
    o.error = reply.error
    return o, "malformed reply: " .. reply.error
  end
  local hops, rr = hops_of(reply.ip)
  if not hops then
    o.error = rr
    return o, rr
  end
  o.slots = rr.slots
  o.hops = hops
  local lines = { ("%d of %d slots recorded:"):format(#hops, rr.slots) }
  for i, a in ipairs(hops) do lines[#lines + 1] = ("  %d  %s"):format(i, a) end
  return o, table.concat(lines, "\n")
end
