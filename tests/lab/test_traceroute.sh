#!/usr/bin/env bash
# test_traceroute.sh BUILD_DIR: trawl --traceroute against nmap --traceroute
# in the same lab, hop by hop. Own lab (prefix twtracer<pid>-), torn down on
# EXIT, also on failure.
#
#   bad input   --traceroute --unprivileged: one line, exit 2, no report
#   hops        the same targets (web, dns, win, r2 itself, lan1 on our
#               link, and behind the firewall router fw: in1 port 80 open,
#               in2 port 80 closed, in3 where fw drops everything new,
#               in4 where fw drops new packets with a TTL below 40),
#               -Pn -sS -p 22,80,443 --traceroute -oX, by trawl and by nmap:
#               trace_results.py compares each host's hops (TTL:address,
#               the XML's <hop>s), one same/differ line per host; the
#               test passes only with differ=0. A host that differs is
#               traced by nmap once more (nmap's own answers vary under
#               load) and is the same if trawl equals that answer ("same-
#               rerun" lines). XML valid against nmap.dtd.
#   -sn         host discovery only: the probe that found each host
#               (an ACK to port 80 through fw, an echo elsewhere), hops
#               compared with nmap -sn --traceroute the same way
#   IPv6        -6 on web, dns, r2 and lan1 the same way against nmap -6
#   path        in1 is 4 hops through fw; in3's and in4's traces stop at
#               fw;
#               lan1 is one hop with no probe named ("TRACEROUTE" alone)
#   sharing     hops are reused between hosts: fewer of trawl's probes
#               are answered than the hops it reports, and prints "Hops 1-N are the
#               same as for" lines; -d's count of shared hops is > 0
#   names       hop PTR names (r1.lab.test) unless -n, none with -n
#   outputs     JSON Lines carries "trace"; grepable output has no trace
#               (as Nmap); -A runs traceroute
#   otrace      scripts/otrace.lua on in4:80 gets through fw inside its
#               established connection: r1, r2, fw, in4 (where
#               --traceroute stopped at fw), and on web:80 finds the same
#               hops as --traceroute
# Last line "N passed, M failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
TRES=$HERE/trace_results.py
scan_init traceroute "${1:-}"
scan_lab_up

# ---- bad input
bad_args 2 "traceroute" --traceroute --unprivileged -p 80 "$LAB_WEB_IP"

# ---- hops, against nmap
T="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_R2_IP $LAB_LAN1_IP $LAB_IN1_IP $LAB_IN2_IP $LAB_IN3_IP $LAB_IN4_IP"
# shellcheck disable=SC2086
TR 120 -d -Pn -sS -p 22,80,443 --traceroute -oX "$OUT/tr.xml" -oJ "$OUT/tr.json" -oG "$OUT/tr.gnmap" $T
check "trawl --traceroute exits 0" test "$(cat "$TMP/tr.rc")" = 0
cp "$TMP/tr.out" "$TMP/tr.normal"
cp "$TMP/tr.err" "$TMP/tr.debug"
# shellcheck disable=SC2086
NM 300 -Pn -sS -p 22,80,443 --traceroute -oX "$OUT/nm.xml" $T
check "nmap --traceroute ran" test -s "$OUT/nm.xml"
check "trawl's XML is valid against nmap.dtd" valid_xml "$OUT/tr.xml"
trace_compare "$OUT/tr.xml" "$OUT/nm.xml" "$TMP/cmp.txt" -Pn -sS -p 22,80,443 --traceroute
cat "$TMP/cmp.txt"
res=$(grep '^RESULT' "$TMP/cmp.txt")
if [[ $res == *" differ=0 "* ]] && [[ $res == *" hosts=9" ]]; then ok "every host's hops as nmap's: $res"
else nok "hops differ from nmap's: $res"; fi

