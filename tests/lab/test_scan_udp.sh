#!/usr/bin/env bash
# test_scan_udp.sh BUILD_DIR: trawl's UDP scan (-sU) against the lab's
# ground truth and against nmap -sU on the same targets, with Nmap's
# semantics: a UDP reply -> open (udp-response), ICMP port unreachable ->
# closed (port-unreach), nothing -> open|filtered (no-response). The udp
# host rate-limits its ICMP errors like a stock Linux (about one per second
# after a burst of 6), so closed ports there are only found by a scanner
# that waits for them: 23 of them are scanned. Also: -sU with -sS in one
# run, -oX valid under the DTD, IPv6. Own lab (prefix twudp<pid>-).
# Last line "N passed, M failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init udp "${1:-}"
scan_lab_up

# expect HOST PORT -> "STATE REASON TTL" (README "UDP"; TTL 62: 2 hops)
expect() {
  local h=$1 p=$2 open="" filt=""
  case $h in
  "$LAB_UDP_IP") open=$LAB_UDP_UDP_OPEN filt=$LAB_UDP_UDP_FILTERED ;;
  "$LAB_DNS_IP" | "$LAB_DNS_IP6") open=$LAB_DNS_UDP_OPEN ;;
  esac
  if in_list "$p" $open; then echo "open udp-response $LAB_WEB_TTL"
  elif in_list "$p" $filt; then echo "open|filtered no-response 0"
  else echo "closed port-unreach $LAB_WEB_TTL"; fi
}
check_table() { # PORTSFILE LABEL "PORTS" HOST...
  local f=$1 label=$2 plist=$3 h p want got bad; shift 3
  for h in "$@"; do
    bad=""
    for p in $plist; do
      want=$(expect "$h" "$p")
      got=$(port_state "$f" "$h" "$p" udp)
      [ "$got" = "$want" ] || bad+=" $p:[$got]!=[$want]"
    done
    if [ -z "$bad" ]; then ok "$label $h: $(wc -w <<<"$plist") UDP ports, state+reason+ttl as ground truth"
    else nok "$label $h:$bad"; fi
  done
}
csv() { tr ' ' '\n' <<<"$*" | grep . | paste -sd, -; }
# nmap_compare NMAPPORTS TRAWLPORTS LABEL: trawl's table equals nmap's,
# except where nmap itself is off the ground truth and trawl is on it (nmap
# may give up on a rate-limited ICMP answer: open|filtered for a closed
# port); those ports are listed, not failed.
nmap_compare() {
  local nf=$1 tf=$2 label=$3 a p want t n bad="" nmapoff=""
  if [ ! -s "$nf" ]; then nok "$label: nmap -sU gave no port table"; return; fi
  while read -r a _ p _; do
    n=$(awk -v a="$a" -v p="$p" '$1 == a && $3 == p { print $4, $5, $6 }' "$nf")
    t=$(awk -v a="$a" -v p="$p" '$1 == a && $3 == p { print $4, $5, $6 }' "$tf")
    [ "$n" = "$t" ] && continue
    want=$(expect "$a" "$p")
    if [ "$t" = "$want" ]; then nmapoff+=" $p:nmap[$n]"; else bad+=" $a:$p:trawl[$t]nmap[$n]"; fi
  done < <(cat "$nf" "$tf" | awk '{ print $1, $2, $3, $4 }' | sort -u)
  if [ -z "$bad" ]; then
    ok "$label: port table equals nmap -sU's${nmapoff:+ (except where nmap is off the ground truth:$nmapoff)}"
  else
    nok "$label: port table differs from nmap -sU's where nmap is right:$bad"
  fi
}

# ------------------------------------------------------------------ the rate-limited host
UPORTS="$LAB_UDP_UDP_OPEN $LAB_UDP_UDP_FILTERED $LAB_UDP_UDP_CLOSED $(seq -s ' ' 1000 1019)"
TR 300 -sU -n --reason -p "$(csv $UPORTS)" "$LAB_UDP_IP" -oX "$OUT/udp.xml"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then ok "trawl -sU exits 0"; else nok "trawl -sU exits 0 (got $rc): $(head -1 "$TMP/tr.err")"; fi
ports "$OUT/udp.xml" >"$TMP/udp.ports" 2>/dev/null
check_table "$TMP/udp.ports" "-sU (ICMP rate-limited)" "$UPORTS" "$LAB_UDP_IP"
check "-sU -oX valid under nmap.dtd, scaninfo type=udp protocol=udp" \
  bash -c "xmllint --noout --dtdvalid $NMAP_DTD '$OUT/udp.xml' && grep -q '<scaninfo type=\"udp\" protocol=\"udp\"' '$OUT/udp.xml'"
