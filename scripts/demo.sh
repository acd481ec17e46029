#!/usr/bin/env bash
# demo.sh BUILD_DIR: the demonstration behind `make demo`.
#
# 1. Brings up the lab (tests/lab/lab.sh: network namespaces with real
#    daemons, routers, a LAN, a NAT gateway) under its own prefix.
# 2. Scans the whole lab from the lab's scanner namespace with one trawl
#    run: ARP discovery on the LAN, ICMP/TCP discovery across the routers,
#    a SYN scan of 1,029 TCP ports and a UDP scan of 6 ports on every live
#    host, all in one event loop; prints the report and checks the XML
#    against Nmap's DTD.
# 3. Runs the libtrawl loop demo (timers, DNS, TCP echo, a file read in
#    one loop, on loopback).
# 4. Tears the lab down (also on failure or Ctrl-C).
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

echo "== bringing up the lab (tests/lab/README.md has the map)"
"$LAB" up
eval "$("$LAB" env)"

echo
echo "== trawl: discovery + SYN + UDP scan of the whole lab, from ${LAB_NS_SCAN}"
set -x
ip netns exec "$LAB_NS_SCAN" "$TRAWL" -n -sS -sU --reason \
  -p T:1-1024,2323,8080,8081,8443,U:7,53,69,123,137,161 \
  198.18.1.0/24 198.18.10-11.0-255 198.18.20-21.0-255 198.18.30.0/24 \
  -oX "$OUT/lab.xml" -oG "$OUT/lab.gnmap"
{ set +x; } 2>/dev/null

echo
echo "== checks"
if command -v xmllint >/dev/null && [ -f /usr/share/nmap/nmap.dtd ]; then
  xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd "$OUT/lab.xml" &&
    echo "XML output validates against Nmap's nmap.dtd ($OUT/lab.xml)"
fi
echo "live hosts found: $(grep -c 'Status: Up' "$OUT/lab.gnmap"), open ports: $(grep -o '/open/' "$OUT/lab.gnmap" | wc -l)"
echo "NAT gateway ${LAB_NAT_IP}: port 22 answers with TTL ${LAB_NAT_TTL_22}, port 80 with TTL ${LAB_NAT_TTL_80} (two machines behind one address)"

if [ -x "$BUILD/docs/examples/loop-demo" ]; then
  echo
  echo "== libtrawl loop demo: one loop, four kinds of work (times in ms since start)"
  "$BUILD/docs/examples/loop-demo" "$SRC/docs/examples/loop-demo.c"
fi
echo
echo "== demo done; outputs in $OUT; tearing the lab down"
