#!/usr/bin/env bash
# asan: skip (it checks the lab with standard tools and nmap, not trawl)
# test_lab.sh: proves that the lab (lab.sh) is what README.md says it is.
# Brings the lab up, checks it from the scanner namespace with standard tools
# (ping, nmap, curl, dig, socat, python3-scapy) against the ground truth that
# `lab.sh env` prints, exercises promisc/loss/bottleneck, then checks that
# `down` leaves nothing behind. $1 (the build directory) is not needed.
# Last line: "N passed, M failed"; exit status non-zero if anything failed.
set -uo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/lab.sh
# unique per run, so that two runs (two checkouts, or a test beside it) never meet
export TRAWL_LAB_PREFIX=${TRAWL_LAB_PREFIX:-twlt$$-}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3 # Debian's python3, which has python3-scapy

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
nok() { fail=$((fail + 1)); echo "FAIL - $*"; }
# check DESC CMD...: passes when CMD exits 0 (CMD is bounded by the caller)
# (CMD's output goes to $TMP/cmd.out, so checks print one line each)
check() { local d=$1; shift; if "$@" >"$TMP/cmd.out" 2>&1; then ok "$d"; else nok "$d"; fi; }
finish() {
  echo "$pass passed, $fail failed"
  [ $fail -eq 0 ]
  exit
}

