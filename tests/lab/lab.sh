#!/usr/bin/env bash
# lab.sh: trawl's test lab, a small network of Linux network namespaces with
# real services (nginx, sshd, dnsmasq, a line server) for lab tests, benchmarks and
# the demo, and on request a host of real daemons (lab-services.sh). Everything lives in namespaces named ${TRAWL_LAB_PREFIX}NAME and
# uses only 198.18.0.0/15 and 2001:db8::/32; nothing is set up in the root
# namespace. Topology and ground truth: tests/lab/README.md.
#
#   lab.sh up [--services] | down | status | env | exec CMD... | promisc on|off
#   lab.sh loss PCT | bottleneck RATE|off | bigtls on|off
#   lab.sh services up|down|status|truth
set -euo pipefail

P=${TRAWL_LAB_PREFIX:-twlab-}
if ! [[ $P =~ ^[A-Za-z0-9_.-]{1,24}$ ]]; then
  echo "lab.sh: bad TRAWL_LAB_PREFIX '$P' (letters, digits, _ . - ; at most 24)" >&2
  exit 2
fi
RUN=/run/trawl-lab.${P}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Every namespace of the lab (without prefix), in creation order.
NSS=(scan r1 r2 sw lan1 lan2 lan3 bgw big web dns win nat nata natb udp fw in1 in2 in3 in4)

# ---------------------------------------------------------------- addresses
# The ground truth; `lab.sh env` prints it, README.md explains it.
SCAN_NS=${P}scan
SCAN_IF_LAN=lan0   SCAN_IF_ROUTED=up0   SCAN_IF_BENCH=bench0
SCAN_IP_LAN=198.18.1.1     SCAN_IP6_LAN=2001:db8:1::1   SCAN_MAC_LAN=02:74:77:01:00:01
SCAN_IP=198.18.10.2        SCAN_IP6=2001:db8:10::2
SCAN_IP_BENCH=198.18.20.2
R1_IP=198.18.10.1    R1_IP6=2001:db8:10::1    R1_IP_B=198.18.11.1  R1_IP6_B=2001:db8:11::1
R2_IP=198.18.11.2    R2_IP6=2001:db8:11::2    R2_IP_B=198.18.30.1  R2_IP6_B=2001:db8:30::1
WEB_IP=198.18.30.10  WEB_IP6=2001:db8:30::10
DNS_IP=198.18.30.11  DNS_IP6=2001:db8:30::11
WIN_IP=198.18.30.12
NAT_IP=198.18.30.20  NAT_IN_IP=198.18.40.1  NAT_A_IP=198.18.40.10  NAT_B_IP=198.18.40.11
UDP_IP=198.18.30.30
DEAD_IP=198.18.30.99 DEAD_IP6=2001:db8:30::99 UNROUTED_IP=198.18.50.1
LAN1_IP=198.18.1.11  LAN1_IP6=2001:db8:1::11  LAN1_MAC=02:74:77:01:00:0b
LAN2_IP=198.18.1.12  LAN2_IP6=2001:db8:1::12  LAN2_MAC=02:74:77:01:00:0c
LAN3_IP=198.18.1.13  LAN3_IP6=2001:db8:1::13  LAN3_MAC=02:74:77:01:00:0d
LAN_DEAD_IP=198.18.1.99
BGW_IP=198.18.20.1   BGW_IP_B=198.18.21.1
# Behind r2, a firewall router (fw) and its inside segment 198.18.70.0/24:
# in1 (port 80 open) and in2 (port 80 closed) get new TCP to port 80 only;
# everything new to in3 is dropped (traceroute stops at fw); new packets
# to in4 pass only with a TTL a real client's packets have (>= 40): a
# traceroute's probes do not, the copies otrace sends inside an
# established connection do.
FW_IP=198.18.30.50   FW_IP_B=198.18.70.1
IN1_IP=198.18.70.10  IN2_IP=198.18.70.11  IN3_IP=198.18.70.12  IN4_IP=198.18.70.13
FW_NET=198.18.70.0/24
BIG_IP=198.18.21.2   BIG_NET=198.19.0.0/16

# ---------------------------------------------------------------- helpers
die() { echo "lab.sh: $*" >&2; exit 1; }
ns_exists() { [ -e "/run/netns/$P$1" ]; }
nsx() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
ipn() { local n=$1; shift; ip -n "$P$n" "$@"; }
sysc() { local n=$1; shift; nsx "$n" sysctl -q -w "$@" >/dev/null; }
# veth NS1 IF1 NS2 IF2: a veth pair created directly inside the namespaces.
veth() { ip link add name "$2" netns "$P$1" type veth peer name "$4" netns "$P$3"; }

# secs_since T0: seconds (3 decimals) since T0 (date +%s%N)
secs_since() {
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# alive PID: the process exists and is not a zombie (daemons are reparented,
# and whoever reaps them may be slow).
alive() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ -n "$st" ] && [ "${st:0:1}" != Z ]
}

# Serialise up/down/changes of all labs (flock on this script: no lock file
# to leave behind).
lock() { exec 9<"$SELF"; flock -w 60 9 || die "another lab.sh holds the lock"; }

# daemon NAME NS CMD...: start CMD in the foreground inside NS, detached from
# our session, its output in $RUN/NAME.log, its pid in $RUN/NAME.pid.
daemon() {
  local name=$1 n=$2; shift 2
  setsid ip netns exec "$P$n" "$@" </dev/null >"$RUN/$name.log" 2>&1 9<&- &
  echo $! >"$RUN/$name.pid"
}