# ---- -sn: the discovery probe that found the host
# shellcheck disable=SC2086
TR 120 -sn --traceroute -oX "$OUT/trsn.xml" $T
# shellcheck disable=SC2086
NM 300 -sn --traceroute -oX "$OUT/nmsn.xml" $T
trace_compare "$OUT/trsn.xml" "$OUT/nmsn.xml" "$TMP/cmpsn.txt" -sn --traceroute
sed 's/^/  -sn: /' "$TMP/cmpsn.txt"
res=$(grep '^RESULT' "$TMP/cmpsn.txt")
if [[ $res == *" differ=0 "* ]] && [ "$(sed -n 's/.* hosts=//p' <<<"$res")" -ge 6 ]; then
  ok "-sn --traceroute: every host's hops as nmap's: $res"
else nok "-sn --traceroute: hops differ from nmap's: $res"; fi
check "-sn: in1 traced with port 80/tcp (the ACK probe fw lets through)" \
  bash -c "\"$PY\" \"$TRES\" hops \"$OUT/trsn.xml\" | grep -q \"^$LAB_IN1_IP tcp/80 \""

# ---- IPv6
T6="$LAB_WEB_IP6 $LAB_DNS_IP6 $LAB_R2_IP6 $LAB_LAN1_IP6"
# shellcheck disable=SC2086
TR 120 -6 -sS -p 22,80 --traceroute -oX "$OUT/tr6.xml" $T6
# shellcheck disable=SC2086
NM 300 -6 -sS -p 22,80 --traceroute -oX "$OUT/nm6.xml" $T6
trace_compare "$OUT/tr6.xml" "$OUT/nm6.xml" "$TMP/cmp6.txt" -6 -sS -p 22,80 --traceroute
sed 's/^/  -6: /' "$TMP/cmp6.txt"
res=$(grep '^RESULT' "$TMP/cmp6.txt")
if [[ $res == *" differ=0 hosts=4" ]]; then ok "-6 --traceroute: every host's hops as nmap's: $res"
else nok "-6 --traceroute: hops differ from nmap's: $res"; fi
check "trawl's IPv6 XML is valid against nmap.dtd" valid_xml "$OUT/tr6.xml"

# ---- the path through the firewall
"$PY" "$TRES" hops "$OUT/tr.xml" >"$TMP/hops.txt"
hops_of() { awk -v a="$1" '$1 == a { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' "$TMP/hops.txt"; }
check "in1: 4 hops, the 3rd is fw, the 4th in1 ($(hops_of "$LAB_IN1_IP"))" \
  test "$(hops_of "$LAB_IN1_IP" | awk '{print NF, $3, $4}')" = "4 3:$LAB_FW_IP 4:$LAB_IN1_IP"
check "in3: the trace stops at fw ($(hops_of "$LAB_IN3_IP"))" \
  test "$(hops_of "$LAB_IN3_IP" | awk '{print $NF}')" = "3:$LAB_FW_IP"
check "in4: the trace stops at fw ($(hops_of "$LAB_IN4_IP"))" \
  test "$(hops_of "$LAB_IN4_IP" | awk '{print $NF}')" = "3:$LAB_FW_IP"
check "lan1: one hop, itself ($(hops_of "$LAB_LAN1_IP"))" test "$(hops_of "$LAB_LAN1_IP")" = "1:$LAB_LAN1_IP"
check "in1 traced with port 80/tcp (open)" grep -q "$LAB_IN1_IP tcp/80 " "$TMP/hops.txt"
check "in3 traced with ICMP echo (every port filtered)" grep -q "$LAB_IN3_IP icmp/- " "$TMP/hops.txt"
check "normal output: TRACEROUTE (using port 80/tcp) and the HOP RTT ADDRESS header" \
  grep -q "^TRACEROUTE (using port 80/tcp)" "$TMP/tr.normal"
check "normal output: lan1 gets a bare TRACEROUTE line" grep -qx "TRACEROUTE" "$TMP/tr.normal"
check "normal output: in3's silent hops as '4   ... N'" grep -Eq '^4 +\.\.\. [0-9]+$' "$TMP/tr.normal"

# ---- sharing
replies=$(sed -n 's/.*probes, \([0-9]*\) replies,.*/\1/p' "$TMP/tr.debug")
shared=$(sed -n 's/.*replies, \([0-9]*\) shared.*/\1/p' "$TMP/tr.debug")
reported=$(awk '{n += NF - 2} END {print n}' "$TMP/hops.txt")
check "hops reused: ${replies:-?} probes answered for $reported hops reported" test "${replies:-999}" -lt "$reported"
check "shared descents counted: ${shared:-?}" test "${shared:-0}" -gt 0
check "normal output says 'Hops 1-N are the same as for'" grep -Eq '^- +Hops? 1(-[0-9]+)? (is|are) the same as for ' "$TMP/tr.normal"

