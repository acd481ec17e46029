#!/usr/bin/python3
"""service_results.py: the service/version answers of an Nmap XML file
(from nmap -sV or trawl -sV) as plain sorted lines, for the daemon lab's
tests (test_lab_services.sh) and for comparing two scans port by port.

  service_results.py services FILE.xml
      one line per port, fields separated by TABs (names may hold spaces):
      ADDR PROTO PORT STATE NAME TUNNEL METHOD CONF PRODUCT VERSION EXTRAINFO
      (an absent attribute is "-"; no <service> element: NAME "-")
  service_results.py compare A.xml B.xml [FIELDS]
      the ports whose FIELDS (default name,tunnel,product,version) differ
      between A and B, one line each "ADDR PROTO PORT: A-VALUES | B-VALUES";
      exit 1 when any differ, 0 when none do
"""
import sys
import xml.etree.ElementTree as ET

FIELDS = ("name", "tunnel", "method", "conf", "product", "version", "extrainfo")


def services(path):
    """{(addr, proto, port): {"state": ..., field: value}} for every port."""
    out = {}
    root = ET.parse(path).getroot()
    for host in root.iter("host"):
        addr = None
        for a in host.findall("address"):
            if a.get("addrtype") in ("ipv4", "ipv6"):
                addr = a.get("addr")
                break
        if addr is None:
            continue
        for p in host.iter("port"):
            st = p.find("state")
            rec = {"state": st.get("state") if st is not None else "-"}
            sv = p.find("service")
            for f in FIELDS:
                v = sv.get(f) if sv is not None else None
                rec[f] = v if v else "-"
            out[(addr, p.get("protocol"), int(p.get("portid")))] = rec
    return out


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "services":
        s = services(sys.argv[2])
        for k in sorted(s):
            r = s[k]
            print("\t".join([k[0], k[1], str(k[2]), r["state"]] + [r[f] for f in FIELDS]))
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        a, b = services(sys.argv[2]), services(sys.argv[3])
        fields = (sys.argv[4] if len(sys.argv) > 4 else "name,tunnel,product,version").split(",")
        bad = 0
        for k in sorted(set(a) | set(b)):
            va = [a[k].get(f, "?") for f in fields] if k in a else ["(absent)"]
            vb = [b[k].get(f, "?") for f in fields] if k in b else ["(absent)"]
            if va != vb:
                bad += 1
                print("%s %s %d: %s | %s" % (k[0], k[1], k[2], " / ".join(va), " / ".join(vb)))
        return 1 if bad else 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ET.ParseError) as e:
        sys.stderr.write("service_results.py: %s\n" % e)
        sys.exit(2)
