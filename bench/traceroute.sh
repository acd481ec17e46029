#!/usr/bin/env bash
# traceroute.sh BUILD_DIR [traceroute] [traceroute_wide] [traceroute_reached]: trawl --traceroute
# against nmap --traceroute on the same lab targets, one run each, in one
# lab (tests/lab/lab.sh up, prefix twbtr<pid>-, torn down on exit). `make
# bench-traceroute` runs the three scenarios. Per scenario one line:
#
#   RESULT traceroute trawl=<s> nmap=<s> vs_nmap=<r> same_hops=<n>/<hosts>
#   RESULT traceroute_wide trawl=<s> nmap=<s> vs_nmap=<r> same_hops=<n>/<hosts>
#   RESULT traceroute_reached trawl=<s> nmap=<s> vs_nmap=<r> same_hops=<n>/<hosts>
#
# vs_nmap = nmap's time / trawl's (how many times faster trawl is), wall
# time of the whole command. Nmap is the truth: same_hops counts hosts
# whose hops (TTL and address of every <hop> in the XML) are the same in
# both (tests/lab/trace_results.py compare).
#
#   traceroute       the lab's routed and firewalled hosts: web, dns, win,
#                    r2, lan1 (on our link), in1, in2, in3 and in4 behind the
#                    firewall router fw (in3: every new packet dropped, so
#                    its trace ends at fw after silent TTLs; in4: new packets
#                    with a TTL below 40 dropped, the same)
#   traceroute_wide  those and 200 addresses of the AnyIP host big
#                    (198.19.1.1-200, two hops, one path: hops shared)
#   traceroute_reached  traceroute_wide without in3 and in4: every trace
#                    reaches its host (no silent TTLs to wait out)
#
# Commands (-Pn, from the scanner namespace, -oX):
#   trawl  trawl -sS -p 22,80,443 --traceroute TARGETS
#   nmap   nmap  -sS -p 22,80,443 --traceroute TARGETS   (default timing)
set -uo pipefail
BUILD=${1:?usage: traceroute.sh BUILD_DIR [traceroute] [traceroute_wide] [traceroute_reached]}
shift
SCENARIOS=${*:-traceroute traceroute_wide traceroute_reached}
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/../tests/lab/lab.sh
TRES=$HERE/../tests/lab/trace_results.py
TRAWL=$(readlink -f "$BUILD")/trawl
PY=/usr/bin/python3
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
die() { echo "traceroute.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$TRAWL" ] || die "$TRAWL not built"
command -v nmap >/dev/null || die "nmap missing (scripts/deps.sh)"

export TRAWL_LAB_PREFIX="twbtr$$-"
TMP=$(mktemp -d /tmp/trawl-bench-traceroute.XXXXXX)
chmod 755 "$TMP"
cleanup() { timeout 60 "$LAB" down >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
timeout 120 "$LAB" up >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log" >&2; die "lab.sh up failed"; }
eval "$("$LAB" env)"
NS=$LAB_NS_SCAN

# secs CMD...: wall seconds of CMD (3 decimals); CMD's output to $TMP/last
secs() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$TMP/last" 2>&1 || { cat "$TMP/last" >&2; die "failed: $*"; }
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

run() { # NAME TARGETS...
  local name=$1; shift
  echo "traceroute.sh: $name: $# target arguments" >&2
  local tt nt
  tt=$(secs timeout 600 ip netns exec "$NS" "$TRAWL" -Pn -sS -p 22,80,443 --traceroute \
        -oX "$TMP/$name.trawl.xml" "$@")
  nt=$(secs timeout 1200 ip netns exec "$NS" nmap -Pn -sS -p 22,80,443 --traceroute \
        -oX "$TMP/$name.nmap.xml" "$@")
  "$PY" "$TRES" compare "$TMP/$name.trawl.xml" "$TMP/$name.nmap.xml" >"$TMP/$name.cmp"
  grep '^differ' "$TMP/$name.cmp" | head -5 >&2
  local same hosts
  same=$(sed -n 's/^RESULT same=\([0-9]*\) .*/\1/p' "$TMP/$name.cmp")
  hosts=$(sed -n 's/.* hosts=\([0-9]*\)$/\1/p' "$TMP/$name.cmp")
  echo "RESULT $name trawl=$tt nmap=$nt vs_nmap=$(awk -v a="$nt" -v b="$tt" 'BEGIN { printf "%.2f", a / b }') same_hops=$same/$hosts"
}

LABT="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_R2_IP $LAB_LAN1_IP $LAB_IN1_IP $LAB_IN2_IP $LAB_IN3_IP $LAB_IN4_IP"
for sc in $SCENARIOS; do
  case $sc in
    # shellcheck disable=SC2086
    traceroute) run traceroute $LABT ;;
    # shellcheck disable=SC2086
    traceroute_wide) run traceroute_wide $LABT 198.19.1.1-200 ;;
    # shellcheck disable=SC2086
    traceroute_reached) run traceroute_reached ${LABT% $LAB_IN3_IP $LAB_IN4_IP} 198.19.1.1-200 ;;
    *) die "unknown scenario $sc" ;;
  esac
done
