#!/usr/bin/env bash
# ctest-cost: 230
# test_hostile.sh BUILD_DIR: trawl against services that misbehave on
# purpose (tests/lab/hostile/, issue 14 item 3), next to ordinary lab hosts.
# The lab (prefix twhostil<pid>-) gets its hostile part
# (tests/lab/hostile/hostile-lab.sh): an endless banner, a banner dripping
# a byte every 3 s, TLS answered with garbage, a TLS handshake that stalls
# after the ClientHello, HTTP with a 10 MB header, an endless chunked body,
# a chunked body dripping a chunk every 2 s, a header dripping a byte every
# 2 s, the drip and TLS garbage again on MQTT's ports 1883 and 8883 (for
# -sV's mqtt-version script), UDP answering every datagram with 100, a host whose every TCP port
# answers SYN with SYN-ACK (synproxy), and a DNS server (the scanner's
# resolver here) answering PTR lookups with a 253-character name, a CNAME
# loop, a PTR to itself, a 40-CNAME chain, 400 PTRs (TC, then TCP), a
# compression-pointer loop, bytes like '<' '&' NUL, and silence.
# trawl runs -sS -sU with reverse DNS and --script
# banner,http-title,http-headers,ssl-cert and -sV (when trawl accepts it)
# three times: the ordinary hosts alone (the reference), with the hostile
# hosts, and with the hostile services' sizes doubled (scale 2). Checks:
#   - trawl exits 0, well before the `timeout` that bounds it;
#   - every scanned port of every host has a verdict (listed or counted in
#     <extraports>), the hostile ports are open, every port of the SYN-ACK
#     host is open; XML valid under nmap.dtd;
#   - hostnames: the 253-character name whole, the ordinary hosts' names,
#     no name where the answer is a loop, malformed or missing;
#   - the ordinary hosts' ports, host lines, script results (and -sV's
#     services and versions) equal the reference run's;
#   - peak resident memory (ru_maxrss, as GNU time's %M) of both hostile runs at
#     most HOSTILE_SCRIPT_KB (default 65536) above a run of the same scan
#     without scripts and names (capture rings, one per interface, make
#     most of trawl's RSS), and scale 2 less than 16 MiB above scale 1 (the
#     bound does not grow with what the services send; scale 2's peak has
#     come out between 0.4 MiB under and 10.8 MiB over scale 1's: which
#     connections hold their capped buffers at the peak varies from run
#     to run, and the TLS garbage's chunks double with the scale).
# Numbers are printed ("measured: ..."); docs/reliability.md has them.
# Last line "N passed, M failed".
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
HL=$HERE/hostile/hostile-lab.sh
HC=$HERE/hostile/hostile_check.py
MAXRSS=$HERE/hostile/maxrss.py
SR=$HERE/script_results.py
scan_init hostile "${1:-}"
hostile_cleanup() {
  [ -n "${TRAWL_LAB_PREFIX:-}" ] && timeout 60 "$HL" down >/dev/null 2>&1
  scan_cleanup
}
trap hostile_cleanup EXIT
scan_lab_up
if ! timeout 60 "$HL" up >"$TMP/hup.log" 2>&1; then nok "hostile-lab.sh up"; show "$TMP/hup.log"; finish; fi
eval "$("$HL" env)"
ok "hostile part up ($HOSTILE_SRV_IP services, $HOSTILE_IPS_IP SYN-ACK host, $HOSTILE_DNS_IP resolver)"