# Stack profiles (per-namespace sysctls).
#   linux: TTL 64, SYN+ACK with MSS 1460, SACK, timestamps, window scaling.
#   win:   TTL 128, MSS 1400 (route advmss), no SACK, timestamps, scaling.
stack() {
  local n=$1 s=$2
  case $s in
    linux) sysc "$n" net.ipv4.ip_default_ttl=64 net.ipv6.conf.all.hop_limit=64 \
             net.ipv6.conf.default.hop_limit=64 net.ipv4.tcp_timestamps=1 \
             net.ipv4.tcp_window_scaling=1 net.ipv4.tcp_sack=1 ;;
    win)   sysc "$n" net.ipv4.ip_default_ttl=128 net.ipv6.conf.all.hop_limit=128 \
             net.ipv6.conf.default.hop_limit=128 net.ipv4.tcp_timestamps=0 \
             net.ipv4.tcp_window_scaling=0 net.ipv4.tcp_sack=0 ;;
  esac
  echo "$s" >"$RUN/stack.$n"
}
ADVMSS_WIN=1400

# host_addr NS IF IP/LEN GW [IP6/LEN GW6] [advmss]: address a host interface
# and route the lab (only the lab) through GW (none when GW is empty). Connected routes are added by hand
# so that advmss applies to them too.
host_addr() {
  local n=$1 dev=$2 a4=$3 gw=$4 a6=${5:-} gw6=${6:-} mss=${7:-}
  local m=()
  [ -n "$mss" ] && m=(advmss "$mss")
  ipn "$n" link set "$dev" up
  ipn "$n" addr add "$a4" dev "$dev" noprefixroute
  ipn "$n" route add "$(net_of "$a4")" dev "$dev" src "${a4%/*}" "${m[@]}"
  [ -n "$gw" ] && ipn "$n" route add 198.18.0.0/15 via "$gw" dev "$dev" "${m[@]}"
  if [ -n "$a6" ]; then
    ipn "$n" addr add "$a6" dev "$dev" nodad
    [ -n "$gw6" ] && ipn "$n" -6 route add 2001:db8::/32 via "$gw6" dev "$dev"
  fi
  return 0
}
# ns_common NS FWD: the sysctls every lab namespace shares (forwarding FWD),
# and lo up.
ns_common() {
  sysc "$1" net.ipv4.ip_forward="$2" net.ipv6.conf.all.forwarding="$2" \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
    net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
    net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
    net.ipv6.conf.default.router_solicitations=0 \
    net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
    net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=10000
  ipn "$1" link set lo up
}
# net_of 198.18.30.10/24 -> 198.18.30.0/24 (only /24 is used in the lab)
net_of() { local a=${1%/*}; echo "${a%.*}.0/${1#*/}"; }

# The opt-in daemon host (namespace svc): its addresses, configs, up/down.
# shellcheck source-path=SCRIPTDIR source=lab-services.sh
. "$(dirname "$SELF")/lab-services.sh"

# ---------------------------------------------------------------- services
ssl_cert() { # DIR CN SAN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1/key.pem" -out "$1/cert.pem" -days 30 -subj "/CN=$2" \
    -addext "subjectAltName=$3" >/dev/null 2>&1
}

# nginx_conf DIR NAME "PORT[:ssl] ..." [big]
nginx_conf() {
  local d=$1 name=$2 ports=$3 big=${4:-} listen="" p backlog=511 ssl=""
  [ -n "$big" ] && backlog=65535
  for p in $ports; do
    if [ "${p#*:}" = ssl ]; then
      listen+="    listen ${p%:*} ssl backlog=$backlog; listen [::]:${p%:*} ssl backlog=$backlog;
"
      ssl="    ssl_certificate $d/cert.pem;
    ssl_certificate_key $d/key.pem;
"
    else
      listen+="    listen $p backlog=$backlog; listen [::]:$p backlog=$backlog;
"
    fi
  done
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
# trawl lab: nginx for $name (generated by tests/lab/lab.sh)
user nobody nogroup;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $d/nginx.pid;
error_log $d/nginx.err warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    client_header_timeout 5s;
    keepalive_timeout 5s;
    default_type text/plain;
$ssl    server {
$listen        location / { return 200 "trawl lab $name\n"; }
    }
}
EOF
}
nginx_start() { # NAME NS DIR
  daemon "$1" "$2" /usr/sbin/nginx -p "$3" -c "$3/nginx.conf" -e "$3/nginx.err" -g 'daemon off;'
}

sshd_start() { # NAME NS DIR
  local d=$3
  mkdir -p /run/sshd # privilege separation dir, compiled into sshd
  ssh-keygen -q -t ed25519 -N '' -C "trawl-lab-$1" -f "$d/ssh_host_ed25519_key"
  cat >"$d/sshd_config" <<EOF
# trawl lab: sshd for $1 (generated by tests/lab/lab.sh); nobody may log in.
Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey $d/ssh_host_ed25519_key
PidFile none
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
DenyUsers *
LoginGraceTime 10
MaxStartups 200:30:400
EOF
  daemon "$1" "$2" /usr/sbin/sshd -D -e -f "$d/sshd_config"
}

