#!/usr/bin/env python3
"""os_results.py: compare the OS detection of two Nmap-format XML files
(trawl -O and nmap -O, both with --osscan-guess), host by host.

  os_results.py compare TRAWL.xml NMAP.xml   one line per host, then a
                                             summary line; exit 1 on a
                                             difference that must not be
  os_results.py summary FILE.xml             host, best class, best match
  os_results.py consistent FILE.xml          "N/HOSTS": hosts whose class and
                                             fingerprint are the most common
                                             ones (for targets that are all
                                             one stack)

Per host:
  class   the best osmatch's first osclass (vendor|family|gen|type), or
          "none" without any osmatch;
  top     the best accuracy and the set of names at that accuracy (equal
          accuracies are ties whose order is the database's, so the set is
          compared, not the first name);
  fp      the fingerprint's tests (from <osfingerprint>, or "exact" when a
          match is exact and no fingerprint is printed), without the SCAN
          line and without the SEQ values that change from run to run
          (SP, GCD, ISR, TS): what the stack answered.
The summary line: hosts=N same_class=N near_class=N same_top=N same_fp=N.
near_class also counts a host whose best classes differ but where each
tool scores the other's best class within 2 points of its own best: the
SEQ values (random ISNs, per-connection timestamp offsets) move the top
guesses by a point or so from run to run, for Nmap as for trawl. A host
whose fingerprint differs, or whose class is not even near, makes the
exit status 1."""
import re
import sys
import xml.etree.ElementTree as ET

VOLATILE = {"SP", "GCD", "ISR", "TS"}
NEAR = 2


def hosts(path):
    out = {}
    for h in ET.parse(path).getroot().iter("host"):
        addr = h.find("address").get("addr")
        os_el = h.find("os")
        if os_el is None:
            out[addr] = None
            continue
        ms = os_el.findall("osmatch")
        cls, top, acc = "none", set(), -1
        classes = {}
        for m in ms:
            for c in m.findall("osclass"):
                k = "|".join(c.get(x) or "" for x in ("vendor", "osfamily", "osgen", "type"))
                classes[k] = max(classes.get(k, 0), int(m.get("accuracy")))
        if ms:
            acc = int(ms[0].get("accuracy"))
            top = {m.get("name") for m in ms if int(m.get("accuracy")) == acc}
            c = ms[0].find("osclass")
            if c is not None:
                cls = "|".join(c.get(k) or "" for k in ("vendor", "osfamily", "osgen", "type"))
        fpe = os_el.find("osfingerprint")
        fp = "exact"
        if fpe is not None:
            text = "".join(l[3:] if l.startswith("OS:") else l
                           for l in fpe.get("fingerprint").splitlines())
            tests = []
            for name, body in re.findall(r"([A-Z0-9]+)\(([^)]*)\)", text):
                if name == "SCAN":
                    continue
                attrs = [a for a in body.split("%") if a and
                         not (name == "SEQ" and a.split("=")[0] in VOLATILE)]
                tests.append("%s(%s)" % (name, "%".join(attrs)))
            fp = " ".join(tests)
        out[addr] = {"class": cls, "top": top, "acc": acc, "fp": fp, "classes": classes}
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "summary":
        for a, r in sorted(hosts(sys.argv[2]).items()):
            print(a, r["class"] if r else "no-os", sorted(r["top"])[:1] if r else "")
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "consistent":
        from collections import Counter
        hs = [r for r in hosts(sys.argv[2]).values()]
        keys = Counter((r["class"], r["fp"]) if r else None for r in hs)
        print("%d/%d" % (keys.most_common(1)[0][1] if hs else 0, len(hs)))
        return 0
    if len(sys.argv) != 4 or sys.argv[1] != "compare":
        print(__doc__, file=sys.stderr)
        return 2
    t, n = hosts(sys.argv[2]), hosts(sys.argv[3])
    same = {"class": 0, "top": 0, "fp": 0, "near": 0}
    bad = 0
    for a in sorted(n, key=lambda x: tuple(int(p) for p in x.split("."))):
        nr, tr = n[a], t.get(a)
        if nr is None and tr is None:
            print("same   %s no OS result from either" % a)
            same["class"] += 1; same["top"] += 1; same["fp"] += 1; same["near"] += 1
            continue
        if nr is None or tr is None:
            print("differ %s OS result: trawl %s, nmap %s" % (a, tr is not None, nr is not None))
            bad += 1
            continue
        sc = nr["class"] == tr["class"]
        # near: each tool's best class is one the other scores within
        # NEAR points of its own best (the SEQ values are random per run)
        near = sc or (nr["classes"].get(tr["class"], -99) >= nr["acc"] - NEAR and
                      tr["classes"].get(nr["class"], -99) >= tr["acc"] - NEAR)
        st = nr["acc"] == tr["acc"] and nr["top"] == tr["top"]
        sf = nr["fp"] == tr["fp"]
        same["class"] += sc; same["top"] += st; same["fp"] += sf; same["near"] += near
        print("%s %s class %s%s; top %d%% %s%s; fingerprint %s" % (
            "same  " if sc and sf else "near  " if near and sf else "differ", a, tr["class"],
            "" if sc else " (nmap %s)" % nr["class"], tr["acc"], sorted(tr["top"])[:2],
            "" if st else " (nmap %d%% %s)" % (nr["acc"], sorted(nr["top"])[:2]),
            "same" if sf else "differs:\n    trawl %s\n    nmap  %s" % (tr["fp"], nr["fp"])))
        if not (near and sf):
            bad += 1
    print("hosts=%d same_class=%d near_class=%d same_top=%d same_fp=%d" % (
        len(n), same["class"], same["near"], same["top"], same["fp"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
