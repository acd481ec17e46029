#!/usr/bin/env bash
# ctest-cost: 100
# test_merge.sh BUILD_DIR: `trawl merge` (issue 15, docs/merge.md).
# The lab (routed hosts and the LAN) x 1-1000,2323 is scanned with
# --shards 3 --shard i --seed S for i = 0..2 (-oX -oG -oJ), and once
# unsharded with the same seed. The shards merged from each format hold
# the unsharded scan's hosts, in its order, with its ports and states
# (ndiff: no difference; a python comparison; grepable line by line), the
# same hosts up and total; the XML is valid under nmap.dtd and nmap.xsl
# reads it. Refusals, one stderr line and exit 1: mixed seeds, a missing
# shard, two copies of a shard, a truncated shard (the line names the file
# and the host) -- with --allow-partial exit 0 and the gap in the XML;
# garbage. Then a shard of a multi-group scan (the big AnyIP host, /20 x
# 22,80,443) is killed (SIGKILL) after its first group and --resume'd
# (XML: k1.xml + k1.xml.resumed; grepable and JSON appended): the merge
# equals the unsharded scan. -O --traceroute in 2 shards (XML, JSON):
# every host's merged OS result (<os>, <uptime>, <tcpsequence>, ...) and
# <trace> are one shard's, whole; the normal output prints them; the
# shards' pre- and postrule script results appear once each.
# Own lab (prefix twmerge<pid>-). Last line "N passed, M failed".
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init merge "${1:-}"
scan_lab_up

SEED=$((RANDOM * 32768 + RANDOM))
echo "note - seed $SEED"
ARGS=(-sS -n --seed "$SEED" -p 1-1000,2323 198.18.30.0/26 198.18.1.10-14)
M() { # M ARGS...: trawl merge (no namespace needed: it reads files)
  "$TRAWL" merge "$@" >"$TMP/m.out" 2>"$TMP/m.err" </dev/null
  echo $? >"$TMP/m.rc"
}
mrc() { cat "$TMP/m.rc"; }

# compare REF.xml MERGED.xml [nomac]: the same hosts in the same order, ports
# and states, hosts up and total
cmp_py() {
  "$PY" - "$@" <<'EOF'
import sys, xml.etree.ElementTree as ET
def load(p, nomac):
    r = ET.parse(p).getroot()
    hosts = []
    for h in r.iter("host"):
        addrs = [a.get("addr") for a in h.findall("address") if not (nomac and a.get("addrtype") == "mac")]
        ports = sorted((p.get("protocol"), int(p.get("portid")), p.find("state").get("state"))
                       for p in h.findall("ports/port"))
        extra = sorted((e.get("state"), int(e.get("count"))) for e in h.findall("ports/extraports"))
        hosts.append((addrs, h.find("status").get("state"), ports, extra))
    st = r.find("runstats/hosts")
    return hosts, (st.get("up"), st.get("total"))
nomac = len(sys.argv) > 3
a, b = load(sys.argv[1], nomac), load(sys.argv[2], nomac)
if not a[0]:
    sys.exit("no hosts in %s" % sys.argv[1])
if a[1] != b[1]:
    sys.exit("runstats differ: %s vs %s" % (a[1], b[1]))
if [h[0] for h in a[0]] != [h[0] for h in b[0]]:
    sys.exit("hosts differ or are in another order:\n%s\n%s" % ([h[0] for h in a[0]], [h[0] for h in b[0]]))
for x, y in zip(a[0], b[0]):
    if x != y:
        sys.exit("host %s differs:\n%s\n%s" % (x[0], x, y))
print(len(a[0]), "hosts,", sum(len(h[2]) for h in a[0]), "listed ports, runstats", a[1])
EOF
}
# ndiff_same A B: ndiff finds no difference but the "scan initiated" line
ndiff_same() {
  ndiff "$1" "$2" >"$TMP/ndiff.out"
  if grep -v -e '^[-+]Nmap .* scan initiated ' -e '^ *$' "$TMP/ndiff.out" | grep -q .; then
    cat "$TMP/ndiff.out"
    return 1
  fi
}
one_line() { [ "$(wc -l <"$TMP/m.err")" = 1 ]; }