NM 300 -sU -n --reason -p "$(csv $UPORTS)" "$LAB_UDP_IP" -oX "$OUT/nmap-udp.xml"
ports "$OUT/nmap-udp.xml" >"$TMP/nmap-udp.ports" 2>/dev/null
nmap_compare "$TMP/nmap-udp.ports" "$TMP/udp.ports" "-sU (rate-limited host)"
for p in $LAB_UDP_UDP_OPEN; do
  check "normal output: '$p/udp open ... udp-response ttl $LAB_WEB_TTL'" \
    grep -Eq "^$p/udp +open +[^ ]+ +udp-response ttl $LAB_WEB_TTL\$" "$TMP/tr.out"
done

# ------------------------------------------------------------------ hosts without ICMP limits
P2="53 69 123 161 1000 1001 1002 1003 1004"
TR 120 -sU -n --reason -p "$(csv $P2)" "$LAB_DNS_IP" "$LAB_WEB_IP" -oX "$OUT/udp2.xml"
ports "$OUT/udp2.xml" >"$TMP/udp2.ports" 2>/dev/null
check_table "$TMP/udp2.ports" "-sU" "$P2" "$LAB_DNS_IP" "$LAB_WEB_IP"
NM 120 -sU -n --reason -p "$(csv $P2)" "$LAB_DNS_IP" "$LAB_WEB_IP" -oX "$OUT/nmap-udp2.xml"
ports "$OUT/nmap-udp2.xml" >"$TMP/nmap-udp2.ports" 2>/dev/null
nmap_compare "$TMP/nmap-udp2.ports" "$TMP/udp2.ports" "-sU (dns, web)"

# ------------------------------------------------------------------ -sS -sU together
TR 120 -sS -sU -n --reason -p T:53,80,U:53,1000 "$LAB_DNS_IP" -oX "$OUT/su.xml"
ports "$OUT/su.xml" >"$TMP/su.ports" 2>/dev/null
bad=""
[ "$(port_state "$TMP/su.ports" "$LAB_DNS_IP" 53 tcp | cut -d' ' -f1)" = open ] || bad+=" tcp/53"
[ "$(port_state "$TMP/su.ports" "$LAB_DNS_IP" 80 tcp | cut -d' ' -f1)" = closed ] || bad+=" tcp/80"
[ "$(port_state "$TMP/su.ports" "$LAB_DNS_IP" 53 udp | cut -d' ' -f1)" = open ] || bad+=" udp/53"
[ "$(port_state "$TMP/su.ports" "$LAB_DNS_IP" 1000 udp | cut -d' ' -f1)" = closed ] || bad+=" udp/1000"
if [ -z "$bad" ]; then ok "-sS -sU: tcp 53 open, 80 closed; udp 53 open, 1000 closed"; else nok "-sS -sU wrong:$bad"; show "$TMP/su.ports"; fi
check "-sS -sU -oX: two scaninfo elements (syn/tcp, udp/udp), valid" \
  bash -c "xmllint --noout --dtdvalid $NMAP_DTD '$OUT/su.xml' && grep -q 'scaninfo type=\"syn\" protocol=\"tcp\"' '$OUT/su.xml' && grep -q 'scaninfo type=\"udp\" protocol=\"udp\"' '$OUT/su.xml'"

# ------------------------------------------------------------------ IPv6
TR 120 -6 -sU -n --reason -p 53,1000 "$LAB_DNS_IP6" -oX "$OUT/udp6.xml"
ports "$OUT/udp6.xml" >"$TMP/udp6.ports" 2>/dev/null
check_table "$TMP/udp6.ports" "-6 -sU" "53 1000" "$LAB_DNS_IP6"

finish
