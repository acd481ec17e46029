#!/usr/bin/env python3
"""trace_results.py: the <trace> of every host in an Nmap-format XML file.

  trace_results.py hops FILE
      one line per host that has a <trace>: ADDR PROTO/PORT then TTL:IP for
      every hop listed, in TTL order ("-" when the trace is empty)
  trace_results.py compare TRAWL_XML NMAP_XML [NMAP_RERUN_XML]
      one line per host traced by either: "same ADDR ..." or "differ ADDR
      trawl=... nmap=...", then "RESULT same=N differ=M hosts=H"; exit 1
      when a host differs or has no trace on one side. NMAP_RERUN_XML is
      nmap run again on the hosts that differed: nmap itself answers
      differently from run to run under load (seen: no trace at all for a
      host it traced in every other run), so a host whose hops equal
      either of nmap's answers is the same, printed "same-rerun ADDR"
  trace_results.py differing CMP_OUTPUT
      the addresses a compare's output says differ, one per line
"""
import sys
import xml.etree.ElementTree as ET


def traces(path):
    out = {}
    for h in ET.parse(path).getroot().iter("host"):
        addr = None
        for a in h.findall("address"):
            if a.get("addrtype") in ("ipv4", "ipv6"):
                addr = a.get("addr")
        t = h.find("trace")
        if addr is None or t is None:
            continue
        hops = sorted((int(x.get("ttl")), x.get("ipaddr")) for x in t.findall("hop"))
        how = "%s/%s" % (t.get("proto") or "-", t.get("port") or "-")
        out[addr] = (how, hops)
    return out


def fmt(hops):
    return " ".join("%d:%s" % h for h in hops) or "-"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "hops":
        for a, (how, hops) in sorted(traces(sys.argv[2]).items()):
            print(a, how, fmt(hops))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "differing":
        with open(sys.argv[2]) as f:
            for line in f:
                w = line.split()
                if len(w) > 1 and w[0] == "differ":
                    print(w[1])
        return 0
    if len(sys.argv) in (4, 5) and sys.argv[1] == "compare":
        t, n = traces(sys.argv[2]), traces(sys.argv[3])
        r = traces(sys.argv[4]) if len(sys.argv) == 5 else {}
        same = differ = 0
        for a in sorted(set(t) | set(n)):
            th = t.get(a, (None, None))[1]
            nh = n.get(a, (None, None))[1]
            rh = r.get(a, (None, None))[1]
            if th is not None and th == nh:
                same += 1
                print("same", a, fmt(th))
            elif th is not None and th == rh:
                same += 1
                print("same-rerun", a, fmt(th), "(nmap's first run: " +
                      (fmt(nh) if nh is not None else "none") + ")")
            else:
                differ += 1
                print("differ", a, "trawl=" + (fmt(th) if th is not None else "none"),
                      "nmap=" + (fmt(nh) if nh is not None else "none"))
        print("RESULT same=%d differ=%d hosts=%d" % (same, differ, same + differ))
        return 1 if differ else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
