#!/usr/bin/env bash
# asan: skip (it compares the port table, UDP payloads and MAC vendors with nmap; their parsers have fuzz harnesses)
# ctest-cost: 90
# test_nmap_data.sh: trawl reads Nmap's own data files (Debian's
# nmap-common) at run time, and what it takes from them matches nmap run
# in the same lab (issue 13, "Nmap's data files"):
#   - nmap-services: the port lists of -F, --top-ports N (for N up to every
#     listed port) and --port-ratio, TCP and UDP, port for port against the
#     services="..." list of nmap's <scaninfo>; -p by Nmap's service names;
#     the SERVICE column as nmap prints it;
#   - -d names the port table file used, and --datadir with a directory
#     without nmap-services falls back to trawl's data/trawl-services;
#   - nmap-payloads: the UDP payloads on the wire (-sU, one try), port by
#     port the same multiset of payloads as nmap's, captured in the lab;
#   - nmap-mac-prefixes: "MAC Address: ... (Vendor)" and the XML vendor,
#     the same lines as nmap's for the lab's LAN, where one host is given
#     a registered OUI (08:00:27) for the test.
#
#   test_nmap_data.sh BUILD_DIR   (root)
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init nmapdata "${1:-}"
[ -r /usr/share/nmap/nmap-services ] || { nok "/usr/share/nmap/nmap-services missing (nmap-common)"; finish; }
scan_lab_up

WEB=$LAB_WEB_IP
DEAD=$LAB_DEAD_IP

# expand "1,3-5;7" -> one port a line, "proto port", per ';'-separated proto
expand() {
  "$PY" -c '
import sys
for k, part in enumerate(sys.argv[1].strip(";").split(";")):
    for r in part.split(","):
        if "-" in r:
            a, b = r.split("-")
            for p in range(int(a), int(b) + 1): print(k, p)
        elif r: print(k, r)' "$1"
}

# same_ports ARGS...: trawl --dry-run's port lists against nmap's scaninfo
# (nmap scans a dead address: its <scaninfo> is written before discovery)
same_ports() {
  local nm tr
  NM 60 -n "$@" -oX - "$DEAD"
  nm=$(grep -o ' services="[^"]*"' "$TMP/nm.out" | sed 's/ services="//;s/"//' | tr '\n' ';')
  TR 30 --dry-run "$@" "$DEAD"
  tr=$(grep -E "^(tcp|udp) ports: +[1-9]" "$TMP/tr.out" | sed 's/.*(\(.*\))/\1/' | tr '\n' ';')
  expand "$nm" >"$TMP/nm.ports"
  expand "$tr" >"$TMP/tr.ports"
  local n_nm n_tr d
  n_nm=$(wc -l <"$TMP/nm.ports")
  n_tr=$(wc -l <"$TMP/tr.ports")
  d=$(diff "$TMP/nm.ports" "$TMP/tr.ports" | grep -c '^[<>]')
  if [ "$n_nm" -gt 0 ] && [ "$d" = 0 ]; then ok "ports of '$*': the same $n_tr as nmap"
  else nok "ports of '$*': nmap $n_nm, trawl $n_tr, $d differ"; show "$TMP/tr.err" 3; fi
}

same_ports -F
same_ports --top-ports 1
same_ports --top-ports 10
same_ports --top-ports 1000
same_ports --top-ports 1001
same_ports --top-ports 4000
same_ports --top-ports 65535
same_ports -sU -F
same_ports -sU --top-ports 1000
same_ports -sU --top-ports 3000
same_ports -sS -sU --top-ports 200
same_ports --port-ratio 0.1
same_ports --port-ratio 0.01
same_ports --port-ratio 0
same_ports -sU --port-ratio 0.001
same_ports -p 1-2000 --top-ports 50
same_ports -p http-proxy,ms-wbt-server

# the SERVICE column: Nmap's names, port by port
TR 60 -n -Pn -p 21-25,80,443,2323,8080,8081 "$WEB"
NM 60 -n -Pn -p 21-25,80,443,2323,8080,8081 "$WEB"
svc() { awk '/^[0-9]+\/(tcp|udp) / { print $1, $3 }' "$1"; }
if [ -n "$(svc "$TMP/tr.out")" ] && diff <(svc "$TMP/tr.out") <(svc "$TMP/nm.out") >"$TMP/d.out"; then
  ok "SERVICE column: the same names as nmap on $(svc "$TMP/tr.out" | wc -l) ports"
else nok "SERVICE column differs from nmap's"; show "$TMP/d.out"; fi

# -d says which port table; a --datadir without nmap-services falls back
TR 30 -d --dry-run -p 80 "$WEB"
check "-d names /usr/share/nmap/nmap-services" grep -q "port table: .*nmap-services" "$TMP/tr.err"
mkdir -p "$OUT/dd" "$OUT/empty"
printf 'onlyone\t4242/tcp\t0.9\n' >"$OUT/dd/nmap-services"
TR 30 --dry-run --datadir "$OUT/dd" -F "$WEB"
check "--datadir's nmap-services comes first" grep -q "tcp ports:   1 (4242)" "$TMP/tr.out"
# Without any nmap-services (an empty directory over /usr/share/nmap, in a
# mount namespace of its own; --dry-run sends nothing): trawl's own table,
# and -d says so
timeout 30 unshare -m sh -c "mount --bind $OUT/empty /usr/share/nmap &&
  NMAPDIR= HOME=/nonexistent $TRAWL -d --dry-run -F $WEB" >"$TMP/fb.out" 2>"$TMP/fb.err"
