#!/usr/bin/env bash
# test_raw_scripts.sh BUILD_DIR: the talk's raw-packet scripts on the lab
# (run as root). Checks:
#   - sniffer-detect: with lan3's card switched to promiscuous mode (lab.sh
#     promisc on, a macvlan that filters multicast like a NIC) lan3 is
#     reported and lan1, lan2 are not; with it off nobody is; the hosts
#     reported equal those Nmap's own sniffer-detect calls "Likely in
#     promiscuous mode" in the same namespace; the fake-broadcast ARP
#     requests are in a capture of lan0;
#   - ip-record-route: for hosts behind the lab's routers (web, the NAT
#     gateway) and on the LAN, the recorded hops equal the RR list `ping -R`
#     shows in the scanner namespace, less our own address that ping's
#     kernel writes first and last (trawl's request is raw: the option
#     leaves empty, and the capture sees the reply before IP input); r1's
#     and r2's far-side addresses are among them;
#   - synack-fingerprint: with -sS, every open port of web (Linux stack,
#     TTL 64), win (TTL 128, MSS 1400) and the per-port NAT gateway (22 to
#     a Linux host, 80 to a TTL-128 one) gets a result and no other port;
#     its signature's TTL, MSS and window agree with that port's SYN+ACK in
#     a capture of up0; where p0f itself (p0f -r on the capture) prints a
#     SYN+ACK (it prints only some), its raw_sig and label equal trawl's
#     ("???" is "unknown");
#     with a p0f.fp written here (--datadir), each port gets its own
#     stack's label (the NAT gateway's 22 and 80 differently); and with
#     Debian's p0f.fp, once routes set the window as older stacks did
#     (initrwnd 10; MSS 1024 + window 8192), "Linux 3.x" on the Linux
#     hosts' ports and "Windows 7 or 8 (fuzzy)" on the TTL-128 ones, the
#     NAT gateway split per port; IPv6 SYN+ACKs of web too;
#   - hostile replies (tests/lab/hostile/raw_hostile.py in the udp host's
#     namespace): echo replies with a record route option broken five ways
#     and one good; SYN+ACKs with bad TCP options: trawl exits 0 each time,
#     ip-record-route lists hops only from the good option, the bad options
#     show as p0f's bad quirk (exws and ts1- too).
# Last line "N passed, M failed"; non-zero exit on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
SR=$HERE/script_results.py
scan_init rawscr "${1:-}"
scan_lab_up

LANS="$LAB_LAN1_IP $LAB_LAN2_IP $LAB_LAN3_IP"

# promiscuous ADDRS of trawl's XML: addresses with a sniffer-detect result
sniffers_trawl() { "$PY" "$SR" scripts "$1" | awk '$4 == "sniffer-detect" && /promiscuous/ { print $1 }' | sort | tr '\n' ' '; }
# the same out of nmap's normal output
sniffers_nmap() {
  awk '/^Nmap scan report for/ { a = $NF; gsub(/[()]/, "", a) } /sniffer-detect: Likely in promiscuous/ { print a }' "$1" |
    sort | tr '\n' ' '
}

