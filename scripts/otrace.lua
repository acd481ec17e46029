-- otrace.lua: traceroute inside an established TCP connection.
description = [[
Opens a TCP connection to an open port, learns the connection's sequence
numbers from its own SYN+ACK (seen through the loop's shared capture),
then sends copies of a segment of that connection — an ACK carrying one
byte already acknowledged, with the right sequence and acknowledgement
numbers — with TTL 1, 2, 3 and so on, through trawl.raw_send. Routers
answer with ICMP time exceeded quoting the segment (the dispatcher hands
the script only errors quoting this connection); the host itself answers
the old byte with an ACK. A stateful firewall that drops new connections
but forwards established ones lets these copies through. Lists the hops
with their round-trip times. IPv4, needs raw-packet privileges.
Arguments: otrace.timeout (ms per try, two tries per hop, default 1000), otrace.maxhops
(default 30), otrace.ports (only these ports, e.g. "80,443").
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

local trawl = require "trawl"

local only = trawl.get_script_args(SCRIPT_NAME .. ".ports")
local function wanted(n)
  if not only then return true end
  for p in tostring(only):gmatch("%d+") do
    if tonumber(p) == n then return true end
  end
  return false
end

portrule = function(host, port)
  return trawl.is_privileged() and port.protocol == "tcp" and port.state == "open" and
    host.srcip ~= nil and host.interface ~= nil and not host.ip:find(":", 1, true) and
    wanted(port.number)
end

local SILENT_MAX = 3 -- silent TTLs in a row: give up

action = function(host, port)
  local timeout = tonumber(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 1000
  local maxhops = tonumber(trawl.get_script_args(SCRIPT_NAME .. ".maxhops")) or 30
  local cap, err = trawl.pcap_open(host.interface)
  if not cap then
    trawl.debug(1, "otrace: cannot capture on %s: %s", host.interface, tostring(err))
    return nil
  end
  -- 1. the connection, and its SYN+ACK (the waiter is in place first)
  local w = cap:waiter{ proto = "tcp", src = host.ip, sport = port.number, dst = host.srcip,
    timeout = timeout }
  local sock = trawl.tcp()
  sock:set_timeout(timeout)
  local ok
  ok, err = sock:connect(host, port)
  local synack = ok and w and w:wait() or nil
  if w and not ok then w:cancel() end
  local _, _, lport = sock:get_info()
  if not ok or not synack or not synack.tcp or synack.tcp.dport ~= lport or
      (synack.tcp.flags & 0x12) ~= 0x12 then
    trawl.debug(1, "otrace: %s:%d: no connection or no SYN+ACK seen (%s)", host.ip, port.number,
      tostring(err))
    sock:close()
    cap:close()
    return nil
  end
  local snd_nxt = synack.tcp.ack
  local rcv_nxt = (synack.tcp.seq + 1) & 0xffffffff
  -- 2. copies of the connection's segment, TTL 1, 2, ...
  local function waiter(ms)
    return cap:waiter{ proto = "tcp", src = host.ip, sport = port.number, dst = host.srcip,
      dport = lport, errors = true, timeout = ms }
  end
  -- The host's own segments on the connection (a banner, its FIN) are not
  -- the answer to a copy, which is a bare ACK (or a reset): wait on. The
  -- next waiter is made inside the previous one's delivery, so nothing
  -- that comes between the two is missed.
  local function answer(pw, deadline)
    while true do
      local r = pw:wait()
      local own = r and not r.quoted and r.tcp and r.ip.src == host.ip and
        ((r.payload and #r.payload > 0) or (r.tcp.flags & 0x01) ~= 0) and (r.tcp.flags & 0x04) == 0
      if not own then return r end
      local left = deadline - trawl.clock_ms()
      if left <= 0 then return nil end
      pw = waiter(left)
      if not pw then return nil end
    end
  end
  local hops, silent, reached = {}, 0, false
  for ttl = 1, maxhops do
    -- two tries for a TTL, as traceroute sends several: a copy can be
    -- lost, and a host answers an old segment at most once per 500 ms
    -- (Linux's tcp_invalid_ratelimit)
    local r, sent
    for try = 1, 2 do
      local pw = waiter(timeout)
      if not pw then break end
      local seg = trawl.packet.build_tcp{ src = host.srcip, dst = host.ip, ttl = ttl,
        id = 0x0700 + ttl * 2 + try - 1, sport = lport, dport = port.number,
        seq = (snd_nxt - 1) & 0xffffffff, ack = rcv_nxt, flags = "A", win = 502, payload = "\0" }
      local deadline = trawl.clock_ms() + timeout
      sent = trawl.raw_send(seg)
      r = sent and answer(pw, deadline) or nil
      if not sent then pw:cancel() end
      if r then break end
    end
    if r and r.quoted and r.icmp and r.icmp.type == 11 then
      hops[#hops + 1] = { ttl = ttl, ip = r.ip.src, rtt = (r.ts_ns - sent) / 1e6 }
      silent = 0
    elseif r and not r.quoted and r.tcp and r.ip.src == host.ip then
      hops[#hops + 1] = { ttl = ttl, ip = host.ip, rtt = (r.ts_ns - sent) / 1e6 }
      reached = true
      break
    elseif r and r.quoted and r.icmp then
      -- unreachable on the way: the path ends at that router
      hops[#hops + 1] = { ttl = ttl, ip = r.ip.src, rtt = (r.ts_ns - sent) / 1e6 }
      break
    else
      hops[#hops + 1] = { ttl = ttl }
      silent = silent + 1
      if silent >= SILENT_MAX then break end
    end
  end
  sock:close()
  cap:close()
  while #hops > 0 and not hops[#hops].ip do hops[#hops] = nil end
  if #hops == 0 then return nil end
  -- 3. output: a table per hop, and the lines
  local o = trawl.output_table()
  o.hops = {}
  local lines = { ("%s the host (%d/tcp, inside the connection)"):format(
    reached and "reached" or "did not reach", port.number) }
  for _, h in ipairs(hops) do
    if h.ip then
      o.hops[#o.hops + 1] = { ttl = h.ttl, ip = h.ip, rtt = ("%.2f"):format(h.rtt) }
      lines[#lines + 1] = ("%d  %.2f ms  %s"):format(h.ttl, h.rtt, h.ip)
    else
      lines[#lines + 1] = ("%d  ..."):format(h.ttl)
    end
  end
  o.reached = reached
  return o, table.concat(lines, "\n")
end
