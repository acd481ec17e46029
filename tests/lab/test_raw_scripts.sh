#!/usr/bin/env bash
# test_raw_scripts.sh BUILD_DIR: the talk's raw-packet scripts on the lab
# (run as root). Checks:
#   - sniffer-detect: with lan3's card switched to promiscuous mode (lab.sh
#     promisc on, a macvlan that filters multicast like a NIC) lan3 is
#     reported and lan1, lan2 are not; with it off nobody is; the hosts
#     reported equal those Nmap's own sniffer-detect calls "Likely in
#     promiscuous mode" in the same namespace; the fake-broadcast ARP
#     requests are in a capture of lan0;
#   - ip-record-route: for hosts behind the lab's routers (web, the NAT
#     gateway) and on the LAN, the recorded hops equal the RR list `ping -R`
#     shows in the scanner namespace, less our own address that ping's
#     kernel writes first and last (trawl's request is raw: the option
#     leaves empty, and the capture sees the reply before IP input); r1's
#     and r2's far-side addresses are among them;
# Last line "N passed, M failed"; non-zero exit on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
SR=$HERE/script_results.py
scan_init rawscr "${1:-}"
scan_lab_up

LANS="$LAB_LAN1_IP $LAB_LAN2_IP $LAB_LAN3_IP"

# promiscuous ADDRS of trawl's XML: addresses with a sniffer-detect result
sniffers_trawl() { "$PY" "$SR" scripts "$1" | awk '$4 == "sniffer-detect" && /promiscuous/ { print $1 }' | sort | tr '\n' ' '; }
# the same out of nmap's normal output
sniffers_nmap() {
  awk '/^Nmap scan report for/ { a = $NF; gsub(/[()]/, "", a) } /sniffer-detect: Likely in promiscuous/ { print a }' "$1" |
    sort | tr '\n' ' '
}

# ------------------------------------------------------------ sniffer-detect
for state in on off; do
  "$LAB" promisc $state >/dev/null || nok "lab.sh promisc $state"
  want=""
  [ $state = on ] && want="$LAB_LAN3_IP "
  if [ $state = on ]; then
    timeout -k 2 60 ip netns exec "$S" tcpdump -i "$LAB_SCAN_IF_LAN" -n -e -U -w "$TMP/arp.pcap" arp 2>"$TMP/arp.err" &
    APID=$!
    SCAN_PIDS="$SCAN_PIDS $APID"
    for _ in $(seq 100); do grep -q "listening on" "$TMP/arp.err" && break; sleep 0.1; done
  fi
  if TR 60 -sn -n --script sniffer-detect -oX "$OUT/sniff-$state.xml" $LANS; then
    got=$(sniffers_trawl "$OUT/sniff-$state.xml")
    [ "$got" = "$want" ] && ok "sniffer-detect, promisc $state: reported '$got'" ||
      nok "sniffer-detect, promisc $state: want '$want', got '$got'"
    check "sniffer-detect XML valid under nmap.dtd (promisc $state)" valid_xml "$OUT/sniff-$state.xml"
    if [ $state = on ]; then
      n=$("$PY" "$SR" elems "$OUT/sniff-on.xml" "$LAB_LAN3_IP" - sniffer-detect | grep -c '^answered\.')
      [ "$n" -ge 2 ] && ok "lan3 answered $n fake broadcasts" || nok "lan3 answered $n fake broadcasts (want >= 2)"
    fi
  else
    nok "trawl -sn --script sniffer-detect (promisc $state)"; show "$TMP/tr.err"
  fi
  if [ $state = on ]; then
    kill -INT "$APID" 2>/dev/null; wait "$APID" 2>/dev/null
    SCAN_PIDS=${SCAN_PIDS// $APID/}
    # requests from our MAC to the fake broadcasts, for each LAN host
    nfake=$(tcpdump -r "$TMP/arp.pcap" -n -e 2>/dev/null | grep -c "> ff:ff:ff:ff:ff:fe, .*Request who-has")
    [ "$nfake" -ge 3 ] && ok "capture: $nfake ARP requests to ff:ff:ff:ff:ff:fe" ||
      nok "capture: $nfake ARP requests to ff:ff:ff:ff:ff:fe (want one per LAN host)"
  fi
  NM 60 -sn -n --script sniffer-detect $LANS
  nm=$(sniffers_nmap "$TMP/nm.out")
  [ "$nm" = "$(sniffers_trawl "$OUT/sniff-$state.xml")" ] && ok "nmap's sniffer-detect agrees (promisc $state: '$nm')" ||
    nok "nmap's sniffer-detect, promisc $state: '$nm'"
done

# ------------------------------------------------------------ ip-record-route
# rr_ping ADDR OURS: ping -R's RR list, without OURS at either end
rr_ping() {
  X 10 ping -n -R -c 1 -W 2 "$1" | awk '/^RR:/ { sub(/^RR:/, ""); on = 1 } on && NF == 1 && $1 ~ /^[0-9.]+$/ { print $1 } on && NF == 0 { on = 0 }' |
    sed "1{/^$2\$/d}" | sed "\${/^$2\$/d}" | tr '\n' ' '
}
if TR 60 -sn -n --script ip-record-route -oX "$OUT/rr.xml" "$LAB_WEB_IP" "$LAB_NAT_IP" "$LAB_LAN1_IP"; then
  check "ip-record-route XML valid under nmap.dtd" valid_xml "$OUT/rr.xml"
  for pair in "$LAB_WEB_IP:$LAB_SCAN_IP" "$LAB_NAT_IP:$LAB_SCAN_IP" "$LAB_LAN1_IP:$LAB_SCAN_IP_LAN"; do
    a=${pair%:*} us=${pair#*:}
    got=$("$PY" "$SR" elems "$OUT/rr.xml" "$a" - ip-record-route | awk -F= '$1 ~ /^hops\./ { print $2 }' | tr '\n' ' ')
    want=$(rr_ping "$a" "$us")
    if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "ip-record-route $a: '$got' = ping -R"
    else nok "ip-record-route $a: got '$got', ping -R '$want'"; fi
  done
  got=$("$PY" "$SR" elems "$OUT/rr.xml" "$LAB_WEB_IP" - ip-record-route | awk -F= '$1 ~ /^hops\./ { print $2 }' | tr '\n' ' ')
  in_list "$LAB_R1_IP_B" $got && in_list "$LAB_R2_IP_B" $got && in_list "$LAB_WEB_IP" $got &&
    ok "web's route holds r1 ($LAB_R1_IP_B), r2 ($LAB_R2_IP_B) and web" || nok "web's route: '$got'"
else
  nok "trawl -sn --script ip-record-route"; show "$TMP/tr.err"
fi

finish
