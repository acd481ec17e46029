#!/usr/bin/env bash
# test_scan_syn.sh BUILD_DIR: trawl's SYN scan (-sS) and ACK scan (-sA)
# against the lab's ground truth (tests/lab/README.md, `lab.sh env`):
# every port's state, reason and reply TTL; the same port table as nmap's
# on the same targets; normal output with --reason and --open; -oX valid
# under Nmap's DTD and read by ndiff and nmap.xsl; -oG lines; -oJ parsed by
# python3's json; -oA writing all four files; output into a directory only
# root may write (as nmap can); and the IPv6 scan (-6) of the lab's IPv6
# hosts. Runs in its own lab (prefix twsyn<pid>-), torn down on exit.
# Last line "N passed, M failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init syn "${1:-}"
scan_lab_up

PORTS="21 22 23 25 53 80 443 2323 8080 8081 8443"
PORTS_C=$(tr ' ' , <<<"$PORTS")
HOSTS4="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_NAT_IP $LAB_UDP_IP $LAB_LAN1_IP $LAB_LAN2_IP"

# Ground truth (README "TCP"): expect HOST PORT -> "STATE REASON TTL".
# TTLs (README "TTL seen by the scanner"): Linux hosts behind r2 answer with
# 62 ($LAB_WEB_TTL), win with $LAB_WIN_TTL; nat's port 22 comes from nata
# ($LAB_NAT_TTL_22), port 80 from natb ($LAB_NAT_TTL_80), its closed ports
# from nat's own stack (62); LAN hosts are 0 hops away: 64 (linux lan1),
# 128 (win lan2). ICMP answers: TTL not checked (it is the router's or the
# firewall's, not the port's).
expect() {
  local h=$1 p=$2 open="" ttl=$LAB_WEB_TTL
  case $h in
  "$LAB_WEB_IP" | "$LAB_WEB_IP6")
    open=$LAB_WEB_TCP_OPEN
    [ "$p" = 8080 ] && { echo "filtered no-response 0"; return; }
    [ "$p" = 8081 ] && { echo "filtered admin-prohibited *"; return; } ;;
  "$LAB_DNS_IP" | "$LAB_DNS_IP6") open=$LAB_DNS_TCP_OPEN ;;
  "$LAB_WIN_IP") open=$LAB_WIN_TCP_OPEN ttl=$LAB_WIN_TTL ;;
  "$LAB_NAT_IP")
    open=$LAB_NAT_TCP_OPEN
    [ "$p" = 22 ] && { echo "open syn-ack $LAB_NAT_TTL_22"; return; }
    [ "$p" = 80 ] && { echo "open syn-ack $LAB_NAT_TTL_80"; return; } ;;
  "$LAB_UDP_IP") open=$LAB_UDP_TCP_OPEN ;;
  "$LAB_LAN1_IP") open=$LAB_LAN1_TCP_OPEN ttl=64 ;;
  "$LAB_LAN2_IP") open="" ttl=128 ;;
  esac
  if in_list "$p" $open; then echo "open syn-ack $ttl"; else echo "closed reset $ttl"; fi
}
# check_table PORTSFILE LABEL HOST...: every port of every host as expected
check_table() {
  local f=$1 label=$2 h p want got bad; shift 2
  for h in "$@"; do
    bad=""
    for p in $PORTS; do
      want=$(expect "$h" "$p")
      got=$(port_state "$f" "$h" "$p")
      # "*" in the expectation: any TTL
      if [ "${want% \*}" != "$want" ]; then got="${got% *} *"; fi
      [ "$got" = "$want" ] || bad+=" $p:[$got]!=[$want]"
    done
    if [ -z "$bad" ]; then ok "$label $h: $(wc -w <<<"$PORTS") ports, state+reason+ttl as ground truth"
    else nok "$label $h: differs from ground truth:$bad"; fi
  done
}

# ------------------------------------------------------------------ -sS, IPv4
TR 120 -sS -n --reason -p "$PORTS_C" $HOSTS4 "$LAB_DEAD_IP" \
  -oX "$OUT/syn.xml" -oG "$OUT/syn.gnmap" -oJ "$OUT/syn.json"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then ok "trawl -sS exits 0"; else nok "trawl -sS exits 0 (got $rc)"; show "$TMP/tr.err"; fi
