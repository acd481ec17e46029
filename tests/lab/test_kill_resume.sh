#!/usr/bin/env bash
# ctest-cost: 90
# test_kill_resume.sh BUILD_DIR: no result lost (issue 14 item 5).
# A multi-group scan (a /20 of the lab's AnyIP big host x 22,80,443, all
# open, --max-hostgroup 64: 64 groups) with -oN, -oX, -oG and -oJ is killed
# with SIGKILL at random points (at least one group written, so that there
# is something to resume from). After each kill:
#   - every output is readable up to its last complete host: the XML cut
#     after its last </host> and closed with </nmaprun> parses; every
#     complete line of the grepable and JSON outputs is a whole host (all
#     three ports); every host block of the normal output but the last is
#     whole;
#   - `trawl --resume` (from the grepable, the normal and the XML output in
#     turn) exits 0, and interrupted + resumed outputs hold exactly the
#     uninterrupted run's results.
# Then a full disk: -oX into a 64 KiB tmpfs (its own mount namespace,
# `unshare -m`) that fills up mid-scan, -oG to a normal file: one stderr
# line naming the XML output and its file, exit 1, and the grepable output
# holds every result of the uninterrupted run.
# Own lab (prefix twkillre<pid>-). KILL_SEED=N repeats the kill points.
# Last line "N passed, M failed".
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init killresume "${1:-}"
scan_lab_up

NET=${LAB_BIG_NET%.*.*}.0.0/20
PORTS=$(tr ' ' , <<<"$LAB_BIG_TCP_OPEN")
NPORT=$(wc -w <<<"$LAB_BIG_TCP_OPEN")
ARGS=(-sS -n -Pn --max-rate 6000 --max-hostgroup 64 -p "$PORTS" "$NET")
KILL_SEED=${KILL_SEED:-$RANDOM}
RANDOM=$KILL_SEED
echo "note - kill points from KILL_SEED=$KILL_SEED"
openset() { for f in "$@"; do "$PY" "$RESULTS" open "$f"; done 2>/dev/null | LC_ALL=C sort -u; }
normal_open() { # the open ports of normal outputs (and terminal copies)
  awk '/scan report for/ { h = $NF } /^[0-9]+\/tcp +open / { split($1, p, "/"); print h, p[1] }' "$@" |
    LC_ALL=C sort -u
}

# ------------------------------------------------------------------ the uninterrupted reference
t0=$(date +%s%N)
TR 120 "${ARGS[@]}" -oG "$OUT/ref.gnmap" -oX "$OUT/ref.xml"
REFMS=$((($(date +%s%N) - t0) / 1000000))
openset "$OUT/ref.gnmap" >"$TMP/ref.open"
NOPEN=$((4096 * NPORT))
if [ "$(cat "$TMP/tr.rc")" = 0 ] && [ "$(wc -l <"$TMP/ref.open")" = $NOPEN ]; then
  ok "uninterrupted run: exit 0, all $NOPEN open ports, $REFMS ms"
else
  nok "uninterrupted run: exit 0, all $NOPEN open ports (exit $(cat "$TMP/tr.rc"), $(wc -l <"$TMP/ref.open") open)"
  finish
fi
check "uninterrupted run: ref.xml valid under nmap.dtd" valid_xml "$OUT/ref.xml"
check "uninterrupted run: the same results in -oG and -oX" diff "$TMP/ref.open" <(openset "$OUT/ref.xml")

# readable OUTPUT-PREFIX: the checks on a killed scan's four outputs
readable() {
  local p=$1
  # XML: everything up to the last </host>, closed, parses; whole hosts only
  check "killed: $(basename "$p").xml up to its last </host>, closed, parses with whole hosts" \
    "$PY" - "$p.xml" "$NPORT" <<'EOF'
import sys, xml.etree.ElementTree as ET
t = open(sys.argv[1], encoding="utf-8").read()
cut = t.rfind("</host>")
if cut < 0:
    sys.exit("no complete host")
root = ET.fromstring(t[:cut + len("</host>")] + "\n</nmaprun>\n")
bad = [h.find("address").get("addr") for h in root.iter("host")
       if len(h.findall("ports/port")) != int(sys.argv[2])]
print(len(list(root.iter("host"))), "hosts")
sys.exit("partial hosts: %s" % bad[:5] if bad else 0)
EOF
  # grepable: every complete line a whole host
  check "killed: every complete line of $(basename "$p").gnmap is a whole host" \
    "$PY" - "$p.gnmap" "$NPORT" <<'EOF'
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
lines = t.split("\n")[:-1]  # the last piece has no newline: not complete
n, bad = 0, []
for l in lines:
    if l.startswith("#") or re.match(r"Host: \S+ \(.*\)\tStatus: Up$", l):
        continue
    m = re.match(r"Host: (\S+) \(.*?\)\tPorts: (.*)$", l)
    if not m or len(m.group(2).split(", ")) != int(sys.argv[2]):
        bad.append(l)
    n += 1
print(n, "hosts")
sys.exit("not whole hosts: %r" % bad[:3] if bad or n == 0 else 0)
EOF
  check "killed: every complete line of $(basename "$p").json is a whole record" \
    "$PY" - "$p.json" "$NPORT" <<'EOF'
import json, sys
t = open(sys.argv[1], encoding="utf-8").read()
n, bad = 0, []
for l in t.split("\n")[:-1]:
    r = json.loads(l)
    if r.get("type") == "host":
        n += 1
        if len(r.get("ports", [])) != int(sys.argv[2]):
            bad.append(r.get("addr"))
print(n, "hosts")
sys.exit("partial hosts: %s" % bad[:5] if bad or n == 0 else 0)
EOF
  check "killed: every host block of $(basename "$p").nmap but the last is whole" \
    "$PY" - "$p.nmap" "$NPORT" <<'EOF'
import re, sys
blocks = re.split(r"\n(?=Trawl scan report for )", open(sys.argv[1], encoding="utf-8").read())[1:]
bad = [b.split("\n")[0] for b in blocks[:-1]
       if len(re.findall(r"^\d+/tcp +open ", b, re.M)) != int(sys.argv[2])]
print(len(blocks), "host blocks")
sys.exit("partial: %s" % bad[:3] if bad or not blocks else 0)
EOF
}

