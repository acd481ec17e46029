#!/usr/bin/env bash
# demo.sh BUILD_DIR: the demonstration behind `make demo`: every stage trawl
# has, on the lab, in about two minutes.
#
# 1. Brings up the lab (tests/lab/lab.sh up --services: network namespaces
#    with routers, a LAN, a NAT gateway, a firewall, and a host of real
#    Debian daemons) under its own prefix.
# 2. Scans the whole lab in one trawl run: ARP discovery on the LAN,
#    ICMP/TCP discovery across the routers, a SYN scan of 1,029 TCP ports
#    and a UDP scan of 6 ports on every live host, all in one event loop;
#    checks the XML against Nmap's DTD.
# 3. -A on the daemon host: version detection (Nmap's nmap-service-probes,
#    the TLS tunnel, the version scripts), OS detection (nmap-os-db), the
#    default scripts and traceroute, in the same loop.
# 4. OS detection per port on the NAT gateway (22 and 80 are two machines).
# 5. The talk's raw-packet scripts through the shared capture:
#    sniffer-detect (lan3 switched to promiscuous mode, then back),
#    ip-record-route, synack-fingerprint (p0f labels from the SYN scan's
#    own SYN+ACKs), and otrace (traceroute inside a TCP connection)
#    getting through the firewall where --traceroute stops.
# 6. Runs the libtrawl loop demo (timers, DNS, TCP echo, a file read in
#    one loop, on loopback).
# 7. Tears the lab down (also on failure or Ctrl-C).
# Nothing leaves the lab's namespaces; only 198.18.0.0/15 is addressed.
set -euo pipefail

BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
TRAWL="$BUILD/trawl"
[ -x "$TRAWL" ] || { echo "demo.sh: $TRAWL is missing; run make first" >&2; exit 1; }
TRAWL=$(cd "$(dirname "$TRAWL")" && pwd)/trawl
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: the lab needs root (network namespaces)" >&2
  exit 1
fi

export TRAWL_LAB_PREFIX=${TRAWL_LAB_PREFIX:-twdemo-}
LAB="$SRC/tests/lab/lab.sh"
OUT=$(mktemp -d /tmp/trawl-demo.XXXXXX)
cleanup() { "$LAB" down >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

section() { echo; echo "== $*"; }
# run ARGS...: trawl in the lab's scanner namespace, the command shown
run() {
  echo "+ trawl $*"
  ip netns exec "$LAB_NS_SCAN" "$TRAWL" "$@"
}

section "bringing up the lab with its daemon host (tests/lab/README.md has the map)"
"$LAB" up --services
eval "$("$LAB" env)"

section "1. discovery + SYN + UDP scan of the whole lab, from ${LAB_NS_SCAN}"
run -n -sS -sU --reason \
  -p T:1-1024,2323,8080,8081,8443,U:7,53,69,123,137,161 \
  198.18.1.0/24 198.18.10-11.0-255 198.18.20-21.0-255 198.18.30.0/24 \
  -oX "$OUT/lab.xml" -oG "$OUT/lab.gnmap" >"$OUT/lab.nmap"
awk '/^Trawl scan report/ { h = $NF } / open / { n[h]++ } END { for (a in n) printf "  %-16s %d open\n", a, n[a] }' \
  "$OUT/lab.nmap" | sort -V
grep "^Trawl done" "$OUT/lab.nmap"
if command -v xmllint >/dev/null && [ -f /usr/share/nmap/nmap.dtd ]; then
  xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd "$OUT/lab.xml" &&
    echo "XML output validates against Nmap's nmap.dtd ($OUT/lab.xml)"
fi
echo "live hosts found: $(grep -c 'Status: Up' "$OUT/lab.gnmap"), open ports: $(grep -o '/open/' "$OUT/lab.gnmap" | wc -l)"

section "2. -A on the daemon host ${LAB_SVC_IP}: -sV -O -sC --traceroute in one loop"
run -A -n -Pn -p 21,25,80,110,143,443,993,1883,3306,5432,6379,8883 "$LAB_SVC_IP" \
  -oX "$OUT/svc.xml"

section "3. OS detection per port: the NAT gateway ${LAB_NAT_IP} forwards 22 and 80 to two machines"
run -n -Pn -sS --osscan-per-port -p 22,80,443 "$LAB_NAT_IP" "$LAB_WEB_IP"

section "4. the talk's raw-packet scripts, in Lua, through the shared capture"
echo "-- sniffer-detect, lan3 (${LAB_PROMISC_IP}) in promiscuous mode:"
"$LAB" promisc on >/dev/null
run -sn -n --script sniffer-detect $LAB_LAN_LIVE
echo "-- sniffer-detect, promiscuous mode off again:"
"$LAB" promisc off >/dev/null
run -sn -n --script sniffer-detect $LAB_LAN_LIVE
echo "-- ip-record-route (ICMP echo with the Record Route option):"
run -sn -n --script ip-record-route "$LAB_WEB_IP"
echo "-- synack-fingerprint (p0f labels of the SYN scan's own SYN+ACKs; Linux and the TTL-128 stack):"
run -n -Pn -sS -p 22,80,2323 --script synack-fingerprint "$LAB_WEB_IP" "$LAB_WIN_IP"
echo "-- --traceroute to in4 (${LAB_IN4_IP}) stops at the firewall; otrace, inside a TCP connection, gets through:"
run -n -Pn -sS -p 80 --traceroute --script otrace "$LAB_IN4_IP"

if [ -x "$BUILD/docs/examples/loop-demo" ]; then
  section "5. libtrawl loop demo: one loop, four kinds of work (times in ms since start)"
  "$BUILD/docs/examples/loop-demo" "$SRC/docs/examples/loop-demo.c"
fi
section "demo done; outputs in $OUT; tearing the lab down"