# ------------------------------------------------------------------ shards and the reference
for i in 0 1 2; do
  TR 120 "${ARGS[@]}" --shards 3 --shard $i -oX "$OUT/s$i.xml" -oG "$OUT/s$i.gnmap" -oJ "$OUT/s$i.json"
  check "shard $i of 3: exit 0" test "$(cat "$TMP/tr.rc")" = 0
done
TR 120 "${ARGS[@]}" -oX "$OUT/full.xml" -oG "$OUT/full.gnmap" -oJ "$OUT/full.json"
check "unsharded scan: exit 0" test "$(cat "$TMP/tr.rc")" = 0
up=$(runstats "$OUT/full.xml" | awk '{print $3}')
check "unsharded scan: hosts up ($(runstats "$OUT/full.xml"))" test "${up:-0}" -ge 8

# ------------------------------------------------------------------ merge each format
for f in xml gnmap json; do
  M -oX "$OUT/m-$f.xml" -oG "$OUT/m-$f.gnmap" -oJ "$OUT/m-$f.json" -oN "$OUT/m-$f.nmap" \
    "$OUT/s0.$f" "$OUT/s1.$f" "$OUT/s2.$f"
  if [ "$(mrc)" = 0 ] && [ ! -s "$TMP/m.err" ]; then ok "merge of the $f shards: exit 0, nothing on stderr"
  else nok "merge of the $f shards: exit 0 (got $(mrc)): $(head -1 "$TMP/m.err")"; fi
  check "merge of the $f shards: XML valid under nmap.dtd" valid_xml "$OUT/m-$f.xml"
  check "merge of the $f shards: nmap.xsl renders it" \
    bash -c "xsltproc '$NMAP_XSL' '$OUT/m-$f.xml' | grep -q '198.18.30.10'"
  check "merge of the $f shards: the grepable output's hosts and ports are the unsharded scan's, line by line" \
    diff <(grep -v '^#' "$OUT/full.gnmap") <(grep -v '^#' "$OUT/m-$f.gnmap")
  check "merge of the $f shards: JSON Lines, every line parses" \
    "$PY" -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$OUT/m-$f.json"
  if [ $f = gnmap ]; then # the grepable format has no MAC addresses, reasons or times
    check "merge of the $f shards: same hosts (order), ports, states, runstats as unsharded (python)" \
      cmp_py "$OUT/full.xml" "$OUT/m-$f.xml" nomac
  else
    check "merge of the $f shards: same hosts (order), ports, states, runstats as unsharded (python)" \
      cmp_py "$OUT/full.xml" "$OUT/m-$f.xml"
    check "merge of the $f shards: ndiff finds no difference from the unsharded scan" \
      ndiff_same "$OUT/full.xml" "$OUT/m-$f.xml"
  fi
done
check "merged command line: the shards' without --shard/--shards/-o" \
  bash -c "grep -q 'args=\"[^\"]*--seed $SEED -p' '$OUT/m-xml.xml' && ! grep -q -e '--shard' -e '-oX' '$OUT/m-xml.xml'"
# the inputs in any order, formats mixed
M -oX "$OUT/mix.xml" "$OUT/s2.json" "$OUT/s0.xml" "$OUT/s1.gnmap"
check "mixed formats in another order: exit 0" test "$(mrc)" = 0
check "mixed formats in another order: same hosts and ports" cmp_py "$OUT/m-gnmap.xml" "$OUT/mix.xml" nomac

