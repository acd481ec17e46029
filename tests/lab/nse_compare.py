#!/usr/bin/python3
"""nse_compare.py: Nmap's own NSE scripts run by trawl against the same
scripts run by nmap, script by script (issue 12), for tests/lab/test_nse_compare.sh
and bench/nse.sh. Both sides are Nmap-format XML of the same scan (same
hosts, ports and options); nmap's file is the truth of the run.

  nse_compare.py compare [--db SCRIPT.DB] [--also IDS] TRAWL.xml[,...] NMAP.xml[,...] [EXCEPTIONS]
      (several runs: comma-separated, in the same order on both sides;
      a host script seen in two runs of one side is kept as ID#2)
      one line per script instance (ADDR PROTO PORT ID, as in
      script_results.py): "same ..." or "differ ..." with a short diff,
      then one line per script id, then the counts and the verdict.
      Exit 0 when the pass criterion holds, 1 when not, 2 on bad input.
  nse_compare.py selftest
      feeds the comparison two documents that differ (and two that differ
      only in time fields) and checks it tells them apart; exit 0 when so.
  nse_compare.py exceptions EXCEPTIONS
      the exceptions as a Markdown table (for docs/nse.md).

Normaliser (applied to both sides' output text, nothing else):
  N1. Trailing white space of each line and trailing empty lines dropped;
      "\\r\\n" read as "\\n".
  N2. Time-dependent values replaced by "<time>": the value after a label
      (any indentation, "|" or "|_" prefix) that names a time or a duration:
      date, Date, System time, receive time stamp, clock-skew, uptime,
      Uptime, Uptime in seconds, Uptime in days, Server time, start_date,
      Current time, Last Boot Time, System uptime, uptime_in_seconds,
      uptime_in_days, time, Time. Certificate validity dates (Not valid
      before/after) are NOT normalised: they are fixed by the certificate.
  N3. Inside a value, durations written by Nmap's stdnse.format_time /
      format_difference ("1h02m03s", "2m01s", "45s", "-1s", "0s") after
      "deviation:" or "mean:" or "median:" (clock-skew's statistics) become
      "<time>"; also "<n>ms" round-trip times in "latency"/"rtt" lines.
  N4. Values the server makes up per connection, not per scan: mysql-info's
      "Salt" (random per greeting) and "Thread ID" (the server's count of
      connections so far, which the other scanner's run raised); the SNMP
      agent's live counters: snmp-info's "snmpEngineTime" (seconds since
      the agent started) and snmp-interfaces' "Traffic stats" (bytes
      through each interface, which the scans themselves raise); ftp-syst's
      "At session startup, client count was N" becomes "... was <n>" (vsftpd's count of clients
      connected then: ftp-anon's connection may or may not be open yet).
  N5. Lists that Nmap prints in an order of no meaning are sorted:
      imap-capabilities and pop3-capabilities (the words of a Lua table
      printed in hash order, which changes from run to run: measured,
      nmap vs nmap), mysql-info's "Some Capabilities" (the same) and
      broadcast-ping's "IP: ... MAC: ..." lines (in the order the replies
      arrived), eap-info's "<state>  <method>" lines (pairs() over a table
      keyed by EAP type numbers: the order is the hash order of the Lua
      the scanner runs, 5.3 under Debian's nmap, 5.4 under trawl; the same
      four keys inserted in the same order come out 25 13 26 21 from
      liblua5.3 and 21 13 26 25 from liblua5.4, measured).
Nothing else is ignored: a different order of lines, a different value or
a missing line is a difference.

Pass criterion (issue 12): let F be the script ids of Nmap's "default"
category (read from Nmap's script.db, given with --db) that print a result
in nmap's file ("whose rules fire": NSE keeps no record of a script that ran
and returned nothing). A script id is identical when every one of its
instances in either file is "same". The comparison passes when
  - at least 90% of F are identical, and
  - every script id of the default category that is not identical, and
    every script id that trawl alone prints (in no instance in nmap's
    file, whatever its category), is listed in EXCEPTIONS ("script-id  reason" per line, "#"
    comments and blank lines ignored).
Scripts of other categories in the same runs (-sV's "version" scripts
such as fingerprint-strings; sniffer-detect and broadcast-* when asked
for by name) are compared and printed the same way; they count in the
criterion only when named with --also ID,ID (test_nse_compare.sh names the raw
packet scripts so). A listed script that turns out identical is reported ("stale exception")
but does not fail the run.
"""
import difflib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import script_results  # noqa: E402

