#!/usr/bin/env bash
# scan.sh BUILD_DIR [wide] [lossy] [deep] [udp] [memory] [wide@anyip]
# [lossy@anyip] [bottleneck] [plot]: trawl against nmap, masscan, zmap and the floor (below) on
# the same lab targets, one run each, in one lab (tests/lab/lab.sh, prefix
# twbsc<pid>-, torn down on exit) and, for the @anyip scenarios, in a
# second topology this script builds itself (below). `make bench-scan`
# runs every scenario. Per scenario one line:
#
#   RESULT <scenario> trawl=<s>s/<recall> nmap=<s>s/<recall>
#          masscan=<s>s/<recall> vs_nmap=<r> vs_masscan=<r> [extra fields]
#          floor=<s>s vs_floor=<r> [floor_recall=<recall> floor_1core=<s>s]
#          topo=<topology>
#
# recall = open ports found / open ports in the lab's ground truth; the
# ratios vs_nmap and vs_masscan are peer time / trawl time (how many times
# faster trawl is); vs_floor is the other way round, trawl time / floor
# time (how many times the floor trawl takes; 1 would be no overhead).
#
# The floor (bench/scan-floor.c, built with the benchmarks): one batched
# AF_PACKET send of the scenario's SYN probes (same targets x ports) at full
# speed, no rate control, no retries, and receive rings counting the
# answers; it runs in the same scanner namespace as trawl, right after
# trawl. floor=<s> is its time from the first probe to the last answer
# with one sender per core (on a veth the target's kernel works on the
# sending CPU, so one sender is bound by one core), floor_recall its
# SYN+ACKs / open ports, floor_1core the same with a single sender (trawl
# sends from one thread). It is the time the link and the target's kernel
# need for these probes on this machine. On lossy it is that one pass
# (recall about 0.95 at 5 % loss): the time a scanner would need if it did
# not have to recover the lost probes. The floor is SYN only: udp and
# memory print floor=n/a vs_floor=n/a.
#
# Topologies (topo=):
#   routed  the lab's bench path: scanner --veth-- bgw (a router; the loss
#           and bottleneck knobs live there) --veth-- big (AnyIP
#           198.19.0.0/16, two hops away). wide, lossy, deep, udp, memory.
#   anyip   two namespaces of this script's own, <prefix>ascan and
#           <prefix>any, one veth between them (any0 198.19.255.2/30 in
#           ascan, t0 198.19.255.1/30 in any): any answers for the whole of
#           198.18.0.0/16 (`ip route add local 198.18.0.0/16 dev lo`, a
#           listener on 0.0.0.0 ports 22, 80, 443), one hop away; ascan's
#           only route beyond the link is that /16 via any. Both /16s of
#           198.18.0.0/15 are used by the lab already (198.19.0.0/16 is
#           big's, 198.18.x.0/24s are its links and hosts), so this
#           topology shares no namespace and no route with the lab: its
#           addresses never meet the lab's. wide@anyip and lossy@anyip are
#           wide and lossy there (loss: the same nftables rule, 5 % of the
#           packets coming in on t0 dropped at random, in the target
#           namespace). trawl runs with its default flags there
#           (-sS -n -Pn, no -T5), as a new user would; nmap, masscan, zmap
#           and the floor as on routed.
#
# Scenarios:
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
#           per-pass statistics on stderr, printed here as "# trawl -d:";
#           on anyip without -T5)
#   floor   scan-floor [-j 1] bench0 <bench0 address> <bgw's MAC> TARGETS
#           PORTS (on anyip: any0, its address, t0's MAC); its lines on
#           stderr as "# floor <scenario>:"
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
# 20 packets/s next to 1,000,000 (on anyip: a ping to t0's address).
set -uo pipefail
BUILD=${1:?usage: scan.sh BUILD_DIR [wide] [lossy] [deep] [udp] [memory] [wide@anyip] [lossy@anyip] [bottleneck] [plot]}
shift
SCENARIOS=${*:-wide lossy bottleneck deep udp memory wide@anyip lossy@anyip plot}
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/../tests/lab/lab.sh
RESULTS=$HERE/../tests/lab/scan_results.py
TRAWL=$(readlink -f "$BUILD")/trawl
FLOOR=$(readlink -f "$BUILD")/bench/scan-floor
PY=/usr/bin/python3
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
die() { echo "scan.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$TRAWL" ] || die "$TRAWL not built"
[ -x "$FLOOR" ] || die "$FLOOR not built (configure with -DTRAWL_BENCH=ON)"
for t in nmap masscan zmap /usr/bin/time timeout; do command -v $t >/dev/null || die "$t missing (scripts/deps.sh)"; done

