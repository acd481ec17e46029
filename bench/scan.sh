#!/usr/bin/env bash
# scan.sh BUILD_DIR [wide] [lossy] [deep] [udp] [memory]: trawl against
# nmap, masscan and zmap on the same lab targets, one run each, in one lab
# (tests/lab/lab.sh, prefix twbsc<pid>-, torn down on exit). `make
# bench-scan` runs every scenario. Per scenario one line:
#
#   RESULT <scenario> trawl=<s>s/<recall> nmap=<s>s/<recall>
#          masscan=<s>s/<recall> vs_nmap=<r> vs_masscan=<r> [extra fields]
#
# recall = open ports found / open ports in the lab's ground truth; a ratio
# is peer time / trawl time (how many times faster trawl is). Scenarios:
#
#   wide    198.19.0.0/16 (AnyIP host big) x 22,80,443, clean link:
#           196,608 open. Extra: zmap on port 80 alone (zmap 2.1 scans one
#           port per run; its recall is against the 65,536 open port-80
#           pairs) and every scanner's false opens.
#   lossy   the same with `lab.sh loss 5` (5 % of packets toward big
#           dropped at random).
#   deep    one host (big, 198.18.21.2), all 65,535 TCP ports: 3 open.
#   udp     100 UDP ports of the udp host, whose kernel rate-limits ICMP
#           (stock Linux: ~1 port unreachable per second after a burst of
#           6): 4 open, 1 filtered (dropped), 95 closed. trawl and nmap
#           run -sU with default timing (-T3: a UDP scan is only right if
#           it waits for the rate-limited ICMP); their state tables are
#           compared (states_equal) and each with the ground truth.
#   memory  peak RSS (/usr/bin/time -f %M) of trawl for a /16 x 1000-port
#           scan (198.19.0.0/16 -p 1-1000, every port answered) and a /12-
#           sized x 100-port scan. A /12 of IPv4 does not fit in the lab's
#           198.18.0.0/15, so the /12-sized scan is IPv6: 2001:db8:ff00::/108
#           (2^20 addresses, as many as a /12), which the lab does not use:
#           router r1 answers every probe with ICMPv6 no-route (inside the
#           lab, rate limit off), so every port of every address is
#           answered (filtered, net-unreach). trawl walks its targets in
#           host groups (src/scan/scan.h), so memory is per group: each run goes
#           on until two groups have been written (its status line counts
#           completed hosts), or 75 s, or 1000 MB of RSS (a safety cap for
#           a shared machine), then gets SIGINT; the peak is what
#           /usr/bin/time reports at exit. Extra fields: groups written and
#           probes sent per run.
#
# Commands (targets and ports per scenario):
#   trawl   trawl -sS -n -Pn -T5 -d -p PORTS TARGETS        (-d: one line of
#           per-pass statistics on stderr, printed here as "# trawl -d:")
#   nmap    nmap -sS -n -Pn -T5 --min-rate 100000 -p PORTS TARGETS
#   masscan masscan TARGETS -p PORTS --rate 1000000 --wait 2 --adapter bench0
#           --adapter-ip <scanner's bench0 address> --router-mac <bgw's MAC,
#           from the scanner namespace's neighbour table>
#   zmap    zmap -p 80 -i bench0 -S <bench0 address> -G <bgw's MAC>
#           -b <empty file> -r 1000000 -c 2 TARGETS
# Workaround: masscan 1.3.2 often never exits after its --wait ("waiting
# -N secs" forever; masscan issue #144): its receive thread blocks in
# libpcap while no packet arrives. A ping from the scanner namespace to bgw
# every 50 ms runs alongside masscan so that packets keep arriving; it adds
# 20 packets/s next to 1,000,000.
set -uo pipefail
BUILD=${1:?usage: scan.sh BUILD_DIR [wide] [lossy] [deep] [udp] [memory]}
shift
SCENARIOS=${*:-wide lossy deep udp memory}
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/../tests/lab/lab.sh
RESULTS=$HERE/../tests/lab/scan_results.py
TRAWL=$(readlink -f "$BUILD")/trawl
PY=/usr/bin/python3
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
die() { echo "scan.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$TRAWL" ] || die "$TRAWL not built"
for t in nmap masscan zmap /usr/bin/time timeout; do command -v $t >/dev/null || die "$t missing (scripts/deps.sh)"; done