dnsmasq_start() { # NAME NS DIR
  local d=$3
  cat >"$d/dnsmasq.conf" <<EOF
# trawl lab: dnsmasq for $1 (generated by tests/lab/lab.sh). No upstream:
# it answers lab.test and the lab's reverse zones only.
port=53
user=nobody
group=nogroup
no-resolv
no-hosts
no-poll
pid-file=
log-facility=$d/dnsmasq.log
domain=lab.test
local=/lab.test/
local=/18.198.in-addr.arpa/
local=/19.198.in-addr.arpa/
local=/8.b.d.0.1.0.0.2.ip6.arpa/
host-record=scan.lab.test,$SCAN_IP,$SCAN_IP6
host-record=r1.lab.test,$R1_IP,$R1_IP6
host-record=r2.lab.test,$R2_IP,$R2_IP6
host-record=web.lab.test,$WEB_IP,$WEB_IP6
host-record=dns.lab.test,$DNS_IP,$DNS_IP6
host-record=win.lab.test,$WIN_IP
host-record=nat.lab.test,$NAT_IP
host-record=udp.lab.test,$UDP_IP
host-record=lan1.lab.test,$LAN1_IP,$LAN1_IP6
host-record=lan2.lab.test,$LAN2_IP,$LAN2_IP6
host-record=lan3.lab.test,$LAN3_IP,$LAN3_IP6
host-record=big.lab.test,$BIG_IP
host-record=fw.lab.test,$FW_IP
host-record=in1.lab.test,$IN1_IP
cname=www.lab.test,web.lab.test
txt-record=version.lab.test,"trawl lab"
EOF
  daemon "$1" "$2" /usr/sbin/dnsmasq -k --conf-file="$d/dnsmasq.conf"
}

# A TCP service that prints one line and closes; UDP services: echo, or
# one line per datagram. One process each, no fork per client
# (line_server.py says why).
LINE_SERVER=$(dirname "$SELF")/line_server.py
banner_start() { # NAME NS PORT TEXT
  daemon "$1" "$2" python3 "$LINE_SERVER" tcp "$3" "$4"
}
udp_start() { # NAME NS PORT echo|TEXT
  daemon "$1" "$2" python3 "$LINE_SERVER" udp "$3" "$4"
}

# Listeners each namespace must show before `up` returns: "NS proto:port ...".
LISTEN=(
  "web tcp:22 tcp:80 tcp:443 tcp:2323"
  "dns tcp:53 udp:53"
  "win tcp:80 tcp:2323"
  "nata tcp:22"
  "natb tcp:80"
  "udp tcp:53 udp:53 udp:7 udp:123 udp:161"
  "lan1 tcp:2323"
  "big tcp:22 tcp:80 tcp:443"
  "in1 tcp:80"
  "in3 tcp:80"
  "in4 tcp:80"
)

listening() { # NS proto:port... -> 0 when all listen
  local n=$1 have want; shift
  have=" $( { ss -N "$P$n" -Hlnt | awk '{print "tcp", $4}'; ss -N "$P$n" -Hlnu | awk '{print "udp", $4}'; } \
            | awk '{k = split($2, a, ":"); print $1 ":" a[k]}' | sort -u | tr '\n' ' ') "
  for want in "$@"; do
    [[ $have == *" $want "* ]] || return 1
  done
}

wait_listeners() {
  local i l ok
  for ((i = 0; i < 200; i++)); do # at most ~10 s
    ok=1
    for l in "${LISTEN[@]}"; do
      # shellcheck disable=SC2086
      listening $l || { ok=0; break; }
    done
    [ $ok = 1 ] && return 0
    check_daemons "$RUN" || return 1
    sleep 0.05
  done
  echo "lab.sh: services not listening after 10 s: $l" >&2
  return 1
}

check_daemons() { # [DIR [TAG]]: all daemons with a pid file in DIR ($RUN) alive?
  local f bad=0 dir=${1:-$RUN} tag=${2:-}
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    if ! alive "$(cat "$f")"; then
      echo "lab.sh: daemon $tag$(basename "$f" .pid) is not running; log:" >&2
      tail -n 5 "${f%.pid}.log" >&2 || true
      bad=1
    fi
  done
  return $bad
}

# lan_host N [replace]: LAN host N's macvlan (on sw's par) and addresses.
lan_host() {
  local i=$1 ip ip6 mac mss=""
  ip=LAN${i}_IP ip6=LAN${i}_IP6 mac=LAN${i}_MAC
  ip=${!ip} ip6=${!ip6} mac=${!mac}
  [ "$(cat "$RUN/stack.lan$i")" = win ] && mss=$ADVMSS_WIN
  if [ "${2:-}" = replace ]; then
    ipn sw link add link par name eth0new netns "${P}lan$i" address "02:74:77:01:ff:0$i" type macvlan mode bridge
    ipn "lan$i" link del eth0
    ipn "lan$i" link set dev eth0new address "$mac" name eth0
  else
    ipn sw link add link par name eth0 netns "${P}lan$i" address "$mac" type macvlan mode bridge
  fi
  host_addr "lan$i" eth0 "$ip/24" "" "$ip6/64" "" "$mss"
}

