#!/usr/bin/python3
"""version_volatile.py: version_results.py's comparison for answers that
change with time. Some services put a live counter into what they say
(memcached's "uptime 21 seconds"): two scans seconds apart can never agree
on it, whoever scans. Whether a field is such a counter is measured, not
listed: Nmap scans those ports a second time, and a field whose value
changed between Nmap's two scans is volatile; there trawl's value must
still equal Nmap's with every run of digits masked.

  version_volatile.py candidates TRUTH.xml OTHER.xml
      "PROTO PORT" per differing port where every differing field is equal
      once digit runs are masked (the only ports a second Nmap scan can
      settle); nothing when there is none
  version_volatile.py compare TRUTH.xml TRUTH2.xml OTHER.xml
      as version_results.py compare (one "same"/"differ" line per open port
      of TRUTH, then "same=N differ=M ports=P", exit 0 when nothing
      differs), except that a field where TRUTH and TRUTH2 (Nmap's second
      scan) disagree is compared with digit runs masked; such ports say
      "same ... (volatile FIELD: nmap A then B, other C)". TRUTH2 may be
      "-" (no second scan): then this is version_results.py compare."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from version_results import FIELDS, services  # noqa: E402

NAMES = ("name",) + FIELDS


def mask(v):
    return re.sub(r"\d+", "#", v)


def candidates(truth, other):
    for key in sorted(truth):
        t, o = truth[key], other.get(key)
        if o is None or o == t:
            continue
        if all(mask(a) == mask(b) for a, b in zip(t, o)):
            print(f"{key[1]} {key[2]}")


def compare(truth, again, other):
    same = differ = 0
    for key in sorted(truth):
        a, p, n = key
        t, o, t2 = truth[key], other.get(key), again.get(key)
        notes = []
        ok = o is not None
        if ok and o != t:
            for i, f in enumerate(NAMES):
                if o[i] == t[i]:
                    continue
                if t2 is not None and t2[i] != t[i] and mask(t[i]) == mask(t2[i]) == mask(o[i]):
                    notes.append(f"volatile {f}: nmap '{t[i]}' then '{t2[i]}', other '{o[i]}'")
                    continue
                ok = False
        if ok:
            same += 1
            print(f"same {a} {p}/{n} {t[0]}" + (f" ({'; '.join(notes)})" if notes else ""))
        else:
            differ += 1
            print(f"differ {a} {p}/{n} truth={'|'.join(t)} other={'|'.join(o) if o else 'missing'}")
    print(f"same={same} differ={differ} ports={len(truth)}")
    return 0 if differ == 0 else 1


def main():
    a = sys.argv
    if len(a) == 4 and a[1] == "candidates":
        candidates(services(a[2]), services(a[3]))
        return 0
    if len(a) == 5 and a[1] == "compare":
        return compare(services(a[2]), services(a[3]) if a[3] != "-" else {}, services(a[4]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