export TRAWL_LAB_PREFIX=twbsc$$-
TMP=$(mktemp -d /tmp/trawl-bench-scan.XXXXXX)
chmod 1777 "$TMP" # trawl writes its output files as nobody
BG=
cleanup() {
  local p
  for p in $BG; do kill "$p" 2>/dev/null; done
  timeout 60 "$LAB" down >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
timeout 120 "$LAB" up >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; die "lab.sh up failed"; }
eval "$("$LAB" env)"
S=$LAB_NS_SCAN
IF=$LAB_SCAN_IF_BENCH
SRC=$LAB_SCAN_IP_BENCH
timeout 10 ip netns exec "$S" ping -c1 -W2 "$LAB_BGW_IP" >/dev/null 2>&1
GWMAC=$(ip -n "$S" neigh show "$LAB_BGW_IP" dev "$IF" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
[ -n "$GWMAC" ] || die "no MAC for $LAB_BGW_IP on $IF in $S"
: >"$TMP/empty.blacklist"

echo "# machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ { print $2 }') GiB, kernel $(uname -r)"
echo "# versions: $("$TRAWL" --version | head -1); $(nmap --version | head -1); $(masscan --version 2>&1 | grep -m1 'Masscan version' | cut -d' ' -f1-3); zmap $(zmap --version 2>&1 | awk '{ print $2 }')"
echo "# lab: prefix $TRAWL_LAB_PREFIX, scanner $S, $IF $SRC, gateway $LAB_BGW_IP $GWMAC"

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
X() { ip netns exec "$S" "$@"; }
# score FILE NETPREFIX "PORTS" TOTAL [PORT-FOR-ZMAP]: "recall false_opens"
score() {
  "$PY" "$RESULTS" open "$1" 2>/dev/null | awk -v net="$2" -v ports=" $3 " -v total="$4" -v zp="${5:-0}" '
    { if ($2 == 0) $2 = zp
      if (seen[$1 " " $2]++) next
      if (index($1, net) == 1 && index(ports, " " $2 " ")) good++; else bad++ }
    END { printf "%.4f %d\n", good / total, bad + 0 }'
}
ratio() { awk -v p="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.2f", p / t; else print "n/a" }'; }
load() { echo "# load average before $1: $(cut -d' ' -f1-3 /proc/loadavg)"; }

run_trawl() { # SECS OUT ARGS... -> time; -oG OUT
  local secs=$1 out=$2; shift 2
  local t
  t=$(timed "$secs" "$TMP/trawl.log" ip netns exec "$S" "$TRAWL" "$@" -oG "$out")
  grep -h "pass:" "$TMP/trawl.log" | sed 's/^/# trawl -d: /' >&2
  echo "$t"
}
run_nmap() { timed "$1" "$TMP/nmap.log" ip netns exec "$S" nmap "${@:3}" -oG "$2"; }
run_masscan() { # SECS OUT ARGS...
  local secs=$1 out=$2 t p; shift 2
  ip netns exec "$S" ping -q -i 0.05 -w $((secs + 10)) "$LAB_BGW_IP" >/dev/null 2>&1 &
  p=$!
  BG="$BG $p"
  t=$(timed "$secs" "$TMP/masscan.log" ip netns exec "$S" masscan "$@" --adapter "$IF" \
    --adapter-ip "$SRC" --router-mac "$GWMAC" -oL "$out")
  kill "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  echo "$t"
}
run_zmap() { # SECS OUT PORT TARGET
  timed "$1" "$TMP/zmap.log" ip netns exec "$S" zmap -p "$3" -i "$IF" -S "$SRC" -G "$GWMAC" \
    -b "$TMP/empty.blacklist" -r 1000000 -c 2 -o "$2" "$4"
}
# field NAME TIME RC RECALL: "name=<t>s/<recall>", with "(timed out)" or
# "(exit N)" appended when the run did not end well
field() {
  case $3 in
  0) echo "$1=$2s/$4" ;;
  124 | 137) echo "$1=$2s/$4(timed out)" ;;
  *) echo "$1=$2s/$4(exit $3)" ;;
  esac
}