LIMIT=170                       # the `timeout` around every run, s
WITHIN=100                      # a run must end this much sooner, s
ORD=("$LAB_WEB_IP" "$LAB_DNS_IP" "$LAB_WIN_IP" "$LAB_NAT_IP" "$LAB_UDP_IP" "$LAB_LAN1_IP" "$LAB_BIG_IP")
HOST=($HOSTILE_PTR_IPS) # hsrv's addresses and the SYN-ACK host
TPORTS="21,22,23,25,53,80,443,2323,8081,$HOSTILE_TCP_PORTS"
UPORTS="7,9,53,69,123,137,161,$HOSTILE_UDP_FLOOD_PORT"
NPORTS=$(($(tr , '\n' <<<"$TPORTS" | sort -u | wc -l) + $(tr , '\n' <<<"$UPORTS" | sort -u | wc -l)))
ARGS=(-sS -sU -Pn -p "T:$TPORTS,U:$UPORTS" --script banner,http-title,http-headers,ssl-cert)
# ---- version detection: add -sV here once trawl accepts it --------------
# (-sV is being built in parallel; the hostile services are exactly what it
# must survive, so it joins this test as soon as `trawl --help` lists it.)
SV=0
HELP=$("$TRAWL" --help 2>/dev/null) # (not piped into grep -q: pipefail and SIGPIPE)
if grep -q -- '-sV' <<<"$HELP"; then
  ARGS+=(-sV)
  SV=1
  ok "trawl accepts -sV: version detection runs against the hostile services too"
else
  echo "note - trawl has no -sV yet: version detection not exercised"
fi
# -------------------------------------------------------------------------

# run NAME TARGETS...: trawl ARGS under `timeout $LIMIT` and maxrss.py;
# sets RC, SECS, RSS (KiB)
run() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  timeout -k 5 $LIMIT "$PY" "$MAXRSS" "$TMP/$name.time" ip netns exec "$S" \
    "$TRAWL" "${ARGS[@]}" -oX "$OUT/$name.xml" -oJ "$OUT/$name.json" "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
  RC=$?
  t1=$(date +%s%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  RSS=$(awk 'NR == 1 && $1 ~ /^[0-9]+$/ { print $1 }' "$TMP/$name.time" 2>/dev/null)
  RSS=${RSS:-0}
  echo "measured: $name: exit $RC, $SECS s, peak RSS $RSS KiB"
}
finished() { # NAME: exit 0 well within the timeout
  if [ "$RC" = 0 ] && awk -v s="$SECS" -v w=$WITHIN 'BEGIN { exit !(s < w) }'; then
    ok "$1: exit 0 in $SECS s (under $WITHIN s; the timeout is $LIMIT s)"
  else
    nok "$1: exit 0 within $WITHIN s (exit $RC after $SECS s)"; show "$TMP/$1.err" 10
  fi
}
# only ADDR... < FILE: the lines whose first field is one of ADDR
only() { awk -v l=" $* " 'index(l, " " $1 " ")'; }
# script results without the Date header (it changes between runs)
scripts_of() { "$PY" "$SR" scripts "$1" | sed -E 's/Date: [^\\]*\\n//'; }

# ------------------------------------------------------------------ reference: ordinary hosts only
run ref "${ORD[@]}"
finished ref
check "ref: XML valid under nmap.dtd" valid_xml "$OUT/ref.xml"
check "ref: every port of every host has a verdict ($NPORTS each)" "$PY" "$HC" verdicts "$OUT/ref.xml" $NPORTS
check "ref: web's banner and title are there (positive control)" \
  bash -c "'$PY' '$SR' scripts '$OUT/ref.xml' | grep -q '^$LAB_WEB_IP tcp 2323 banner \"$LAB_WEB_BANNER\"'"

# ------------------------------------------------------------------ the fixed part of trawl's memory
# Capture rings (one per interface used: here lan0, up0, bench0, hos0 and
# hips0) and tables make most of trawl's RSS. A run over the same targets
# and ports without scripts and names measures that part; the hostile runs
# may add at most SCRIPT_KB (the scripts' share) to it.
SCRIPT_KB=${HOSTILE_SCRIPT_KB:-65536}
ARGS_ALL=("${ARGS[@]}")
ARGS=(-sS -sU -Pn -n -p "T:$TPORTS,U:$UPORTS")
run plain "${ORD[@]}" "${HOST[@]}"
ARGS=("${ARGS_ALL[@]}")
finished plain
PLAIN=$RSS
BOUND=$((PLAIN + SCRIPT_KB))