# fake_bcast_answered: from the scanner's lan0, send ARP requests for every
# LAN host to ff:ff:ff:ff:ff:fe, ff:ff:00:00:00:00 and 01:00:00:00:00:00;
# print the addresses that answered within 0.3 s (none should, unless
# promiscuous). Plain python3, no scapy.
fake_bcast_answered() {
  nsx scan /usr/bin/python3 - "$SCAN_IF_LAN" "$SCAN_IP_LAN" "$SCAN_MAC_LAN" \
    "$LAN1_IP" "$LAN2_IP" "$LAN3_IP" <<'EOF'
import select, socket, struct, sys, time
iface, myip, mymac, targets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
me = bytes.fromhex(mymac.replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((iface, 0))
for dst in ("ff:ff:ff:ff:ff:fe", "ff:ff:00:00:00:00", "01:00:00:00:00:00"):
    for t in targets:
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, me,
                          socket.inet_aton(myip), bytes(6), socket.inet_aton(t))
        s.send(bytes.fromhex(dst.replace(":", "")) + me + b"\x08\x06" + arp)
got, end = set(), time.monotonic() + 0.3
while (left := end - time.monotonic()) > 0 and select.select([s], [], [], left)[0]:
    f = s.recv(2048)
    if len(f) >= 42 and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02":
        got.add(socket.inet_ntoa(f[28:32]))
print(" ".join(sorted(got)))
EOF
}

# ---------------------------------------------------------------- build
build() {
  mkdir -p "$RUN"
  chmod 755 "$RUN"
  local n
  for n in "${NSS[@]}"; do ip netns add "$P$n"; done

  # Common sysctls. Namespaces inherit IPv4 conf/all from the root namespace,
  # so set what matters explicitly. ICMP rate limits are off everywhere but
  # on the UDP host (see below) so that results are deterministic.
  for n in "${NSS[@]}"; do
    local fwd=0
    case $n in r1 | r2 | bgw | nat | fw) fwd=1 ;; esac
    ns_common "$n" $fwd
  done
  # The wire under the LAN carries no IP of its own.
  sysc sw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  # The UDP host rate-limits ICMP like a stock Linux: per destination one
  # message per icmp_ratelimit ms (burst 6) for the types in icmp_ratemask
  # (6168 = dest-unreachable, source-quench, time-exceeded, param-problem),
  # and at most icmp_msgs_per_sec overall (burst icmp_msgs_burst).
  sysc udp net.ipv4.icmp_ratelimit=1000 net.ipv4.icmp_ratemask=6168 \
    net.ipv4.icmp_msgs_per_sec=1000 net.ipv4.icmp_msgs_burst=50
  # The big host answers 3 x 65,536 SYNs quickly.
  sysc big net.ipv4.tcp_max_syn_backlog=262144 net.core.somaxconn=65535 \
    net.ipv4.tcp_syncookies=1 net.ipv4.tcp_synack_retries=1
  for n in scan r1 r2 sw bgw nat web dns udp nata lan1 lan3 big fw in1 in2 in3 in4; do stack $n linux; done
  for n in win natb lan2; do stack $n win; done

  # --- scanner <-> r1 <-> r2: the routed path
  veth scan up0 r1 s0
  veth r1 n0 r2 u0
  ipn scan link set up0 up
  ipn scan addr add $SCAN_IP/24 dev up0
  ipn scan addr add $SCAN_IP6/64 dev up0 nodad
  ipn scan route add 198.18.0.0/15 via $R1_IP dev up0
  ipn scan -6 route add 2001:db8::/32 via $R1_IP6 dev up0
  ipn r1 link set s0 up
  ipn r1 link set n0 up
  ipn r1 addr add $R1_IP/24 dev s0
  ipn r1 addr add $R1_IP6/64 dev s0 nodad
  ipn r1 addr add $R1_IP_B/24 dev n0
  ipn r1 addr add $R1_IP6_B/64 dev n0 nodad
  ipn r1 route add 198.18.30.0/24 via $R2_IP dev n0
  ipn r1 -6 route add 2001:db8:30::/64 via $R2_IP6 dev n0
  ipn r2 link set u0 up
  ipn r2 addr add $R2_IP/24 dev u0
  ipn r2 addr add $R2_IP6/64 dev u0 nodad
  ipn r2 route add 198.18.10.0/24 via $R1_IP_B dev u0
  ipn r2 -6 route add 2001:db8:10::/64 via $R1_IP6_B dev u0
  # server segment: a bridge in r2
  ipn r2 link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ipn r2 link set br0 up
  ipn r2 addr add $R2_IP_B/24 dev br0
  ipn r2 addr add $R2_IP6_B/64 dev br0 nodad
  for n in web dns win nat udp fw; do
    veth r2 "h-$n" "$n" eth0
    ipn r2 link set "h-$n" master br0 up
  done
  host_addr web eth0 $WEB_IP/24 $R2_IP_B $WEB_IP6/64 $R2_IP6_B
  host_addr dns eth0 $DNS_IP/24 $R2_IP_B $DNS_IP6/64 $R2_IP6_B
  host_addr win eth0 $WIN_IP/24 $R2_IP_B "" "" $ADVMSS_WIN
  host_addr nat eth0 $NAT_IP/24 $R2_IP_B
  host_addr udp eth0 $UDP_IP/24 $R2_IP_B
  host_addr fw eth0 $FW_IP/24 $R2_IP_B

  # --- firewall router fw and its inside hosts (a 4-hop path)
  ipn r1 route add $FW_NET via $R2_IP dev n0
  ipn r2 route add $FW_NET via $FW_IP dev br0
  ipn fw link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ipn fw link set br0 up
  ipn fw addr add $FW_IP_B/24 dev br0
  for n in in1 in2 in3 in4; do
    veth fw "h-$n" "$n" eth0
    ipn fw link set "h-$n" master br0 up
  done
  host_addr in1 eth0 $IN1_IP/24 $FW_IP_B
  host_addr in2 eth0 $IN2_IP/24 $FW_IP_B
  host_addr in3 eth0 $IN3_IP/24 $FW_IP_B
  host_addr in4 eth0 $IN4_IP/24 $FW_IP_B
  nsx fw nft -f - <<EOF