# IPv6 (trawl scans one family at a time: -6): hosts in address order too
ARGS6=(-6 -sS -n --seed "$SEED" -p 1-200 2001:db8:30::/120 2001:db8:1::/125)
for i in 0 1; do TR 120 "${ARGS6[@]}" --shards 2 --shard $i -oX "$OUT/v6-$i.xml"; done
TR 120 "${ARGS6[@]}" -oX "$OUT/v6-full.xml"
M -oX "$OUT/v6-m.xml" "$OUT/v6-1.xml" "$OUT/v6-0.xml"
check "IPv6 shards: exit 0 ($(cat "$TMP/m.err"))" test "$(mrc)" = 0
check "IPv6 shards: same hosts (order), ports, states as unsharded (python)" \
  cmp_py "$OUT/v6-full.xml" "$OUT/v6-m.xml"
check "IPv6 shards: ndiff finds no difference" ndiff_same "$OUT/v6-full.xml" "$OUT/v6-m.xml"

# ------------------------------------------------------------------ OS detection and traceroute
# Each shard of -O --traceroute fingerprints and traces the hosts it found
# ports on; the merge keeps, per host, one shard's whole OS result (the
# one with an open and a closed port, then the best match) and a trace.
# Each shard also runs a prerule and a postrule script: the merge writes
# each result once, before the first host and after the last.
mkdir -p "$TMP/sd"
printf '%s\n' 'description = [[merge test prerule]]' 'categories = {"safe"}' \
  'prerule = function() return true end' 'action = function() return "pre of the shard" end' >"$TMP/sd/pre-m.lua"
printf '%s\n' 'description = [[merge test postrule]]' 'categories = {"safe"}' \
  'postrule = function() return true end' 'action = function() return "post of the shard" end' >"$TMP/sd/post-m.lua"
OARGS=(-sS -n -O --traceroute --script "$TMP/sd/pre-m.lua,$TMP/sd/post-m.lua" --seed "$SEED"
  -p 22,80,443,2323,1-30 "$LAB_WEB_IP" "$LAB_WIN_IP" "$LAB_IN1_IP")
for i in 0 1; do TR 300 "${OARGS[@]}" --shards 2 --shard $i -oX "$OUT/os$i.xml" -oJ "$OUT/os$i.json"; done
for f in xml json; do
  M -oX "$OUT/mos-$f.xml" -oN "$OUT/mos-$f.nmap" -oJ "$OUT/mos-$f.json" "$OUT/os0.$f" "$OUT/os1.$f"
  check "-O --traceroute shards ($f): exit 0 ($(head -1 "$TMP/m.err"))" test "$(mrc)" = 0
  check "-O --traceroute shards ($f): XML valid under nmap.dtd" valid_xml "$OUT/mos-$f.xml"
  if "$PY" - "$OUT/mos-$f.xml" "$OUT/os0.xml" "$OUT/os1.xml" >"$TMP/os.txt" 2>&1 <<'EOF2'
import sys, xml.etree.ElementTree as ET
OS = ("os", "uptime", "tcpsequence", "ipidsequence", "tcptssequence")
def hosts(p):
    out = {}
    for h in ET.parse(p).getroot().iter("host"):
        a = [x.get("addr") for x in h.findall("address") if x.get("addrtype") == "ipv4"][0]
        os = tuple(ET.tostring(h.find(k)) if h.find(k) is not None else None for k in OS)
        tr = h.find("trace")
        if tr is not None: # rtt: JSON keeps 3 decimals, XML writes 2: a JSON-read trace may round the other way
            tr = (tuple(sorted(tr.attrib.items())), tuple((x.get("ttl"), x.get("ipaddr"), x.get("host"),
                  round(float(x.get("rtt", "-1")) * 100)) for x in tr.findall("hop")))
        out[a] = (os if os[0] is not None else None, tr)
    return out
def same_tr(x, y):
    return x[0] == y[0] and len(x[1]) == len(y[1]) and all(
        a[:3] == b[:3] and abs(a[3] - b[3]) <= 1 for a, b in zip(x[1], y[1]))
