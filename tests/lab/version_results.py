#!/usr/bin/python3
"""version_results.py: what version detection said, port by port, from the
Nmap XML of trawl or nmap, and the comparison the -sV lab test and
bench/version.sh make between the two.

  version_results.py services FILE.xml
      one line per open port:  ADDR PROTO PORT <TAB> NAME <TAB> PRODUCT
      <TAB> VERSION <TAB> EXTRAINFO <TAB> TUNNEL  (empty fields as "-");
      NAME is the service name as the normal output shows it with -sV
      ("ssl/http", "NAME?" for a port-table name with method="table")
  version_results.py compare TRUTH.xml OTHER.xml
      every open port of TRUTH against OTHER, field by field (service
      name, product, version, extrainfo, tunnel): one "same" or
      "differ ... truth=... other=..." line per port, then
      "same=N differ=M ports=P"; exit 0 when nothing differs

Only ports open in TRUTH count; a port OTHER does not list differs."""
import sys
import xml.etree.ElementTree as ET

FIELDS = ("product", "version", "extrainfo", "tunnel")


def services(path):
    out = {}
    root = ET.parse(path).getroot()
    for host in root.iter("host"):
        addr = next((a.get("addr") for a in host.iter("address")
                     if a.get("addrtype") in ("ipv4", "ipv6")), "?")
        for port in host.iter("port"):
            st = port.find("state")
            if st is None or st.get("state") != "open":
                continue
            svc = port.find("service")
            key = (addr, port.get("protocol"), int(port.get("portid")))
            if svc is None:
                out[key] = ("unknown",) + ("-",) * len(FIELDS)
                continue
            name = svc.get("name", "unknown")
            if svc.get("method") == "table" and name != "unknown":
                name += "?"
            if svc.get("tunnel") == "ssl":
                name = "ssl/" + name
            out[key] = (name,) + tuple(svc.get(f) or "-" for f in FIELDS)
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "services":
        for (a, p, n), v in sorted(services(sys.argv[2]).items()):
            print(f"{a} {p} {n}\t" + "\t".join(v))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        truth, other = services(sys.argv[2]), services(sys.argv[3])
        same = differ = 0
        for key in sorted(truth):
            a, p, n = key
            t, o = truth[key], other.get(key)
            if o == t:
                same += 1
                print(f"same {a} {p}/{n} {t[0]}")
            else:
                differ += 1
                print(f"differ {a} {p}/{n} truth={'|'.join(t)} other={'|'.join(o) if o else 'missing'}")
        print(f"same={same} differ={differ} ports={len(truth)}")
        return 0 if differ == 0 else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
