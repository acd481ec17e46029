-- synack-fingerprint.lua: the p0f label of each open port's SYN+ACK.
description = [[
Labels the SYN+ACK of each open TCP port the way p0f v3 does, passively:
from the SYN+ACK the SYN scan (-sS) already received, kept by the scan
(port.synack), with no extra packet. The observation (IP version, TTL, IP
options length, MSS, window and window scale, TCP option layout, quirks)
is matched against the [tcp:response] signatures of p0f.fp, read at run
time from --datadir when it holds one, else from Debian's /etc/p0f/p0f.fp
(package p0f). The output is the label ("Linux 3.x", "generic ...",
"(fuzzy)" when only a fuzzy match), the signature in p0f's notation and
the guessed hop distance; when no signature matches, the raw signature
only ("unknown"). Ports found by other scan types than -sS carry no
SYN+ACK and get no result.
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "safe" }

portrule = function(host, port)
  return port.protocol == "tcp" and port.state == "open" and type(port.synack) == "table"
end

action = function(host, port)
  local s = port.synack
  local o = {}
  o.signature = s.signature
  if s.label_error then
    o.error = s.label_error
    return o, ("signature %s (no label: %s)"):format(s.signature, s.label_error)
  end
  o.label = s.label
  o.distance = s.distance
  if s.matched then
    o.class = s.class
    o.name = s.name
    o.flavor = s.flavor
    o.fuzzy = s.fuzzy and "yes" or "no"
    o.p0f_line = s.line
    return o, ("%s, distance %d, signature %s"):format(s.label, s.distance, s.signature)
  end
  return o, ("unknown, signature %s"):format(s.signature)
end