cp "$TMP/tr.out" "$TMP/syn.normal"
ports "$OUT/syn.xml" >"$TMP/syn.ports" 2>"$TMP/py.err" || show "$TMP/py.err"
hosts "$OUT/syn.xml" >"$TMP/syn.hosts" 2>/dev/null
check_table "$TMP/syn.ports" "-sS -oX" $HOSTS4
check "dead $LAB_DEAD_IP is not reported up" \
  bash -c "! grep -q '^$LAB_DEAD_IP up' '$TMP/syn.hosts'"
check "exactly the 7 live targets are up in -oX" \
  test "$(awk '$2 == "up"' "$TMP/syn.hosts" | wc -l)" = 7
check "-oX runstats: exit=success, 7 up, 1 down, 8 total" \
  grep -qx "success - 7 1 8" <(runstats "$OUT/syn.xml")
check "lan1's MAC in -oX is $LAB_LAN1_MAC" grep -q "^$LAB_LAN1_IP up .* $LAB_LAN1_MAC\$" "$TMP/syn.hosts"

# the same scan by nmap: the same port table (state, reason, TTL)
NM 180 -sS -n --reason -p "$PORTS_C" $HOSTS4 "$LAB_DEAD_IP" -oX "$OUT/nmap.xml"
ports "$OUT/nmap.xml" >"$TMP/nmap.ports" 2>/dev/null
if diff "$TMP/nmap.ports" "$TMP/syn.ports" >"$TMP/diff" && [ -s "$TMP/nmap.ports" ]; then
  ok "port table (state, reason, ttl) equals nmap's ($(wc -l <"$TMP/nmap.ports") ports)"
else
  nok "port table equals nmap's (< nmap, > trawl)"; show "$TMP/diff"
fi

# --reason in normal output (web's open ports, the ICMP reason, hosts' reasons)
for p in $LAB_WEB_TCP_OPEN; do
  check "normal output --reason: '$p/tcp open ... syn-ack ttl $LAB_WEB_TTL'" \
    grep -Eq "^$p/tcp +open +[^ ]+ +syn-ack ttl $LAB_WEB_TTL\$" "$TMP/syn.normal"
done
check "normal output --reason: '8080/tcp filtered ... no-response'" \
  grep -Eq "^8080/tcp +filtered +[^ ]+ +no-response\$" "$TMP/syn.normal"
check "normal output --reason: '8081/tcp filtered ... admin-prohibited'" \
  grep -Eq "^8081/tcp +filtered +[^ ]+ +admin-prohibited( ttl [0-9]+)?\$" "$TMP/syn.normal"
check "normal output --reason: PORT STATE SERVICE REASON header" \
  grep -Eq "^PORT +STATE +SERVICE +REASON\$" "$TMP/syn.normal"
check "normal output --reason: lan1 'Host is up, received arp-response'" \
  grep -A1 -F "scan report for $LAB_LAN1_IP" "$TMP/syn.normal" -q -e "Host is up, received arp-response"
check "normal output: lan1 'MAC Address: $LAB_LAN1_MAC'" \
  grep -qi "^MAC Address: $LAB_LAN1_MAC" "$TMP/syn.normal"
check "normal output: one report per live host" \
  test "$(grep -c 'scan report for' "$TMP/syn.normal")" = 7

# -oG: Status and Ports lines equal the ground truth
gn_ok=1
for h in $HOSTS4; do
  line=$(grep -P "^Host: $h \(\)\tPorts: " "$OUT/syn.gnmap" | head -1)
  [ -n "$line" ] || { gn_ok=0; echo "       no Ports line for $h"; continue; }
  grep -qP "^Host: $h \(\)\tStatus: Up\$" "$OUT/syn.gnmap" || { gn_ok=0; echo "       no Status line for $h"; }
  for p in $PORTS; do
    want=$(expect "$h" "$p"); want=${want%% *}
    grep -qP "[\t ]$p/$want/tcp//" <<<"$line" || { gn_ok=0; echo "       $h $p not $want in -oG"; }
  done
done
if [ $gn_ok = 1 ]; then ok "-oG: Status: Up and Ports: lines of every host as ground truth"; else nok "-oG lines as ground truth"; fi
check "-oG: no line for the dead host" bash -c "! grep -q '^Host: $LAB_DEAD_IP ' '$OUT/syn.gnmap'"
check "-oG: '# ... done' trailer" grep -q "^# .* done at .* 8 IP addresses (7 hosts up)" "$OUT/syn.gnmap"