table ip trawl_lab_fw {
  chain inbound {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    iifname "eth0" ip daddr $IN3_IP drop
    iifname "eth0" ip daddr $IN4_IP ip ttl < 40 drop
    iifname "eth0" tcp dport 80 accept
    iifname "eth0" drop
  }
}
EOF

  # --- NAT gateway and its two inside hosts
  ipn nat link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ipn nat link set br0 up
  ipn nat addr add $NAT_IN_IP/24 dev br0
  veth nat a0 nata eth0
  veth nat b0 natb eth0
  ipn nat link set a0 master br0 up
  ipn nat link set b0 master br0 up
  host_addr nata eth0 $NAT_A_IP/24 $NAT_IN_IP
  host_addr natb eth0 $NAT_B_IP/24 $NAT_IN_IP "" "" $ADVMSS_WIN
  nsx nat nft -f - <<EOF
table ip trawl_lab {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "eth0" ip daddr $NAT_IP tcp dport 22 dnat to $NAT_A_IP:22
    iifname "eth0" ip daddr $NAT_IP tcp dport 80 dnat to $NAT_B_IP:80
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" ip saddr 198.18.40.0/24 masquerade
  }
}
EOF

  # --- filtered ports
  nsx web nft -f - <<EOF
table inet trawl_lab {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport 8080 drop
    tcp dport 8081 reject with icmpx type admin-prohibited
  }
}
EOF
  nsx udp nft -f - <<EOF
table inet trawl_lab {
  chain input {
    type filter hook input priority filter; policy accept;
    udp dport 69 drop
  }
}
EOF

  # --- LAN: scanner's lan0 is a veth whose peer (par, in sw) carries
  # bridge-mode macvlans, one per LAN host: they filter multicast like NICs.
  veth scan lan0 sw par
  ipn sw link set par up
  ipn scan link set lan0 address $SCAN_MAC_LAN up
  ipn scan addr add $SCAN_IP_LAN/24 dev lan0
  ipn scan addr add $SCAN_IP6_LAN/64 dev lan0 nodad
  local i try bad v
  for i in 1 2 3; do lan_host $i; done
  # macvlan filters multicast through a 256-bit hash mixed with the device's
  # kernel address, so now and then a fresh device lets ff:ff:ff:ff:ff:fe
  # through without being promiscuous. Check, and replace such a device (the
  # new one is made while the old one exists, so it lands elsewhere).
  for ((try = 0; ; try++)); do
    bad=$(fake_bcast_answered)
    [ -z "$bad" ] && break
    [ $try -lt 10 ] || { echo "lab.sh: LAN hosts answer fake broadcasts: $bad" >&2; return 1; }
    for i in 1 2 3; do
      v=LAN${i}_IP
      if [[ " $bad " == *" ${!v} "* ]]; then lan_host $i replace; fi
    done
  done

  # --- bench path: scanner -> bgw (loss, bottleneck) -> big (AnyIP /16)
  veth scan bench0 bgw s0
  veth bgw b0 big eth0
  ipn scan link set bench0 up
  ipn scan addr add $SCAN_IP_BENCH/24 dev bench0
  ipn scan route add $BIG_NET via $BGW_IP dev bench0
  ipn scan route add "$(net_of $BIG_IP/24)" via $BGW_IP dev bench0
  ipn bgw link set s0 up
  ipn bgw link set b0 up
  ipn bgw addr add $BGW_IP/24 dev s0
  ipn bgw addr add $BGW_IP_B/24 dev b0
  ipn bgw route add $BIG_NET via $BIG_IP dev b0
  host_addr big eth0 $BIG_IP/24 $BGW_IP_B
  ipn big route add local $BIG_NET dev lo

  # --- services
  local d
  for n in web dns win nata natb udp lan1 big; do mkdir -p "$RUN/$n"; done
  ssl_cert "$RUN/web" web.lab.test "DNS:web.lab.test,IP:$WEB_IP,IP:$WEB_IP6"
  nginx_conf "$RUN/web" web "80 443:ssl"
  nginx_conf "$RUN/win" win "80"
  nginx_conf "$RUN/natb" natb "80"
  nginx_conf "$RUN/big" big "22 80 443" big
  for n in web win natb big; do nginx_start "$n-nginx" $n "$RUN/$n"; done
  sshd_start web-sshd web "$RUN/web"
  sshd_start nata-sshd nata "$RUN/nata"
  dnsmasq_start dns-dnsmasq dns "$RUN/dns"
  dnsmasq_start udp-dnsmasq udp "$RUN/udp"
  banner_start web-banner web 2323 "TRAWL-LAB-BANNER web"
  banner_start win-banner win 2323 "TRAWL-LAB-BANNER win"
  banner_start lan1-banner lan1 2323 "TRAWL-LAB-BANNER lan1"
  banner_start in1-http in1 80 "TRAWL-LAB-BANNER in1"
  banner_start in3-http in3 80 "TRAWL-LAB-BANNER in3"
  banner_start in4-http in4 80 "TRAWL-LAB-BANNER in4"
  udp_start udp-echo udp 7 echo
  udp_start udp-ntp udp 123 "TRAWL-LAB-UDP 123"
  udp_start udp-snmp udp 161 "TRAWL-LAB-UDP 161"

  # The scanner resolves names with the lab's DNS (ip netns exec binds it).
  mkdir -p "/etc/netns/$SCAN_NS"
  printf 'nameserver %s\nsearch lab.test\n' $DNS_IP >"/etc/netns/$SCAN_NS/resolv.conf"

  echo 0 >"$RUN/loss"
  echo off >"$RUN/bottleneck"
  wait_listeners
  date +%s >"$RUN/up"
}