export TRAWL_LAB_PREFIX=twbsc$$-
TMP=$(mktemp -d /tmp/trawl-bench-scan.XXXXXX)
chmod 1777 "$TMP" # trawl writes its output files as nobody
BG=
# the anyip topology: scanner namespace, target namespace, addresses
AS=${TRAWL_LAB_PREFIX}ascan AT=${TRAWL_LAB_PREFIX}any
ANY_NET=198.18.0.0/16 ANY_SRC=198.19.255.2 ANY_GW=198.19.255.1
ANY_LISTENER=
cleanup() {
  local p n
  for p in $BG; do kill "$p" 2>/dev/null; done
  timeout 60 "$LAB" down >/dev/null 2>&1
  [ -n "$ANY_LISTENER" ] && kill "$ANY_LISTENER" 2>/dev/null
  for n in "$AS" "$AT"; do
    [ -e "/run/netns/$n" ] || continue
    for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
timeout 120 "$LAB" up >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log"; die "lab.sh up failed"; }
eval "$("$LAB" env)"
# topology NAME: point S (scanner namespace), IF, SRC, GWIP and GWMAC (the
# next hop every scanner sends to) at topology NAME
topology() {
  TOPO=$1
  case $1 in
  routed) S=$LAB_NS_SCAN IF=$LAB_SCAN_IF_BENCH SRC=$LAB_SCAN_IP_BENCH GWIP=$LAB_BGW_IP ;;
  anyip) S=$AS IF=any0 SRC=$ANY_SRC GWIP=$ANY_GW ;;
  esac
  timeout 10 ip netns exec "$S" ping -c1 -W2 "$GWIP" >/dev/null 2>&1
  GWMAC=$(ip -n "$S" neigh show "$GWIP" dev "$IF" | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
  [ -n "$GWMAC" ] || die "no MAC for $GWIP on $IF in $S"
}
# anyip_up: build the anyip topology (see the top of this file). The target
# gets the big host's sysctls (lab.sh) so that it answers 3 x 65,536 SYNs
# quickly, and both get the lab's per-namespace basics that matter here (no
# forwarding, no rp_filter, no ICMP rate limit, the linux stack profile).
anyip_up() {
  local n
  ip netns add "$AS" && ip netns add "$AT" || return 1
  for n in "$AS" "$AT"; do
    ip netns exec "$n" sysctl -q -w net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 \
      net.ipv4.conf.default.rp_filter=0 net.ipv4.icmp_ratelimit=0 \
      net.ipv4.ip_default_ttl=64 net.ipv4.tcp_timestamps=1 net.ipv4.tcp_window_scaling=1 \
      net.ipv4.tcp_sack=1 >/dev/null || return 1
    ip -n "$n" link set lo up || return 1
  done
  ip netns exec "$AT" sysctl -q -w net.ipv4.tcp_max_syn_backlog=262144 net.core.somaxconn=65535 \
    net.ipv4.tcp_syncookies=1 net.ipv4.tcp_synack_retries=1 >/dev/null || return 1
  ip link add name any0 netns "$AS" type veth peer name t0 netns "$AT" || return 1
  ip -n "$AS" link set any0 up && ip -n "$AT" link set t0 up &&
    ip -n "$AS" addr add "$ANY_SRC/30" dev any0 && ip -n "$AT" addr add "$ANY_GW/30" dev t0 &&
    ip -n "$AS" route add "$ANY_NET" via "$ANY_GW" dev any0 &&
    ip -n "$AT" route add local "$ANY_NET" dev lo || return 1
  # the listener: three sockets on 0.0.0.0 with the largest backlog, never
  # accepting (every scanner here resets what it opened)
  setsid ip netns exec "$AT" "$PY" -c '
import signal, socket
socks = []
for port in (22, 80, 443):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(65535)
    socks.append(s)
print("listening", flush=True)
signal.pause()' </dev/null >"$TMP/any-listener.log" 2>&1 &
  ANY_LISTENER=$!
  for _ in $(seq 50); do grep -q listening "$TMP/any-listener.log" && return 0; sleep 0.1; done
  return 1
}
# anyip_loss PCT: drop PCT % of the packets coming in on t0, at random (as
# lab.sh loss does on bgw)
anyip_loss() {
  ip netns exec "$AT" nft delete table ip bench_loss 2>/dev/null
  [ "$1" -gt 0 ] || return 0
  ip netns exec "$AT" nft -f - <<EOF
table ip bench_loss {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "t0" numgen random mod 100 < $1 drop
  }
}
EOF
}
topology routed
: >"$TMP/empty.blacklist"