# ------------------------------------------------------------------ hostile, scale 1 and 2
declare -A RSSOF
for scale in 1 2; do
  n=hostile$scale
  if [ "$scale" != 1 ]; then
    timeout 60 "$HL" scale "$scale" >"$TMP/scale.log" 2>&1 || { nok "hostile-lab.sh scale $scale"; show "$TMP/scale.log"; }
  fi
  run $n "${ORD[@]}" "${HOST[@]}"
  RSSOF[$scale]=$RSS
  finished $n
  check "$n: XML valid under nmap.dtd" valid_xml "$OUT/$n.xml"
  check "$n: every port of every host has a verdict ($NPORTS each, $((${#ORD[@]} + ${#HOST[@]})) hosts)" \
    "$PY" "$HC" verdicts "$OUT/$n.xml" $NPORTS
  nh=$("$PY" "$HC" verdicts "$OUT/$n.xml" $NPORTS 2>/dev/null | wc -l)
  check "$n: all $((${#ORD[@]} + ${#HOST[@]})) hosts reported (got $nh)" test "$nh" = $((${#ORD[@]} + ${#HOST[@]}))
  if scan_sanitized; then
    echo "skip - $n: peak RSS bound (ASan's quarantine and redzones dominate RSS; the normal build checks it; growth is checked below)"
  elif [ "$RSS" -gt 0 ] && [ "$RSS" -lt "$BOUND" ]; then ok "$n: peak RSS $RSS KiB < $BOUND KiB (no-script run $PLAIN + $SCRIPT_KB)"
  else nok "$n: peak RSS $RSS KiB < $BOUND KiB (no-script run $PLAIN + $SCRIPT_KB)"; fi
  # what the hostile services pushed at trawl (logged per closed connection)
  "$PY" "$HC" sent "$HOSTILE_RUNDIR" | sed "s/^/measured: $n: sent by /"

  ports "$OUT/$n.xml" >"$TMP/$n.ports"
  bad=""
  for p in ${HOSTILE_TCP_PORTS//,/ }; do
    [ "$(port_state "$TMP/$n.ports" "$HOSTILE_SRV_IP" "$p" tcp | cut -d' ' -f1)" = open ] || bad+=" $p"
  done
  check "$n: every hostile TCP service open ($HOSTILE_TCP_PORTS)${bad:+, not:$bad}" test -z "$bad"
  check "$n: the UDP amplifier $HOSTILE_UDP_FLOOD_PORT/udp open" \
    test "$(port_state "$TMP/$n.ports" "$HOSTILE_SRV_IP" "$HOSTILE_UDP_FLOOD_PORT" udp | cut -d' ' -f1)" = open
  nips=$(awk -v a="$HOSTILE_IPS_IP" '$1 == a && $2 == "tcp" && $4 == "open"' "$TMP/$n.ports" | wc -l)
  ntcp=$(tr , '\n' <<<"$TPORTS" | sort -u | wc -l)
  check "$n: the SYN-ACK host: all $ntcp TCP ports open (got $nips)" test "$nips" = "$ntcp"
  check "$n: the UDP amplifier answered with 100 datagrams" grep -q "sent 100 datagrams" "$HOSTILE_RUNDIR/udp-flood.log"
  check "$n: the endless banner reached the banner script" \
    bash -c "'$PY' '$SR' scripts '$OUT/$n.xml' | grep -q '^$HOSTILE_SRV_IP tcp 2001 banner \"TRAWL-HOSTILE-ENDLESS AAA'"

  # names: the longest legal name whole; ordinary names; nothing for broken answers
  "$PY" "$HC" names "$OUT/$n.xml" >"$TMP/$n.names"
  huge=$(printf '%s.%s.%s.%s' "$(printf 'a%.0s' {1..63})" "$(printf 'b%.0s' {1..63})" \
    "$(printf 'c%.0s' {1..63})" "$(printf 'd%.0s' {1..61})")
  check "$n: the 253-character PTR name, whole" grep -qx "198.18.60.10 \"$huge\"" "$TMP/$n.names"
  check "$n: the 40-CNAME chain ends in its PTR" grep -qx "$HOSTILE_IPS_IP \"end.chain.hostile.lab.test\"" "$TMP/$n.names"
  check "$n: 400 PTRs over TCP: one of them" grep -Eqx '198.18.60.12 "m[0-9]{3}-x{30}.many.hostile.lab.test"' "$TMP/$n.names"
  nonames=""
  for a in 198.18.60.11 198.18.60.13 198.18.60.14 198.18.60.15; do
    grep -qx "$a -" "$TMP/$n.names" || nonames+=" $a($(grep "^$a " "$TMP/$n.names" | cut -d' ' -f2-))"
  done
  check "$n: no name from a CNAME loop, a compression loop, bad bytes or silence${nonames:+:$nonames}" test -z "$nonames"
  check "$n: ordinary names as in the reference (web.lab.test ...)" \
    diff <("$PY" "$HC" names "$OUT/ref.xml") <(only "${ORD[@]}" <"$TMP/$n.names")

  # the ordinary hosts' results equal the reference run's
  check "$n: ordinary hosts' ports = reference" diff <(ports "$OUT/ref.xml") <(only "${ORD[@]}" <"$TMP/$n.ports")
  check "$n: ordinary hosts' host lines = reference" diff <(hosts "$OUT/ref.xml") <(hosts "$OUT/$n.xml" | only "${ORD[@]}")
  check "$n: ordinary hosts' script results = reference" \
    diff <(scripts_of "$OUT/ref.xml") <(scripts_of "$OUT/$n.xml" | only "${ORD[@]}")
  check "$n: JSON lines hold the same ports as the XML" diff <(ports "$OUT/$n.json") "$TMP/$n.ports"
  if [ $SV = 1 ]; then # -sV: the ordinary hosts' versions as in the reference
    check "$n: -sV: ordinary hosts' services and versions = reference" \
      diff <("$PY" "$HERE/version_results.py" services "$OUT/ref.xml") \
      <("$PY" "$HERE/version_results.py" services "$OUT/$n.xml" | only "${ORD[@]}")
    # the slow drip and TLS garbage on MQTT's ports: -sV and its version
    # script (mqtt-version) give up within their bounds (the run's time,
    # checked above) and invent no broker version
    "$PY" "$HERE/version_results.py" services "$OUT/$n.xml" |
      awk -v a="$HOSTILE_SRV_IP" '$1 == a && $2 == "tcp" && ($3 == 1883 || $3 == 8883)' >"$TMP/$n.mqtt"
    check "$n: -sV: the hostile MQTT ports 1883 and 8883 listed ($(wc -l <"$TMP/$n.mqtt"))" \
      test "$(wc -l <"$TMP/$n.mqtt")" = 2
    check "$n: -sV: no broker version made up from a drip or garbage" \
      bash -c "! grep -qi 'version' '$TMP/$n.mqtt'"
  fi
done

d=$((${RSSOF[2]} - ${RSSOF[1]}))
if [ "${RSSOF[1]}" -gt 0 ] && [ "$d" -lt 16384 ]; then
  ok "peak RSS does not grow with what the services send: scale 1 ${RSSOF[1]} KiB, scale 2 ${RSSOF[2]} KiB ($d KiB)"
else
  nok "peak RSS does not grow with what the services send: scale 1 ${RSSOF[1]} KiB, scale 2 ${RSSOF[2]} KiB ($d KiB >= 16384)"
fi

finish
