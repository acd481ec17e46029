#!/usr/bin/env bash
# packets.sh BUILD_DIR: packet-layer benchmarks (make bench-packets).
#
#   dispatch  ns per packet with 10 / 10,000 / 1,000,000 waiters (no network)
#   send      libtrawl's batched Ethernet send vs the fastest plain kernel
#             interface found (sendto per frame, sendmmsg batches; with and
#             without PACKET_QDISC_BYPASS) on a veth between two namespaces
#   capture   highest rate received and dispatched with no loss, and the
#             kernel-timestamp-to-callback latency, for libtrawl's capture,
#             libpcap (immediate mode) and a bare TPACKET_V3 ring
#
# Namespaces twbench-PID-a (sender, a0) and twbench-PID-b (receiver, b0)
# are created here and removed on exit; frames are addressed inside
# 198.18.0.0/15 and nothing is sent from the root namespace.
set -euo pipefail
BUILD=${1:?usage: packets.sh BUILD_DIR}
B=$BUILD/bench
for p in packets_dispatch packets_send packets_capture; do
  [ -x "$B/$p" ] || { echo "packets.sh: $B/$p not built (configure with -DTRAWL_BENCH=ON)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "packets.sh: needs root" >&2; exit 1; }

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
"$B/packets_dispatch"

# ---- send --------------------------------------------------------------------
N=3000000
best_ref=0 best_mode= best_flag=
for flag in "" bypass; do
  for mode in ref-sendto ref-mmsg; do
    pps=$(ina "$B/packets_send" $mode a0 $DMAC $N 0 $flag | field pps)
    echo "# send $mode ${flag:-qdisc}: $pps pps"
    if [ "${pps%.*}" -gt "${best_ref%.*}" ]; then best_ref=$pps best_mode=$mode best_flag=$flag; fi
  done
done
trawl=0
for _ in 1 2 3; do # best of three, like the reference's best mode
  t=$(ina "$B/packets_send" trawl a0 $DMAC $N 0 $best_flag | field pps)
  echo "# send trawl ${best_flag:-qdisc}: $t pps"
  if [ "${t%.*}" -gt "${trawl%.*}" ]; then trawl=$t; fi
done
echo "RESULT send trawl=$trawl ref=$best_ref ratio=$(awk -v a="$trawl" -v b="$best_ref" 'BEGIN{printf "%.2f", a/b}') (ref: $best_mode ${best_flag:-qdisc})"

# ---- capture -----------------------------------------------------------------
# One run: receiver MODE in b, sender at RATE for 1 s in a. Prints the
# receiver's line.
capture_run() {
  local mode=$1 rate=$2 n=$2 out
  out=$(mktemp)
  inb "$B/packets_capture" "$mode" b0 "$n" >"$out" &
  RX_PID=$!
  sleep 0.5 # let the receiver open its socket
  ina "$B/packets_send" ref-mmsg a0 $DMAC "$n" "$rate" >/dev/null
  wait "$RX_PID" || true
  RX_PID=
  cat "$out"
  rm -f "$out"
}
for mode in trawl pcap v3; do
  best=0 lat50=- lat99=-
  for rate in 50000 100000 200000 300000 400000 600000 800000 1000000; do
    line=$(capture_run $mode $rate)
    got=$(echo "$line" | field received)
    echo "# capture $mode at $rate pps: $line"
    if [ "${got:-0}" -ge "$rate" ]; then
      best=$rate lat50=$(echo "$line" | field p50_us) lat99=$(echo "$line" | field p99_us)
    else
      break
    fi
  done
  if [ $mode = trawl ]; then
    echo "RESULT capture pps=$best lat_p50=$lat50 lat_p99=$lat99"
  else
    echo "# compare capture $mode: no-loss pps=$best lat_p50=$lat50 lat_p99=$lat99"
  fi
done