TMP=$(mktemp -d /tmp/trawl-test-lab.XXXXXX)
cleanup() {
  timeout 60 "$LAB" down >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then nok "must run as root"; finish; fi
for t in ip nmap curl dig socat nft tc timeout; do
  command -v $t >/dev/null || nok "tool $t missing (scripts/deps.sh installs it)"
done
$PY -c 'import scapy' 2>/dev/null || nok "python3-scapy missing (scripts/deps.sh installs it)"
[ $fail -eq 0 ] || finish

# ------------------------------------------------------------------ up
t0=$(date +%s%N)
if ! timeout 120 "$LAB" up >"$TMP/up.log" 2>&1; then
  nok "lab.sh up"; cat "$TMP/up.log"; finish
fi
ms=$((($(date +%s%N) - t0) / 1000000))
ok "lab.sh up ($ms ms)"
check "lab.sh up took less than 20 s" test $ms -lt 20000
out=$(timeout 60 "$LAB" up 2>&1)
if grep -q "already up" <<<"$out"; then ok "second up is idempotent"; else nok "second up is idempotent"; echo "$out"; fi
timeout 20 "$LAB" status >"$TMP/status" 2>&1
check "status says UP (exit 0)" grep -q ": UP$" "$TMP/status"

eval "$("$LAB" env)"
S=$LAB_NS_SCAN
# X CMD...: run CMD in the scanner namespace, at most 20 s.
X() { timeout 20 ip netns exec "$S" "$@"; }

# ------------------------------------------------------------------ isolation
check "lab.sh exec runs in the scanner ns" \
  bash -c "timeout 10 '$LAB' exec ip -br addr | grep -q '^$LAB_SCAN_IF_LAN.*$LAB_SCAN_IP_LAN'"
check "root ns has no lab address" \
  bash -c "! ip addr | grep -Eq '198\\.1[89]\\.|2001:db8:'"
check "root ns has no lab link" bash -c "! ip -o link | grep -q '${LAB_PREFIX}'"
check "scanner ns has no default route" \
  bash -c "! ip -n '$S' route | grep -q default && ! ip -n '$S' -6 route | grep -q default"
check "scanner ns routes lead only into 198.18.0.0/15" \
  bash -c "ip -n '$S' -4 route | awk '{print \$1}' | grep -Ev '^198\\.1[89]\\.' | { ! grep -q .; }"
check "scanner ns v6 routes lead only into 2001:db8::/32 (or link-local)" \
  bash -c "ip -n '$S' -6 route | awk '{print \$1}' | grep -Ev '^(2001:db8:|fe80::|multicast|ff00::)' | { ! grep -q .; }"

# ------------------------------------------------------------------ reachability
for h in $LAB_LIVE; do check "ping $h" X ping -c1 -W2 "$h"; done
for h in $LAB_LIVE6; do check "ping -6 $h" X ping -6 -c1 -W2 "$h"; done
for h in $LAB_DEAD_IP $LAB_LAN_DEAD_IP; do
  check "dead $h does not answer ping" bash -c "! timeout 10 ip netns exec '$S' ping -c1 -W1 $h >/dev/null"
done
check "dead $LAB_DEAD_IP6 does not answer ping" \
  bash -c "! timeout 10 ip netns exec '$S' ping -6 -c1 -W1 $LAB_DEAD_IP6 >/dev/null"
X ping -c1 -W2 "$LAB_UNROUTED_IP" >"$TMP/unr" 2>&1
check "unrouted $LAB_UNROUTED_IP: net unreachable from r1" \
  grep -q "From $LAB_R1_IP .*Net Unreachable" "$TMP/unr"
check "big host answers random AnyIP address 198.19.213.7" X ping -c1 -W2 198.19.213.7

# record route and TTL through the two routers
X ping -c1 -W2 -R "$LAB_WEB_IP" >"$TMP/rr" 2>&1
for a in $LAB_R1_IP_B $LAB_R2_IP_B $LAB_R2_IP $LAB_R1_IP; do
  check "ping -R to web records router address $a" grep -qw "$a" "$TMP/rr"
done
X ping -c1 -W2 -t1 "$LAB_WEB_IP" >"$TMP/t1" 2>&1
check "TTL 1 expires at r1 ($LAB_R1_IP)" grep -q "From $LAB_R1_IP .*Time to live exceeded" "$TMP/t1"
X ping -c1 -W2 -t2 "$LAB_WEB_IP" >"$TMP/t2" 2>&1
check "TTL 2 expires at r2 ($LAB_R2_IP)" grep -q "From $LAB_R2_IP .*Time to live exceeded" "$TMP/t2"
X ping -6 -c1 -W2 -t1 "$LAB_WEB_IP6" >"$TMP/h1" 2>&1
check "hop limit 1 expires at r1 ($LAB_R1_IP6)" grep -q "From $LAB_R1_IP6 .*Time exceeded" "$TMP/h1"
X ping -6 -c1 -W2 -t2 "$LAB_WEB_IP6" >"$TMP/h2" 2>&1
check "hop limit 2 expires at r2 ($LAB_R2_IP6)" grep -q "From $LAB_R2_IP6 .*Time exceeded" "$TMP/h2"
X ping -c1 -W2 "$LAB_WEB_IP" >"$TMP/pw" 2>&1
check "web replies with TTL $LAB_WEB_TTL (64 - 2 hops)" grep -q "ttl=$LAB_WEB_TTL " "$TMP/pw"
X ping -c1 -W2 "$LAB_WIN_IP" >"$TMP/pn" 2>&1
check "win replies with TTL $LAB_WIN_TTL (128 - 2 hops)" grep -q "ttl=$LAB_WIN_TTL " "$TMP/pn"

# ------------------------------------------------------------------ TCP ports
# nmap_ports NAME TARGET "open" "closed" "filtered" [-6]: one SYN scan, then
# every listed port must be in its ground-truth state.
nmap_ports() {
  local name=$1 target=$2 open=$3 closed=$4 filtered=$5 six=${6:-} p ports="" st want
  for p in $open $closed $filtered; do ports+=${ports:+,}$p; done
  X nmap $six -sS -Pn -n --max-retries 2 --host-timeout 15s -p "$ports" -oG - "$target" \
    >"$TMP/nmap" 2>&1
  for want in open closed filtered; do
    local list
    case $want in open) list=$open ;; closed) list=$closed ;; filtered) list=$filtered ;; esac
    for p in $list; do
      st=$(grep -o "[ ,]$p/[a-z|]*/tcp" "$TMP/nmap" | head -1 | cut -d/ -f2)
      check "$name tcp/$p is $want (nmap: ${st:-none})" test "$st" = "$want"
    done
  done
}
nmap_ports web "$LAB_WEB_IP" "$LAB_WEB_TCP_OPEN" "$LAB_WEB_TCP_CLOSED" "$LAB_WEB_TCP_FILTERED"
nmap_ports web6 "$LAB_WEB_IP6" "$LAB_WEB_TCP_OPEN" "$LAB_WEB_TCP_CLOSED" "$LAB_WEB_TCP_FILTERED" -6
nmap_ports dns "$LAB_DNS_IP" "$LAB_DNS_TCP_OPEN" "22 80" ""
nmap_ports win "$LAB_WIN_IP" "$LAB_WIN_TCP_OPEN" "$LAB_WIN_TCP_CLOSED" ""
nmap_ports nat "$LAB_NAT_IP" "$LAB_NAT_TCP_OPEN" "$LAB_NAT_TCP_CLOSED" ""
nmap_ports udp-host "$LAB_UDP_IP" "$LAB_UDP_TCP_OPEN" "22 80" ""
nmap_ports lan1 "$LAB_LAN1_IP" "$LAB_LAN1_TCP_OPEN" "22 80" ""
nmap_ports big-198.19.0.1 198.19.0.1 "$LAB_BIG_TCP_OPEN" "$LAB_BIG_TCP_CLOSED" ""
nmap_ports big-198.19.255.254 198.19.255.254 "$LAB_BIG_TCP_OPEN" "$LAB_BIG_TCP_CLOSED" ""

