-- icmp-echo.lua: round-trip time of an ICMP echo sent with raw packets.
description = [[
Sends one ICMP (or ICMPv6) echo request built by the script with
trawl.packet.build_icmp through trawl.raw_send, waits for the matching
echo reply through the loop's packet dispatcher (a waiter registered
before the request is sent), and reports the round
trip time from the kernel's send and receive timestamps, and the reply's
TTL. Needs root (raw sockets and a capture on host.interface).
Arguments: icmp-echo.timeout (ms, default 2000).
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

local trawl = require "trawl"

hostrule = function(host)
  return trawl.is_privileged() and host.srcip ~= nil and host.interface ~= nil
end

action = function(host)
  local v6 = host.ip:find(":", 1, true) ~= nil
  local cap, err = trawl.pcap_open(host.interface)
  if not cap then
    trawl.debug(1, "cannot capture on %s: %s", host.interface, err)
    return nil
  end
  local id = math.random(1, 65535)
  local pkt = trawl.packet.build_icmp{ src = host.srcip, dst = host.ip, id = id, seq = 1,
    data = "trawl icmp-echo" }
  -- the waiter is in the dispatcher before the echo leaves: the reply
  -- cannot be missed, however soon it comes
  local timeout = tonumber(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 2000
  local waiter = cap:waiter{ proto = v6 and "icmp6" or "icmp", src = host.ip,
    icmp_type = v6 and 129 or 0, icmp_id = id, timeout = timeout }
  if not waiter then
    cap:close()
    return nil
  end
  local sent
  sent, err = trawl.raw_send(pkt)
  if not sent then
    cap:close()
    return nil
  end
  local reply
  reply, err = waiter:wait()
  cap:close()
  if not reply then return nil end
  local o = trawl.output_table()
  o.rtt_us = (reply.ts_ns - sent) // 1000
  o.ttl = reply.ip.ttl
  return o, ("echo reply in %.3f ms, ttl %d"):format((reply.ts_ns - sent) / 1e6, reply.ip.ttl)
end