# ---------------------------------------------------------------- down
# stop_pids TICKS PID...: TERM, wait up to TICKS x 50 ms for them to end,
# then KILL what is left.
stop_pids() {
  local ticks=$1 i p left=(); shift
  [ $# -gt 0 ] || return 0
  local pids=("$@")
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < ticks; i++)); do
    left=()
    for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
    [ ${#left[@]} -eq 0 ] && return 0
    pids=("${left[@]}")
    sleep 0.05
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
}

# Stop every process of the lab (pid files, then whatever still runs inside
# the lab's namespaces), delete the namespaces (which takes their links, nft
# tables and qdiscs with them) and the runtime directory.
do_down() {
  local f n pids=() p i
  svc_down
  if [ -d "$RUN" ]; then
    for f in "$RUN"/*.pid; do
      [ -e "$f" ] && pids+=("$(cat "$f")")
    done
  fi
  for n in "${NSS[@]}"; do
    if ns_exists "$n"; then
      while read -r p; do [ -n "$p" ] && pids+=("$p"); done < <(ip netns pids "$P$n" 2>/dev/null || true)
    fi
  done
  stop_pids 60 "${pids[@]}" # at most 3 s
  for n in "${NSS[@]}"; do
    if ns_exists "$n"; then
      # Late children (nginx workers, daemons that forked) are killed by id too.
      while read -r p; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done < <(ip netns pids "$P$n" 2>/dev/null || true)
      ip netns del "$P$n"
    fi
  done
  rm -rf "/etc/netns/$SCAN_NS"
  rmdir /etc/netns 2>/dev/null || true
  rm -rf "$RUN"
}

# ---------------------------------------------------------------- status
is_up() {
  [ -e "$RUN/up" ] || return 1
  local n
  for n in "${NSS[@]}"; do ns_exists "$n" || return 1; done
  check_daemons "$RUN" 2>/dev/null
}

cmd_status() {
  local n f up=0 missing=0 state
  for n in "${NSS[@]}"; do
    if ns_exists "$n"; then up=$((up + 1)); else missing=$((missing + 1)); fi
  done
  if [ $up -eq 0 ] && [ ! -d "$RUN" ]; then
    echo "lab $P: down"
    return 3
  fi
  echo "lab $P: namespaces up: $up/${#NSS[@]} (runtime dir $RUN)"
  for n in "${NSS[@]}"; do
    ns_exists "$n" || { echo "  ns $P$n: MISSING"; continue; }
    local addrs
    addrs=$(ip -n "$P$n" -br addr show 2>/dev/null | awk '$1 != "lo" {
      sub(/@.*/, "", $1); a = ""
      for (i = 3; i <= NF; i++) if ($i !~ /^fe80:/) a = a (a == "" ? "" : " ") $i
      printf " %s[%s]", $1, a }')
    printf '  ns %-14s %-6s%s\n' "$P$n" "$(cat "$RUN/stack.$n" 2>/dev/null || echo '?')" "$addrs"
  done
  local bad=0
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    if alive "$(cat "$f")"; then state=running; else state=DEAD; bad=1; fi
    printf '  daemon %-14s pid %-7s %s\n' "$(basename "$f" .pid)" "$(cat "$f")" "$state"
  done
  echo "  loss: $(cat "$RUN/loss" 2>/dev/null || echo '?')%  bottleneck: $(cat "$RUN/bottleneck" 2>/dev/null || echo '?')"
  if ns_exists "$SVC_NS" || [ -d "$SVC_RUN" ]; then svc_status | sed 's/^/  /'; fi
  if ns_exists lan3; then
    if ip -n "${P}lan3" link show eth0 | grep -q PROMISC; then state=on; else state=off; fi
    echo "  promisc (lan3 $LAN3_IP): $state"
  fi
  if [ $missing -eq 0 ] && [ $bad -eq 0 ] && [ -e "$RUN/up" ]; then
    echo "lab $P: UP"
    return 0
  fi
  echo "lab $P: PARTIAL (run 'lab.sh down' or 'lab.sh up')"
  return 1
}

