#!/usr/bin/env bash
# test_packets.sh BUILD_DIR: the packet layer (capture, dispatcher, raw
# send, routes, ARP/ND) against real stacks in three namespaces of its own:
#
#   twcap-PID-s (s0) --- (r0) twcap-PID-r (r1) --- (h0) twcap-PID-h
#   198.18.200.1/24   198.18.200.254  198.18.201.254   198.18.201.10/24
#   2001:db8:200::1   2001:db8:200::fe 2001:db8:201::fe 2001:db8:201::10
#
# r forwards (IPv4 and IPv6) and answers TTL-expired; h listens on TCP 80.
# The C checks (packets_lab.c) run inside twcap-PID-s only: nothing is sent
# from the root namespace. Everything is removed on exit (trap EXIT).
set -euo pipefail
BUILD=${1:?usage: test_packets.sh BUILD_DIR}
BIN=$BUILD/tests/lab/lab_packets
[ -x "$BIN" ] || { echo "test_packets.sh: $BIN not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test_packets.sh: needs root" >&2; exit 1; }

P=twcap-$$-
S=${P}s R=${P}r H=${P}h
ROUTER_MAC=02:74:63:00:00:fe
LISTENER=

cleanup() {
  [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null || true
  for n in $S $R $H; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT

for n in $S $R $H; do
  ip netns add "$n"
  ip -n "$n" link set lo up
  # No duplicate address detection: addresses are usable at once.
  ip netns exec "$n" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add s0 netns "$S" type veth peer name r0 netns "$R"
ip link add r1 netns "$R" type veth peer name h0 netns "$H"
ip -n "$R" link set r0 address $ROUTER_MAC

ip -n "$S" addr add 198.18.200.1/24 dev s0
ip -n "$S" addr add 2001:db8:200::1/64 dev s0 nodad
ip -n "$S" link set s0 up
ip -n "$S" route add 198.18.201.0/24 via 198.18.200.254
ip -n "$S" -6 route add 2001:db8:201::/64 via 2001:db8:200::fe

ip -n "$R" addr add 198.18.200.254/24 dev r0
ip -n "$R" addr add 2001:db8:200::fe/64 dev r0 nodad
ip -n "$R" addr add 198.18.201.254/24 dev r1
ip -n "$R" addr add 2001:db8:201::fe/64 dev r1 nodad
ip -n "$R" link set r0 up
ip -n "$R" link set r1 up
ip netns exec "$R" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

ip -n "$H" addr add 198.18.201.10/24 dev h0
ip -n "$H" addr add 2001:db8:201::10/64 dev h0 nodad
ip -n "$H" link set h0 up
ip -n "$H" route add 198.18.200.0/24 via 198.18.201.254
ip -n "$H" -6 route add 2001:db8:200::/64 via 2001:db8:201::fe

ip netns exec "$H" socat TCP4-LISTEN:80,fork,reuseaddr SYSTEM:true </dev/null >/dev/null 2>&1 &
LISTENER=$!
# Wait (bounded) until the listener is up.
for _ in $(seq 50); do
  ip netns exec "$H" ss -Hltn 'sport = :80' | grep -q . && break
  sleep 0.1
done

# Wait (bounded) until the router answers on both families; this also puts
# it in the scanner namespace's neighbour table, which one check reads.
for a in 198.18.200.254 2001:db8:200::fe; do
  for _ in $(seq 10); do
    ip netns exec "$S" ping -c1 -W1 "$a" >/dev/null 2>&1 && break
  done
done

ip netns exec "$S" timeout 60 "$BIN" $ROUTER_MAC
