#!/usr/bin/env bash
# hostile-lab.sh: the hostile part of trawl's test lab (opt-in), two more
# namespaces hung off the scanner namespace of a lab that tests/lab/lab.sh
# brought up with the same TRAWL_LAB_PREFIX. Services that misbehave on
# purpose (tcp_hostile.py, udp_flood.py, dns_hostile.py), a host whose
# every TCP port answers SYN with SYN-ACK (nftables synproxy), and a DNS
# server with hostile PTR answers that becomes the scanner's resolver.
# Same conventions as lab.sh: namespaces ${TRAWL_LAB_PREFIX}NAME, only
# 198.18.0.0/15, nothing in the root namespace; `down` tears it down (a
# test traps EXIT to call it before lab.sh down). Topology, ports and
# answers: tests/lab/hostile/README.md.
#
#   hostile-lab.sh up | down | env | scale N
set -euo pipefail

P=${TRAWL_LAB_PREFIX:-twlab-}
[[ $P =~ ^[A-Za-z0-9_.-]{1,24}$ ]] || { echo "hostile-lab.sh: bad TRAWL_LAB_PREFIX '$P'" >&2; exit 2; }
HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/../lab.sh
RUN=/run/trawl-lab.${P}/hostile
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3
NSS=(hsrv hips)
LIFETIME=900 # every hostile server exits after this many seconds anyway

# Ground truth (hostile-lab.sh env prints it).
SCAN_IP_H=198.18.60.1   SRV_IP=198.18.60.10   HDNS_IP=198.18.60.53
SCAN_IP_I=198.18.61.1   IPS_IP=198.18.61.10
# PTR kinds of the extra addresses on hsrv (dns_hostile.py)
PTR_KINDS="198.18.60.10=huge 198.18.60.11=loop 198.18.60.12=many 198.18.60.13=comploop
198.18.60.14=badchars 198.18.60.15=silent 198.18.60.16=self 198.18.61.10=chain"
# TCP services on SRV_IP: PORT=MODE
TCP_SERVICES="2001=endless 2002=drip 8088=http-drip 8443=tls-garbage 9443=tls-stall
8080=http-header 8000=http-chunked 7080=http-slowchunk 1883=drip 8883=tls-garbage"
UDP_FLOOD_PORT=1900