# wide and lossy: the same four runs
big_scenario() {
  local name=$1 tt tn tm tz rt rn rm rz st sn sm sz
  load "$name"
  tt=$(run_trawl 120 "$TMP/t.gnmap" -sS -n -Pn -T5 -d -p 22,80,443 "$LAB_BIG_NET"); rt=$(rc)
  tn=$(run_nmap 180 "$TMP/n.gnmap" -sS -n -Pn -T5 --min-rate 100000 -p 22,80,443 "$LAB_BIG_NET"); rn=$(rc)
  tm=$(run_masscan 120 "$TMP/m.list" "$LAB_BIG_NET" -p 22,80,443 --rate 1000000 --wait 2); rm=$(rc)
  tz=$(run_zmap 120 "$TMP/z.list" 80 "$LAB_BIG_NET"); rz=$(rc)
  local net=${LAB_BIG_NET%%0.0/16}
  st=$(score "$TMP/t.gnmap" "$net" "22 80 443" 196608)
  sn=$(score "$TMP/n.gnmap" "$net" "22 80 443" 196608)
  sm=$(score "$TMP/m.list" "$net" "22 80 443" 196608)
  sz=$(score "$TMP/z.list" "$net" "80" 65536 80)
  echo "RESULT $name $(field trawl "$tt" "$rt" "${st% *}") $(field nmap "$tn" "$rn" "${sn% *}")" \
    "$(field masscan "$tm" "$rm" "${sm% *}") vs_nmap=$(ratio "$tn" "$tt") vs_masscan=$(ratio "$tm" "$tt")" \
    "$(field zmap "$tz" "$rz" "${sz% *}") zmap_ports=80" \
    "false_open=trawl:${st#* },nmap:${sn#* },masscan:${sm#* },zmap:${sz#* }"
}

if want wide; then
  timeout 30 "$LAB" loss 0 >/dev/null 2>&1
  big_scenario wide
fi
if want lossy; then
  timeout 30 "$LAB" loss 5 >/dev/null || die "lab.sh loss 5 failed"
  big_scenario lossy
  timeout 30 "$LAB" loss 0 >/dev/null
fi

if want deep; then
  load deep
  tt=$(run_trawl 120 "$TMP/t.gnmap" -sS -n -Pn -T5 -d -p- "$LAB_BIG_IP"); rt=$(rc)
  tn=$(run_nmap 180 "$TMP/n.gnmap" -sS -n -Pn -T5 --min-rate 100000 -p- "$LAB_BIG_IP"); rn=$(rc)
  tm=$(run_masscan 120 "$TMP/m.list" "$LAB_BIG_IP" -p 1-65535 --rate 1000000 --wait 2); rm=$(rc)
  st=$(score "$TMP/t.gnmap" "$LAB_BIG_IP" "$LAB_BIG_TCP_OPEN" 3)
  sn=$(score "$TMP/n.gnmap" "$LAB_BIG_IP" "$LAB_BIG_TCP_OPEN" 3)
  sm=$(score "$TMP/m.list" "$LAB_BIG_IP" "$LAB_BIG_TCP_OPEN" 3)
  echo "RESULT deep $(field trawl "$tt" "$rt" "${st% *}") $(field nmap "$tn" "$rn" "${sn% *}")" \
    "$(field masscan "$tm" "$rm" "${sm% *}") vs_nmap=$(ratio "$tn" "$tt") vs_masscan=$(ratio "$tm" "$tt")" \
    "false_open=trawl:${st#* },nmap:${sn#* },masscan:${sm#* }"
fi