# ------------------------------------------------------------------ SIGKILL at random points
mkdir -p "$TMP/orig"
kills=0
for round in 1 2 3; do
  from=$(sed -n "${round}p" <<<$'gnmap\nnmap\nxml')
  rm -f "$OUT"/k.*
  timeout -k 5 120 ip netns exec "$S" "$TRAWL" "${ARGS[@]}" \
    -oN "$OUT/k.nmap" -oX "$OUT/k.xml" -oG "$OUT/k.gnmap" -oJ "$OUT/k.json" \
    >"$TMP/k.out" 2>"$TMP/k.err" </dev/null &
  TO=$!
  SCAN_PIDS=$TO
  TPID=
  for _ in $(seq 50); do TPID=$(pgrep -P "$TO" | head -1); [ -n "$TPID" ] && break; sleep 0.1; done
  # a random point after the first complete group (its resume marker), at
  # most ~80 % into the scan
  for _ in $(seq 300); do grep -q "trawl-resume:" "$OUT/k.gnmap" 2>/dev/null && break; sleep 0.05; done
  delay_ms=$((RANDOM % (REFMS * 7 / 10 + 1)))
  sleep "$(awk -v m=$delay_ms 'BEGIN { printf "%.3f", m / 1000 }')"
  if [ -n "$TPID" ] && kill -KILL "$TPID" 2>/dev/null; then
    kills=$((kills + 1))
    { wait "$TO"; } 2>/dev/null
    rc=$?
    SCAN_PIDS=
    done_n=$(openset "$OUT/k.gnmap" | wc -l)
    ok "round $round: SIGKILL $delay_ms ms after the first group (exit $rc), $done_n of $NOPEN ports written"
  else
    { wait "$TO"; } 2>/dev/null
    SCAN_PIDS=
    nok "round $round: trawl still running to be killed ($delay_ms ms after the first group)"
    continue
  fi
  readable "$OUT/k"
  cp -p "$OUT"/k.* "$TMP/orig/" 2>/dev/null
  TR 120 --resume "$OUT/k.$from"
  rc=$(cat "$TMP/tr.rc")
  if [ "$rc" != 0 ]; then
    nok "round $round: trawl --resume k.$from exits 0 (got $rc: $(head -1 "$TMP/tr.err"))"
    continue
  fi
  ok "round $round: trawl --resume k.$from exits 0"
  { openset "$OUT"/k.gnmap "$OUT"/k.xml* "$OUT"/k.json; normal_open "$OUT/k.nmap" "$TMP/tr.out"; } |
    LC_ALL=C sort -u >"$TMP/resumed.open"
  if diff "$TMP/ref.open" "$TMP/resumed.open" >"$TMP/diff"; then
    ok "round $round: killed + resumed = uninterrupted ($(wc -l <"$TMP/resumed.open") host/port lines)"
  else
    nok "round $round: killed + resumed = uninterrupted: $(grep -c '^<' "$TMP/diff") missing, $(grep -c '^>' "$TMP/diff") extra"
    show "$TMP/diff" 5
  fi
  check "round $round: the resumed grepable output ends with its trailer" \
    bash -c "tail -1 '$OUT/k.gnmap' | grep -q '^# Trawl done at'"
  [ -e "$OUT/k.xml.resumed" ] && check "round $round: k.xml.resumed valid under nmap.dtd" valid_xml "$OUT/k.xml.resumed"
done
check "three SIGKILLs delivered" test $kills = 3

# ------------------------------------------------------------------ a disk filling up mid-scan
# -oX into a 64 KiB tmpfs mounted in a mount namespace of trawl's own: the
# XML of 4,096 hosts is far bigger. -oG goes to $OUT.
SMALL=$TMP/small
mkdir -p "$SMALL"
rm -f "$OUT/full.gnmap"
timeout -k 5 120 ip netns exec "$S" unshare -m sh -c \
  'mount -t tmpfs -o size=64k,mode=1777 trawl-full "$1" && shift && exec "$@"' sh "$SMALL" \
  "$TRAWL" "${ARGS[@]}" -oX "$SMALL/full.xml" -oG "$OUT/full.gnmap" >"$TMP/full.out" 2>"$TMP/full.err" </dev/null
rc=$?
nl=$(wc -l <"$TMP/full.err")
if [ "$rc" = 1 ] && [ "$nl" = 1 ] && grep -q "cannot write the xml output to $SMALL/full.xml" "$TMP/full.err"; then
  ok "full disk: exit 1, one line: $(cat "$TMP/full.err")"
else
  nok "full disk: want exit 1 and one line naming the xml output $SMALL/full.xml; got exit $rc, $nl lines:"
  show "$TMP/full.err" 5
fi
check "full disk: the tmpfs was private (nothing mounted on $SMALL here)" bash -c "! mountpoint -q '$SMALL'"
check "full disk: the grepable output holds every result of the uninterrupted run" \
  diff "$TMP/ref.open" <(openset "$OUT/full.gnmap")
check "full disk: the grepable output ends with its trailer" bash -c "tail -1 '$OUT/full.gnmap' | grep -q '^# Trawl done at'"
check "full disk: the terminal got every result too" diff "$TMP/ref.open" <(normal_open "$TMP/full.out")

finish