# ------------------------------------------------------------------ UDP ports
X nmap -sU -Pn -n --max-retries 3 --host-timeout 30s \
  -p "$(echo $LAB_UDP_UDP_OPEN $LAB_UDP_UDP_FILTERED $LAB_UDP_UDP_CLOSED | tr ' ' ,)" \
  -oG - "$LAB_UDP_IP" >"$TMP/nmapu" 2>&1
for p in $LAB_UDP_UDP_OPEN; do
  check "udp-host udp/$p is open" grep -q "[ ,]$p/open/udp" "$TMP/nmapu"
done
for p in $LAB_UDP_UDP_FILTERED; do
  check "udp-host udp/$p is open|filtered" grep -q "[ ,]$p/open|filtered/udp" "$TMP/nmapu"
done
for p in $LAB_UDP_UDP_CLOSED; do
  check "udp-host udp/$p is closed" grep -q "[ ,]$p/closed/udp" "$TMP/nmapu"
done
# udpq IP PORT TEXT: a datagram, print the first answer; up to 3 tries of
# 4 s (UDP may drop a datagram right after the scans above filled queues).
udpq() {
  X "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(4)
for i in range(3):
    s.sendto(sys.argv[3].encode() + b"\n", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(2048).decode().strip())
        break
    except socket.timeout:
        if i == 2:
            raise' "$@" 2>&1
}
out=$(udpq "$LAB_UDP_IP" 7 "trawl-echo-$$")
check "udp echo on $LAB_UDP_IP:7 echoes ($out)" test "$out" = "trawl-echo-$$"
for p in 123 161; do
  out=$(udpq "$LAB_UDP_IP" $p x)
  check "udp service on $LAB_UDP_IP:$p answers ($out)" test "$out" = "TRAWL-LAB-UDP $p"
done

