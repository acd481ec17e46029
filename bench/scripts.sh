#!/usr/bin/env bash
# scripts.sh BUILD_DIR [compare] [threads] [memory]: the script engine
# against Nmap's NSE, in a lab of its own (tests/lab/lab.sh, prefix
# twbscr<pid>-, torn down on exit; every probe from the lab's scanner
# namespace, to lab addresses only). `make bench-scripts` runs all three.
#
#   compare  the same command for trawl and nmap:
#              -Pn -n -sS -p PORTS --script banner,http-title TARGETS
#            on the web and win hosts (ports 1-1024,2323,8080) and
#            ADDRS (default 200) addresses of the big AnyIP host
#            (ports 22,80,443: nginx, silent until asked, plain HTTP even
#            on 443): wall time of each, and whether the results are equal
#            per host, port and script id (tests/lab/script_results.py
#            compare; text with trailing white space dropped).
#            RESULT scripts trawl=<s>s nmap=<s>s vs_nmap=<nmap/trawl>
#   threads  10,002 script runs at once: banner on 3,334 addresses x 3
#            ports of the big host (banner.timeout=3s: every run waits in
#            receive, times out, tries TLS, ends), --script-threads 10000,
#            with TRAWL_LATENCY_PROBE=1: a 10 ms timer in trawl's loop; its
#            worst lateness while scripts ran.
#            RESULT script_threads n=<runs ended by themselves> worst_lateness_ms=<x>
#   memory   N (default 8,192) runs idle in receive at once (banner on
#            ports 22 and 80 of N/2 big addresses: nginx sends nothing;
#            banner.timeout=4s, below nginx's 5 s; N/2 <= 4,096, trawl's
#            largest host group, so that they all run at once), the resident set and
#            the Lua state's bytes then, against a baseline taken just
#            before the first run started (TRAWL_LATENCY_PROBE's sample).
#            RESULT script_memory per_thread=<KiB>KiB
#
# The machine may be shared: the load average is printed with each part.
set -uo pipefail
BUILD=${1:?usage: scripts.sh BUILD_DIR [compare] [threads] [memory]}
shift
PARTS=${*:-compare threads memory}
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
ROOT=$(dirname "$HERE")
LAB=$ROOT/tests/lab/lab.sh
SR=$ROOT/tests/lab/script_results.py
TRAWL=$(readlink -f "$BUILD")/trawl
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
[ "$(id -u)" = 0 ] || { echo "scripts.sh: needs root" >&2; exit 1; }
[ -x "$TRAWL" ] || { echo "scripts.sh: $TRAWL not built" >&2; exit 1; }
command -v nmap >/dev/null || { echo "scripts.sh: nmap missing (scripts/deps.sh)" >&2; exit 1; }
want() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
load() { echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
field() { sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" | head -1; }

TMP=$(mktemp -d /tmp/trawl-bench-scripts.XXXXXX)
chmod 1777 "$TMP" # trawl writes its outputs after dropping root
export TRAWL_LAB_PREFIX="twbscr$$-"
cleanup() {
  timeout 60 "$LAB" down >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
if ! timeout 120 "$LAB" up >"$TMP/up.log" 2>&1; then
  echo "scripts.sh: lab.sh up failed:" >&2
  cat "$TMP/up.log" >&2
  exit 1
fi
eval "$("$LAB" env)"
S=$LAB_NS_SCAN
# 10,000 sockets and more: as many descriptors as we may have
ulimit -n "$(ulimit -Hn)" 2>/dev/null
echo "# machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "# trawl $("$TRAWL" --version | head -1 | awk '{ print $3 }'), $(nmap --version | head -1), open files limit $(ulimit -n)"
# big-host addresses: COUNT from 198.19.1.0 on, as trawl/nmap target specs
big_targets() {
  local n=$1 third=1 out=""
  while [ "$n" -gt 0 ]; do
    if [ "$n" -ge 256 ]; then out+=" 198.19.$third.0/24"; n=$((n - 256));
    else out+=" 198.19.$third.0-$((n - 1))"; n=0; fi
    third=$((third + 1))
  done
  echo $out
}

# ---- compare -------------------------------------------------------------------
if want compare; then
  ADDRS=${ADDRS:-200}
  TARGETS="$LAB_WEB_IP $LAB_WIN_IP $(big_targets "$ADDRS")"
  PORTS_LAB=1-1024,2323,8080
  ARGS="-Pn -n -sS --script banner,http-title"
  echo "# compare: $ARGS, web and win ports $PORTS_LAB, $ADDRS big addresses ports 22,80,443"
  load
  # the lab hosts and the big host have different ports: one command each,
  # timed together
  run() { # TOOL OUT
    local tool=$1 out=$2 t0 t1 rc=0
    t0=$(now)
    timeout -k 5 1800 ip netns exec "$S" $tool $ARGS -p $PORTS_LAB -oX "$out.lab.xml" \
      $LAB_WEB_IP $LAB_WIN_IP >"$out.lab.out" 2>"$out.lab.err" </dev/null || rc=1
    timeout -k 5 1800 ip netns exec "$S" $tool $ARGS -p 22,80,443 -oX "$out.big.xml" \
      $(big_targets "$ADDRS") >"$out.big.out" 2>"$out.big.err" </dev/null || rc=1
    t1=$(now)
    secs "$t0" "$t1"
    return $rc
  }
  tt=$(run "$TRAWL" "$TMP/trawl") || echo "# trawl failed: $(tail -2 "$TMP"/trawl.*.err)"
  load
  tn=$(run nmap "$TMP/nmap") || echo "# nmap failed: $(tail -2 "$TMP"/nmap.*.err)"
  load
  # one document per tool for the comparison: the big scan's hosts added
  # to the lab scan's
  for t in trawl nmap; do
    python3 - "$TMP/$t.lab.xml" "$TMP/$t.big.xml" "$TMP/$t.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
a = ET.parse(sys.argv[1]); b = ET.parse(sys.argv[2])
ra = a.getroot()
at = list(ra).index(ra.find("runstats"))
for i, h in enumerate(b.getroot().findall("host")):
    ra.insert(at + i, h)
a.write(sys.argv[3])
EOF
  done
  "$SR" compare "$TMP/trawl.xml" "$TMP/nmap.xml" banner,http-title >"$TMP/cmp" 2>&1
  crc=$?
  nres=$("$SR" scripts "$TMP/trawl.xml" | wc -l)
  echo "# results: trawl $nres, nmap $("$SR" scripts "$TMP/nmap.xml" | wc -l); $(head -1 "$TMP/cmp")"
  echo "equal=$([ $crc -eq 0 ] && echo yes || echo no)"
  tail -n +2 "$TMP/cmp" | head -40 | sed 's/^/# /'
  echo "RESULT scripts trawl=${tt}s nmap=${tn}s vs_nmap=$(awk -v a="$tn" -v b="$tt" 'BEGIN { printf "%.1f", a / b }')"
fi

# ---- threads ---------------------------------------------------------------------
if want threads; then
  # 3,334 addresses x 3 ports = 10,002 runs
  T=$(big_targets 3334)
  echo "# threads: banner on 3334 big addresses x 22,80,443 (10,002 runs), banner.timeout=3s, --script-threads 10000"
  load
  t0=$(now)
  timeout -k 5 300 ip netns exec "$S" env TRAWL_LATENCY_PROBE=1 "$TRAWL" -Pn -n -sS -p 22,80,443 \
    --script banner --script-args banner.timeout=3s --script-threads 10000 --script-timeout 60s \
    -oX "$TMP/threads.xml" $T >"$TMP/threads.out" 2>"$TMP/threads.err" </dev/null
  rc=$?
  t1=$(now)
  load
  grep "^trawl: latency-probe\|^trawl: script-stats" "$TMP/threads.err" | sed 's/^/# /'
  started=$(grep "script-stats" "$TMP/threads.err" | field started)
  done_=$(grep "script-stats" "$TMP/threads.err" | field done)
  tmo=$(grep "script-stats" "$TMP/threads.err" | field timeouts)
  peak=$(grep "script-stats" "$TMP/threads.err" | field peak_threads)
  worst=$(grep "latency-probe" "$TMP/threads.err" | field busy_worst_ms)
  n=$(( ${done_:-0} - ${tmo:-0} ))
  echo "# exit $rc in $(secs "$t0" "$t1") s; runs started ${started:-?}, ended ${done_:-?} (${tmo:-?} killed by --script-timeout), at most ${peak:-?} at once"
  [ "${started:-0}" -ge 10000 ] && [ "$n" -eq "${started:-0}" ] && [ "${peak:-0}" -ge 10000 ] &&
    echo "# all $n runs completed, $peak at once" || echo "# NOT all runs completed at once"
  echo "RESULT script_threads n=$n worst_lateness_ms=${worst:-?}"
fi

# ---- memory ----------------------------------------------------------------------
if want memory; then
  N=${MEM_THREADS:-8192}
  echo "# memory: $N banner runs idle in receive (ports 22,80 of $((N / 2)) big addresses), banner.timeout=4s"
  load
  timeout -k 5 300 ip netns exec "$S" env TRAWL_LATENCY_PROBE=1 "$TRAWL" -Pn -n -sS -p 22,80 \
    --script banner --script-args banner.timeout=4s --script-threads "$N" --script-timeout 60s \
    -oX "$TMP/memory.xml" $(big_targets $((N / 2))) >"$TMP/memory.out" 2>"$TMP/memory.err" </dev/null
  load
  grep "^trawl: script-memory\|^trawl: script-stats" "$TMP/memory.err" | sed 's/^/# /'
  echo "# open ports found: $(grep -c 'state="open"' "$TMP/memory.xml")"
  m=$(grep "script-memory" "$TMP/memory.err")
  runs=$(echo "$m" | field runs)
  rss=$(echo "$m" | field rss_per_run_kib)
  lua=$(echo "$m" | field lua_per_run_bytes)
  echo "# $runs runs idle at once: RSS $(echo "$m" | field base_rss_kib) KiB with none, $(echo "$m" | field rss_kib) KiB with them; Lua state ${lua:-?} bytes per run"
  echo "RESULT script_memory per_thread=${rss:-?}KiB"
fi