# ------------------------------------------------------------ sniffer-detect
for state in on off; do
  "$LAB" promisc $state >/dev/null || nok "lab.sh promisc $state"
  want=""
  [ $state = on ] && want="$LAB_LAN3_IP "
  if [ $state = on ]; then
    timeout -k 2 60 ip netns exec "$S" tcpdump -i "$LAB_SCAN_IF_LAN" -n -e -U -w "$TMP/arp.pcap" arp 2>"$TMP/arp.err" &
    APID=$!
    SCAN_PIDS="$SCAN_PIDS $APID"
    for _ in $(seq 100); do grep -q "listening on" "$TMP/arp.err" && break; sleep 0.1; done
  fi
  if TR 60 -sn -n --script sniffer-detect -oX "$OUT/sniff-$state.xml" $LANS; then
    got=$(sniffers_trawl "$OUT/sniff-$state.xml")
    [ "$got" = "$want" ] && ok "sniffer-detect, promisc $state: reported '$got'" ||
      nok "sniffer-detect, promisc $state: want '$want', got '$got'"
    check "sniffer-detect XML valid under nmap.dtd (promisc $state)" valid_xml "$OUT/sniff-$state.xml"
    if [ $state = on ]; then
      n=$("$PY" "$SR" elems "$OUT/sniff-on.xml" "$LAB_LAN3_IP" - sniffer-detect | grep -c '^answered\.')
      [ "$n" -ge 2 ] && ok "lan3 answered $n fake broadcasts" || nok "lan3 answered $n fake broadcasts (want >= 2)"
    fi
  else
    nok "trawl -sn --script sniffer-detect (promisc $state)"; show "$TMP/tr.err"
  fi
  if [ $state = on ]; then
    kill -INT "$APID" 2>/dev/null; wait "$APID" 2>/dev/null
    SCAN_PIDS=${SCAN_PIDS// $APID/}
    # requests from our MAC to the fake broadcasts, for each LAN host
    nfake=$(tcpdump -r "$TMP/arp.pcap" -n -e 2>/dev/null | grep -c "> ff:ff:ff:ff:ff:fe, .*Request who-has")
    [ "$nfake" -ge 3 ] && ok "capture: $nfake ARP requests to ff:ff:ff:ff:ff:fe" ||
      nok "capture: $nfake ARP requests to ff:ff:ff:ff:ff:fe (want one per LAN host)"
  fi
  NM 60 -sn -n --script sniffer-detect $LANS
  nm=$(sniffers_nmap "$TMP/nm.out")
  [ "$nm" = "$(sniffers_trawl "$OUT/sniff-$state.xml")" ] && ok "nmap's sniffer-detect agrees (promisc $state: '$nm')" ||
    nok "nmap's sniffer-detect, promisc $state: '$nm'"
done

# ------------------------------------------------------------ ip-record-route
# rr_ping ADDR OURS: ping -R's RR list, without OURS at either end
rr_ping() {
  X 10 ping -n -R -c 1 -W 2 "$1" | awk '/^RR:/ { sub(/^RR:/, ""); on = 1 } on && NF == 1 && $1 ~ /^[0-9.]+$/ { print $1 } on && NF == 0 { on = 0 }' |
    sed "1{/^$2\$/d}" | sed "\${/^$2\$/d}" | tr '\n' ' '
}
if TR 60 -sn -n --script ip-record-route -oX "$OUT/rr.xml" "$LAB_WEB_IP" "$LAB_NAT_IP" "$LAB_LAN1_IP"; then
  check "ip-record-route XML valid under nmap.dtd" valid_xml "$OUT/rr.xml"
  for pair in "$LAB_WEB_IP:$LAB_SCAN_IP" "$LAB_NAT_IP:$LAB_SCAN_IP" "$LAB_LAN1_IP:$LAB_SCAN_IP_LAN"; do
    a=${pair%:*} us=${pair#*:}
    got=$("$PY" "$SR" elems "$OUT/rr.xml" "$a" - ip-record-route | awk -F= '$1 ~ /^hops\./ { print $2 }' | tr '\n' ' ')
    want=$(rr_ping "$a" "$us")
    if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "ip-record-route $a: '$got' = ping -R"
    else nok "ip-record-route $a: got '$got', ping -R '$want'"; fi
  done
  got=$("$PY" "$SR" elems "$OUT/rr.xml" "$LAB_WEB_IP" - ip-record-route | awk -F= '$1 ~ /^hops\./ { print $2 }' | tr '\n' ' ')
  in_list "$LAB_R1_IP_B" $got && in_list "$LAB_R2_IP_B" $got && in_list "$LAB_WEB_IP" $got &&
    ok "web's route holds r1 ($LAB_R1_IP_B), r2 ($LAB_R2_IP_B) and web" || nok "web's route: '$got'"
else
  nok "trawl -sn --script ip-record-route"; show "$TMP/tr.err"
fi

# ------------------------------------------------------------ synack-fingerprint
SF_HOSTS="$LAB_WEB_IP $LAB_WIN_IP $LAB_NAT_IP"
SF_PORTS=22,80,443,2323
# sf_results XML: "ADDR PORT OUTPUT" of every synack-fingerprint result
sf_results() { "$PY" "$SR" scripts "$1" | awk '$4 == "synack-fingerprint" { a = $1; p = $3; $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print a, p, $0 }'; }
# sf_elem XML ADDR PORT KEY: one key of that port's structured result
sf_elem() { "$PY" "$SR" elems "$1" "$2" "$3" synack-fingerprint | awk -F= -v k="$4" '$1 == k { sub(/^[^=]*=/, ""); v = $0; f = 1 } END { if (f) print v }'; }
timeout -k 2 120 ip netns exec "$S" tcpdump -i "$LAB_SCAN_IF_ROUTED" -n -U -w "$TMP/sf.pcap" tcp 2>"$TMP/sf.err" &
SPID=$!
SCAN_PIDS="$SCAN_PIDS $SPID"
for _ in $(seq 100); do grep -q "listening on" "$TMP/sf.err" && break; sleep 0.1; done
sf_ok=0
if TR 60 -n -Pn -sS -p $SF_PORTS -d --script synack-fingerprint -oX "$OUT/sf.xml" $SF_HOSTS; then sf_ok=1; fi
for _ in $(seq 30); do # the capture may hand packets over a moment later
  [ "$(tcpdump -r "$TMP/sf.pcap" -n 2>/dev/null | grep -c 'Flags \[S\.\]')" -ge 5 ] && break
  sleep 0.1
done
kill -INT "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
SCAN_PIDS=${SCAN_PIDS// $SPID/}
if [ $sf_ok = 1 ]; then
  check "synack-fingerprint XML valid under nmap.dtd" valid_xml "$OUT/sf.xml"
  ports "$OUT/sf.xml" | awk '$4 == "open" && $2 == "tcp" { print $1, $3 }' | sort >"$TMP/sf.open"
  sf_results "$OUT/sf.xml" | sort >"$TMP/sf.res"
  nopen=$(wc -l <"$TMP/sf.open")
  [ "$nopen" -ge 5 ] && [ "$(cut -d' ' -f1,2 "$TMP/sf.res")" = "$(cat "$TMP/sf.open")" ] &&
    ok "a synack-fingerprint result for each of the $nopen open ports, and none elsewhere" ||
    { nok "synack-fingerprint results vs open ports"; show "$TMP/sf.open"; show "$TMP/sf.res"; }
  grep -q "SYN+ACKs kept for port.synack $nopen, over the cap 0, malformed 0" "$TMP/tr.err" &&
    ok "-d: $nopen SYN+ACKs kept, none malformed" || nok "-d SYN+ACK counts: $(grep 'SYN+ACKs kept' "$TMP/tr.err")"
  # the capture's SYN+ACKs: ADDR PORT TTL WIN MSS
  tcpdump -r "$TMP/sf.pcap" -n -v 'tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)' 2>/dev/null |
    awk '/ IP \(/ { match($0, /ttl [0-9]+/); ttl = substr($0, RSTART + 4, RLENGTH - 4); next }
         /Flags \[S\.\]/ { split($1, a, "."); addr = a[1] "." a[2] "." a[3] "." a[4]; port = a[5];
           match($0, /win [0-9]+/); win = substr($0, RSTART + 4, RLENGTH - 4);
           mss = "-"; if (match($0, /mss [0-9]+/)) mss = substr($0, RSTART + 4, RLENGTH - 4);
           print addr, port, ttl, win, mss }' | sort -u -k1,2 >"$TMP/sf.cap"
  same=0 differ=0
  while read -r a p; do
    sig=$(sf_elem "$OUT/sf.xml" "$a" "$p" signature)
    read -r ttl win mss < <(awk -v a="$a" -v p="$p" '$1 == a && $2 == p { print $3, $4, $5 }' "$TMP/sf.cap")
    IFS=: read -r _ sttl _ smss swin _ <<<"$sig"
    wmul=${swin#mss\*}; wmul=${wmul%%,*}
    if [ -n "$ttl" ] && [ "${sttl%%+*}" = "$ttl" ] && [ "$smss" = "$mss" ] && [ "$((wmul * mss))" = "$win" ]; then
      same=$((same + 1))
    else
      differ=$((differ + 1)); echo "       $a:$p signature '$sig' vs capture ttl=$ttl win=$win mss=$mss"
    fi
  done <"$TMP/sf.open"
  [ $differ = 0 ] && [ $same = "$nopen" ] && ok "signatures agree with the captured SYN+ACKs: same=$same differ=$differ" ||
    nok "signatures vs captured SYN+ACKs: same=$same differ=$differ"
  # p0f itself on the same capture: each SYN+ACK it prints (it prints a
  # server's signature only when it changes, so not every port)
  p0f -r "$TMP/sf.pcap" 2>/dev/null | awk '/\(syn\+ack\)/ { on = 1 } on && /^\| server/ { split($4, s, "/") }
    on && /^\| os / { os = $0; sub(/^\| os *= /, "", os) } on && /^\| raw_sig/ { print s[1], s[2], $4, os; on = 0 }' >"$TMP/sf.p0f"
  same=0 differ=0
  while read -r a p raw os; do
    sig=$(sf_elem "$OUT/sf.xml" "$a" "$p" signature)
    lab=$(sf_elem "$OUT/sf.xml" "$a" "$p" label)
    [ "$os" = "???" ] && os=unknown
    if [ "$sig" = "$raw" ] && [ "$lab" = "$os" ]; then same=$((same + 1))
    else differ=$((differ + 1)); echo "       $a:$p trawl '$sig' '$lab', p0f '$raw' '$os'"; fi
  done <"$TMP/sf.p0f"
  # p0f 3.09b prints only some SYN+ACKs of a scan (none, at times): the
  # check is that none it prints differs
  [ $differ = 0 ] && ok "p0f -r on the capture: same=$same differ=$differ (the SYN+ACKs p0f printed)" ||
    nok "p0f -r on the capture: same=$same differ=$differ"
else
  nok "trawl -sS --script synack-fingerprint"; show "$TMP/tr.err"
fi

# a p0f.fp of the test's own: one label per lab stack
DD=$TMP/dd
mkdir -p "$DD"
cat >"$DD/p0f.fp" <<'EOF'
classes = win,unix
[tcp:response]
label = s:unix:LabLinux:ttl64
sig   = *:64:0:*:*,*:mss:df:0
label = s:win:LabWin:ttl128
sig   = *:128:0:*:*,*:mss:df:0
EOF
chmod -R a+rX "$DD"
if TR 60 -n -Pn -sS -p $SF_PORTS --datadir "$DD" --script synack-fingerprint -oX "$OUT/sf2.xml" $SF_HOSTS; then
  ports "$OUT/sf2.xml" | awk '$4 == "open" && $2 == "tcp" { print $1, $3 }' | sort >"$TMP/sf2.open"
  same=0 differ=0
  while read -r a p; do
    case "$a:$p" in
      "$LAB_WIN_IP":* | "$LAB_NAT_IP:80") want="LabWin ttl128" ;;
      *) want="LabLinux ttl64" ;;
    esac
    got=$(sf_elem "$OUT/sf2.xml" "$a" "$p" label)
    if [ "$got" = "$want" ]; then same=$((same + 1)); else differ=$((differ + 1)); echo "       $a:$p: '$got', want '$want'"; fi
  done <"$TMP/sf2.open"
  n=$(wc -l <"$TMP/sf2.open")
  [ "$n" -ge 5 ] && [ $differ = 0 ] && ok "--datadir p0f.fp: each open port labelled with its stack (same=$same differ=$differ)" ||
    nok "--datadir p0f.fp labels: same=$same differ=$differ"
  n22=$(sf_elem "$OUT/sf2.xml" "$LAB_NAT_IP" 22 label) n80=$(sf_elem "$OUT/sf2.xml" "$LAB_NAT_IP" 80 label)
  [ -n "$n22" ] && [ -n "$n80" ] && [ "$n22" != "$n80" ] && ok "NAT gateway: 22 '$n22', 80 '$n80'" ||
    nok "NAT gateway labels: 22 '$n22', 80 '$n80'"
else
  nok "trawl --datadir DIR -sS --script synack-fingerprint"; show "$TMP/tr.err"
fi

# IPv6: the same from web's IPv6 address (MSS 1440, the flow label quirk)
if TR 60 -6 -n -Pn -sS -p 22,80 --script synack-fingerprint -oX "$OUT/sf6.xml" "$LAB_WEB_IP6"; then
  s22=$(sf_elem "$OUT/sf6.xml" "$LAB_WEB_IP6" 22 signature) s80=$(sf_elem "$OUT/sf6.xml" "$LAB_WEB_IP6" 80 signature)
  [[ "$s22" == "6:$LAB_WEB_TTL+"*":0:1440:"* ]] && [ "$s22" = "$s80" ] && ok "IPv6 SYN+ACKs of web: '$s22'" ||
    nok "IPv6 SYN+ACKs of web: '$s22', '$s80'"
else
  nok "trawl -6 -sS --script synack-fingerprint"; show "$TMP/tr.err"
fi

# Debian's p0f.fp (3.09b) predates these kernels: a stock lab SYN+ACK
# (window MSS x 44) is "unknown" to it. Routes toward the scanner that set
# the window as older stacks did make the lab's two stacks p0f knows:
# initrwnd 10 (window MSS x 10, p0f's Linux 3.x) on the Linux hosts, MSS
# 1024 and a window clamp of 8192 on the TTL-128 ones (p0f's Windows 7 or 8,
# fuzzy: Linux sends IP ID 0 where p0f's signature has id+).
for n in web nata; do
  r=$(ip -n "${LAB_PREFIX}$n" route show 198.18.0.0/15)
  ip -n "${LAB_PREFIX}$n" route change $r initrwnd 10 || nok "route change in $n"
done
for n in win natb; do
  r=$(ip -n "${LAB_PREFIX}$n" route show 198.18.0.0/15 | sed 's/ advmss [0-9]*//')
  ip -n "${LAB_PREFIX}$n" route change $r advmss 1024 window 8192 || nok "route change in $n"
done
if TR 60 -n -Pn -sS -p $SF_PORTS --script synack-fingerprint -oX "$OUT/sf3.xml" $SF_HOSTS; then
  ports "$OUT/sf3.xml" | awk '$4 == "open" && $2 == "tcp" { print $1, $3 }' | sort >"$TMP/sf3.open"
  same=0 differ=0
  while read -r a p; do
    case "$a:$p" in
      "$LAB_WIN_IP":* | "$LAB_NAT_IP:80") want="Windows 7 or 8 (fuzzy)" wsig=":0:1024:mss*8,0:mss:df:0" ;;
      *) want="Linux 3.x" wsig=":0:1460:mss*10,0:mss:df:0" ;;
    esac
    got=$(sf_elem "$OUT/sf3.xml" "$a" "$p" label)
    sig=$(sf_elem "$OUT/sf3.xml" "$a" "$p" signature)
    if [ "$got" = "$want" ] && [[ "$sig" == *"$wsig" ]]; then same=$((same + 1))
    else differ=$((differ + 1)); echo "       $a:$p: '$got' ($sig), want '$want'"; fi
  done <"$TMP/sf3.open"
  n=$(wc -l <"$TMP/sf3.open")
  [ "$n" -ge 5 ] && [ $differ = 0 ] && ok "Debian's p0f.fp: each open port labelled with its stack, NAT gateway split per port (same=$same differ=$differ)" ||
    nok "Debian's p0f.fp labels: same=$same differ=$differ"
