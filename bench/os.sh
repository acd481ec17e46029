#!/usr/bin/env bash
# os.sh BUILD_DIR [os] [os_wide]: trawl -O against nmap -O on the same lab
# targets, one run each, in one lab (tests/lab/lab.sh up, prefix
# twbos<pid>-, torn down on exit). `make bench-os` runs both scenarios, then
# bench/traceroute.sh (its RESULT traceroute lines). Per
# scenario one line:
#
#   RESULT os trawl=<s> nmap=<s> vs_nmap=<r> same_class=<n>/<hosts> near_class=<n>/<hosts>
#          same_fp=<n>/<hosts>
#   RESULT os_wide ... (the same) trawl_consistent=<n>/<hosts> nmap_consistent=<n>/<hosts>
#
# vs_nmap = nmap's time / trawl's. same_class counts hosts where trawl's
# best OS class (vendor, family, generation, device type of the best
# match) is Nmap's; near_class also counts hosts where each scanner scores
# the other's best class within 2 points of its own best (the random SEQ
# values move the top guesses by a point from run to run); same_fp counts
# hosts whose fingerprint tests are Nmap's (without the SEQ values that
# change between runs): tests/lab/os_results.py.
#
#   os       the lab's eight hosts of tests/lab/test_os.sh (Linux defaults
#            at 1 and 3 hops, the TTL-128 stack without options, the NAT
#            gateway, hosts without an open port), ports 21-23,53,80,443,2323
#   os_wide  the AnyIP host big: 64 addresses (198.19.1.1-64), ports 22,80,443
#            and a closed one (21). All 64 are one stack, so each scanner's
#            answers should all be alike: *_consistent counts the hosts
#            whose class and fingerprint are that scanner's most common
#            ones. (Nmap is no good truth here: on 2026-12-05 it judged its
#            own fingerprints unfit and gave a Linux 3.X class to 39 of
#            the 64, Linux 5.X to the rest.)
#
# Commands (-n -Pn -sS, from the scanner namespace, --osscan-guess, -oX):
#   trawl  trawl -O
#   nmap   nmap -O --min-hostgroup <hosts> (one host group)
# Both at the default timing (-T3). Not -T5: Nmap (and trawl, as it) takes
# a fingerprint made at -T5 as unfit for submission and prints none, so
# there would be no fingerprints to compare; -T5 also only shortens Nmap's
# waits (about 9 s instead of 27 for the os scenario, measured once).
set -uo pipefail
BUILD=${1:?usage: os.sh BUILD_DIR [os] [os_wide]}
shift
SCENARIOS=${*:-os os_wide}
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/../tests/lab/lab.sh
ORES=$HERE/../tests/lab/os_results.py
TRAWL=$(readlink -f "$BUILD")/trawl
PY=/usr/bin/python3
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
die() { echo "os.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$TRAWL" ] || die "$TRAWL not built"
for t in nmap timeout; do command -v $t >/dev/null || die "$t missing (scripts/deps.sh)"; done

export TRAWL_LAB_PREFIX=twbos$$-
TMP=$(mktemp -d /tmp/trawl-bench-os.XXXXXX)
chmod 1777 "$TMP" # trawl writes its output files as nobody
cleanup() {
  timeout 90 "$LAB" down >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
timeout 180 "$LAB" up >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; die "lab.sh up failed"; }
eval "$("$LAB" env)"
S=$LAB_NS_SCAN

echo "# machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r); shared with other jobs"
echo "# versions: $("$TRAWL" --version | head -1); $(nmap --version | head -1)"

timed() {
  local secs=$1 log=$2; shift 2
  local t0 t1
  t0=$(date +%s%N)
  timeout -k 5 "$secs" "$@" >"$log" 2>&1 </dev/null
  echo $? >"$TMP/rc"
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}
rc() { cat "$TMP/rc"; }
ratio() { awk -v p="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.2f", p / t; else print "n/a" }'; }
note() { [ "$2" = 0 ] || echo "# $1 exit $2 (124/137: timed out)"; }

# run NAME PORTS TARGET-ARGS...: both scanners, the comparison, the RESULT line
run() {
  local name=$1 ports=$2; shift 2
  local n tt tn rt rn
  n=$(for a in "$@"; do echo "$a"; done | grep -c '^[0-9]')
  [ -f "$TMP/$name.lst" ] && n=$(wc -l <"$TMP/$name.lst")
  echo "# $name: $n hosts, -p $ports; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  tt=$(timed 600 "$TMP/trawl.log" ip netns exec "$S" "$TRAWL" -n -Pn -sS -O --osscan-guess -p "$ports" "$@" -oX "$TMP/t-$name.xml"); rt=$(rc)
  note trawl "$rt"
  tn=$(timed 1200 "$TMP/nmap.log" ip netns exec "$S" nmap -n -Pn -sS -O --osscan-guess --min-hostgroup "$n" -p "$ports" "$@" -oX "$TMP/n-$name.xml"); rn=$(rc)
  note nmap "$rn"
  "$PY" "$ORES" compare "$TMP/t-$name.xml" "$TMP/n-$name.xml" >"$TMP/$name.cmp"
  grep '^differ' "$TMP/$name.cmp" | sed "s/^/# $name: /"
  local sc sf h
  h=$(tail -1 "$TMP/$name.cmp" | sed -n 's/.*hosts=\([0-9]*\).*/\1/p')
  sc=$(tail -1 "$TMP/$name.cmp" | sed -n 's/.*same_class=\([0-9]*\).*/\1/p')
  sf=$(tail -1 "$TMP/$name.cmp" | sed -n 's/.*same_fp=\([0-9]*\).*/\1/p')
  local nc
  nc=$(tail -1 "$TMP/$name.cmp" | sed -n 's/.*near_class=\([0-9]*\).*/\1/p')
  local extra=
  [ "$name" = os_wide ] && extra=" trawl_consistent=$("$PY" "$ORES" consistent "$TMP/t-$name.xml") nmap_consistent=$("$PY" "$ORES" consistent "$TMP/n-$name.xml")"
  echo "RESULT $name trawl=$tt nmap=$tn vs_nmap=$(ratio "$tn" "$tt") same_class=${sc:-0}/${h:-0} near_class=${nc:-0}/${h:-0} same_fp=${sf:-0}/${h:-0}$extra"
}

if want os; then
  run os 21-23,53,80,443,2323 "$LAB_WEB_IP" "$LAB_DNS_IP" "$LAB_WIN_IP" "$LAB_NAT_IP" "$LAB_UDP_IP" \
    "$LAB_LAN1_IP" "$LAB_LAN2_IP" "$LAB_LAN3_IP"
fi
if want os_wide; then
  net=${LAB_BIG_NET%%.0.0/16}
  for b in $(seq 1 64); do echo "$net.1.$b"; done >"$TMP/os_wide.lst"
  chmod 644 "$TMP/os_wide.lst"
  run os_wide 21,22,80,443 -iL "$TMP/os_wide.lst"
fi
