-- port-os.lua: the per-port OS detection groups of a host, as a script.
description = [[
Shows which open TCP ports of a host answer as one TCP/IP stack and which
as another (port forwarding or a load balancer behind one address). The
groups come from trawl's per-port OS detection (--osscan-per-port; this
script turns it on, with -O, when --script names it and raw packets can
be sent; selected only through a category it shows the groups when
--osscan-per-port is given): each open port got an OS detection try of its own, and ports were
grouped by the hop distance of their SYN+ACKs, the SYN+ACK's options and
window, the ECN and T1-T4 answers, the IP ID class, the TCP timestamp
clock (rate and offset), whether the IP IDs form one counter, the ISN
behaviour and the closed port's RST. The script reads the result from
host.os_per_port (an array of groups: ports, os, accuracy, distance,
stack, differs) and prints one line per group with its best OS match,
its distance and the signals that set it apart from the first group,
then the closed port's RST: its distance and the open port it answers
like (none: a NAT gateway answering for itself).
Hosts with fewer than two open TCP ports get no result. Needs root.
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

hostrule = function(host)
  return type(host.os_per_port) == "table" and #host.os_per_port > 0
end

action = function(host)
  local out, lines = {}, {}
  for i, g in ipairs(host.os_per_port) do
    local ports = {}
    for _, p in ipairs(g.ports or {}) do ports[#ports + 1] = tostring(p) end
    local os = (g.os and g.os ~= "") and g.os or "no match"
    local line = ("%s/tcp: %s%s"):format(table.concat(ports, ","), i > 1 and "a different stack, " or "", os)
    if tonumber(g.accuracy) and g.accuracy > 0 then line = line .. (" (%d%%)"):format(g.accuracy) end
    if tonumber(g.distance) and g.distance >= 0 then line = line .. (", distance %d"):format(g.distance) end
    if type(g.differs) == "table" and #g.differs > 0 then
      line = line .. " (port forwarding?); differs in: " .. table.concat(g.differs, ", ")
    end
    lines[#lines + 1] = line
    out[#out + 1] = { ports = table.concat(ports, ","), os = os, distance = g.distance,
                      accuracy = g.accuracy, differs = g.differs }
  end
  out.groups = #lines
  local pp, closed = host.os_per_port, ""
  if tonumber(pp.closed_rst_distance) then
    out.closed_rst_distance = pp.closed_rst_distance
    closed = ("closed port: RST from distance %d, %s"):format(pp.closed_rst_distance,
      (tonumber(pp.closed_rst_like) or 0) > 0 and ("like %d/tcp"):format(pp.closed_rst_like)
      or "like none of the open ports")
  end
  if #lines == 1 then
    return out, "one stack: " .. lines[1] .. (closed ~= "" and "; " .. closed or "")
  end
  if closed ~= "" then lines[#lines + 1] = closed end
  return out, ("%d stacks\n  %s"):format(out.groups, table.concat(lines, "\n  "))
end
