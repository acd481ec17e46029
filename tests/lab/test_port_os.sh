#!/usr/bin/env bash
# test_port_os.sh BUILD_DIR: per-port OS detection on every lab host.
# Own lab (prefix twportos<pid>-), torn down on EXIT, also on failure.
#
#   per port    -n -Pn -sS --osscan-per-port on every lab host with open
#               TCP ports (web, dns, win, nat, udp, lan1), ports
#               21-23,53,80,443,2323: the NAT gateway (22 forwarded to a
#               Linux stack, 80 to the TTL-128 one) comes out as two groups,
#               22 and 80, the second with the signals that differ (initial
#               TTL and SYN+ACK: both stacks are 4 hops away), and its
#               closed port (the gateway itself) like neither; every
#               other host is one group of all its open TCP ports (taken
#               from the same run's port table, not written here). XML is
#               valid against nmap.dtd.
#   script      the same hosts with --script port-os and no -O: the script
#               turns per-port detection on; its host result says "2 stacks"
#               for nat and "one stack" for every other host with two open
#               TCP ports or more.
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/scan-lib.sh"
scan_init portos "${1:-}"
scan_lab_up
PORTS=21-23,53,80,443,2323
HOSTS="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_NAT_IP $LAB_UDP_IP $LAB_LAN1_IP"

# groups FILE SCRIPT_ID: "ADDR OPEN GROUP GROUP..." per host: its open TCP
# ports and the groups of the host script SCRIPT_ID (os-per-port's tables)
groups() {
  "$PY" - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
for h in ET.parse(sys.argv[1]).getroot().iter("host"):
    a = h.find("address").get("addr")
    opened = [p.get("portid") for p in h.iter("port")
              if p.get("protocol") == "tcp" and p.find("state").get("state") == "open"]
    gs = []
    for sc in h.iter("script"):
        if sc.get("id") == "os-per-port":
            gs = [",".join(e.text for e in t.find("table[@key='ports']")) for t in sc.findall("table")]
    print(a, ",".join(opened) or "-", " ".join(gs) or "-")
PY
}

# ---- --osscan-per-port
t0=$(date +%s%N)
# shellcheck disable=SC2086
TR 300 -n -Pn -sS --osscan-per-port -p $PORTS $HOSTS -oX "$OUT/pp.xml" -oN "$OUT/pp.nmap"
echo "# trawl --osscan-per-port: $(( ($(date +%s%N) - t0) / 1000000 )) ms, $(echo $HOSTS | wc -w) hosts"
check "--osscan-per-port exits 0" test "$(cat "$TMP/tr.rc")" = 0
check "--osscan-per-port XML is valid against nmap.dtd" valid_xml "$OUT/pp.xml"
groups "$OUT/pp.xml" >"$TMP/pp.txt"
sed 's/^/       /' "$TMP/pp.txt"
check "nat is split into 22 and 80" grep -qx "$LAB_NAT_IP 22,80 22 80" "$TMP/pp.txt"
n=0
while read -r addr opened gs; do
  [ "$addr" = "$LAB_NAT_IP" ] && continue
  case $opened in *,*) ;; *) continue ;; esac # fewer than two open TCP ports
  n=$((n + 1))
  check "$addr is one stack on all its open ports ($opened)" test "$gs" = "$opened"
done <"$TMP/pp.txt"
check "at least two ordinary hosts were checked ($n)" test "$n" -ge 2
check "normal output: nat's second group, its distance and the signals that differ" \
  grep -q "80/tcp: a different stack, .*distance [0-9]* (port forwarding?).*differs from 22/tcp in: " "$OUT/pp.nmap"
check "nat's stacks differ in the initial TTL (64 and 128) and the SYN+ACK" \
  grep -q "80/tcp: .*differs from 22/tcp in: TTL/distance, SYN+ACK" "$OUT/pp.nmap"
check "nat's closed port is answered by the gateway itself: like none of the open ports" \
  grep -q "closed port: RST from distance [0-9]*, like none of the open ports" "$OUT/pp.nmap"
check "every other host's closed port answers like its open ports (2 hosts)" \
  test "$(grep -c "closed port: RST from distance [0-9]*, like [0-9]*/tcp" "$OUT/pp.nmap")" = 2
grep -A4 "os-per-port" "$OUT/pp.nmap" | sed 's/^/       /'

# ---- --script port-os, no -O
# shellcheck disable=SC2086
TR 300 -n -Pn -sS --script port-os -p $PORTS $HOSTS -oX "$OUT/ps.xml" -oN "$OUT/ps.nmap"
check "--script port-os exits 0" test "$(cat "$TMP/tr.rc")" = 0
check "--script port-os XML is valid against nmap.dtd" valid_xml "$OUT/ps.xml"
"$PY" - "$OUT/ps.xml" >"$TMP/ps.txt" <<'PY'
import sys, xml.etree.ElementTree as ET
for h in ET.parse(sys.argv[1]).getroot().iter("host"):
    a = h.find("address").get("addr")
    for sc in h.iter("script"):
        if sc.get("id") == "port-os":
            print(a, sc.get("output").split("\n")[0])
PY
sed 's/^/       /' "$TMP/ps.txt"
grep -A5 "^| port-os" "$OUT/ps.nmap" | sed 's/^/       /' # the grouping's evidence
check "port-os: nat is 2 stacks" grep -qx "$LAB_NAT_IP 2 stacks" "$TMP/ps.txt"
m=0
while read -r addr opened gs; do
  [ "$addr" = "$LAB_NAT_IP" ] && continue
  case $opened in *,*) ;; *) continue ;; esac
  m=$((m + 1))
  check "port-os: $addr is one stack" grep -q "^$addr one stack: $opened/tcp" "$TMP/ps.txt"
done <"$TMP/pp.txt"
check "port-os: as many hosts as --osscan-per-port checked ($m)" test "$m" = "$n"
check "port-os: nat's output names the signals that differ" \
  grep -q "80/tcp: a different stack, .*(port forwarding?); differs in: [a-zA-Z]" "$OUT/ps.nmap"
finish
