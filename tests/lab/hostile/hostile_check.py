#!/usr/bin/python3
"""hostile_check.py: what tests/lab/test_hostile.sh reads out of trawl's
XML and the hostile servers' logs.

  hostile_check.py verdicts FILE.xml NPORTS
      one line per host: ADDR LISTED EXTRA (ports listed, ports counted in
      <extraports>); exit 1 unless every host has LISTED + EXTRA == NPORTS
      (every scanned port got a verdict) and at least one host is there.
  hostile_check.py names FILE.xml
      one line per host: ADDR and its PTR name as a JSON string, or "-".
  hostile_check.py sent LOGDIR
      one line per hostile TCP service: MODE CONNECTIONS BYTES-SENT (from
      the tcp-*.log lines "MODE PEER sent=N secs=S")."""
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def hosts(path):
    for h in ET.parse(path).getroot().iter("host"):
        addr = next((a.get("addr") for a in h.findall("address")
                     if a.get("addrtype") in ("ipv4", "ipv6")), None)
        if addr:
            yield addr, h


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "verdicts" and len(sys.argv) == 4:
        want, bad, n = int(sys.argv[3]), 0, 0
        for addr, h in hosts(sys.argv[2]):
            n += 1
            ports = h.find("ports")
            listed = len(ports.findall("port")) if ports is not None else 0
            extra = sum(int(e.get("count", "0")) for e in ports.findall("extraports")) \
                if ports is not None else 0
            print(addr, listed, extra)
            bad |= listed + extra != want
        return 1 if bad or n == 0 else 0
    if cmd == "names" and len(sys.argv) == 3:
        for addr, h in hosts(sys.argv[2]):
            names = [x.get("name") for x in h.iter("hostname") if x.get("type") == "PTR"]
            print(addr, json.dumps(names[0]) if names else "-")
        return 0
    if cmd == "sent" and len(sys.argv) == 3:
        for f in sorted(glob.glob(os.path.join(sys.argv[2], "tcp-*.log"))):
            conns, total = 0, 0
            with open(f) as fh:
                for line in fh:
                    m = re.search(r" sent=(\d+) ", line)
                    if m:
                        conns += 1
                        total += int(m.group(1))
            print(os.path.basename(f)[4:-4], conns, total)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