# ---- names
check "hop names by PTR: r1.lab.test ($LAB_R1_IP)" grep -q "r1.lab.test ($LAB_R1_IP)" "$TMP/tr.normal"
TR 60 -n -Pn -sS -p 80 --traceroute "$LAB_WEB_IP"
check "-n: hops without names" bash -c "grep -q '^1 .* $LAB_R1_IP\$' '$TMP/tr.out' && ! grep -q 'lab.test' '$TMP/tr.out'"

# ---- other outputs
check "JSON Lines: a trace with hops for in1" \
  "$PY" -c "import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get('address', d.get('addr')) == sys.argv[2] or sys.argv[2] in l and 'trace' in d:
        t = d['trace']; assert t['port'] == 80 and len(t['hops']) == 4, t; sys.exit(0)
sys.exit(1)" "$OUT/tr.json" "$LAB_IN1_IP"
check "grepable output has no trace (as nmap)" bash -c "! grep -v '^#' '$OUT/tr.gnmap' | grep -qi 'trace\|hop'"
TR 180 -A -Pn -p 80 "$LAB_IN1_IP"
check "-A runs traceroute" grep -q "^TRACEROUTE (using port 80/tcp)" "$TMP/tr.out"

# ---- otrace: inside an established connection
OTRACE=$HERE/../../scripts/otrace.lua
TR 120 -n -Pn -sS -p 80 --script "$OTRACE" "$LAB_IN4_IP" "$LAB_WEB_IP"
cp "$TMP/tr.out" "$TMP/otrace.out"
otrace_hops() { # ADDR: the hop addresses otrace listed for ADDR
  awk -v a="$1" '/scan report for/ { on = index($0, a) > 0 } on && /^\| [0-9]+ / { printf "%s ", $NF }
    on && /^\|_[0-9]+ / { sub(/^\|_/, "| "); printf "%s ", $NF }' "$TMP/otrace.out"
}
want="$LAB_R1_IP $LAB_R2_IP $LAB_FW_IP $LAB_IN4_IP "
check "otrace gets through fw to in4 ($(otrace_hops "$LAB_IN4_IP"))" test "$(otrace_hops "$LAB_IN4_IP")" = "$want"
check "otrace says it reached in4" grep -q "otrace: reached the host (80/tcp" "$TMP/otrace.out"
want="$(hops_of "$LAB_WEB_IP" | tr ' ' '\n' | sed 's/^[0-9]*://' | tr '\n' ' ')"
check "otrace on web finds --traceroute's hops ($want)" test "$(otrace_hops "$LAB_WEB_IP")" = "$want"
# A host that speaks first (web's 2323 prints its banner at once) while a
# hop is silent (r1 made to drop its time exceeded): the banner is the
# host's own segment, not its answer to a copy, so the first hop stays
# silent and otrace goes on to r2 and web (it once said "reached" at TTL 1)
R1NS=${TRAWL_LAB_PREFIX}r1
if ip netns exec "$R1NS" nft add table ip twotrace &&
   ip netns exec "$R1NS" nft add chain ip twotrace out '{ type filter hook output priority 0 ; }' &&
   ip netns exec "$R1NS" nft add rule ip twotrace out icmp type time-exceeded drop; then
  TR 120 -n -Pn -sS -p "$LAB_WEB_BANNER_PORT" --script "$OTRACE" --script-args otrace.timeout=500 "$LAB_WEB_IP"
  cp "$TMP/tr.out" "$TMP/otrace.out"
  check "otrace, silent r1 and a banner: ... r2 web ($(otrace_hops "$LAB_WEB_IP"))" \
    test "$(otrace_hops "$LAB_WEB_IP")" = "... $LAB_R2_IP $LAB_WEB_IP "
  ip netns exec "$R1NS" nft delete table ip twotrace
else
  nok "cannot make r1 drop its time exceeded (nft)"
fi
finish
