-- sniffer-detect.lua: hosts on our LAN whose card is in promiscuous mode.
description = [[
Finds hosts on the local Ethernet whose network card is probably in
promiscuous mode (a sniffer), with the test and the verdicts of Nmap's
sniffer-detect (its output is Nmap's). A card normally drops frames sent
to a multicast address it has not joined, so it never sees an ARP request
sent to a fake broadcast address such as ff:ff:ff:ff:ff:fe; a card in
promiscuous mode passes every frame up, and the kernel answers the
request. The script sends, one at a time, ARP requests "who has HOST" from
our own MAC and address to Nmap's eight destination MACs (the broadcast,
fake broadcasts, group and multicast addresses; Ethernet frames through
trawl.raw_send on host.interface) and waits for the host's ARP reply
through the shared capture (a waiter registered before each request).
The answers make Nmap's test string ("1" answered, "_" not, e.g.
"11111111"), which Nmap's table reads: "Likely in promiscuous mode",
"Windows with libpcap installed; may or may not be sniffing", nothing for
the patterns of a card that is not sniffing, else "Unknown".
Only directly connected IPv4 hosts (host.mac known); needs root.
Arguments: sniffer-detect.timeout (ms per request, default 400),
sniffer-detect.macs (comma list of destination MACs to try instead).
]]
author = "trawl"
license = "Same as trawl"
categories = { "discovery", "intrusive" }

local trawl = require "trawl"

-- Nmap's destination MACs, in Nmap's order (the test string's order):
-- the broadcast, fake broadcasts (B31, B16, B8), the group bit alone, and
-- the multicast groups 224.0.0.0, the all-hosts 224.0.0.1 and 224.0.0.3
local DEFAULT_MACS = { "ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:fe", "ff:ff:00:00:00:00",
  "ff:00:00:00:00:00", "01:00:00:00:00:00", "01:00:5e:00:00:00", "01:00:5e:00:00:01",
  "01:00:5e:00:00:03" }
-- Nmap's verdicts per test string: true sniffing, false not (no output)
local VERDICT = {
  ["1_____1_"] = false, ["1_______"] = false, ["1___1_1_"] = false, ["1_1___1_"] = false,
  ["11111111"] = true, ["111___1_"] = true,
}

hostrule = function(host)
  return trawl.is_privileged() and host.mac ~= nil and host.interface ~= nil
    and host.srcip ~= nil and host.ip:find(":", 1, true) == nil
end

local function macs_arg()
  local s = trawl.get_script_args(SCRIPT_NAME .. ".macs")
  if not s then return DEFAULT_MACS end
  local t = {}
  for m in tostring(s):gmatch("[^,%s]+") do
    if not m:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") then
      error(("%s.macs: '%s' is not a MAC address"):format(SCRIPT_NAME, m), 0)
    end
    t[#t + 1] = m:lower()
  end
  return t
end

action = function(host)
  local macs = macs_arg()
  local info, err = trawl.get_interface_info(host.interface)
  if not info or not info.mac then
    trawl.debug(1, "sniffer-detect: no MAC on %s: %s", host.interface, err or "not Ethernet")
    return nil
  end
  local cap
  cap, err = trawl.pcap_open(host.interface)
  if not cap then
    trawl.debug(1, "sniffer-detect: cannot capture on %s: %s", host.interface, err)
    return nil
  end
  local timeout = tonumber(trawl.get_script_args(SCRIPT_NAME .. ".timeout")) or 400
  local arp = trawl.packet.build_arp{ op = 1, sha = info.mac, spa = host.srcip,
    tha = "00:00:00:00:00:00", tpa = host.ip }
  local answered, tests = {}, {}
  -- One request at a time: the replies to different fake broadcasts look
  -- alike, so only the order tells them apart.
  for _, dst in ipairs(macs) do
    local w = cap:waiter{ ethertype = "arp", arp_op = 2, src = host.ip, timeout = timeout }
    if not w then break end
    local frame = trawl.packet.build_eth{ src = info.mac, dst = dst, type = 0x0806, payload = arp }
    if not trawl.raw_send(frame, host.interface) then
      w:cancel()
      break
    end
    local reply = w:wait()
    -- only a reply from the host's own MAC, to us, counts
    if reply and reply.arp and reply.arp.sha == host.mac and reply.arp.tpa == host.srcip then
      answered[#answered + 1] = dst
      tests[#tests + 1] = "1"
    else
      tests[#tests + 1] = "_"
    end
  end
  cap:close()
  if #tests < #macs then return nil end -- could not send them all
  local out = table.concat(tests)
  local text
  if out == "1_1___1_" then
    text = 'Windows with libpcap installed; may or may not be sniffing (tests: "' .. out .. '")'
  elseif VERDICT[out] == false then
    return nil
  elseif VERDICT[out] == true then
    text = 'Likely in promiscuous mode (tests: "' .. out .. '")'
  else
    text = 'Unknown (tests: "' .. out .. '")'
  end
  local o = trawl.output_table()
  o.answered = answered
  o.tried = #macs
  o.tests = out
  return o, text
end