# ------------------------------------------------------------------ services
out=$(X curl -s -m5 "http://$LAB_WEB_IP/")
check "HTTP web v4" test "$out" = "trawl lab web"
out=$(X curl -s -m5 -g "http://[$LAB_WEB_IP6]/")
check "HTTP web v6" test "$out" = "trawl lab web"
out=$(X curl -s -m5 "http://$LAB_WEB_NAME/")
check "HTTP web by name (scanner resolves via lab DNS)" test "$out" = "trawl lab web"
X curl -sk -m5 -v "https://$LAB_WEB_IP/" >"$TMP/https" 2>&1
check "HTTPS web: body" grep -q "^trawl lab web" "$TMP/https"
check "HTTPS web: self-signed cert CN=web.lab.test" grep -q "subject: CN=web.lab.test" "$TMP/https"
out=$(X curl -sk -m5 -g "https://[$LAB_WEB_IP6]/")
check "HTTPS web v6" test "$out" = "trawl lab web"
out=$(X curl -s -m5 "http://$LAB_WIN_IP/")
check "HTTP win" test "$out" = "trawl lab win"
out=$(X curl -s -m5 "http://$LAB_NAT_IP/")
check "HTTP nat:80 reaches host B through DNAT" test "$out" = "trawl lab natb"
out=$(X curl -s -m5 "http://198.19.77.77/")
check "HTTP big host on an AnyIP address" test "$out" = "trawl lab big"
banner() { X bash -c "exec 3<>/dev/tcp/$1/$2 && head -n1 <&3" 2>/dev/null | tr -d '\r'; }
for t in "$LAB_WEB_IP 22" "$LAB_WEB_IP6 22" "$LAB_NAT_IP 22"; do
  out=$(banner $t)
  check "SSH banner on ${t% *}:22 ($out)" grep -q '^SSH-2.0-OpenSSH' <<<"$out"
done
out=$(banner "$LAB_WEB_IP" "$LAB_WEB_BANNER_PORT")
check "banner service web:$LAB_WEB_BANNER_PORT" test "$out" = "$LAB_WEB_BANNER"
out=$(banner "$LAB_LAN1_IP" 2323)
check "banner service lan1:2323" test "$out" = "TRAWL-LAB-BANNER lan1"

dig1() { X dig +short +time=2 +tries=2 "$@" 2>&1 | head -5; }
for srv in "$LAB_DNS_IP" "$LAB_DNS_IP6" "$LAB_UDP_IP"; do
  check "DNS @$srv A web.lab.test" test "$(dig1 @"$srv" web.lab.test A)" = "$LAB_WEB_IP"
done
check "DNS AAAA web.lab.test" test "$(dig1 @"$LAB_DNS_IP" web.lab.test AAAA)" = "$LAB_WEB_IP6"
check "DNS PTR $LAB_WEB_IP" test "$(dig1 @"$LAB_DNS_IP" -x "$LAB_WEB_IP")" = "web.lab.test."
check "DNS PTR $LAB_WEB_IP6" test "$(dig1 @"$LAB_DNS_IP" -x "$LAB_WEB_IP6")" = "web.lab.test."
check "DNS PTR $LAB_LAN1_IP" test "$(dig1 @"$LAB_DNS_IP" -x "$LAB_LAN1_IP")" = "lan1.lab.test."
check "DNS over TCP" test "$(dig1 +tcp @"$LAB_DNS_IP" win.lab.test)" = "$LAB_WIN_IP"
X dig +time=2 +tries=2 @"$LAB_DNS_IP" nosuch.lab.test >"$TMP/nx" 2>&1
check "DNS unknown lab name is NXDOMAIN" grep -q "status: NXDOMAIN" "$TMP/nx"
X dig +time=2 +tries=2 @"$LAB_DNS_IP" example.com >"$TMP/ext" 2>&1
check "DNS does not recurse outside the lab" grep -q "status: REFUSED" "$TMP/ext"

# ------------------------------------------------------------------ raw probes
cat >"$TMP/probe.py" <<'EOF'
# Raw probes for test_lab.sh, run inside the scanner namespace.
import sys
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, conf, sr, sr1, srp
conf.verb = 0
cmd = sys.argv[1]
if cmd == "arp":  # arp IFACE DSTMAC TARGET_IP -> MAC of the answer or "none"
    iface, dst, ip = sys.argv[2:5]
    ans, _ = srp(Ether(dst=dst) / ARP(pdst=ip), iface=iface, timeout=1.5, retry=1)
    print(ans[0][1][ARP].hwsrc if ans else "none")
elif cmd == "synack":  # synack IP PORT -> "ttl=.. mss=.. ts=0|1 ws=0|1 sack=0|1"
    ip, port = sys.argv[2], int(sys.argv[3])
    opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("WScale", 7)]
    r = sr1(IP(dst=ip) / TCP(sport=47000, dport=port, flags="S", options=opts),
            timeout=2, retry=2)
    if r is None or not r.haslayer(TCP):
        print("none")
    else:
        o = dict((k, v) for k, v in r[TCP].options)
        print("ttl=%d flags=%s mss=%s ts=%d ws=%d sack=%d" % (
            r[IP].ttl, r[TCP].flags, o.get("MSS"), "Timestamp" in o,
            "WScale" in o, "SAckOK" in o))
