#!/usr/bin/python3
"""scan_results.py: turn scanner output files (Nmap XML from trawl or nmap,
trawl's JSON Lines, Nmap grepable) into plain sorted lines that the lab
scan tests (test_scan_*.sh) and bench/scan.sh compare with the lab's ground
truth and with each other.

  scan_results.py ports FILE   one line per listed port:
                               ADDR PROTO PORT STATE REASON TTL
  scan_results.py hosts FILE   one line per host: ADDR STATUS REASON TTL MAC
  scan_results.py runstats FILE.xml
                               EXIT ERRORMSG-or-"-" UP DOWN TOTAL
  scan_results.py open FILE    ADDR PORT for every open port (any format,
                               also masscan -oL and zmap's address list)
  scan_results.py table FILE.xml PROTO PORTS
                               "PORT STATE" for every port of PORTS (e.g.
                               1-96,123) of the first host: listed ports,
                               else the <extraports> state (by nmap's
                               extrareasons ports="..." list, or the only
                               extraports state of that protocol), else
                               "unknown"

FILE's format is taken from its content. An XML file may hold several
<nmaprun> documents one after the other (an interrupted scan continued with
--resume appends) or be cut short (a killed scan): then the ports are read
with a tolerant line scanner instead of the XML parser."""
import json
import re
import signal
import sys
import xml.etree.ElementTree as ET


def norm_addr(a):
    return a.strip().lower()


def xml_docs(text):
    """Yield ElementTree roots for each complete <nmaprun> document."""
    for m in re.finditer(r"<nmaprun\b.*?</nmaprun>", text, re.S):
        try:
            yield ET.fromstring(m.group(0))
        except ET.ParseError:
            continue


def xml_tolerant_ports(text):
    """Ports of a possibly truncated XML file, by scanning host blocks."""
    out = []
    for hm in re.finditer(r"<host\b.*?(?:</host>|\Z)", text, re.S):
        block = hm.group(0)
        am = re.search(r'<address addr="([^"]+)" addrtype="ipv[46]"', block)
        if not am:
            continue
        addr = norm_addr(am.group(1))
        for pm in re.finditer(
            r'<port protocol="(\w+)" portid="(\d+)"><state state="([^"]+)" '
            r'reason="([^"]*)" reason_ttl="(\d+)"', block):
            out.append((addr, pm.group(1), int(pm.group(2)), pm.group(3),
                        pm.group(4), int(pm.group(5))))
    return out


def xml_ports(text):
    out = []
    docs = list(xml_docs(text))
    if not docs:
        return xml_tolerant_ports(text)
    for root in docs:
        for h in root.iter("host"):
            addr = None
            for a in h.findall("address"):
                if a.get("addrtype") in ("ipv4", "ipv6"):
                    addr = norm_addr(a.get("addr"))
            if addr is None:
                continue
            ports = h.find("ports")
            if ports is None:
                continue
            for p in ports.findall("port"):
                st = p.find("state")
                out.append((addr, p.get("protocol"), int(p.get("portid")),
                            st.get("state"), st.get("reason", ""),
                            int(st.get("reason_ttl", "0") or 0)))
    return out


def xml_hosts(text):
    out = []
    for root in xml_docs(text):
        for h in root.iter("host"):
            addr, mac = None, "-"
            for a in h.findall("address"):
                if a.get("addrtype") in ("ipv4", "ipv6"):
                    addr = norm_addr(a.get("addr"))
                elif a.get("addrtype") == "mac":
                    mac = a.get("addr").lower()
            st = h.find("status")
            if addr is None or st is None:
                continue
            out.append((addr, st.get("state"), st.get("reason", "-") or "-",
                        int(st.get("reason_ttl", "0") or 0), mac))
    return out


def json_records(text):
    for line in text.splitlines():
        line = line.strip()
        if line:
            yield json.loads(line)


def json_ports(text):
    out = []
    for r in json_records(text):
        if r.get("type") != "host":
            continue
        addr = norm_addr(r["addr"])
        for p in r.get("ports", []):
            out.append((addr, p["protocol"], int(p["portid"]), p["state"],
                        p.get("reason", ""), int(p.get("reason_ttl", 0) or 0)))
    return out


def json_hosts(text):
    out = []
    for r in json_records(text):
        if r.get("type") != "host":
            continue
        out.append((norm_addr(r["addr"]), r.get("status", "?"),
                    r.get("reason", "-") or "-", int(r.get("reason_ttl", 0) or 0),
                    (r.get("mac") or "-").lower()))
    return out


