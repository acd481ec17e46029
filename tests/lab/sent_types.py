#!/usr/bin/python3
"""sent_types.py: the packets a scan sent, by type, from its --packet-trace
output (trawl's or nmap's SENT lines), one sorted unique line per type:

  TCP SRC > DST:DPORT FLAGS iplen=N [ttl=N]
  UDP SRC > DST:DPORT iplen=N [ttl=N]
  ICMP SRC > DST type=T/code=C iplen=N [ttl=N]   (ICMPv6 too)
  ARP who-has DST
  PROTO N SRC > DST iplen=N [ttl=N]              (any other IP protocol)

  sent_types.py [--ttl] FILE   --ttl: keep the TTL (nmap's is random
                               unless --ttl sets it, so only then)

Source ports (not addresses), IP ids, sequence numbers and times differ between any two
runs and are left out; IPv6 lengths (payloadlen) are given as iplen; TCP flags are sorted (trawl prints them in bit
order, nmap in its own)."""
import re
import sys


def types(path, keep_ttl):
    out = set()
    for line in open(path, errors="replace"):
        if not line.startswith("SENT "):
            continue
        ttl = re.search(r"\b(?:ttl|hopl|hlim)=(\d+)", line)
        iplen = re.search(r"\biplen=(\d+)", line)
        plen = re.search(r"\bpayloadlen=(\d+)", line)  # IPv6: + 40
        tail = ""
        if iplen:
            tail += " iplen=" + iplen.group(1)
        elif plen:
            tail += " iplen=%d" % (int(plen.group(1)) + 40)
        if keep_ttl and ttl:
            tail += " ttl=" + ttl.group(1)
        m = re.search(r"\bTCP (\S+):\d+ > (\S+) ([A-Z]*) ", line)
        if m:
            out.add("TCP %s > %s %s%s" % (m.group(1), m.group(2), "".join(sorted(m.group(3))), tail))
            continue
        m = re.search(r"\bUDP (\S+):\d+ > (\S+) ", line)
        if m:
            out.add("UDP %s > %s%s" % (m.group(1), m.group(2), tail))
            continue
        m = re.search(r"\bICMP(?:v6)? (?:\(58\) )?\[?(\S+) > (\S+) .*?\(?type=(\d+)/code=(\d+)", line)
        if m:
            out.add("ICMP %s > %s type=%s/code=%s%s" % (m.group(1), m.group(2), m.group(3), m.group(4), tail))
            continue
        # another IP protocol (-PO): nmap "igmp (2) A > B:", trawl "IP (2) A > B:"
        m = re.search(r"\S+ \((\d+)\) (\S+) > (\S+):", line)
        if m:
            out.add("PROTO %s %s > %s%s" % (m.group(1), m.group(2), m.group(3), tail))
            continue
        m = re.search(r"\bARP who-has (\S+)", line)
        if m:
            out.add("ARP who-has " + m.group(1))
            continue
        out.add("OTHER " + " ".join(line.split()[2:5]))
    return sorted(out)


def main():
    args = sys.argv[1:]
    keep_ttl = bool(args) and args[0] == "--ttl"
    if keep_ttl:
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    for t in types(args[0], keep_ttl):
        print(t)


if __name__ == "__main__":
    main()