m, shards = hosts(sys.argv[1]), [hosts(p) for p in sys.argv[2:]]
bad = 0
for a in sorted(set().union(*shards)):
    have_os = [s[a][0] for s in shards if a in s and s[a][0]]
    have_tr = [s[a][1] for s in shards if a in s and s[a][1]]
    got = m.get(a, (None, None))
    ok_os = (got[0] in have_os) if have_os else got[0] is None
    ok_tr = any(same_tr(got[1], t) for t in have_tr) if have_tr and got[1] else not have_tr and got[1] is None
    print(a, "os:", "one shard's" if got[0] else "none", "of", len(have_os),
          "| trace:", "one shard's" if got[1] else "none", "of", len(have_tr), "" if ok_os and ok_tr else "<- WRONG")
    bad += not (ok_os and ok_tr)
n_os = sum(1 for v in m.values() if v[0])
print("RESULT hosts=%d with_os=%d bad=%d" % (len(m), n_os, bad))
sys.exit(1 if bad or n_os < 2 else 0)
EOF2
  then ok "-O --traceroute shards ($f): every host's OS result and trace are one shard's, whole ($(tail -1 "$TMP/os.txt"))"
  else sed 's/^/       /' "$TMP/os.txt"; nok "-O --traceroute shards ($f): OS results or traces lost or mixed"; fi
  check "-O --traceroute shards ($f): normal output has the OS lines and TRACEROUTE" \
    bash -c "grep -q -e '^OS details' -e '^Aggressive OS guesses' -e '^No exact OS matches' '$OUT/mos-$f.nmap' && grep -q '^TRACEROUTE' '$OUT/mos-$f.nmap'"
  check "-O shards ($f): one <prescript> with pre-m, one <postscript> with post-m, around the hosts" \
    bash -c "[ \$(grep -c '<script id=\"pre-m\"' '$OUT/mos-$f.xml') = 1 ] && [ \$(grep -c '<script id=\"post-m\"' '$OUT/mos-$f.xml') = 1 ] &&
      [ \$(grep -c '^Pre-scan script results:' '$OUT/mos-$f.nmap') = 1 ] &&
      grep -o -e '<prescript>' -e '<host ' -e '<postscript>' '$OUT/mos-$f.xml' | uniq | tr '\n' ' ' | tr -s ' ' | grep -qx '<prescript> <host <postscript> '"
done
check "-O shards: JSON Lines merge carries \"os\" and \"trace\"" \
  bash -c "grep -q '\"os\":{\"verdict\"' '$OUT/mos-json.json' && grep -q '\"trace\":{' '$OUT/mos-json.json'"

# ------------------------------------------------------------------ refusals
TR 120 "${ARGS[@]/$SEED/$((SEED + 1))}" --shards 3 --shard 1 -oX "$OUT/o1.xml"
M -oX "$OUT/x.xml" "$OUT/s0.xml" "$OUT/o1.xml" "$OUT/s2.xml"
check "mixed seeds: exit 1, one line naming --seed ($(cat "$TMP/m.err"))" \
  bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ] && grep -q -- '--seed $SEED. vs .--seed $((SEED + 1))' '$TMP/m.err'"
check "mixed seeds: no output file written" test ! -e "$OUT/x.xml"
TR 120 -sS -n --seed "$SEED" -p 1-100 198.18.30.0/26 --shards 3 --shard 1 -oX "$OUT/p1.xml"
M -oX "$OUT/x.xml" "$OUT/s0.xml" "$OUT/p1.xml" "$OUT/s2.xml"
check "other ports and targets: exit 1, one line ($(cat "$TMP/m.err"))" \
  bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ] && grep -q 'not shards of one scan' '$TMP/m.err'"