if want udp; then
  load udp
  UPORTS="1-96,123,161,500,514" # 100 ports: 7 53 123 161 open, 69 dropped
  # ground truth per port: open / open|filtered (nothing comes back) / closed
  truth() {
    local p
    for p in $(seq 1 96) 123 161 500 514; do
      if [[ " $LAB_UDP_UDP_OPEN " == *" $p "* ]]; then echo "$p open"
      elif [[ " $LAB_UDP_UDP_FILTERED " == *" $p "* ]]; then echo "$p open|filtered"
      else echo "$p closed"; fi
    done
  }
  # every port's state, "Not shown: N closed" (extraports) expanded
  utab() { "$PY" "$RESULTS" table "$1" udp "$UPORTS" 2>/dev/null; }
  tt=$(timed 240 "$TMP/trawl.log" ip netns exec "$S" "$TRAWL" -sU -n -Pn -d -p "$UPORTS" "$LAB_UDP_IP" -oX "$TMP/t.xml"); rt=$(rc)
  grep -h "pass:" "$TMP/trawl.log" | sed 's/^/# trawl -d: /' >&2
  [ "$rt" = 0 ] || echo "# trawl -sU: $(grep -m1 'trawl:' "$TMP/trawl.log")"
  tn=$(timed 240 "$TMP/nmap.log" ip netns exec "$S" nmap -sU -n -Pn -p "$UPORTS" "$LAB_UDP_IP" -oX "$TMP/n.xml"); rn=$(rc)
  tm=$(run_masscan 120 "$TMP/m.list" "$LAB_UDP_IP" -p "U:$UPORTS" --rate 1000000 --wait 2); rm=$(rc)
  truth >"$TMP/truth"
  utab "$TMP/t.xml" >"$TMP/t.tab"
  utab "$TMP/n.xml" >"$TMP/n.tab"
  uopen() { awk '$2 == "open"' "$1" | wc -l | awk '{ printf "%.4f", $1 / 4 }'; }
  right() { paste -d' ' "$TMP/truth" "$1" | awk '$1 == $3 && $2 == $4' | wc -l; }
  mopen=$(awk '$1 == "open" && $2 == "udp"' "$TMP/m.list" | wc -l | awk '{ printf "%.4f", $1 / 4 }')
  eq=no
  [ -s "$TMP/t.tab" ] && ! grep -q unknown "$TMP/t.tab" && diff -q "$TMP/t.tab" "$TMP/n.tab" >/dev/null && eq=yes
  echo "RESULT udp $(field trawl "$tt" "$rt" "$(uopen "$TMP/t.tab")") $(field nmap "$tn" "$rn" "$(uopen "$TMP/n.tab")")" \
    "$(field masscan "$tm" "$rm" "$mopen") vs_nmap=$([ "$rt" = 0 ] && ratio "$tn" "$tt" || echo n/a)" \
    "vs_masscan=$([ "$rt" = 0 ] && ratio "$tm" "$tt" || echo n/a) states_equal=$eq" \
    "truth_states=trawl:$(right "$TMP/t.tab")/100,nmap:$(right "$TMP/n.tab")/100"
fi

# mem_run LABEL ARGS...: prints "MB groups probes stop-reason"
mem_run() {
  local label=$1; shift
  local tp pid rss groups=0 last=0 why=time n t0 sent
  /usr/bin/time -f %M -o "$TMP/mem.$label" ip netns exec "$S" "$TRAWL" --stats-every 1s "$@" \
    >/dev/null 2>"$TMP/mem.$label.err" </dev/null &
  tp=$!
  BG="$BG $tp"
  for _ in $(seq 50); do pid=$(pgrep -P "$tp" | head -1); [ -n "$pid" ] && break; sleep 0.1; done
  t0=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null)
    n=$(grep -o '[0-9]* hosts completed' "$TMP/mem.$label.err" | tail -1 | cut -d' ' -f1)
    if [ -n "$n" ] && [ "$n" != "$last" ]; then groups=$((groups + 1)); last=$n; fi
    if [ "$groups" -ge 2 ]; then why=2-groups; break; fi
    if [ "${rss:-0}" -ge 1000 ]; then why=rss-cap; break; fi
    if [ $(($(date +%s) - t0)) -ge 75 ]; then why=time-cap; break; fi
    sleep 0.2
  done
  kill -INT "$pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$tp" 2>/dev/null
  sent=$(grep -o '[0-9]* probes sent' "$TMP/mem.$label.err" | tail -1 | cut -d' ' -f1)
  echo "$(($(tail -1 "$TMP/mem.$label" | tr -dc 0-9) / 1024)) $groups ${sent:-0} $why"
}
if want memory; then
  load memory
  m16=$(mem_run 16x1000 -sS -n -Pn -T5 -p 1-1000 "$LAB_BIG_NET")
  m12=$(mem_run 12x100 -6 -sS -n -Pn -T5 -p 1-100 2001:db8:ff00::/108)
  set -- $m16
  a=$1 ga=$2 pa=$3 wa=$4
  set -- $m12
  echo "RESULT memory trawl_16x1000=${a}MB trawl_12x100=${1}MB groups=$ga,$2 probes=$pa,$3 stopped_by=$wa,$4"
fi