die() { echo "hostile-lab.sh: $*" >&2; exit 1; }
ns_exists() { [ -e "/run/netns/$P$1" ]; }
nsx() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
ipn() { local n=$1; shift; ip -n "$P$n" "$@"; }
alive() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ -n "$st" ] && [ "${st:0:1}" != Z ]
}
daemon() { # NAME NS CMD...: as lab.sh's daemon(), files in $RUN
  local name=$1 n=$2; shift 2
  setsid ip netns exec "$P$n" "$@" </dev/null >"$RUN/$name.log" 2>&1 9<&- &
  echo $! >"$RUN/$name.pid"
}
stop_pidfile() { # FILE...: TERM, then KILL what is left after 2 s
  local f p pids=() i
  for f in "$@"; do [ -e "$f" ] && pids+=("$(cat "$f")") && rm -f "$f"; done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do
    local left=()
    for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
    [ ${#left[@]} -eq 0 ] && return 0
    pids=("${left[@]}")
    sleep 0.05
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

start_tcp() { # SCALE
  local s m
  for s in $TCP_SERVICES; do
    m=${s#*=}
    daemon "tcp-$m" hsrv "$PY" "$HERE/tcp_hostile.py" "$m" $SRV_IP "${s%=*}" --scale "$1" --lifetime $LIFETIME
  done
  echo "$1" >"$RUN/scale"
}

wait_listen() { # NS proto:port...
  local n=$1 i want have; shift
  for ((i = 0; i < 200; i++)); do
    have=" $( { ss -N "$P$n" -Hlnt | awk '{print "tcp:" $4}'; ss -N "$P$n" -Hlnu | awk '{print "udp:" $4}'; } \
      | sed 's/:[^:]*:/:/' | tr '\n' ' ') "
    local ok=1
    for want in "$@"; do [[ $have == *" $want "* ]] || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    sleep 0.05
  done
  echo "hostile-lab.sh: not listening in $n after 10 s: $*; have:$have" >&2
  return 1
}

tcp_wants() { local s; for s in $TCP_SERVICES; do echo "tcp:${s%=*}"; done; }

build() {
  mkdir -p "$RUN"
  local n a
  for n in "${NSS[@]}"; do
    ip netns add "$P$n"
    ipn "$n" link set lo up
    nsx "$n" sysctl -q -w net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 \
      net.ipv4.conf.default.rp_filter=0 net.ipv4.icmp_ratelimit=0 \
      net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=10000 \
      net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
      net.ipv4.ip_default_ttl=64 net.ipv4.tcp_timestamps=1 >/dev/null
  done
  # scanner <-> hsrv (services, DNS, PTR addresses), scanner <-> hips
  ip link add name hos0 netns "${P}scan" type veth peer name eth0 netns "${P}hsrv"
  ip link add name hips0 netns "${P}scan" type veth peer name eth0 netns "${P}hips"
  ipn scan link set hos0 up
  ipn scan link set hips0 up
  ipn scan addr add $SCAN_IP_H/24 dev hos0
  ipn scan addr add $SCAN_IP_I/24 dev hips0
  ipn hsrv link set eth0 up
  for a in 10 11 12 13 14 15 16 53; do ipn hsrv addr add 198.18.60.$a/24 dev eth0; done
  ipn hips link set eth0 up
  ipn hips addr add $IPS_IP/24 dev eth0

  # hips: every TCP port answers a SYN with a SYN-ACK (synproxy, as an IPS
  # or a SYN-flood shield does), nothing listens behind it.
  nsx hips sysctl -q -w net.netfilter.nf_conntrack_tcp_loose=0 net.ipv4.tcp_syncookies=1 >/dev/null
  nsx hips nft -f - <<EOF2
table ip trawl_hostile {
  chain raw {
    type filter hook prerouting priority raw; policy accept;
    tcp flags syn notrack
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    ct state invalid drop
  }
}
EOF2

  start_tcp "${HOSTILE_SCALE:-1}"
  daemon udp-flood hsrv "$PY" "$HERE/udp_flood.py" $SRV_IP $UDP_FLOOD_PORT --lifetime $LIFETIME
  local dargs=() k
  for k in $PTR_KINDS; do dargs+=(--hostile "$k"); done
  # ordinary lab hosts keep their names (lab.sh's zone)
  eval "$("$LAB" env)"
  for k in "web:$LAB_WEB_IP" "dns:$LAB_DNS_IP" "win:$LAB_WIN_IP" "nat:$LAB_NAT_IP" "udp:$LAB_UDP_IP" \
    "lan1:$LAB_LAN1_IP" "lan2:$LAB_LAN2_IP" "lan3:$LAB_LAN3_IP" "big:$LAB_BIG_IP"; do
    dargs+=(--ptr "${k#*:}=${k%%:*}.lab.test")
  done
  daemon dns-hostile hsrv "$PY" "$HERE/dns_hostile.py" $HDNS_IP "${dargs[@]}" --lifetime $LIFETIME
  # shellcheck disable=SC2046
  wait_listen hsrv $(tcp_wants) udp:$UDP_FLOOD_PORT tcp:53 udp:53

  # The scanner resolves through the hostile DNS from now on (lab.sh's
  # resolv.conf is put back by `down`).
  local rc=/etc/netns/${P}scan/resolv.conf
  [ -e "$RUN/resolv.conf.orig" ] || cp "$rc" "$RUN/resolv.conf.orig"
  printf 'nameserver %s\noptions timeout:1 attempts:2\n' $HDNS_IP >"$rc"
  date +%s >"$RUN/up"
}

do_down() {
  local n p
  [ -d "$RUN" ] && stop_pidfile "$RUN"/*.pid
  for n in "${NSS[@]}"; do
    if ns_exists "$n"; then
      while read -r p; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done < <(ip netns pids "$P$n" 2>/dev/null || true)
      ip netns del "$P$n"
    fi
  done
  # the scanner's end of the veths went with the namespaces; put lab.sh's
  # resolver back if the lab is still there
  if [ -e "$RUN/resolv.conf.orig" ] && [ -d "/etc/netns/${P}scan" ]; then
    cp "$RUN/resolv.conf.orig" "/etc/netns/${P}scan/resolv.conf"
  fi
  rm -rf "$RUN"
}

cmd_env() {
  cat <<EOF2
HOSTILE_RUNDIR='$RUN'
HOSTILE_SCAN_IP='$SCAN_IP_H'
HOSTILE_SRV_IP='$SRV_IP'
HOSTILE_DNS_IP='$HDNS_IP'
HOSTILE_IPS_IP='$IPS_IP'
HOSTILE_PTR_KINDS='$(echo $PTR_KINDS)'
HOSTILE_PTR_IPS='$(for k in $PTR_KINDS; do printf '%s ' "${k%=*}"; done | sed 's/ $//')'
HOSTILE_TCP_SERVICES='$(echo $TCP_SERVICES)'
HOSTILE_TCP_PORTS='$(for s in $TCP_SERVICES; do printf '%s,' "${s%=*}"; done | sed 's/,$//')'
HOSTILE_UDP_FLOOD_PORT='$UDP_FLOOD_PORT'
EOF2
}

[ $# -ge 1 ] || { echo "usage: hostile-lab.sh up|down|env|scale N" >&2; exit 2; }
case $1 in
  up | down | scale) [ "$(id -u)" -eq 0 ] || die "must run as root" ;;
esac
case $1 in
  up)
    ns_exists scan || die "lab $P is not up (tests/lab/lab.sh up first)"
    do_down
    if ! build; then echo "hostile-lab.sh: up failed; tearing down" >&2; do_down; exit 1; fi
    echo "hostile part of lab $P: up"
    ;;
  down) do_down; echo "hostile part of lab $P: down" ;;
  env) cmd_env ;;
  scale)
    [[ ${2:-} =~ ^[1-9][0-9]?$ ]] || die "usage: hostile-lab.sh scale N (1-99)"
    [ -e "$RUN/up" ] || die "hostile part of lab $P is not up"
    stop_pidfile "$RUN"/tcp-*.pid
    start_tcp "$2"
    # shellcheck disable=SC2046
    wait_listen hsrv $(tcp_wants)
    echo "hostile TCP services: scale $2"
    ;;
  *) echo "usage: hostile-lab.sh up|down|env|scale N" >&2; exit 2 ;;
esac
