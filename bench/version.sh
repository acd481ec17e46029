#!/usr/bin/env bash
# version.sh BUILD_DIR [version] [version_wide]: trawl -sV against nmap -sV
# on the same lab targets, one run each, in one lab (tests/lab/lab.sh up
# --services, prefix twbvr<pid>-, torn down on exit). `make bench-version`
# runs both scenarios. Per scenario one line:
#
#   RESULT version trawl=<s> nmap=<s> vs_nmap=<r> same=<n> differ=<n>
#   RESULT version_wide trawl=<s> nmap=<s> vs_nmap=<r> same=<n> differ=<n>
#          ports=<n> trawl_maxrss=<MB>
#
# vs_nmap = nmap's time / trawl's (how many times faster trawl is). Nmap
# is the truth: same/differ count its open ports by version_results.py's
# fields (service name with "ssl/" and "NAME?", product, version,
# extrainfo, tunnel); a field that is a live counter (memcached's uptime)
# is found by a second, untimed Nmap scan of the ports that differ only in
# digits and compared with digits masked (tests/lab/version_volatile.py).
#
#   version       the daemon host (198.18.30.40, tests/lab/README.md
#                 "Daemon lab"): every port of `lab.sh services truth`,
#                 TCP and UDP (23 + 2)
#   version_wide  the AnyIP host big: 400 addresses (198.19.1-4.1-100) x
#                 ports 22,80,443, nginx on all three (1,200 open ports);
#                 trawl's peak RSS from GNU time -v ("Maximum resident set
#                 size")
#
# Commands (-n -Pn, from the scanner namespace, -oX):
#   trawl  trawl -sS [-sU] -sV -p PORTS TARGETS
#   nmap   nmap -sS [-sU] -sV -T5 --min-hostgroup H --min-parallelism P
#               --max-parallelism P -p PORTS TARGETS
#          with H = the number of targets and P = the number of open ports
#          (at least 100): one host group, every port's service probes at
#          once. Nmap's service scan runs 20/30/40 ports at a time at
#          -T3/-T4/-T5 and only within one host group; these flags are its
#          fastest setting, and its answers are the same as with -T4's
#          defaults (docs/benchmarks.md "Version detection"). The version
#          intensity stays at Nmap's default 7.
set -uo pipefail
BUILD=${1:?usage: version.sh BUILD_DIR [version] [version_wide]}
shift
SCENARIOS=${*:-version version_wide}
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/../tests/lab/lab.sh
VRES=$HERE/../tests/lab/version_results.py
VVOL=$HERE/../tests/lab/version_volatile.py
TRAWL=$(readlink -f "$BUILD")/trawl
PY=/usr/bin/python3
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
die() { echo "version.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$TRAWL" ] || die "$TRAWL not built"
for t in nmap /usr/bin/time timeout; do command -v $t >/dev/null || die "$t missing (scripts/deps.sh)"; done

export TRAWL_LAB_PREFIX=twbvr$$-
TMP=$(mktemp -d /tmp/trawl-bench-version.XXXXXX)
chmod 1777 "$TMP" # trawl writes its output files as nobody
cleanup() {
  timeout 90 "$LAB" down >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
timeout 180 "$LAB" up --services >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; die "lab.sh up --services failed"; }
eval "$("$LAB" env)"
S=$LAB_NS_SCAN

echo "# machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ { print $2 }') GiB, kernel $(uname -r); shared with other jobs"
echo "# versions: $("$TRAWL" --version | head -1); $(nmap --version | head -1)"
echo "# lab: prefix $TRAWL_LAB_PREFIX, scanner $S"

# timed SECS LOG CMD...: wall time in seconds (2 decimals); exit status in $TMP/rc
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
load() { echo "# load average before $1: $(cut -d' ' -f1-3 /proc/loadavg)"; }
# note NAME RC: a comment when a run did not end well
note() { [ "$2" = 0 ] || echo "# $1 exit $2 (124/137: timed out)"; }
# nmap flags for TARGETS OPEN-PORTS: the fastest setting (see the top)
nmap_fast() { local p=$(($2 > 100 ? $2 : 100)); echo "-T5 --min-hostgroup $1 --min-parallelism $p --max-parallelism $p"; }