M -oX "$OUT/x.xml" "$OUT/s0.xml" "$OUT/s2.xml"
check "missing shard: exit 1, one line ($(cat "$TMP/m.err"))" \
  bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ] && grep -q 'shard 1 of 3 is missing' '$TMP/m.err'"
M --allow-partial -oX "$OUT/x.xml" "$OUT/s0.xml" "$OUT/s2.xml"
check "missing shard, --allow-partial: exit 0, the gap in <finished errormsg>, valid" \
  bash -c "[ $(mrc) = 0 ] && grep -q 'errormsg=\"partial merge: shard 1 of 3 missing\"' '$OUT/x.xml' && xmllint --noout --dtdvalid $NMAP_DTD '$OUT/x.xml'"
cp "$OUT/s1.xml" "$OUT/s1-copy.xml"
M -oX "$OUT/x2.xml" "$OUT/s0.xml" "$OUT/s1.xml" "$OUT/s2.xml" "$OUT/s1-copy.xml"
check "two copies of shard 1: exit 1, one line ($(cat "$TMP/m.err"))" \
  bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ] && grep -q 'two copies of shard 1 of 3' '$TMP/m.err'"
M -oX "$OUT/x2.xml" "$OUT/s0.xml" "$OUT/s1.xml" "$OUT/s2.xml" "$OUT/s1.json"
check "shard 1 as XML and as JSON: two copies, exit 1 ($(cat "$TMP/m.err"))" \
  bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ] && grep -q 'two copies' '$TMP/m.err'"
# truncated: cut inside the third host of shard 1, after its <address>
cut=$("$PY" - "$OUT/s1.xml" <<'EOF'
import re, sys
t = open(sys.argv[1], "rb").read()
hosts = [m.start() for m in re.finditer(rb"<host ", t)]
a = t.index(b"<address", hosts[2])
print(a + 60, re.search(rb'addr="([^"]+)"', t[a:]).group(1).decode())
EOF
)
head -c "${cut% *}" "$OUT/s1.xml" >"$OUT/t1.xml"
TRUNC_HOST=${cut#* }
M -oX "$OUT/t.xml" "$OUT/s0.xml" "$OUT/t1.xml" "$OUT/s2.xml"
check "truncated shard: exit 1, one line naming t1.xml and host $TRUNC_HOST ($(cat "$TMP/m.err"))" \
  bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ] && grep -q 't1.xml.*$TRUNC_HOST' '$TMP/m.err'"
check "truncated shard: what is complete is merged, valid XML, the gap stated" \
  bash -c "xmllint --noout --dtdvalid $NMAP_DTD '$OUT/t.xml' && grep -q 'partial merge: shard 1 of 3 incomplete' '$OUT/t.xml'"
M --allow-partial -oX "$OUT/t.xml" "$OUT/s0.xml" "$OUT/t1.xml" "$OUT/s2.xml"
check "truncated shard, --allow-partial: exit 0 ($(cat "$TMP/m.err"))" bash -c "[ $(mrc) = 0 ]"
for g in xml json gnmap; do
  case $g in
    xml) printf '<?xml version="1.0"?>\n<nmaprun args="trawl"><verbose level="0"/><debugging level="0"/><host><ports><port' >"$OUT/g.$g" ;;
    json) printf '{"type":"scan","args":"trawl"}\n{"type":"host","addr":[1,{"x"\n' >"$OUT/g.$g" ;;
    gnmap) printf '# Trawl 1 scan initiated x as: trawl\nHost: 1.2.3 ()\tStatus: Up\n' >"$OUT/g.$g" ;;
  esac
  M "$OUT/g.$g"
  check "garbage ($g): exit 1, one line ($(head -c 150 "$TMP/m.err"))" bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ]"
done
head -c 20000 /dev/urandom >"$OUT/rand.bin"
M "$OUT/rand.bin"
check "random bytes: exit 1, one line" bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ]"