# ---------------------------------------------------------------- env
cmd_env() {
  cat <<EOF
LAB_PREFIX='$P'
LAB_RUNDIR='$RUN'
LAB_NS_SCAN='$SCAN_NS'
LAB_EXEC='ip netns exec $SCAN_NS'
LAB_SCAN_IF_LAN='$SCAN_IF_LAN'
LAB_SCAN_IF_ROUTED='$SCAN_IF_ROUTED'
LAB_SCAN_IF_BENCH='$SCAN_IF_BENCH'
LAB_SCAN_IP_LAN='$SCAN_IP_LAN'
LAB_SCAN_IP6_LAN='$SCAN_IP6_LAN'
LAB_SCAN_MAC_LAN='$SCAN_MAC_LAN'
LAB_SCAN_IP='$SCAN_IP'
LAB_SCAN_IP6='$SCAN_IP6'
LAB_SCAN_IP_BENCH='$SCAN_IP_BENCH'
LAB_R1_IP='$R1_IP'
LAB_R1_IP6='$R1_IP6'
LAB_R1_IP_B='$R1_IP_B'
LAB_R1_IP6_B='$R1_IP6_B'
LAB_R2_IP='$R2_IP'
LAB_R2_IP6='$R2_IP6'
LAB_R2_IP_B='$R2_IP_B'
LAB_R2_IP6_B='$R2_IP6_B'
LAB_WEB_IP='$WEB_IP'
LAB_WEB_IP6='$WEB_IP6'
LAB_WEB_NAME='web.lab.test'
LAB_WEB_TCP_OPEN='22 80 443 2323'
LAB_WEB_TCP_FILTERED='8080 8081'
LAB_WEB_TCP_CLOSED='21 23 25 8443'
LAB_WEB_BANNER_PORT='2323'
LAB_WEB_BANNER='TRAWL-LAB-BANNER web'
LAB_WEB_TTL='62'
LAB_DNS_IP='$DNS_IP'
LAB_DNS_IP6='$DNS_IP6'
LAB_DNS_TCP_OPEN='53'
LAB_DNS_UDP_OPEN='53'
LAB_DNS_ZONE='lab.test'
LAB_WIN_IP='$WIN_IP'
LAB_WIN_TCP_OPEN='80 2323'
LAB_WIN_TCP_CLOSED='22 443'
LAB_WIN_TTL='126'
LAB_WIN_MSS='$ADVMSS_WIN'
LAB_NAT_IP='$NAT_IP'
LAB_NAT_TCP_OPEN='22 80'
LAB_NAT_TCP_CLOSED='443 8080'
LAB_NAT_TTL_22='61'
LAB_NAT_TTL_80='125'
LAB_NAT_A_IP='$NAT_A_IP'
LAB_NAT_B_IP='$NAT_B_IP'
LAB_UDP_IP='$UDP_IP'
LAB_UDP_UDP_OPEN='7 53 123 161'
LAB_UDP_UDP_FILTERED='69'
LAB_UDP_UDP_CLOSED='9 137 500'
LAB_UDP_TCP_OPEN='53'
LAB_LAN_NET='198.18.1.0/24'
LAB_LAN_NET6='2001:db8:1::/64'
LAB_LAN1_IP='$LAN1_IP'
LAB_LAN1_IP6='$LAN1_IP6'
LAB_LAN1_MAC='$LAN1_MAC'
LAB_LAN1_TCP_OPEN='2323'
LAB_LAN2_IP='$LAN2_IP'
LAB_LAN2_IP6='$LAN2_IP6'
LAB_LAN2_MAC='$LAN2_MAC'
LAB_LAN3_IP='$LAN3_IP'
LAB_LAN3_IP6='$LAN3_IP6'
LAB_LAN3_MAC='$LAN3_MAC'
LAB_LAN_LIVE='$LAN1_IP $LAN2_IP $LAN3_IP'
LAB_PROMISC_IP='$LAN3_IP'
LAB_PROMISC_MAC='$LAN3_MAC'
LAB_LAN_DEAD_IP='$LAN_DEAD_IP'
LAB_DEAD_IP='$DEAD_IP'
LAB_DEAD_IP6='$DEAD_IP6'
LAB_UNROUTED_IP='$UNROUTED_IP'
LAB_LIVE='$R1_IP $R1_IP_B $R2_IP $R2_IP_B $WEB_IP $DNS_IP $WIN_IP $NAT_IP $UDP_IP $LAN1_IP $LAN2_IP $LAN3_IP $BGW_IP $BGW_IP_B $BIG_IP $FW_IP'
LAB_LIVE6='$R1_IP6 $R1_IP6_B $R2_IP6 $R2_IP6_B $WEB_IP6 $DNS_IP6 $LAN1_IP6 $LAN2_IP6 $LAN3_IP6'
LAB_BGW_IP='$BGW_IP'
LAB_BGW_IP_B='$BGW_IP_B'
LAB_BIG_IP='$BIG_IP'
LAB_BIG_NET='$BIG_NET'
LAB_BIG_TCP_OPEN='22 80 443'
LAB_BIG_TCP_CLOSED='21 25 8080'
LAB_FW_IP='$FW_IP'
LAB_FW_NET='$FW_NET'
LAB_IN1_IP='$IN1_IP'
LAB_IN2_IP='$IN2_IP'
LAB_IN3_IP='$IN3_IP'
LAB_IN4_IP='$IN4_IP'
EOF
  svc_env
}

# ---------------------------------------------------------------- knobs
need_up() { ns_exists scan || die "lab $P is not up (lab.sh up)"; }

cmd_loss() {
  local pct=${1:-}
  [[ $pct =~ ^[0-9]+$ ]] && [ "$pct" -le 100 ] || die "usage: lab.sh loss PCT (0-100)"
  need_up
  nsx bgw nft delete table ip trawl_lab_loss 2>/dev/null || true
  if [ "$pct" -gt 0 ]; then
    nsx bgw nft -f - <<EOF
table ip trawl_lab_loss {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "s0" numgen random mod 100 < $pct drop
  }
}
EOF
  fi
  echo "$pct" >"$RUN/loss"
  echo "loss toward $BIG_NET: $pct%"
}

cmd_bottleneck() {
  local rate=${1:-} dev
  [[ $rate == off || $rate =~ ^[0-9]+(bit|kbit|mbit|gbit|bps|kbps|mbps)$ ]] ||
    die "usage: lab.sh bottleneck RATE|off (e.g. 10mbit)"
  need_up
  for dev in s0 b0; do
    tc -n "${P}bgw" qdisc del dev $dev root 2>/dev/null || true
    if [ "$rate" != off ]; then
      tc -n "${P}bgw" qdisc add dev $dev root handle 1: htb default 1
      tc -n "${P}bgw" class add dev $dev parent 1: classid 1:1 htb rate "$rate" ceil "$rate"
    fi
  done
  echo "$rate" >"$RUN/bottleneck"
  echo "bottleneck on bgw (both directions): $rate"
}