TIME_LABELS = [
    "date", "system time", "receive time stamp", "clock-skew", "uptime",
    "uptime in seconds", "uptime in days", "server time", "start_date",
    "current time", "last boot time", "system uptime", "uptime_in_seconds",
    "uptime_in_days", "time",
]
PER_CONNECTION = {"mysql-info": ["salt", "thread id"],
                  "snmp-info": ["snmpenginetime"],
                  "snmp-interfaces": ["traffic stats"]}
COUNTERS = {"ftp-syst": re.compile(r"(client count was )\d+")}
WORD_SETS = ("imap-capabilities", "pop3-capabilities")
COMMA_SETS = {"mysql-info": "some capabilities"}
LINE_SETS = {"broadcast-ping": re.compile(r"^\s*IP: "),
             "eap-info": re.compile(r"^\s*(?:unknown|true|false)\s+\S")}
LABEL_RE = re.compile(r"^(\s*(?:\|_?)?\s*)([A-Za-z_][A-Za-z0-9_ -]*?)(\s*:\s*)(.+)$")
DUR = r"-?(?:\d+d)?(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s"
STAT_RE = re.compile(r"\b(deviation|mean|median):\s*" + DUR)
MS_RE = re.compile(r"\b\d+(?:\.\d+)?ms\b")


def normalise(text, sid=""):
    per_conn = PER_CONNECTION.get(sid, [])
    text = (text or "").replace("\r\n", "\n")
    if sid in WORD_SETS:
        text = " ".join(sorted(text.split()))
    lines = text.split("\n")
    if sid in LINE_SETS:
        pick = [i for i, l in enumerate(lines) if LINE_SETS[sid].match(l)]
        for i, l in zip(pick, sorted(lines[i].rstrip() for i in pick)):
            lines[i] = l
    out = []
    for line in lines:
        line = line.rstrip()
        m = LABEL_RE.match(line)
        if m and m.group(2).strip().lower() in TIME_LABELS + per_conn:
            line = m.group(1) + m.group(2) + m.group(3) + "<time>"
        elif m and COMMA_SETS.get(sid) == m.group(2).strip().lower():
            line = m.group(1) + m.group(2) + m.group(3) + ", ".join(
                sorted(w.strip() for w in m.group(4).split(",")))
        if sid in COUNTERS:
            line = COUNTERS[sid].sub(lambda mm: mm.group(1) + "<n>", line)
        line = STAT_RE.sub(lambda mm: mm.group(1) + ": <time>", line)
        low = line.lower()
        if "latency" in low or "rtt" in low:
            line = MS_RE.sub("<time>", line)
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


def load_exceptions(path):
    ex = {}
    if not path:
        return ex
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(None, 1)
                if len(parts) < 2:
                    print("nse_compare.py: %s:%d: no reason for %s" % (path, n, parts[0]),
                          file=sys.stderr)
                    sys.exit(2)
                ex[parts[0]] = parts[1]
    except OSError as e:
        print("nse_compare.py: %s" % e, file=sys.stderr)
        sys.exit(2)
    return ex


def short_diff(a, b, width=3):
    """the first few differing lines, nmap's as '-', trawl's as '+'"""
    d = [l for l in difflib.unified_diff(b.split("\n"), a.split("\n"), lineterm="", n=0)
         if not l.startswith(("---", "+++", "@@"))]
    more = " (+%d lines)" % (len(d) - width) if len(d) > width else ""
    return " | ".join(json.dumps(l)[1:-1][:100] for l in d[:width]) + more


def load_default(db):
    """the script ids of category "default" in Nmap's script.db"""
    ids = set()
    try:
        with open(db) as f:
            for line in f:
                m = re.search(r'filename = "([^"]+)\.nse", categories = \{([^}]*)\}', line)
                if m and '"default"' in m.group(2):
                    ids.add(m.group(1))
    except OSError as e:
        print("nse_compare.py: %s" % e, file=sys.stderr)
        sys.exit(2)
    return ids