# ------------------------------------------------------------------ a killed and --resume'd shard
NET=${LAB_BIG_NET%.*.*}.0.0/20
BIG=(-sS -n -Pn --seed "$SEED" --max-rate 2000 --max-hostgroup 64 -p "$(tr ' ' , <<<"$LAB_BIG_TCP_OPEN")" "$NET")
TR 120 "${BIG[@]}" -oX "$OUT/bref.xml"
check "big reference scan: exit 0" test "$(cat "$TMP/tr.rc")" = 0
for i in 0 2; do
  TR 120 "${BIG[@]}" --shards 3 --shard $i -oX "$OUT/b$i.xml" -oG "$OUT/b$i.gnmap" -oJ "$OUT/b$i.json"
done
timeout -k 5 120 ip netns exec "$S" "$TRAWL" "${BIG[@]}" --shards 3 --shard 1 \
  -oX "$OUT/k1.xml" -oG "$OUT/k1.gnmap" -oJ "$OUT/k1.json" >"$TMP/k.out" 2>"$TMP/k.err" </dev/null &
TO=$!
SCAN_PIDS=$TO
TPID=
for _ in $(seq 50); do TPID=$(pgrep -P "$TO" | head -1); [ -n "$TPID" ] && break; sleep 0.1; done
for _ in $(seq 300); do grep -q "trawl-resume:" "$OUT/k1.gnmap" 2>/dev/null && break; sleep 0.05; done
sleep 0.3
if [ -n "$TPID" ] && kill -KILL "$TPID" 2>/dev/null; then
  { wait "$TO"; } 2>/dev/null
  ok "shard 1 of the big scan killed after its first group ($(grep -c '^Host:.*Ports:' "$OUT/k1.gnmap") hosts written)"
else
  { wait "$TO"; } 2>/dev/null
  nok "shard 1 of the big scan still running to be killed"
fi
SCAN_PIDS=
M -oX "$OUT/x.xml" "$OUT/b0.xml" "$OUT/k1.xml" "$OUT/b2.xml"
check "killed shard, not resumed: exit 1, one line naming k1.xml ($(cat "$TMP/m.err"))" \
  bash -c "[ $(mrc) = 1 ] && [ $(wc -l <"$TMP/m.err") = 1 ] && grep -q 'k1.xml' '$TMP/m.err'"
TR 120 --resume "$OUT/k1.gnmap"
check "trawl --resume k1.gnmap: exit 0" test "$(cat "$TMP/tr.rc")" = 0
M -oX "$OUT/bm-xml.xml" "$OUT/b0.xml" "$OUT/k1.xml" "$OUT/k1.xml.resumed" "$OUT/b2.xml"
check "resumed shard (XML + XML.resumed): exit 0 ($(cat "$TMP/m.err"))" bash -c "[ $(mrc) = 0 ]"
check "resumed shard (XML): same as the unsharded scan (python)" cmp_py "$OUT/bref.xml" "$OUT/bm-xml.xml"
check "resumed shard (XML): ndiff finds no difference" ndiff_same "$OUT/bref.xml" "$OUT/bm-xml.xml"
M -oX "$OUT/bm-gnmap.xml" "$OUT/b0.gnmap" "$OUT/k1.gnmap" "$OUT/b2.gnmap"
check "resumed shard (grepable, appended): exit 0 ($(cat "$TMP/m.err"))" bash -c "[ $(mrc) = 0 ]"
check "resumed shard (grepable): same as the unsharded scan (python)" cmp_py "$OUT/bref.xml" "$OUT/bm-gnmap.xml" nomac
M -oX "$OUT/bm-json.xml" "$OUT/b0.json" "$OUT/k1.json" "$OUT/b2.json"
check "resumed shard (JSON, appended): exit 0 ($(cat "$TMP/m.err"))" bash -c "[ $(mrc) = 0 ]"
check "resumed shard (JSON): same as the unsharded scan (python)" cmp_py "$OUT/bref.xml" "$OUT/bm-json.xml"

finish
