#!/usr/bin/python3
"""script_results.py: script results out of Nmap-format XML (trawl's or
nmap's) and trawl's JSON Lines, for the script lab test
(tests/lab/test_scripts.sh) and the script benchmark (bench/scripts.sh).

  script_results.py scripts FILE.xml
      one line per script result: ADDR PROTO PORT ID OUTPUT, with OUTPUT
      as a JSON string (newlines escaped); host scripts have PROTO PORT
      "host -", pre/postrule scripts ADDR "prescript"/"postscript".
  script_results.py elems FILE.xml ADDR PORT ID
      that result's structured output as KEY=VALUE lines (nested keys
      joined with '.', unkeyed children numbered from 1).
  script_results.py order FILE.xml
      the names of <nmaprun>'s children, one per line, runs of <host>
      folded to "host*N".
  script_results.py json FILE.json
      the "type" of every record, one per line, then one line per script
      result as in `scripts` (hosts' ports, hostscripts, pre/postscript).
  script_results.py compare A.xml B.xml [IDS]
      compares the results of A and B per (address, protocol, port, script
      id) after normalising the text (trailing white space dropped), for
      the script ids in IDS (comma-separated; default all): prints
      "same=N differ=N only_a=N only_b=N", then one line per difference.
      Exit 0 when equal, 1 otherwise.
Exit status 2 on unreadable input.
"""
import json
import sys
import xml.etree.ElementTree as ET


def load(path):
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print("script_results.py: %s: %s" % (path, e), file=sys.stderr)
        sys.exit(2)


def addr_of(host):
    for a in host.findall("address"):
        if a.get("addrtype") in ("ipv4", "ipv6"):
            return a.get("addr")
    return "?"


def results(root):
    """(addr, proto, port, id) -> (output, <script> element)"""
    out = {}
    for tag in ("prescript", "postscript"):
        for el in root.findall(tag):
            for s in el.findall("script"):
                out[(tag, "-", "-", s.get("id"))] = (s.get("output"), s)
    for host in root.findall("host"):
        a = addr_of(host)
        for p in host.findall("ports/port"):
            for s in p.findall("script"):
                out[(a, p.get("protocol"), p.get("portid"), s.get("id"))] = (s.get("output"), s)
        for s in host.findall("hostscript/script"):
            out[(a, "host", "-", s.get("id"))] = (s.get("output"), s)
    return out


def flat(el, prefix, out):
    n = 0
    for c in el:
        n += 1
        key = c.get("key") or str(n)
        name = prefix + "." + key if prefix else key
        if c.tag == "elem":
            out.append("%s=%s" % (name, c.text or ""))
        elif c.tag == "table":
            flat(c, name, out)
    return out


def cmd_scripts(path):
    for k, (o, _) in sorted(results(load(path)).items()):
        print(" ".join(k), json.dumps(o))


def cmd_elems(path, addr, port, sid):
    for (a, _, p, i), (_, el) in results(load(path)).items():
        if a == addr and p == port and i == sid:
            for line in flat(el, "", []):
                print(line)
            return
    sys.exit(1)


def cmd_order(path):
    names = [c.tag for c in load(path)]
    out = []
    for n in names:
        if out and n == "host" and out[-1][0] == "host":
            out[-1][1] += 1
        else:
            out.append([n, 1])
    for n, c in out:
        print("host*%d" % c if n == "host" else n)


def cmd_json(path):
    lines = []
    try:
        with open(path) as f:
            recs = [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError) as e:
        print("script_results.py: %s: %s" % (path, e), file=sys.stderr)
        sys.exit(2)
    for r in recs:
        print(r.get("type"))
        t = r.get("type")
        if t in ("prescript", "postscript"):
            for s in r.get("scripts", []):
                lines.append(" ".join((t, "-", "-", s["id"])) + " " + json.dumps(s["output"]))
        elif t == "host":
            for p in r.get("ports", []):
                for s in p.get("scripts", []):
                    lines.append(" ".join((r["addr"], p["protocol"], str(p["portid"]), s["id"]))
                                 + " " + json.dumps(s["output"]))
            for s in r.get("hostscripts", []):
                lines.append(" ".join((r["addr"], "host", "-", s["id"])) + " " + json.dumps(s["output"]))
    for l in sorted(lines):
        print(l)


def norm(s):
    return (s or "").rstrip()


def cmd_compare(pa, pb, ids):
    want = set(ids.split(",")) if ids else None
    ra = {k: norm(v[0]) for k, v in results(load(pa)).items() if not want or k[3] in want}
    rb = {k: norm(v[0]) for k, v in results(load(pb)).items() if not want or k[3] in want}
    same = sum(1 for k in ra if k in rb and ra[k] == rb[k])
    differ = [k for k in ra if k in rb and ra[k] != rb[k]]
    only_a = [k for k in ra if k not in rb]
    only_b = [k for k in rb if k not in ra]
    print("same=%d differ=%d only_a=%d only_b=%d" % (same, len(differ), len(only_a), len(only_b)))
    for k in sorted(differ)[:50]:
        print("differ %s: a=%s b=%s" % (" ".join(k), json.dumps(ra[k]), json.dumps(rb[k])))
    for k in sorted(only_a)[:50]:
        print("only_a %s: %s" % (" ".join(k), json.dumps(ra[k])))
    for k in sorted(only_b)[:50]:
        print("only_b %s: %s" % (" ".join(k), json.dumps(rb[k])))
    return 0 if not differ and not only_a and not only_b else 1


def main(argv):
    if len(argv) >= 3 and argv[1] == "scripts":
        cmd_scripts(argv[2])
    elif len(argv) == 6 and argv[1] == "elems":
        cmd_elems(*argv[2:])
    elif len(argv) >= 3 and argv[1] == "order":
        cmd_order(argv[2])
    elif len(argv) >= 3 and argv[1] == "json":
        cmd_json(argv[2])
    elif len(argv) in (4, 5) and argv[1] == "compare":
        return cmd_compare(argv[2], argv[3], argv[4] if len(argv) == 5 else "")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
