#!/usr/bin/env bash
# nse.sh BUILD_DIR [nse] [nse_wide]: Nmap's own NSE scripts (issue 12) run
# by trawl against nmap, on the same lab targets, one run each, in one lab
# (tests/lab/lab.sh up --services, prefix twbnse<pid>-, torn down on exit;
# every probe from the lab's scanner namespace, to lab addresses only).
# `make bench-nse` runs both scenarios. Per scenario one line:
#
#   RESULT nse trawl=<s> nmap=<s> vs_nmap=<r> same=<n> differ=<n>
#   RESULT nse_wide trawl=<s> nmap=<s> vs_nmap=<r> hosts=<n>
#   RESULT nse_memory per_thread=<KiB>KiB threads=<n>
#
# vs_nmap = nmap's time / trawl's (how many times faster trawl is). Nmap is
# the truth: same/differ count script instances by tests/lab/nse_compare.py
# (its normaliser: time fields, per-connection values; see its header).
#
#   nse       -sC on the lab, the TCP and UDP runs of tests/lab/test_nse_compare.sh
#             side by side for each tool (TCP: -sS -sV -sC on every lab host
#             with a TCP service, the lab's open TCP ports but telnet's 23;
#             UDP: -sU -sV -sC on udp, dns and svc, ports 7,53,123,161,11211),
#             wall time from the first start to the last end. nmap -T4
#             (trawl's default timing); the version intensity stays 7.
#   nse_wide  --script http-title,ssl-cert on WIDE_HOSTS (default 1,024)
#             addresses of the AnyIP host big, ports 80 (plain nginx) and
#             8443: big's lab nginx speaks plain HTTP on 22, 80 and 443, so
#             `lab.sh bigtls on` starts a second nginx in big's namespace
#             with TLS on 8443 only (self-signed big.lab.test; the lab's
#             ground truth and the other tests are unchanged: none of them
#             looks at big's 8443).
#             8443 is in Nmap's LIKELY_HTTP_PORTS and LIKELY_SSL_PORTS, so
#             both scripts' rules fire there without -sV.
#               trawl  -Pn -n -sS -p 80,8443 --script http-title,ssl-cert
#               nmap   the same with -T4 --min-hostgroup WIDE_HOSTS: one host
#                      group, so that every host's scripts can run at once
#             hosts = the addresses with a script result in nmap's output
#             (same/differ per script instance are printed as comments).
#   memory    (with nse_wide) trawl's peak RSS (GNU time -v) with the
#             scripts minus its peak RSS for the same scan without them,
#             divided by the most script threads alive at once
#             (TRAWL_LATENCY_PROBE=1's script-stats peak_threads).
#
# The machine may be shared: the load average is printed with each part.
set -uo pipefail
BUILD=${1:?usage: nse.sh BUILD_DIR [nse] [nse_wide]}
shift
SCENARIOS=${*:-nse nse_wide}
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ROOT=$(dirname "$HERE")
LAB=$ROOT/tests/lab/lab.sh
NC=$ROOT/tests/lab/nse_compare.py
TRAWL=$(readlink -f "$BUILD")/trawl
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
[ "$(id -u)" = 0 ] || { echo "nse.sh: needs root" >&2; exit 1; }
[ -x "$TRAWL" ] || { echo "nse.sh: $TRAWL not built" >&2; exit 1; }
for t in nmap /usr/bin/time; do
  command -v $t >/dev/null || { echo "nse.sh: $t missing (scripts/deps.sh)" >&2; exit 1; }