# compare NAME TRUTH.xml OTHER.xml SCANTYPES PORTS TARGET...: same/differ
# into $TMP/NAME.cmp (second, untimed Nmap scan of the digit-only differences)
compare() {
  local name=$1 truth=$2 other=$3 types=$4 ports=$5; shift 5
  local again=- p
  "$PY" "$VVOL" candidates "$truth" "$other" >"$TMP/$name.vol"
  if [ -s "$TMP/$name.vol" ]; then
    p=$(awk '{ print ($1 == "tcp" ? "T:" : "U:") $2 }' "$TMP/$name.vol" | sort -u | paste -sd,)
    sleep 1
    timeout -k 5 600 ip netns exec "$S" nmap $types -sV -n -Pn -T5 -p "$p" "$@" -oX "$TMP/$name.again.xml" \
      >/dev/null 2>&1 </dev/null && again=$TMP/$name.again.xml
  fi
  "$PY" "$VVOL" compare "$truth" "$again" "$other" >"$TMP/$name.cmp"
  grep -v '^same.*[^)]$' "$TMP/$name.cmp" | sed "s/^/# $name: /"
}
counts() { tail -1 "$TMP/$1.cmp" | awk '{ print $1, $2 }'; }

if want version; then
  "$LAB" services truth | grep -v '^#' >"$TMP/truth"
  TCP=$(awk -v a="$LAB_SVC_IP" '$1 == a && $2 == "tcp" { print $3 }' "$TMP/truth" | paste -sd,)
  UDP=$(awk -v a="$LAB_SVC_IP" '$1 == a && $2 == "udp" { print $3 }' "$TMP/truth" | paste -sd,)
  n=$(wc -l <"$TMP/truth")
  F=$(nmap_fast 1 "$n")
  echo "# version: $LAB_SVC_IP -p T:$TCP,U:$UDP ($n ports); nmap $F"
  load version
  tt=$(timed 600 "$TMP/trawl.log" ip netns exec "$S" "$TRAWL" -sS -sU -sV -n -Pn -p "T:$TCP,U:$UDP" "$LAB_SVC_IP" -oX "$TMP/t.xml"); rt=$(rc)
  note trawl "$rt"
  tn=$(timed 900 "$TMP/nmap.log" ip netns exec "$S" nmap -sS -sU -sV -n -Pn $F -p "T:$TCP,U:$UDP" "$LAB_SVC_IP" -oX "$TMP/n.xml"); rn=$(rc)
  note nmap "$rn"
  compare version "$TMP/n.xml" "$TMP/t.xml" "-sS -sU" "T:$TCP,U:$UDP" "$LAB_SVC_IP"
  echo "RESULT version trawl=$tt nmap=$tn vs_nmap=$(ratio "$tn" "$tt") $(counts version)"
fi

if want version_wide; then
  net=${LAB_BIG_NET%%.0.0/16}
  for a in 1 2 3 4; do for b in $(seq 1 100); do echo "$net.$a.$b"; done; done >"$TMP/wide.lst"
  chmod 644 "$TMP/wide.lst"
  P=$(echo "$LAB_BIG_TCP_OPEN" | tr ' ' ,)
  nt=$(wc -l <"$TMP/wide.lst")
  F=$(nmap_fast "$nt" $((nt * $(echo "$LAB_BIG_TCP_OPEN" | wc -w))))
  echo "# version_wide: $nt addresses ($net.1-4.1-100) -p $P; nmap $F"
  load version_wide
  tt=$(timed 600 "$TMP/trawl.log" /usr/bin/time -v -o "$TMP/trawl.time" ip netns exec "$S" "$TRAWL" \
    -sS -sV -n -Pn -p "$P" -iL "$TMP/wide.lst" -oX "$TMP/tw.xml"); rt=$(rc)
  note trawl "$rt"
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$TMP/trawl.time")
  tn=$(timed 900 "$TMP/nmap.log" ip netns exec "$S" nmap -sS -sV -n -Pn $F -p "$P" -iL "$TMP/wide.lst" -oX "$TMP/nw.xml"); rn=$(rc)
  note nmap "$rn"
  compare version_wide "$TMP/nw.xml" "$TMP/tw.xml" -sS "$P" -iL "$TMP/wide.lst"
  echo "RESULT version_wide trawl=$tt nmap=$tn vs_nmap=$(ratio "$tn" "$tt") $(counts version_wide)" \
    "ports=$("$PY" "$VRES" services "$TMP/nw.xml" | wc -l) trawl_maxrss=${rss:-?}MB"
fi