echo "# machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ { print $2 }') GiB, kernel $(uname -r)"
echo "# versions: $("$TRAWL" --version | head -1); $(nmap --version | head -1); $(masscan --version 2>&1 | grep -m1 'Masscan version' | cut -d' ' -f1-3); zmap $(zmap --version 2>&1 | awk '{ print $2 }')"
echo "# lab: prefix $TRAWL_LAB_PREFIX, scanner $S, $IF $SRC, gateway $LAB_BGW_IP $GWMAC"
if want wide@anyip || want lossy@anyip; then
  anyip_up || die "could not build the anyip topology"
  topology anyip
  echo "# anyip: scanner $S, $IF $SRC, target $AT answering for $ANY_NET, next hop $GWIP $GWMAC"
  topology routed
fi

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
  ip netns exec "$S" ping -q -i 0.05 -w $((secs + 10)) "$GWIP" >/dev/null 2>&1 &
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
# floor_once NAME TARGETS PORTS [SCAN-FLOOR-OPTIONS...]: one scan-floor run
# in $S, its output on stderr as "# floor NAME:"; prints "<elapsed>
# <SYN+ACKs>", nothing if it failed
floor_once() {
  local name=$1 targets=$2 ports=$3 out
  shift 3
  out=$(timeout -k 5 60 ip netns exec "$S" "$FLOOR" "$@" "$IF" "$SRC" "$GWMAC" "$targets" "$ports" 2>&1 </dev/null)
  printf '# floor %s: %s\n' "$name" "${out//$'\n'/$'\n'# floor $name: }" >&2
  sed -n 's/^floor elapsed=\([0-9.]*\) .* synack=\([0-9]*\) .*/\1 \2/p' <<<"$out"
}
# run_floor NAME TARGETS PORTS OPEN TRAWL_TIME: the floor with one sender
# per core, then with one sender; prints the RESULT fields "floor=<s>s
# vs_floor=<trawl/floor> floor_recall=<SYN+ACKs/OPEN> floor_1core=<s>s"
# (n/a for a run that failed)
run_floor() {
  local all one f1=n/a
  all=$(floor_once "$1" "$2" "$3")
  one=$(floor_once "$1" "$2" "$3" -j 1)
  [ -n "$one" ] && f1=${one% *}s
  if [ -z "$all" ]; then
    echo "floor=n/a vs_floor=n/a floor_recall=n/a floor_1core=$f1"
    return
  fi
  echo "floor=${all% *}s vs_floor=$(ratio "$5" "${all% *}")" \
    "floor_recall=$(awk -v s="${all#* }" -v o="$4" 'BEGIN { printf "%.4f", s / o }') floor_1core=$f1"
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

# big_scenario NAME NET/16 TRAWL-FLAGS...: wide and lossy on the current
# topology (topology()): the same five runs
big_scenario() {
  local name=$1 big=$2 tt tn tm tz rt rn rm rz st sn sm sz fl
  shift 2
  load "$name"
  tt=$(run_trawl 120 "$TMP/t.gnmap" "$@" -d -p 22,80,443 "$big"); rt=$(rc)
  fl=$(run_floor "$name" "$big" 22,80,443 196608 "$tt")
  tn=$(run_nmap 180 "$TMP/n.gnmap" -sS -n -Pn -T5 --min-rate 100000 -p 22,80,443 "$big"); rn=$(rc)
  tm=$(run_masscan 120 "$TMP/m.list" "$big" -p 22,80,443 --rate 1000000 --wait 2); rm=$(rc)
  tz=$(run_zmap 120 "$TMP/z.list" 80 "$big"); rz=$(rc)
  local net=${big%%0.0/16}
  st=$(score "$TMP/t.gnmap" "$net" "22 80 443" 196608)
  sn=$(score "$TMP/n.gnmap" "$net" "22 80 443" 196608)
  sm=$(score "$TMP/m.list" "$net" "22 80 443" 196608)
  sz=$(score "$TMP/z.list" "$net" "80" 65536 80)
  echo "RESULT $name $(field trawl "$tt" "$rt" "${st% *}") $(field nmap "$tn" "$rn" "${sn% *}")" \
    "$(field masscan "$tm" "$rm" "${sm% *}") vs_nmap=$(ratio "$tn" "$tt") vs_masscan=$(ratio "$tm" "$tt")" \
    "$(field zmap "$tz" "$rz" "${sz% *}") zmap_ports=80" \
    "false_open=trawl:${st#* },nmap:${sn#* },masscan:${sm#* },zmap:${sz#* }" "$fl topo=$TOPO"
}

if want wide; then
  timeout 30 "$LAB" loss 0 >/dev/null 2>&1
  big_scenario wide "$LAB_BIG_NET" -sS -n -Pn -T5
fi
if want lossy; then
  timeout 30 "$LAB" loss 5 >/dev/null || die "lab.sh loss 5 failed"
  big_scenario lossy "$LAB_BIG_NET" -sS -n -Pn -T5
  timeout 30 "$LAB" loss 0 >/dev/null
fi

# bottleneck: the bench path through an htb of 20 Mbit/s both ways (lab.sh
# bottleneck), no random loss, trawl's default flags: every re-send is
# then the controller's own overshoot. RESULT: time, recall, re-sent %.
if want bottleneck; then
  timeout 30 "$LAB" loss 0 >/dev/null 2>&1
  timeout 30 "$LAB" bottleneck 20mbit >/dev/null || die "lab.sh bottleneck 20mbit failed"
  load bottleneck
  tt=$(run_trawl 240 "$TMP/t.gnmap" -sS -n -Pn -d -p 22,80,443 "$LAB_BIG_NET"); rt=$(rc)
  timeout 30 "$LAB" bottleneck off >/dev/null
  st=$(score "$TMP/t.gnmap" "${LAB_BIG_NET%%0.0/16}" "22 80 443" 196608)
  # summed over the passes (host groups)
  sent=$(sed -n 's/.*SYN pass: sent \([0-9]*\) (re-sent \([0-9]*\)).*/\1 \2/p' "$TMP/trawl.log" |
    awk '{ s += $1; r += $2 } END { print s + 0, r + 0 }')
  echo "RESULT bottleneck $(field trawl "$tt" "$rt" "${st% *}") rate_limit=20mbit" \
    "resent=$(awk -v s="${sent% *}" -v r="${sent#* }" 'BEGIN { if (s > r) printf "%.2f%%", 100 * r / (s - r); else print "n/a" }')" \
    "false_open=trawl:${st#* } floor=n/a vs_floor=n/a topo=routed"
fi

# plot: the controller's rate over time (--stats-every 50ms) on the clean,
# lossy (5 %) and bottleneck (20 Mbit/s) bench path, trawl's default
# flags, drawn by rate-plot.py into $RATE_SVG (default rate.svg in the
# scratch directory, named on stdout); docs/rate-control.md shows it
if want plot; then
  load plot
  for cond in clean lossy bottleneck; do
    timeout 30 "$LAB" loss "$([ $cond = lossy ] && echo 5 || echo 0)" >/dev/null 2>&1
    timeout 30 "$LAB" bottleneck "$([ $cond = bottleneck ] && echo 20mbit || echo off)" >/dev/null 2>&1
    timeout -k 5 240 ip netns exec "$S" "$TRAWL" -sS -n -Pn --stats-every 50ms -p 22,80,443 "$LAB_BIG_NET" \
      -oG /dev/null >/dev/null 2>"$TMP/plot.$cond" </dev/null
  done
  timeout 30 "$LAB" loss 0 >/dev/null 2>&1
  timeout 30 "$LAB" bottleneck off >/dev/null 2>&1
  svg=${RATE_SVG:-$TMP/rate.svg}
  "$PY" "$HERE/rate-plot.py" "$svg" "clean=$TMP/plot.clean" "lossy 5%=$TMP/plot.lossy" \
    "bottleneck 20 Mbit/s=$TMP/plot.bottleneck" && echo "# rate plot: $svg"
fi

if want deep; then
  load deep
  tt=$(run_trawl 120 "$TMP/t.gnmap" -sS -n -Pn -T5 -d -p- "$LAB_BIG_IP"); rt=$(rc)
  fl=$(run_floor deep "$LAB_BIG_IP/32" 1-65535 3 "$tt")
  tn=$(run_nmap 180 "$TMP/n.gnmap" -sS -n -Pn -T5 --min-rate 100000 -p- "$LAB_BIG_IP"); rn=$(rc)
  tm=$(run_masscan 120 "$TMP/m.list" "$LAB_BIG_IP" -p 1-65535 --rate 1000000 --wait 2); rm=$(rc)
  st=$(score "$TMP/t.gnmap" "$LAB_BIG_IP" "$LAB_BIG_TCP_OPEN" 3)
  sn=$(score "$TMP/n.gnmap" "$LAB_BIG_IP" "$LAB_BIG_TCP_OPEN" 3)
  sm=$(score "$TMP/m.list" "$LAB_BIG_IP" "$LAB_BIG_TCP_OPEN" 3)
  echo "RESULT deep $(field trawl "$tt" "$rt" "${st% *}") $(field nmap "$tn" "$rn" "${sn% *}")" \
    "$(field masscan "$tm" "$rm" "${sm% *}") vs_nmap=$(ratio "$tn" "$tt") vs_masscan=$(ratio "$tm" "$tt")" \
    "false_open=trawl:${st#* },nmap:${sn#* },masscan:${sm#* }" "$fl topo=routed"
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
    "truth_states=trawl:$(right "$TMP/t.tab")/100,nmap:$(right "$TMP/n.tab")/100" \
    "floor=n/a vs_floor=n/a topo=routed"
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
  echo "RESULT memory trawl_16x1000=${a}MB trawl_12x100=${1}MB groups=$ga,$2 probes=$pa,$3 stopped_by=$wa,$4" \
    "floor=n/a vs_floor=n/a topo=routed"
fi

if want wide@anyip || want lossy@anyip; then
  topology anyip
  if want wide@anyip; then
    anyip_loss 0
    big_scenario wide@anyip "$ANY_NET" -sS -n -Pn
  fi
  if want lossy@anyip; then
    anyip_loss 5 || die "could not set the loss on $AT"
    big_scenario lossy@anyip "$ANY_NET" -sS -n -Pn
    anyip_loss 0
  fi
fi