else
  nok "trawl -sS --script synack-fingerprint (p0f.fp from /etc/p0f)"; show "$TMP/tr.err"
fi

# ------------------------------------------------------------ hostile raw replies
# The lab's udp host stops answering echo requests and SYNs to 7777-7779
# itself; raw_hostile.py answers them with broken options (see there).
HOST=$LAB_UDP_IP
HNS=${LAB_PREFIX}udp
ip netns exec "$HNS" nft -f - <<EOF
table ip rs_hostile {
  chain input {
    type filter hook input priority -10; policy accept;
    icmp type echo-request drop
    tcp dport 7777-7779 drop
  }
}
EOF
timeout -k 2 120 ip netns exec "$HNS" "$PY" "$HERE/hostile/raw_hostile.py" eth0 "$HOST" 110 >"$TMP/hr.log" 2>&1 &
HPID=$!
SCAN_PIDS="$SCAN_PIDS $HPID"
for _ in $(seq 100); do grep -q "^ready" "$TMP/hr.log" && break; sleep 0.1; done
crashes=0 hops_runs=0 bad_hops=0
for i in 1 2 3 4 5 6; do
  TR 30 -n -Pn -sS -p 7777-7779 -d --script ip-record-route,synack-fingerprint -oX "$OUT/h$i.xml" "$HOST"
  rc=$(cat "$TMP/tr.rc")
  [ "$rc" = 0 ] && valid_xml "$OUT/h$i.xml" 2>/dev/null || { crashes=$((crashes + 1)); echo "       run $i: exit $rc"; show "$TMP/tr.err" 5; }
  hops=$("$PY" "$SR" elems "$OUT/h$i.xml" "$HOST" - ip-record-route 2>/dev/null | awk -F= '$1 ~ /^hops\./ { print $2 }' | tr '\n' ' ')
  if [ -n "$hops" ]; then
    hops_runs=$((hops_runs + 1))
    [ "$hops" = "198.18.11.1 198.18.30.1 " ] || { bad_hops=$((bad_hops + 1)); echo "       run $i: hops '$hops'"; }
  fi
  [ $i = 1 ] && cp "$OUT/h1.xml" "$OUT/hsyn.xml" && cp "$TMP/tr.err" "$TMP/hsyn.err"