check "no nmap-services: falls back to trawl-services (-d)" grep -q "port table: .*trawl-services" "$TMP/fb.err"
check "no nmap-services: -F still has 100 TCP ports" grep -q "tcp ports:   100 " "$TMP/fb.out"
timeout 30 unshare -m sh -c "mount --bind $OUT/empty /usr/share/nmap &&
  NMAPDIR= HOME=/nonexistent $TRAWL --dry-run --port-ratio 0.1 $WEB" >"$TMP/fb.out" 2>"$TMP/fb.err"
check "no nmap-services: --port-ratio is one clear error" grep -q "port-ratio needs Nmap's nmap-services" "$TMP/fb.err"
# UDP payloads on the wire, trawl against nmap (both: -Pn, one try, a dead
# address, so every probe is sent once and nothing answers)
UPORTS=7,53,69,111,123,137,161,500,1900,5353,12345,40000
udp_capture() { # NAME CMD...: the payloads CMD sends, sorted
  local name=$1; shift
  timeout -k 2 60 ip netns exec "$S" tcpdump -i any -n -U --immediate-mode -B 16384 -w "$TMP/$name.pcap" \
    "udp and dst host $DEAD" 2>"$TMP/$name.td" &
  local td=$!
  for _ in $(seq 100); do grep -q "listening on" "$TMP/$name.td" && break; sleep 0.1; done
  "$@"
  sleep 0.5
  kill -INT $td 2>/dev/null
  wait $td 2>/dev/null
  "$PY" "$HERE/udp_payloads.py" "$TMP/$name.pcap" | LC_ALL=C sort >"$TMP/$name.pl"
}
udp_capture nm NM 60 -n -Pn -sU -p "$UPORTS" --max-retries 0 "$DEAD"
udp_capture tr TR 60 -d -n -Pn -sU -p "$UPORTS" --max-retries 0 "$DEAD"
check "-d names the UDP payload file" grep -q "UDP payloads: .*nmap-payloads" "$TMP/tr.err"
if [ -s "$TMP/nm.pl" ] && diff "$TMP/nm.pl" "$TMP/tr.pl" >"$TMP/d.out"; then
  ok "UDP payloads to $UPORTS: the same $(wc -l <"$TMP/tr.pl") packets as nmap's"
else nok "UDP payloads differ from nmap's (nmap $(wc -l <"$TMP/nm.pl"), trawl $(wc -l <"$TMP/tr.pl"))"
  show "$TMP/d.out" 6; show "$TMP/tr.err" 8; show "$TMP/tr.td" 4; fi

# MAC vendors: lan1 gets a registered prefix (this test's own lab only)
ip -n "${LAB_PREFIX}lan1" link set dev eth0 address 08:00:27:01:00:0b
X 10 ip neigh flush all
TR 60 -n -p 22 "$LAB_LAN1_IP" "$LAB_LAN2_IP"
X 10 ip neigh flush all
NM 60 -n -p 22 "$LAB_LAN1_IP" "$LAB_LAN2_IP"
macs() { grep "^MAC Address:" "$1"; }
if grep -q "MAC Address: 08:00:27:01:00:0B (Oracle VirtualBox virtual NIC)" "$TMP/tr.out" &&
  diff <(macs "$TMP/tr.out") <(macs "$TMP/nm.out") >"$TMP/d.out"; then
  ok "MAC vendors: the same $(macs "$TMP/tr.out" | wc -l) 'MAC Address' lines as nmap"
else nok "MAC vendors differ from nmap's"; show "$TMP/d.out"; show "$TMP/tr.out"; fi
TR 60 -n -sn -oX - "$LAB_LAN1_IP"
check "MAC vendor in the XML" grep -q 'addrtype="mac" vendor="Oracle VirtualBox virtual NIC"' "$TMP/tr.out"
TR 60 -d -n -sn "$LAB_LAN1_IP"
check "-d names the MAC vendor file" grep -q "MAC vendors: .*nmap-mac-prefixes" "$TMP/tr.err"

# the XML names Nmap's stylesheet, as nmap does (the same file); the
# options that change it
xsl() { sed -n 's/^<?xml-stylesheet href="file:\/\/\([^"]*\)".*/\1/p' "$1" | head -1; }
TR 30 -n -p 22 -oX - "$WEB"
NM 30 -n -p 22 -oX - "$WEB"
t_xsl=$(xsl "$TMP/tr.out")
n_xsl=$(xsl "$TMP/nm.out")
if [ -n "$t_xsl" ] && [ "$(readlink -f "$t_xsl")" = "$(readlink -f "$n_xsl")" ]; then
  ok "XML: <?xml-stylesheet?> names the same nmap.xsl as nmap's ($t_xsl)"
else nok "XML stylesheet: trawl '$t_xsl', nmap '$n_xsl'"; fi
check "XML with the stylesheet is valid under nmap.dtd" sh -c "xmllint --noout --dtdvalid $NMAP_DTD $TMP/tr.out"
TR 30 -n -p 22 --webxml -oX - "$WEB"
check "--webxml names nmap.org's stylesheet" grep -q '<?xml-stylesheet href="https://nmap.org/svn/docs/nmap.xsl"' "$TMP/tr.out"
TR 30 -n -p 22 --no-stylesheet -oX - "$WEB"
check "--no-stylesheet names none" sh -c "! grep -q 'xml-stylesheet' $TMP/tr.out"

bad_args 2 "--port-ratio must be a decimal from 0 to 1" --port-ratio 1.5 "$WEB"
bad_args 2 "--port-ratio cannot be combined" --port-ratio 0.1 -F "$WEB"

finish
