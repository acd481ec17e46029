#!/usr/bin/env bash
# packets.sh BUILD_DIR [dispatch] [send] [capture] [filter]: packet-layer
# benchmarks (make bench-packets runs all four).
#
#   dispatch  ns per packet with 10 / 10,000 / 1,000,000 waiters (no
#             network): the batch path captures use, the one-frame
#             tw_dispatch_input, a scan-like workload, and cold caches
#   send      libtrawl's batched Ethernet send vs the fastest plain kernel
#             interface found (sendto per frame, sendmmsg batches; with and
#             without PACKET_QDISC_BYPASS) on a veth between two namespaces
#   capture   highest rate received and dispatched with no loss, and the
#             kernel-timestamp-to-callback latency, for libtrawl's capture,
#             libpcap (immediate mode) and a bare TPACKET_V3 ring
#   filter    the kernel filter on the capture: the CPU time (the whole
#             machine's, softirq included) each frame costs with the broad
#             filter, libtrawl's waiters' filter and a libpcap-compiled one,
#             for frames no waiter wants and frames one does, and the time
#             a waiter takes to come and go under each
#
# The machine may be shared: every figure is the median of RUNS runs
# (dispatch 7, send 9, capture 5, filter 5 by default; RUNS=n overrides
# send, capture and filter) taken in alternation with the runs it is compared with, and
# the load average is printed with each section.
#
# Namespaces twbench-PID-a (sender, a0) and twbench-PID-b (receiver, b0)
# are created here and removed on exit; frames are addressed inside
# 198.18.0.0/15 and nothing is sent from the root namespace.
set -euo pipefail
BUILD=${1:?usage: packets.sh BUILD_DIR [dispatch] [send] [capture] [filter]}
shift
SECTIONS=${*:-dispatch send capture filter}
B=$BUILD/bench
for p in packets_dispatch packets_send packets_capture packets_filter; do
  [ -x "$B/$p" ] || { echo "packets.sh: $B/$p not built (configure with -DTRAWL_BENCH=ON)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "packets.sh: needs root" >&2; exit 1; }
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
load() { echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"; }
# median of the numbers on stdin
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

NA=twbench-$$-a NB=twbench-$$-b
RX_PID=
cleanup() {
  [ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null || true
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NA"
ip netns add "$NB"
ip link add a0 netns "$NA" type veth peer name b0 netns "$NB"
ip -n "$NB" link set b0 address 02:74:62:00:00:02
ip -n "$NA" link set a0 up
ip -n "$NB" link set b0 up
DMAC=02:74:62:00:00:02
ina() { ip netns exec "$NA" "$@"; }
inb() { ip netns exec "$NB" "$@"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "# machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"

# ---- dispatch ----------------------------------------------------------------
if want dispatch; then
  load
  "$B/packets_dispatch"
  load
fi

# ---- send --------------------------------------------------------------------
# RUNS rounds (default 9); each round runs every mode once. libtrawl runs
# right next to the sendmmsg reference with the same bypass setting (which
# goes first alternates), so each round gives a ratio measured under the
# same load: the ratio reported is the median of those. Nearly all the
# time is the kernel's (sending, and the veth delivering into the other
# namespace), so the load of the machine moves every figure together.
if want send; then
  load
  N=${SEND_FRAMES:-500000} RUNS_SEND=${RUNS:-9}
  declare -A got
  send_one() { # MODE FLAG
    local flag=$2
    [ "$flag" = qdisc ] && flag=
    pps=$(ina "$B/packets_send" "$1" a0 $DMAC "$N" 0 $flag | field pps)
    got["$1 $2"]="${got["$1 $2"]:-} $pps"
  }
  for ((r = 0; r < RUNS_SEND; r++)); do
    for flag in qdisc bypass; do
      send_one ref-sendto $flag
      if ((r % 2)); then send_one trawl $flag; send_one ref-mmsg $flag
      else send_one ref-mmsg $flag; send_one trawl $flag; fi
    done
  done
  best_ref=0 best_mode=
  for m in "ref-sendto qdisc" "ref-mmsg qdisc" "ref-sendto bypass" "ref-mmsg bypass" "trawl qdisc" "trawl bypass"; do
    med=$(echo ${got[$m]} | tr ' ' '\n' | median)
    echo "# send $m: median $med pps (runs:${got[$m]})"
    case $m in ref-*) if awk -v a="$med" -v b="$best_ref" 'BEGIN{exit !(a > b)}'; then best_ref=$med best_mode=$m; fi ;; esac
  done
  flag=${best_mode#* }
  trawl=$(echo ${got[trawl $flag]} | tr ' ' '\n' | median)
  ratios() { paste <(echo ${got[trawl $1]} | tr ' ' '\n') <(echo ${got[ref-mmsg $1]} | tr ' ' '\n') | awk '{printf "%.3f\n", $1 / $2}'; }
  for f in qdisc bypass; do
    echo "# send trawl/ref-mmsg $f, round by round: $(ratios $f | tr '\n' ' ')median $(ratios $f | median)"
  done
  paired=$(ratios $flag | median)
  [ "${best_mode% *}" = ref-mmsg ] || echo "# send: the fastest reference was $best_mode, not sendmmsg; ratio against ref-mmsg $flag"
  echo "RESULT send trawl=$trawl ref=$best_ref ratio=$(printf %.2f "$paired") (ref: $best_mode; pps medians of $RUNS_SEND rounds of $N frames; ratio: median of the rounds' trawl/ref-mmsg $flag run side by side)"
  load
fi

# ---- capture -----------------------------------------------------------------
# One run: receiver MODE in b, sender at RATE for 1 s in a. Prints the
# receiver's line and the rate the sender reached.
capture_run() {
  local mode=$1 rate=$2 out err sent
  out=$(mktemp) err=$(mktemp)
  inb "$B/packets_capture" "$mode" b0 "$rate" >"$out" 2>"$err" &
  RX_PID=$!
  for _ in $(seq 100); do grep -q ready "$err" && break; sleep 0.05; done
  sent=$(ina "$B/packets_send" ref-mmsg a0 $DMAC "$rate" "$rate" | field pps)
  wait "$RX_PID" || true
  RX_PID=
  echo "$(cat "$out") sent_pps=$sent"
  rm -f "$out" "$err"
}
# A rate passes when the median run lost nothing: at least half the runs
# received every frame. What counts is the rate the frames really arrived
# at (rx_pps, from kernel timestamps; the sender shares the 2 cores and
# may fall short of what it was asked): the median over the runs. Latencies
# are the medians over the runs of each run's p50 and p99. The ladder goes
# on while some receiver passes and the sender still gets within 10% of
# the rate asked for one of them.
if want capture; then
  load
  RUNS_CAP=${RUNS:-5}
  all_modes="trawl pcap v3"
  alive=" $all_modes "
  declare -A best bestat lat50 lat99 l100
  for rate in 50000 100000 200000 300000 400000 500000 700000 1000000; do
    [ -z "${alive// /}" ] && break
    declare -A ok=() p50s=() p99s=() rxs=()
    m=($alive)
    for ((r = 0; r < RUNS_CAP; r++)); do
      for ((k = 0; k < ${#m[@]}; k++)); do
        mode=${m[$(((k + r) % ${#m[@]}))]}
        line=$(capture_run "$mode" $rate)
        echo "# capture $mode at $rate pps: $line"
        rcv=$(echo "$line" | field received)
        [ "${rcv:-0}" -ge "$rate" ] && ok[$mode]=$((${ok[$mode]:-0} + 1))
        p50s[$mode]="${p50s[$mode]:-} $(echo "$line" | field p50_us)"
        p99s[$mode]="${p99s[$mode]:-} $(echo "$line" | field p99_us)"
        rxs[$mode]="${rxs[$mode]:-} $(echo "$line" | field rx_pps)"
      done
    done
    reached=0
    for mode in ${m[@]}; do
      rx=$(echo ${rxs[$mode]} | tr ' ' '\n' | median)
      p50=$(echo ${p50s[$mode]} | tr ' ' '\n' | median) p99=$(echo ${p99s[$mode]} | tr ' ' '\n' | median)
      if awk -v s="$rx" -v r="$rate" 'BEGIN{exit !(s >= 0.9 * r)}'; then reached=1; fi
      [ $rate = 100000 ] && l100[$mode]="p50 $p50 us, p99 $p99 us"
      if [ $((2 * ${ok[$mode]:-0})) -ge "$RUNS_CAP" ]; then
        echo "# capture $mode asked $rate pps: arrived at $rx pps (median), no loss in ${ok[$mode]:-0}/$RUNS_CAP runs, latency p50 $p50 us p99 $p99 us (medians)"
        if awk -v a="$rx" -v b="${best[$mode]:-0}" 'BEGIN{exit !(a > b)}'; then
          best[$mode]=$(printf %.0f "$rx") bestat[$mode]=$rate lat50[$mode]=$p50 lat99[$mode]=$p99
        fi
      else
        echo "# capture $mode asked $rate pps: arrived at $rx pps (median), lost frames in $((RUNS_CAP - ${ok[$mode]:-0}))/$RUNS_CAP runs"
        alive=${alive/ $mode / }
      fi
    done
    if [ $reached = 0 ]; then
      echo "# capture: the sender fell short of $rate pps in every mode; stopping the ladder here"
      break
    fi
  done
  for mode in $all_modes; do
    line="pps=${best[$mode]:-0} lat_p50=${lat50[$mode]:--} lat_p99=${lat99[$mode]:--}"
    at="asked ${bestat[$mode]:--} pps; at 100k pps: ${l100[$mode]:--}"
    if [ $mode = trawl ]; then
      echo "RESULT capture $line ($at; medians of $RUNS_CAP runs)"
    else
      echo "# compare capture $mode: no-loss $line ($at)"
    fi
  done
  load
fi

# ---- filter ------------------------------------------------------------------
# A receiver in b (packets_filter rx MODE N) with N waiters on UDP keys
# (198.19.0.0 + i/50000, port 1000 + i%50000), the sender in a sending
# FILTER_FRAMES frames (default 300,000) at FILTER_RATE pps (default
# 100,000), either to a key nobody waits for ("other") or to waiter N/2's
# ("wanted"). The cost of a frame is the machine's busy CPU time over the
# run (/proc/stat: user, nice, system, irq, softirq), minus the same run
# with no capture at all (taken in the same round), per frame. Each round
# runs every configuration once; the figures are medians of the rounds.
if want filter; then
  load
  FR=${FILTER_FRAMES:-300000} FRATE=${FILTER_RATE:-100000} RUNS_F=${RUNS:-5}
  HZ=$(getconf CLK_TCK)
  busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
  # filter_run MODE N TO: prints the busy ticks, or "-" if the receiver
  # could not be set up (cbpf past 4096 instructions).
  filter_run() {
    local out err pid b0 b1 got
    out=$(mktemp) err=$(mktemp)
    # not through inb: $! must be the receiver itself, for the SIGTERM
    ip netns exec "$NB" "$B/packets_filter" rx "$1" "$2" b0 >"$out" 2>"$err" &
    RX_PID=$! pid=$!
    for _ in $(seq 600); do grep -q ready "$err" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
    if ! grep -q ready "$err"; then
      wait $pid 2>/dev/null || true
      RX_PID=
      echo "# filter $1 $2: receiver failed: $(tr '\n' ' ' <"$err")" >&2
      echo -; rm -f "$out" "$err"; return
    fi
    b0=$(busy)
    ina "$B/packets_send" ref-mmsg a0 $DMAC "$FR" "$FRATE" "to=$3" >/dev/null
    kill -TERM $pid
    wait $pid || true
    RX_PID=
    b1=$(busy)
    got=$(cat "$out")
    echo "# filter $1 n=$2 to=$3: ticks=$((b1 - b0)) $got" >&2
    echo $((b1 - b0))
    rm -f "$out" "$err"
  }
  want_to() { # N: waiter N/2's key
    local i=$(($1 / 2))
    echo "198.19.0.$((i / 50000)):$((1000 + i % 50000))"
  }
  CONFIGS="broad:10 waiters:10 cbpf:10 cbpf:300 broad:1000000 waiters:1000000"
  declare -A ticks
  for ((r = 0; r < RUNS_F; r++)); do
    for traffic in other wanted; do
      base=$(filter_run none 0 198.19.255.254:9)
      for c in $CONFIGS; do
        mode=${c%:*} n=${c#*:}
        if [ $traffic = other ]; then to=198.19.255.254:9; else to=$(want_to $n); fi
        t=$(filter_run $mode $n $to)
        [ "$t" = - ] && { ticks["$c $traffic"]=-; continue; }
        ticks["$c $traffic"]="${ticks["$c $traffic"]:-} $(awk -v t="$t" -v b="$base" -v hz=$HZ -v n=$FR 'BEGIN{printf "%.0f", (t - b) * 1e9 / hz / n}')"
      done
    done
  done
  declare -A ns upd
  for c in $CONFIGS; do
    for traffic in other wanted; do
      v=${ticks["$c $traffic"]:-}
      if [ "$v" = - ] || [ -z "$v" ]; then ns["$c $traffic"]=-; else ns["$c $traffic"]=$(echo $v | tr ' ' '\n' | median); fi
      echo "# filter $c $traffic: ${ns["$c $traffic"]} ns of CPU per frame (rounds:$v)"
    done
    mode=${c%:*} n=${c#*:}
    case $mode in cbpf) cyc=$((n > 100 ? 2 : 10)) ;; *) cyc=100000 ;; esac
    u=$(inb "$B/packets_filter" update "$mode" "$n" b0 $cyc 2>/dev/null | field update_ns || true)
    upd[$c]=${u:--}
    echo "# filter $c: a waiter comes and goes in ${upd[$c]} ns"
  done
  # How many unwanted frames per waiter change make the waiters' filter pay.
  be=$(awk -v bo="${ns[broad:10 other]}" -v wo="${ns[waiters:10 other]}" -v bu="${upd[broad:10]}" -v wu="${upd[waiters:10]}" \
    'BEGIN{ s = bo - wo; printf "%.2f", (s > 0 ? (wu - bu) / s : -1) }')
  ratio=$(awk -v bo="${ns[broad:10 other]}" -v wo="${ns[waiters:10 other]}" 'BEGIN{ printf "%.3f", (bo > 0 ? wo / bo : 0) }')
  echo "RESULT filter other_ns broad=${ns[broad:10 other]} waiters=${ns[waiters:10 other]} cbpf=${ns[cbpf:10 other]} ratio=$ratio wanted_ns broad=${ns[broad:10 wanted]} waiters=${ns[waiters:10 wanted]} cbpf=${ns[cbpf:10 wanted]} update_ns broad=${upd[broad:10]} waiters=${upd[waiters:10]} cbpf=${upd[cbpf:10]} breakeven=$be (10 waiters; CPU per frame at $FRATE pps, medians of $RUNS_F rounds; ratio: waiters/broad for unwanted frames; breakeven: unwanted frames per waiter change above which the waiters' filter costs less)"
  echo "RESULT filter_scale cbpf300 other_ns=${ns[cbpf:300 other]} wanted_ns=${ns[cbpf:300 wanted]} update_ns=${upd[cbpf:300]} w1000000 other_ns broad=${ns[broad:1000000 other]} waiters=${ns[waiters:1000000 other]} update_ns broad=${upd[broad:1000000]} waiters=${upd[waiters:1000000]} (a million distinct keys overflow the 65,536-key map: the waiters' filter then passes everything)"
  load
fi