elif cmd == "unreach":  # unreach IP N -> port-unreachables for N closed ports
    ip, n = sys.argv[2], int(sys.argv[3])
    ans, _ = sr([IP(dst=ip) / UDP(sport=47001, dport=40000 + i) for i in range(n)],
                timeout=2, inter=0.001)
    print(sum(1 for _, r in ans if r.haslayer(ICMP) and r[ICMP].type == 3 and r[ICMP].code == 3))
elif cmd == "burst":  # burst IP N SIZE -> "RECEIVED MAX_RTT_MS" for N pings sent at once
    ip, n, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ans, _ = sr([IP(dst=ip) / ICMP(id=4711, seq=i) / (b"x" * size) for i in range(n)],
                timeout=5, inter=0.002)
    rtts = [r.time - q.sent_time for q, r in ans]
    print(len(ans), int(1000 * max(rtts)) if rtts else -1)
EOF
probe() { X "$PY" "$TMP/probe.py" "$@" 2>>"$TMP/probe.err"; }

# two TCP/IP stacks, and per-port stacks behind the NAT
out=$(probe synack "$LAB_WEB_IP" 80)
check "web:80 SYN-ACK is stack linux ($out)" test "$out" = "ttl=62 flags=SA mss=1460 ts=1 ws=1 sack=1"
out=$(probe synack "$LAB_WIN_IP" 80)
check "win:80 SYN-ACK is stack win ($out)" test "$out" = "ttl=126 flags=SA mss=$LAB_WIN_MSS ts=0 ws=0 sack=0"
out=$(probe synack "$LAB_NAT_IP" 22)
check "nat:22 SYN-ACK is host A, stack linux ($out)" test "$out" = "ttl=$LAB_NAT_TTL_22 flags=SA mss=1460 ts=1 ws=1 sack=1"
out=$(probe synack "$LAB_NAT_IP" 80)
check "nat:80 SYN-ACK is host B, stack win ($out)" test "$out" = "ttl=$LAB_NAT_TTL_80 flags=SA mss=$LAB_WIN_MSS ts=0 ws=0 sack=0"

# ICMP rate limit on the UDP host, none on web
n_web=$(probe unreach "$LAB_WEB_IP" 30)
check "web answers all 30 closed UDP ports with port-unreachable ($n_web)" test "${n_web:-0}" -eq 30
n_udp=$(probe unreach "$LAB_UDP_IP" 30)
check "udp host rate-limits port-unreachables (got ${n_udp:-?} of 30, want 1..10)" \
  test "${n_udp:-0}" -ge 1 -a "${n_udp:-0}" -le 10

# LAN: ARP discovery with fixed MACs, then promiscuous-mode detection
for i in 1 2 3; do
  ip=LAB_LAN${i}_IP mac=LAB_LAN${i}_MAC
  ip=${!ip} mac=${!mac}
  out=$(probe arp "$LAB_SCAN_IF_LAN" ff:ff:ff:ff:ff:ff "$ip")
  check "ARP $ip answered by $mac ($out)" test "$out" = "$mac"