cmd_promisc() {
  case ${1:-} in on | off) ;; *) die "usage: lab.sh promisc on|off" ;; esac
  need_up
  ipn lan3 link set eth0 promisc "$1"
  echo "lan3 ($LAN3_IP) promisc $1"
}

# bigtls on|off: a second nginx in big with TLS on 8443 only (for bench/nse.sh's
# ssl-cert over 1,000+ hosts; big's own nginx speaks plain HTTP on 22, 80 and
# 443, and no test looks at big's 8443, so the lab's ground truth stays).
cmd_bigtls() {
  local d=$RUN/bigtls i
  case ${1:-} in
    on)
      need_up
      if [ -e "$RUN/bigtls-nginx.pid" ] && alive "$(cat "$RUN/bigtls-nginx.pid")"; then
        echo "bigtls: already on"; return 0
      fi
      mkdir -p "$d"
      ssl_cert "$d" big.lab.test "DNS:big.lab.test"
      chmod 644 "$d"/*.pem
      nginx_conf "$d" bigtls "8443:ssl" big
      nginx_start bigtls-nginx big "$d"
      for ((i = 0; i < 100; i++)); do
        [ -n "$(ss -N "${P}big" -Hltn 'sport = :8443' 2>/dev/null)" ] && break
        alive "$(cat "$RUN/bigtls-nginx.pid")" || break
        sleep 0.05
      done
      [ -n "$(ss -N "${P}big" -Hltn 'sport = :8443' 2>/dev/null)" ] ||
        die "bigtls: nginx does not listen on big:8443: $(tail -3 "$RUN/bigtls-nginx.log" "$d/nginx.err" 2>&1)"
      echo "bigtls: TLS on 8443 of $BIG_NET (nginx, self-signed big.lab.test)"
      ;;
    off)
      if [ -e "$RUN/bigtls-nginx.pid" ]; then
        stop_pids 60 "$(cat "$RUN/bigtls-nginx.pid")"
        rm -f "$RUN/bigtls-nginx.pid"
      fi
      echo "bigtls: off"
      ;;
    *) die "usage: lab.sh bigtls on|off" ;;
  esac
}

# services up|down|status|truth: the daemon host (lab-services.sh). Up
# needs the lab up; the caller holds the lock for up and down.
cmd_services() {
  local t0
  case ${1:-} in
    up)
      is_up || die "lab $P is not up (lab.sh up --services, or lab.sh up first)"
      if svc_is_up; then echo "services $P: already up"; return 0; fi
      svc_down
      t0=$(date +%s%N)
      if ! "$SELF" __svc_build; then
        echo "lab.sh: services up failed; stopping them" >&2
        svc_down
        return 1
      fi
      echo "services $P: up in $(secs_since "$t0") s ($SVC_IP)"
      ;;
    down) svc_down; echo "services $P: down" ;;
    status) svc_status ;;
    truth) svc_truth ;;
    *) die "usage: lab.sh services up|down|status|truth" ;;
  esac
}

usage() {
  cat <<EOF
usage: lab.sh up [--services]|down|status|env|exec CMD...|promisc on|off|loss PCT|bottleneck RATE|off
       lab.sh bigtls on|off
       lab.sh services up|down|status|truth
  prefix: \$TRAWL_LAB_PREFIX (now '$P'); see tests/lab/README.md
EOF
}

# ---------------------------------------------------------------- main
[ $# -ge 1 ] || { usage >&2; exit 2; }
cmd=$1
shift
case $cmd in
  up | down | __build | __svc_build | loss | bottleneck | promisc | bigtls | services)
    [ "${1:-}" = truth ] || [ "$(id -u)" -eq 0 ] || die "must run as root" ;;
esac
case $cmd in
  up)
    case ${1:-} in "") svc=0 ;; --services) svc=1 ;; *) usage >&2; exit 2 ;; esac
    lock
    if is_up; then
      echo "lab $P: already up"
      if [ $svc = 1 ]; then cmd_services up; fi
      exit 0
    fi
    if [ -d "$RUN" ] || ns_exists scan; then
      echo "lab $P: incomplete, rebuilding:" >&2
      cmd_status >&2 || true
    fi
    do_down
    t0=$(date +%s%N)
    if ! "$SELF" __build; then
      echo "lab.sh: up failed; tearing down" >&2
      do_down
      exit 1
    fi
    echo "lab $P: up in $(secs_since "$t0") s"
    if [ $svc = 1 ]; then cmd_services up; fi
    ;;
  __build) build ;;
  __svc_build) svc_build ;;
  services)
    case ${1:-} in up | down) lock ;; esac
    cmd_services "$@"
    ;;
  down)
    lock
    do_down
    echo "lab $P: down"
    ;;
  status) cmd_status ;;
  env) cmd_env ;;
  exec)
    [ $# -ge 1 ] || die "usage: lab.sh exec CMD..."
    need_up
    exec ip netns exec "$SCAN_NS" "$@"
    ;;
  loss) lock; cmd_loss "$@" ;;
  bottleneck) lock; cmd_bottleneck "$@" ;;
  promisc) lock; cmd_promisc "$@" ;;
  bigtls) lock; cmd_bigtls "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