done
want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
load() { echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.2f", n / t; else print "?" }'; }
field() { sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" | head -1; }
maxrss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }

TMP=$(mktemp -d /tmp/trawl-bench-nse.XXXXXX)
chmod 1777 "$TMP" # trawl writes its outputs after dropping root
export TRAWL_LAB_PREFIX="twbnse$$-"
cleanup() {
  timeout 60 "$LAB" down >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
if ! timeout 180 "$LAB" up --services >"$TMP/up.log" 2>&1; then
  echo "nse.sh: lab.sh up --services failed:" >&2
  cat "$TMP/up.log" >&2
  exit 1
fi
eval "$("$LAB" env)"
S=$LAB_NS_SCAN
ulimit -n "$(ulimit -Hn)" 2>/dev/null
echo "# machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "# trawl $("$TRAWL" --version | head -1 | awk '{ print $3 }'), $(nmap --version | head -1)"

# ---- nse -------------------------------------------------------------------------
if want nse; then
  TCP_HOSTS="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_NAT_IP $LAB_UDP_IP $LAB_SVC_IP $LAB_LAN1_IP $LAB_IN1_IP $LAB_BIG_IP"
  TCP_PORTS=$(echo "$LAB_SVC_TCP,22,53,2323" | tr , '\n' | grep -vx 23 | sort -un | paste -sd,)
  UDP_HOSTS="$LAB_UDP_IP $LAB_DNS_IP $LAB_SVC_IP"
  # run2 NAME TOOL [ARGS...]: the TCP and UDP runs side by side; prints secs
  run2() {
    local name=$1 t0 t1 a b; shift
    t0=$(now)
    # shellcheck disable=SC2086
    timeout -k 5 600 ip netns exec "$S" "$@" -sS -sV -sC -Pn -n -p "$TCP_PORTS" $TCP_HOSTS \
      -oX "$TMP/$name.tcp.xml" >"$TMP/$name.tcp.out" 2>"$TMP/$name.tcp.err" </dev/null &
    a=$!
    # shellcheck disable=SC2086
    timeout -k 5 600 ip netns exec "$S" "$@" -sU -sV -sC -Pn -n -p 7,53,123,161,11211 $UDP_HOSTS \
      -oX "$TMP/$name.udp.xml" >"$TMP/$name.udp.out" 2>"$TMP/$name.udp.err" </dev/null &
    b=$!
    wait $a $b
    t1=$(now)
    secs "$t0" "$t1"
  }
  echo "# nse: -sC -sV on the lab (TCP ports $TCP_PORTS of $TCP_HOSTS; UDP 7,53,123,161,11211 of $UDP_HOSTS)"
  load
  tt=$(run2 trawl "$TRAWL")
  load
  tn=$(run2 nmap nmap -T4)
  load
  "$NC" compare --db /usr/share/nmap/scripts/script.db "$TMP/trawl.tcp.xml,$TMP/trawl.udp.xml" \
    "$TMP/nmap.tcp.xml,$TMP/nmap.udp.xml" "$ROOT/tests/lab/nse_exceptions.txt" >"$TMP/cmp" 2>&1
  grep -v "^same\|^differ" "$TMP/cmp" | sed 's/^/# /'
  same=$(grep '^instances:' "$TMP/cmp" | field same)
  differ=$(grep '^instances:' "$TMP/cmp" | field differ)
  echo "RESULT nse trawl=${tt} nmap=${tn} vs_nmap=$(ratio "$tn" "$tt") same=${same:-?} differ=${differ:-?}"
fi

# ---- nse_wide ----------------------------------------------------------------------
if want nse_wide; then
  N=${WIDE_HOSTS:-1024}
  # N addresses from 198.19.1.0 on
  T="" n=$N third=1
  while [ "$n" -gt 0 ]; do
    if [ "$n" -ge 256 ]; then T+=" 198.19.$third.0/24"; n=$((n - 256))
    else T+=" 198.19.$third.0-$((n - 1))"; n=0; fi
    third=$((third + 1))
  done
  # TLS on big's 8443 (a second nginx; `lab.sh down` stops it with the lab)
  timeout 60 "$LAB" bigtls on >"$TMP/bigtls.log" 2>&1 ||
    { echo "nse.sh: lab.sh bigtls on failed: $(cat "$TMP/bigtls.log")" >&2; exit 1; }
  echo "# nse_wide: --script http-title,ssl-cert on $N big addresses ($T), ports 80,8443 (TLS)"
  A=(-Pn -n -sS -p 80,8443)
  load
  t0=$(now)
  # shellcheck disable=SC2086
  timeout -k 5 900 ip netns exec "$S" /usr/bin/time -v -o "$TMP/wide.trawl.time" env TRAWL_LATENCY_PROBE=1 \
    "$TRAWL" "${A[@]}" --script http-title,ssl-cert -oX "$TMP/wide.trawl.xml" $T \
    >"$TMP/wide.trawl.out" 2>"$TMP/wide.trawl.err" </dev/null || echo "# trawl failed: $(tail -2 "$TMP/wide.trawl.err")"
  t1=$(now)
  load
  # shellcheck disable=SC2086
  timeout -k 5 1800 ip netns exec "$S" nmap "${A[@]}" -T4 --min-hostgroup "$N" --script http-title,ssl-cert \
    -oX "$TMP/wide.nmap.xml" $T >"$TMP/wide.nmap.out" 2>"$TMP/wide.nmap.err" </dev/null ||
    echo "# nmap failed: $(tail -2 "$TMP/wide.nmap.err")"
  t2=$(now)
  load
  # the same scan without scripts: the memory baseline
  # shellcheck disable=SC2086
  timeout -k 5 300 ip netns exec "$S" /usr/bin/time -v -o "$TMP/base.trawl.time" \
    "$TRAWL" "${A[@]}" -oX "$TMP/base.trawl.xml" $T >/dev/null 2>"$TMP/base.trawl.err" </dev/null
  tt=$(secs "$t0" "$t1")
  tn=$(secs "$t1" "$t2")
  "$NC" compare "$TMP/wide.trawl.xml" "$TMP/wide.nmap.xml" >"$TMP/wcmp" 2>&1
  grep "^differ" "$TMP/wcmp" | head -10 | sed 's/^/# /'
  grep "^script \|^instances:" "$TMP/wcmp" | sed 's/^/# /'
  hosts=$("$ROOT/tests/lab/script_results.py" scripts "$TMP/wide.nmap.xml" | awk '{ print $1 }' | sort -u | wc -l)
  grep "^trawl: script-stats\|^trawl: script-memory" "$TMP/wide.trawl.err" | sed 's/^/# /'
  peak=$(grep "script-stats" "$TMP/wide.trawl.err" | field peak_threads)
  r1=$(maxrss "$TMP/wide.trawl.time")
  r0=$(maxrss "$TMP/base.trawl.time")
  echo "# trawl peak RSS: ${r1:-?} KiB with the scripts, ${r0:-?} KiB without; at most ${peak:-?} script threads at once"
  echo "RESULT nse_wide trawl=${tt} nmap=${tn} vs_nmap=$(ratio "$tn" "$tt") hosts=$hosts"
  per=$(awk -v a="${r1:-0}" -v b="${r0:-0}" -v p="${peak:-0}" 'BEGIN { if (p > 0) printf "%.1f", (a - b) / p; else print "?" }')
  echo "RESULT nse_memory per_thread=${per}KiB threads=${peak:-?}"
fi