# -oJ: every line is JSON; the port table equals the XML's
check "-oJ: every line parses as JSON, types scan, host..., done" \
  "$PY" -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
t = [r["type"] for r in recs]
assert t[0] == "scan" and t[-1] == "done" and set(t[1:-1]) == {"host"}, t
assert len(t) == 9, len(t)
assert recs[-1]["exit"] == "success", recs[-1]' "$OUT/syn.json"
ports "$OUT/syn.json" >"$TMP/json.ports" 2>/dev/null
check "-oJ: port table equals -oX's" diff "$TMP/json.ports" "$TMP/syn.ports"

# -oX: DTD, ndiff, nmap.xsl
check "-oX is valid under nmap.dtd (xmllint --dtdvalid)" valid_xml "$OUT/syn.xml"
ndiff "$OUT/syn.xml" "$OUT/nmap.xml" >"$TMP/ndiff" 2>&1
nd=$?
if [ $nd -le 1 ]; then ok "ndiff reads trawl's -oX (exit $nd)"; else nok "ndiff reads trawl's -oX (exit $nd)"; show "$TMP/ndiff"; fi
# ndiff lists changed ports as -old/+new lines: the states must not differ
awk '/^[-+][0-9]+\/tcp/ { s = substr($1, 1, 1); sub(/^[-+]/, "", $1); print s, $1, $2 }' "$TMP/ndiff" >"$TMP/nd.pairs"
check "ndiff trawl vs nmap: no port state differs" \
  diff <(awk '$1 == "-" { print $2, $3 }' "$TMP/nd.pairs") <(awk '$1 == "+" { print $2, $3 }' "$TMP/nd.pairs")
if xsltproc "$NMAP_XSL" "$OUT/syn.xml" >"$TMP/syn.html" 2>"$TMP/xslt.err" &&
  grep -q "$LAB_WEB_IP" "$TMP/syn.html" && grep -q ">2323<" "$TMP/syn.html"; then
  ok "xsltproc nmap.xsl renders -oX (web and port 2323 in the HTML)"
else
  nok "xsltproc nmap.xsl renders -oX"; show "$TMP/xslt.err"
fi

# ------------------------------------------------------------------ --open
TR 60 -sS -n --open -p "$PORTS_C" $HOSTS4
cp "$TMP/tr.out" "$TMP/open.normal"
check "--open: no closed or filtered port listed" \
  bash -c "! grep -Eq '^[0-9]+/tcp +(closed|filtered|unfiltered) ' '$TMP/open.normal'"
miss=""
for h in $HOSTS4; do
  for p in $PORTS; do
    [ "$(expect "$h" "$p" | cut -d' ' -f1)" = open ] || continue
    awk -v h="$h" '/scan report for/ { cur = $NF } cur == h' "$TMP/open.normal" |
      grep -Eq "^$p/tcp +open " || miss+=" $h:$p"
  done
done
if [ -z "$miss" ]; then ok "--open: every open port listed under its host"; else nok "--open: open ports missing:$miss"; show "$TMP/open.normal"; fi

# ------------------------------------------------------------------ -oA
TR 60 -sS -n -p "$PORTS_C" "$LAB_WEB_IP" -oA "$OUT/all"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then ok "-oA: trawl exits 0"; else nok "-oA: trawl exits 0 (got $rc$([ "$rc" = 139 ] && echo ', SIGSEGV'))"; show "$TMP/tr.err" 5; fi
for ext in nmap xml gnmap json; do
  check "-oA wrote a non-empty $OUT/all.$ext" test -s "$OUT/all.$ext"
done
check "-oA: all.xml is valid under nmap.dtd" valid_xml "$OUT/all.xml"
check "-oA: all.gnmap has web's Ports line with 22/open" grep -qP "^Host: $LAB_WEB_IP \(\)\tPorts: .*22/open/tcp" "$OUT/all.gnmap"
check "-oA: all.nmap has the trailer" grep -q "^# .* done at " "$OUT/all.nmap"
check "-oA: all.json ends with the done record" bash -c "tail -1 '$OUT/all.json' | grep -q '\"type\":\"done\"'"

# ------------------------------------------------------------------ root-only directory
# Run as root, nmap writes its output wherever root may; so must trawl.
PRIV=$TMP/private
mkdir -m 700 "$PRIV"
TR 60 -sS -n -p 80 "$LAB_WEB_IP" -oX "$PRIV/x.xml"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ] && valid_xml "$PRIV/x.xml" >/dev/null 2>&1; then
  ok "-oX into a mode-0700 root directory works (as with nmap)"