def gnmap_ports(text):
    out = []
    for line in text.splitlines():
        m = re.match(r"Host: (\S+) \(.*?\)\tPorts: (.*?)(\t|$)", line)
        if not m:
            continue
        addr = norm_addr(m.group(1))
        for item in m.group(2).split(", "):
            f = item.split("/")
            if len(f) >= 3:
                out.append((addr, f[2], int(f[0]), f[1], "", 0))
    return out


def gnmap_hosts(text):
    out = []
    for line in text.splitlines():
        m = re.match(r"Host: (\S+) \(.*?\)\tStatus: (\w+)", line)
        if m:
            out.append((norm_addr(m.group(1)), m.group(2).lower(), "-", 0, "-"))
    return out


def kind(text):
    s = text.lstrip()
    if s.startswith("<?xml") or s.startswith("<!DOCTYPE") or s.startswith("<nmaprun"):
        return "xml"
    if s.startswith("{"):
        return "json"
    if "\tPorts: " in text or "\tStatus: " in text or s.startswith("# Nmap") or \
            s.startswith("# Trawl"):
        return "gnmap"
    return "list"


def open_list(text):
    """masscan -oL ('open tcp 80 198.19.0.1 TS') or zmap (one address per
    line, port given by the caller's scenario: printed as port 0)."""
    out = set()
    for line in text.splitlines():
        f = line.split()
        if not f or line.startswith("#"):
            continue
        if f[0] == "open" and len(f) >= 4:
            out.add((norm_addr(f[3]), int(f[2])))
        elif len(f) == 1:
            out.add((norm_addr(f[0]), 0))
    return sorted(out)


def expand_ports(spec):
    out = []
    for item in spec.split(","):
        if "-" in item:
            a, b = item.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif item:
            out.append(int(item))
    return out


def xml_table(text, proto, portspec):
    """Per-port states of the first host, extraports expanded."""
    docs = list(xml_docs(text))
    listed, by_list, sole = {}, {}, set()
    for root in docs[:1]:
        h = root.find("host")
        ports = h.find("ports") if h is not None else None
        if ports is None:
            break
        for p in ports.findall("port"):
            if p.get("protocol") == proto:
                listed[int(p.get("portid"))] = p.find("state").get("state")
        for ex in ports.findall("extraports"):
            st = ex.get("state")
            reasons = ex.findall("extrareasons")
            protos = {r.get("proto") for r in reasons}
            if not reasons or proto in protos or None in protos:
                sole.add(st)
            for r in reasons:
                if r.get("proto") in (proto, None) and r.get("ports"):
                    for n in expand_ports(r.get("ports")):
                        by_list[n] = st
    rows = []
    for n in expand_ports(portspec):
        if n in listed:
            rows.append((n, listed[n]))
        elif n in by_list:
            rows.append((n, by_list[n]))
        elif len(sole) == 1:
            rows.append((n, next(iter(sole))))
        else:
            rows.append((n, "unknown"))
    return rows


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cmd, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    k = kind(text)
    if cmd == "ports":
        rows = {"xml": xml_ports, "json": json_ports, "gnmap": gnmap_ports}.get(
            k, lambda t: [])(text)
        for r in sorted(set(rows)):
            print("%s %s %d %s %s %d" % (r[0], r[1], r[2], r[3], r[4] or "-", r[5]))
    elif cmd == "hosts":
        rows = {"xml": xml_hosts, "json": json_hosts, "gnmap": gnmap_hosts}.get(
            k, lambda t: [])(text)
        for r in sorted(set(rows)):
            print("%s %s %s %d %s" % r)
    elif cmd == "open":
        if k in ("xml", "json", "gnmap"):
            rows = {"xml": xml_ports, "json": json_ports, "gnmap": gnmap_ports}[k](text)
            for a, p in sorted({(r[0], r[2]) for r in rows if r[3] == "open"}):
                print(a, p)
        else:
            for a, p in open_list(text):
                print(a, p)
    elif cmd == "table":
        if len(sys.argv) != 5:
            sys.stderr.write(__doc__)
            return 2
        for n, st in xml_table(text, sys.argv[3], sys.argv[4]):
            print(n, st)
    elif cmd == "runstats":
        docs = list(xml_docs(text))
        if not docs:
            print("none - 0 0 0")
            return 1
        root = docs[-1]
        fin = root.find("runstats/finished")
        hosts = root.find("runstats/hosts")
        if fin is None or hosts is None:
            print("none - 0 0 0")
            return 1
        print("%s %s %s %s %s" % (fin.get("exit", "?"),
                                  (fin.get("errormsg") or "-").replace(" ", "_"),
                                  hosts.get("up"), hosts.get("down"), hosts.get("total")))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
