#!/usr/bin/env bash
# test_scan_discovery.sh BUILD_DIR: trawl's host discovery (-sn, -P*, -Pn)
# against the lab's ground truth: exactly the live addresses are found up;
# on the LAN segment by ARP (reason arp-response, MAC addresses as the lab
# sets them); across the routers by ICMP and TCP (echo-reply,
# timestamp-reply, syn-ack, reset, port-unreach, with the replies' TTL);
# dead and unrouted addresses are not reported up; -Pn treats every target
# as up; the same up set as nmap -sn; IPv6 discovery of the lab's IPv6
# hosts. Own lab (prefix twdisco<pid>-), torn down on exit.
# Last line "N passed, M failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init discovery "${1:-}"
scan_lab_up

sorted() { tr ' ' '\n' <<<"$*" | grep . | sort -u; }
up_set() { awk '$2 == "up" { print $1 }' "$1" | sort -u; }
mac_of() { ip -n "${LAB_PREFIX}$1" -br link show "$2" | awk '{ print tolower($3) }'; }

# ------------------------------------------------------------------ default probes
# The LAN /24, the server segment /24, every router address, the bench path,
# one unrouted address: 519 addresses, 16 of them live (LAB_LIVE), plus
# the scanner's own LAN address, up as localhost-response (UP).
TARGETS="$LAB_LAN_NET 198.18.30.0/24 $LAB_R1_IP $LAB_R1_IP_B $LAB_R2_IP $LAB_BGW_IP $LAB_BGW_IP_B $LAB_BIG_IP $LAB_UNROUTED_IP"
TR 120 -sn -n --reason $TARGETS -oX "$OUT/sn.xml" -oG "$OUT/sn.gnmap"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then ok "trawl -sn exits 0"; else nok "trawl -sn exits 0 (got $rc)"; show "$TMP/tr.err"; fi
cp "$TMP/tr.out" "$TMP/sn.normal"
check "-sn -oX valid under nmap.dtd" valid_xml "$OUT/sn.xml"
hosts "$OUT/sn.xml" >"$TMP/sn.hosts" 2>/dev/null
UP="$LAB_LIVE $LAB_SCAN_IP_LAN"
NUP=$(wc -w <<<"$UP")
if diff <(sorted $UP) <(up_set "$TMP/sn.hosts") >"$TMP/diff"; then
  ok "-sn finds exactly the $(wc -w <<<"$LAB_LIVE") live IPv4 addresses (LAB_LIVE) and its own"
else
  nok "-sn up set equals LAB_LIVE and its own (< missing, > extra)"; show "$TMP/diff"
fi
for h in $LAB_DEAD_IP $LAB_LAN_DEAD_IP $LAB_UNROUTED_IP; do
  check "-sn: $h is not up" bash -c "! grep -q '^$h up' '$TMP/sn.hosts'"
done
ntot=$((256 + 256 + 7))
check "-sn runstats: $NUP up, $ntot total" \
  grep -qx "success - $NUP $((ntot - NUP)) $ntot" <(runstats "$OUT/sn.xml")
check "-sn normal output: no PORT table" bash -c "! grep -q '^PORT ' '$TMP/sn.normal'"
check "-sn normal output: 'Host is up' for every live address" \
  test "$(grep -c '^Host is up' "$TMP/sn.normal")" = "$NUP"
check "-sn -oG: a 'Status: Up' line for every live address" \
  test "$(grep -cP '^Host: \S+ \(\)\tStatus: Up$' "$OUT/sn.gnmap")" = "$NUP"

# LAN: ARP, with the lab's fixed MACs
for i in 1 2 3; do
  ipv=LAB_LAN${i}_IP macv=LAB_LAN${i}_MAC
  check "LAN ${!ipv}: up, arp-response, MAC ${!macv}" \
    grep -qx "${!ipv} up arp-response 0 ${!macv}" "$TMP/sn.hosts"
  check "LAN ${!ipv}: normal output 'MAC Address: ${!macv}'" \
    bash -c "awk '/scan report for/ { cur = \$NF } cur == \"${!ipv}\"' '$TMP/sn.normal' | grep -qi '^MAC Address: ${!macv}'"
done
# the routers' near addresses are on links of ours too: ARP, their real MACs
check "r1 $LAB_R1_IP (on up0): arp-response, MAC $(mac_of r1 s0)" \
  grep -qx "$LAB_R1_IP up arp-response 0 $(mac_of r1 s0)" "$TMP/sn.hosts"
check "bgw $LAB_BGW_IP (on bench0): arp-response, MAC $(mac_of bgw s0)" \
  grep -qx "$LAB_BGW_IP up arp-response 0 $(mac_of bgw s0)" "$TMP/sn.hosts"
# routed: an ICMP or TCP answer, no MAC
for h in $LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_NAT_IP $LAB_UDP_IP $LAB_R1_IP_B $LAB_R2_IP $LAB_BGW_IP_B $LAB_BIG_IP; do
  line=$(host_line "$TMP/sn.hosts" "$h")
  set -- $line
  if [ "$1" = up ] && in_list "$2" echo-reply timestamp-reply syn-ack reset && [ "$3" -gt 0 ] && [ "$4" = - ]; then
    ok "routed $h: up, $2 ttl $3, no MAC"
  else
    nok "routed $h: up by echo-reply|timestamp-reply|syn-ack|reset with a TTL and no MAC (got: $line)"
  fi
done

# the scanner's own address in the LAN /24: up without a probe, as nmap says
line=$(host_line "$TMP/sn.hosts" "$LAB_SCAN_IP_LAN")
set -- $line
if [ "$1" = up ] && [ "$2" = localhost-response ]; then
  ok "own $LAB_SCAN_IP_LAN: up, localhost-response"