done
out=$(probe arp "$LAB_SCAN_IF_LAN" ff:ff:ff:ff:ff:ff "$LAB_LAN_DEAD_IP")
check "ARP dead $LAB_LAN_DEAD_IP unanswered ($out)" test "$out" = none
out=$(probe arp "$LAB_SCAN_IF_LAN" ff:ff:ff:ff:ff:fe "$LAB_PROMISC_IP")
check "promisc off: ARP to ff:ff:ff:ff:ff:fe unanswered ($out)" test "$out" = none
check "lab.sh promisc on" timeout 10 "$LAB" promisc on
out=$(probe arp "$LAB_SCAN_IF_LAN" ff:ff:ff:ff:ff:fe "$LAB_PROMISC_IP")
check "promisc on: ARP to ff:ff:ff:ff:ff:fe answered ($out)" test "$out" = "$LAB_PROMISC_MAC"
out=$(probe arp "$LAB_SCAN_IF_LAN" ff:ff:ff:ff:ff:fe "$LAB_LAN1_IP")
check "non-promisc lan1 ignores ff:ff:ff:ff:ff:fe ($out)" test "$out" = none
check "lab.sh promisc off" timeout 10 "$LAB" promisc off
out=$(probe arp "$LAB_SCAN_IF_LAN" ff:ff:ff:ff:ff:fe "$LAB_PROMISC_IP")
check "promisc off again: unanswered ($out)" test "$out" = none

# ------------------------------------------------------------------ loss, bottleneck
loss_of() { X ping -q -c 200 -i 0.002 -W 1 -w 10 "$1" 2>&1 | grep -o '[0-9.]*% packet loss' | cut -d% -f1 | cut -d. -f1; }
check "lab.sh loss 50" timeout 10 "$LAB" loss 50
l=$(loss_of 198.19.1.1)
check "loss 50: ping loss toward big is 25..75% ($l%)" test "${l:-0}" -ge 25 -a "${l:-0}" -le 75
l=$(loss_of "$LAB_WEB_IP")
check "loss 50: routed path to web is clean ($l%)" test "${l:-100}" -eq 0
check "lab.sh loss 0" timeout 10 "$LAB" loss 0
l=$(loss_of 198.19.1.1)
check "loss 0: no loss toward big ($l%)" test "${l:-100}" -eq 0
check "loss 0 removes the nft table" \
  bash -c "! ip netns exec '${LAB_PREFIX}bgw' nft list tables | grep -q trawl_lab_loss"

# 20 pings of 1,228 bytes (~10 kbit each) at once: through 200 kbit/s the last
# one waits ~19 x 50 ms in the queue.
check "lab.sh bottleneck 200kbit" timeout 10 "$LAB" bottleneck 200kbit
read -r n r <<<"$(probe burst 198.19.1.1 20 1200)"
check "bottleneck 200kbit: 20-ping burst all back (${n:-?})" test "${n:-0}" -eq 20
check "bottleneck 200kbit: max RTT of the burst > 600 ms (${r:-?} ms)" test "${r:-0}" -gt 600
check "lab.sh bottleneck off" timeout 10 "$LAB" bottleneck off
read -r n r <<<"$(probe burst 198.19.1.1 20 1200)"
check "bottleneck off: max RTT of the burst < 100 ms (${r:-?} ms)" test "${r:-999}" -lt 100
check "bottleneck off removes htb" bash -c "! tc -n '${LAB_PREFIX}bgw' qdisc show | grep -q htb"

# ------------------------------------------------------------------ down
pids=$(cat "$LAB_RUNDIR"/*.pid 2>/dev/null; for n in $(ip netns list | awk '{print $1}' | grep "^$LAB_PREFIX"); do ip netns pids "$n"; done)
check "lab has processes to stop" test -n "$pids"
check "lab.sh down" timeout 60 "$LAB" down
check "no namespace with prefix $LAB_PREFIX left" bash -c "! ip netns list | grep -q '^$LAB_PREFIX'"
alive=""
for p in $pids; do
  st=$(cat "/proc/$p/stat" 2>/dev/null) || continue # gone
  st=${st##*) }
  [ "${st:0:1}" = Z ] || alive+=" $p" # a zombie waiting for its reaper is not running
done
check "no lab process left${alive:+ (alive:$alive)}" test -z "$alive"
check "runtime dir $LAB_RUNDIR removed" test ! -e "$LAB_RUNDIR"
check "/etc/netns/$S removed" test ! -e "/etc/netns/$S"
check "root ns has no lab link after down" bash -c "! ip -o link | grep -q '${LAB_PREFIX}'"
timeout 10 "$LAB" status >/dev/null 2>&1
check "status after down exits 3" test $? -eq 3
check "second down is fine" timeout 60 "$LAB" down
finish