done
nrep=$(grep -c "^echo reply" "$TMP/hr.log")
[ $crashes = 0 ] && ok "6 runs against hostile replies: exit 0, valid XML each ($nrep hostile echo replies sent)" ||
  nok "runs against hostile replies: $crashes failed"
[ "$nrep" -ge 6 ] || nok "raw_hostile.py answered only $nrep echo requests"
[ $hops_runs = 1 ] && [ $bad_hops = 0 ] && ok "ip-record-route: hops only from the good option (1 of 6 runs), none from the 5 broken ones" ||
  nok "ip-record-route on broken options: $hops_runs runs with hops, $bad_hops wrong"
sig77=$(sf_elem "$OUT/hsyn.xml" "$HOST" 7777 signature)
sig78=$(sf_elem "$OUT/hsyn.xml" "$HOST" 7778 signature)
sig79=$(sf_elem "$OUT/hsyn.xml" "$HOST" 7779 signature)
[[ "$sig77" == *bad* ]] && [[ "$sig78" == *bad* ]] && ok "bad TCP options: p0f's bad quirk ('$sig77', '$sig78')" ||
  nok "bad TCP options: '$sig77', '$sig78'"
[[ "$sig79" == *exws* ]] && [[ "$sig79" == *ts1-* ]] && ok "window scale 200, timestamp 0: '$sig79'" || nok "exws/ts1-: '$sig79'"
kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null
SCAN_PIDS=${SCAN_PIDS// $HPID/}

finish