else
  nok "-oX into a mode-0700 root directory works (as with nmap): exit $rc: $(head -1 "$TMP/tr.err")"
fi

# ------------------------------------------------------------------ -sA
TR 60 -sA -n --reason -p 22,80,8080,8081,8443 "$LAB_WEB_IP" "$LAB_WIN_IP" -oX "$OUT/ack.xml"
ports "$OUT/ack.xml" >"$TMP/ack.ports" 2>/dev/null
bad=""
for p in 22 80 8443; do
  [ "$(port_state "$TMP/ack.ports" "$LAB_WEB_IP" $p)" = "unfiltered reset $LAB_WEB_TTL" ] || bad+=" web:$p:[$(port_state "$TMP/ack.ports" "$LAB_WEB_IP" $p)]"
done
[ "$(port_state "$TMP/ack.ports" "$LAB_WEB_IP" 8080)" = "filtered no-response 0" ] || bad+=" web:8080:[$(port_state "$TMP/ack.ports" "$LAB_WEB_IP" 8080)]"
[ "$(port_state "$TMP/ack.ports" "$LAB_WEB_IP" 8081 | cut -d' ' -f1,2)" = "filtered admin-prohibited" ] || bad+=" web:8081:[$(port_state "$TMP/ack.ports" "$LAB_WEB_IP" 8081)]"
for p in 22 80 8080 8081 8443; do
  [ "$(port_state "$TMP/ack.ports" "$LAB_WIN_IP" $p)" = "unfiltered reset $LAB_WIN_TTL" ] || bad+=" win:$p:[$(port_state "$TMP/ack.ports" "$LAB_WIN_IP" $p)]"
done
if [ -z "$bad" ]; then ok "-sA: unfiltered (reset) / filtered (8080 no-response, 8081 admin-prohibited) as ground truth"
else nok "-sA states:$bad"; fi
check "-sA -oX valid under nmap.dtd, scaninfo type=ack" \
  bash -c "xmllint --noout --dtdvalid $NMAP_DTD '$OUT/ack.xml' && grep -q '<scaninfo type=\"ack\"' '$OUT/ack.xml'"
NM 120 -sA -n --reason -p 22,80,8080,8081,8443 "$LAB_WEB_IP" "$LAB_WIN_IP" -oX "$OUT/nmap-ack.xml"
ports "$OUT/nmap-ack.xml" >"$TMP/nmap-ack.ports" 2>/dev/null
check "-sA port table equals nmap's" diff "$TMP/nmap-ack.ports" "$TMP/ack.ports"

# ------------------------------------------------------------------ IPv6
TR 120 -6 -sS -n --reason -p "$PORTS_C" "$LAB_WEB_IP6" "$LAB_DNS_IP6" "$LAB_DEAD_IP6" -oX "$OUT/syn6.xml"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then
  ok "trawl -6 -sS exits 0"
else
  nok "trawl -6 -sS exits 0 (got $rc): IPv6 scanning must work: $(head -1 "$TMP/tr.err")"
fi
ports "$OUT/syn6.xml" >"$TMP/syn6.ports" 2>/dev/null
hosts "$OUT/syn6.xml" >"$TMP/syn6.hosts" 2>/dev/null
check_table "$TMP/syn6.ports" "-6 -sS" "$LAB_WEB_IP6" "$LAB_DNS_IP6"
check "-6: dead $LAB_DEAD_IP6 not reported up" bash -c "! grep -q '^$LAB_DEAD_IP6 up' '$TMP/syn6.hosts'"
check "-6 -oX valid under nmap.dtd, addrtype ipv6" \
  bash -c "xmllint --noout --dtdvalid $NMAP_DTD '$OUT/syn6.xml' && grep -q 'addrtype=\"ipv6\"' '$OUT/syn6.xml'"
NM 180 -6 -sS -n --reason -p "$PORTS_C" "$LAB_WEB_IP6" "$LAB_DNS_IP6" "$LAB_DEAD_IP6" -oX "$OUT/nmap6.xml"
ports "$OUT/nmap6.xml" >"$TMP/nmap6.ports" 2>/dev/null
check "-6 port table equals nmap's" diff "$TMP/nmap6.ports" "$TMP/syn6.ports"

finish