def compare(rt, rn, exceptions, out, counted=None):
    """rt, rn: key -> output text (trawl's, nmap's); counted: the script
    ids the criterion is about (None: all). Prints, returns ok."""
    keys = sorted(set(rt) | set(rn))
    per_id = {}
    inst_same = inst_differ = 0
    for k in keys:
        sid = k[3]
        where = " ".join(k)
        if k not in rt:
            status, why = "differ", "missing in trawl (nmap: %s)" % json.dumps(rn[k])[:100]
        elif k not in rn:
            status, why = "differ", "trawl only (trawl: %s)" % json.dumps(rt[k])[:100]
        else:
            a, b = normalise(rt[k], sid), normalise(rn[k], sid)
            if a == b:
                status, why = "same", ""
            else:
                status, why = "differ", short_diff(a, b)
        if status == "same":
            inst_same += 1
        else:
            inst_differ += 1
        st = per_id.setdefault(sid, {"same": 0, "differ": 0, "nmap": 0})
        st[status] += 1
        if k in rn:
            st["nmap"] += 1
        print("%-6s %s%s" % (status, where, ": " + why if why else ""), file=out)
    def base(s):
        return s.split("#")[0]

    def counts(s):
        return counted is None or base(s) in counted

    # a script trawl alone prints (none of its instances in nmap's file)
    # counts whatever its category: -sC must not run what Nmap's does not
    def trawl_only(s):
        return per_id[s]["nmap"] == 0

    fired = sorted(set(base(s) for s, st in per_id.items() if st["nmap"] > 0 and counts(s)))
    bad = sorted(set(base(s) for s, st in per_id.items()
                     if st["differ"] > 0 and (counts(s) or trawl_only(s))))
    identical = [s for s in fired if s not in bad]
    unlisted = [s for s in bad if s not in exceptions]
    print("# per script: id instances same differ [exception]", file=out)
    for s in sorted(per_id):
        st = per_id[s]
        tag = ""
        if not counts(s) and not trawl_only(s):
            tag = "  (not counted: not in the default category)"
        elif st["differ"] and base(s) in exceptions:
            tag = "  listed: " + exceptions[base(s)]
        elif st["differ"]:
            tag = "  NOT LISTED"
        elif base(s) in exceptions:
            tag = "  stale exception (identical now)"
        print("script %s %d %d %d%s" % (s, st["same"] + st["differ"], st["same"], st["differ"], tag),
              file=out)
    pct = 100.0 * len(identical) / len(fired) if fired else 0.0
    ok = bool(fired) and pct >= 90.0 and not unlisted
    print("instances: same=%d differ=%d" % (inst_same, inst_differ), file=out)
    print("scripts: fired_under_nmap=%d identical=%d (%.1f%%) not_identical=%d listed=%d unlisted=%d"
          % (len(fired), len(identical), pct, len(bad), len(bad) - len(unlisted), len(unlisted)),
          file=out)
    if unlisted:
        print("unlisted: " + " ".join(unlisted), file=out)
    print("verdict: %s" % ("PASS" if ok else "FAIL"), file=out)
    return ok


def texts(paths):
    out = {}
    for path in paths.split(","):
        for k, v in script_results.results(script_results.load(path)).items():
            while k in out:
                k = k[:3] + (k[3] + "#2",)
            out[k] = v[0]
    return out