else
  nok "own $LAB_SCAN_IP_LAN: up, localhost-response (got: $line)"
fi

# the same targets with nmap: the same up set
NM 180 -sn -n $TARGETS -oX "$OUT/nmap-sn.xml"
hosts "$OUT/nmap-sn.xml" >"$TMP/nmap-sn.hosts" 2>/dev/null
check "-sn up set equals nmap -sn's" diff <(up_set "$TMP/nmap-sn.hosts") <(up_set "$TMP/sn.hosts")
check "nmap also says localhost-response for $LAB_SCAN_IP_LAN" \
  grep -q "^$LAB_SCAN_IP_LAN up localhost-response " "$TMP/nmap-sn.hosts"

# ------------------------------------------------------------------ one probe type at a time
ROUTED="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP"
# probe OPT "REASONS PER HOST..." : -sn with one probe type over the routed
# hosts plus the dead and unrouted addresses
probe() {
  local opt=$1 want=$2 h w got bad=""
  TR 60 -sn -n --reason "$opt" $ROUTED "$LAB_DEAD_IP" "$LAB_UNROUTED_IP" -oX "$OUT/p.xml"
  hosts "$OUT/p.xml" >"$TMP/p.hosts" 2>/dev/null
  set -- $want
  for h in $ROUTED; do
    w="up $1 $2"; shift 2
    got=$(host_line "$TMP/p.hosts" "$h" | cut -d' ' -f1-3)
    [ "$got" = "$w" ] || bad+=" $h:[$got]!=[$w]"
  done
  for h in $LAB_DEAD_IP $LAB_UNROUTED_IP; do
    grep -q "^$h up" "$TMP/p.hosts" && bad+=" $h:up"
  done
  if [ -z "$bad" ]; then ok "-sn $opt: $want; dead and unrouted down"; else nok "-sn $opt:$bad"; fi
}
W=$LAB_WEB_TTL N=$LAB_WIN_TTL
probe -PE "echo-reply $W echo-reply $W echo-reply $N"
probe -PP "timestamp-reply $W timestamp-reply $W timestamp-reply $N"
probe -PS80 "syn-ack $W reset $W syn-ack $N"
probe -PA80 "reset $W reset $W reset $N"
probe -PU40125 "port-unreach $W port-unreach $W port-unreach $N"

# ------------------------------------------------------------------ -Pn
TR 60 -Pn -n --reason -p 80 "$LAB_WEB_IP" "$LAB_DEAD_IP" "$LAB_LAN_DEAD_IP" "$LAB_UNROUTED_IP" -oX "$OUT/pn.xml"
hosts "$OUT/pn.xml" >"$TMP/pn.hosts" 2>/dev/null
ports "$OUT/pn.xml" >"$TMP/pn.ports" 2>/dev/null
bad=""
for h in $LAB_WEB_IP $LAB_DEAD_IP $LAB_LAN_DEAD_IP $LAB_UNROUTED_IP; do
  [ "$(host_line "$TMP/pn.hosts" "$h" | cut -d' ' -f1,2)" = "up user-set" ] || bad+=" $h:[$(host_line "$TMP/pn.hosts" "$h")]"
done
if [ -z "$bad" ]; then ok "-Pn: all 4 targets up, reason user-set"; else nok "-Pn: every target up (user-set):$bad"; fi
check "-Pn: web 80 open" grep -q "^$LAB_WEB_IP tcp 80 open syn-ack" "$TMP/pn.ports"
for h in $LAB_DEAD_IP $LAB_LAN_DEAD_IP $LAB_UNROUTED_IP; do
  check "-Pn: $h port 80 filtered" grep -q "^$h tcp 80 filtered " "$TMP/pn.ports"
done
check "-Pn runstats: 4 up, 0 down" grep -qx "success - 4 0 4" <(runstats "$OUT/pn.xml")
TR 30 -Pn -sn -n "$LAB_DEAD_IP" "$LAB_LAN_DEAD_IP" -oX "$OUT/pnsn.xml"
check "-Pn -sn: both dead addresses listed up" \
  test "$(hosts "$OUT/pnsn.xml" 2>/dev/null | awk '$2 == "up"' | wc -l)" = 2

# ------------------------------------------------------------------ IPv6
TR 120 -6 -sn -n --reason $LAB_LIVE6 "$LAB_DEAD_IP6" -oX "$OUT/sn6.xml"
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then ok "trawl -6 -sn exits 0"; else nok "trawl -6 -sn exits 0 (got $rc): $(head -1 "$TMP/tr.err")"; fi
hosts "$OUT/sn6.xml" >"$TMP/sn6.hosts" 2>/dev/null
if diff <(sorted $LAB_LIVE6) <(up_set "$TMP/sn6.hosts") >"$TMP/diff"; then
  ok "-6 -sn finds exactly the $(wc -w <<<"$LAB_LIVE6") live IPv6 addresses (LAB_LIVE6)"
else
  nok "-6 -sn up set equals LAB_LIVE6 (< missing, > extra)"; show "$TMP/diff"
fi
check "-6 -sn: $LAB_DEAD_IP6 not up" bash -c "! grep -q '^$LAB_DEAD_IP6 up' '$TMP/sn6.hosts'"
bad=""
for h in $LAB_LIVE6; do
  set -- $(host_line "$TMP/sn6.hosts" "$h")
  in_list "${2:-}" echo-reply nd-response syn-ack reset || bad+=" $h:${2:-none}"
done
if [ -z "$bad" ]; then ok "-6 -sn: every live host up by echo-reply/nd-response/syn-ack/reset"; else nok "-6 -sn reasons:$bad"; fi

finish