def selftest():
    import io
    failures = []

    def run(rt, rn, ex, want_ok, want_lines):
        buf = io.StringIO()
        got = compare(rt, rn, ex, buf)
        s = buf.getvalue()
        if got != want_ok:
            failures.append("verdict %s, want %s:\n%s" % (got, want_ok, s))
        for w in want_lines:
            if w not in s:
                failures.append("no line %r in:\n%s" % (w, s))

    k1 = ("198.18.30.10", "tcp", "80", "http-title")
    k2 = ("198.18.30.40", "tcp", "445", "smb2-time")
    k3 = ("198.18.30.40", "host", "-", "clock-skew")
    base = {k1: "Site doesn't have a title (text/plain).",
            k2: "\n  date: 2026-12-06T02:40:01\n  start_date: N/A\n",
            k3: "mean: 0s, deviation: 0s, median: 0s"}
    later = dict(base)
    later[k2] = "\n  date: 2026-12-06T02:41:17\n  start_date: N/A"
    later[k3] = "mean: -1s, deviation: 1s, median: 0s"
    # only time fields differ: same
    run(later, base, {}, True, ["same   198.18.30.10 tcp 80 http-title", "instances: same=3 differ=0"])
    # a real difference, not listed: fails
    changed = dict(later)
    changed[k1] = "trawl lab web"
    run(changed, base, {}, False, ["differ 198.18.30.10 tcp 80 http-title", "unlisted: http-title",
                                   "verdict: FAIL"])
    # missing on one side: differs
    gone = dict(base)
    del gone[k1]
    run(gone, base, {}, False, ["missing in trawl", "verdict: FAIL"])
    # listed, but 1 of 3 fired scripts not identical is under 90%: fails
    run(changed, base, {"http-title": "reason"}, False, ["listed: reason", "verdict: FAIL"])
    # nothing fired under nmap: cannot pass
    run({}, {}, {}, False, ["verdict: FAIL"])
    # per-connection values of mysql-info, not of other scripts
    m = ("198.18.30.40", "tcp", "3306", "mysql-info")
    o = ("198.18.30.40", "tcp", "3306", "other")
    run({m: "\n  Thread ID: 9\n  Salt: abc", o: "Salt: abc"}, {m: "\n  Thread ID: 5\n  Salt: xyz", o: "Salt: xyz"},
        {}, False, ["same   198.18.30.40 tcp 3306 mysql-info", "differ 198.18.30.40 tcp 3306 other"])
    # lists printed in hash or arrival order: sorted; other scripts' not
    ic = ("198.18.30.40", "tcp", "143", "imap-capabilities")
    bp = ("prescript", "-", "-", "broadcast-ping")
    hd = ("198.18.30.10", "tcp", "80", "http-headers")
    run({ic: "IDLE OK ID", bp: "\n  IP: 198.18.1.12\n  IP: 198.18.1.11\n  Use x", hd: "B\nA"},
        {ic: "ID IDLE OK", bp: "\n  IP: 198.18.1.11\n  IP: 198.18.1.12\n  Use x", hd: "A\nB"},
        {}, False, ["same   198.18.30.40 tcp 143 imap-capabilities", "same   prescript - - broadcast-ping",
                    "differ 198.18.30.10 tcp 80 http-headers"])
    # a certificate's fixed dates are not time fields
    c = ("198.18.30.10", "tcp", "443", "ssl-cert")
    run({c: "Not valid after:  2027-01-05T02:00:00"}, {c: "Not valid after:  2027-01-04T02:00:00"},
        {}, False, ["differ 198.18.30.10 tcp 443 ssl-cert"])
    # only counted scripts decide; others are printed
    buf = io.StringIO()
    if not compare(changed, base, {}, buf, counted={"smb2-time", "clock-skew"}):
        failures.append("an uncounted script decided the verdict:\n" + buf.getvalue())
    # a script of another category that trawl alone prints: counts
    buf = io.StringIO()
    extra = dict(base)
    extra[("prescript", "-", "-", "knx-gateway-discover")] = "ERROR"
    if compare(extra, base, {}, buf, counted={"smb2-time", "clock-skew", "http-title"}) or \
            "unlisted: knx-gateway-discover" not in buf.getvalue():
        failures.append("a script trawl alone printed did not count:\n" + buf.getvalue())
    for f in failures:
        print("selftest: " + f)
    print("selftest: %s" % ("ok" if not failures else "%d FAILED" % len(failures)))
    return 0 if not failures else 1


def cmd_exceptions(path):
    ex = load_exceptions(path)
    print("| script | why trawl's output differs from Nmap's |")
    print("|---|---|")
    for s in sorted(ex):
        print("| %s | %s |" % (s, ex[s].replace("|", "\\|")))


def main(argv):
    if len(argv) >= 4 and argv[1] == "compare":
        args = argv[2:]
        db = also = None
        while len(args) >= 2 and args[0] in ("--db", "--also"):
            if args[0] == "--db":
                db = args[1]
            else:
                also = args[1]
            args = args[2:]
        if len(args) not in (2, 3):
            print(__doc__, file=sys.stderr)
            return 2
        counted = load_default(db) if db else None
        if counted is not None and also:
            counted |= set(also.split(","))
        ex = load_exceptions(args[2] if len(args) == 3 else None)
        return 0 if compare(texts(args[0]), texts(args[1]), ex, sys.stdout, counted) else 1
    if len(argv) == 2 and argv[1] == "selftest":
        return selftest()
    if len(argv) == 3 and argv[1] == "exceptions":
        cmd_exceptions(argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
