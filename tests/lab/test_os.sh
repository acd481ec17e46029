#!/usr/bin/env bash
# test_os.sh BUILD_DIR: trawl -O against nmap -O on the lab, host by host.
# Own lab (prefix twos<pid>-), torn down on EXIT, also on failure.
#
#   bad input   -O without raw-packet privileges (--unprivileged) and
#               --osscan-guess without -O: one line, exit 2, and no packet
#               sent (a capture in the scanner namespace, then a control
#               scan that must show up in it).
#   compare     the lab's hosts (web, dns, win: the stack with TTL 128 and no
#               timestamps, SACK or window scaling; nat; udp; lan1, lan2
#               and lan3 on the scanner's link, lan1 with an open port, the
#               others without), ports 21-23,53,80,443,2323, -n -Pn -sS:
#                 trawl -O --osscan-guess -oX
#                 nmap  -O --osscan-guess -oX
#               trawl exits 0, its XML is valid against nmap.dtd, and
#               os_results.py compares every host: best class, best
#               accuracy with the names tied at it, and the fingerprint's
#               tests (without the SEQ values that change between runs).
#               Passes only when the fingerprint agrees on every host and
#               the best class is the same or near (each tool scores the
#               other's best class within 2 points of its own best: the
#               random SEQ values move the top guesses by a point);
#               the win stack's fingerprint must differ from web's (T=80,
#               O=M578: the test sees the stacks apart).
#   per port    --osscan-per-port splits the NAT gateway (22 to a Linux
#               stack, 80 to the TTL-128 one) into two groups and leaves web
#               and win whole; its XML (a host script) is valid.
#   options     --osscan-limit skips the hosts without an open and a closed
#               TCP port; --max-os-tries 1 makes one try; -oJ carries an
#               "os" object; -A runs OS detection too.
# Times of both runs are printed (bench/os.sh measures them).
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/scan-lib.sh"
scan_init os "${1:-}"
scan_lab_up
PORTS=21-23,53,80,443,2323
HOSTS="$LAB_WEB_IP $LAB_DNS_IP $LAB_WIN_IP $LAB_NAT_IP $LAB_UDP_IP $LAB_LAN1_IP $LAB_LAN2_IP $LAB_LAN3_IP"

# ---- bad input: nothing is sent
capture_start
bad_args 2 "root privileges" --unprivileged -O -n -Pn -p 80 "$LAB_WEB_IP"
bad_args 2 "need -O" --osscan-guess -n -Pn -p 80 "$LAB_WEB_IP"
bad_args 2 "need -O" --max-os-tries 2 -n -Pn -p 80 "$LAB_WEB_IP"
bad_args 2 "--max-os-tries" -O --max-os-tries 0 -n -Pn -p 80 "$LAB_WEB_IP"
capture_quiet "$LAB_WEB_IP" 80

# ---- trawl and nmap, host by host
t0=$(date +%s%N)
# shellcheck disable=SC2086
TR 300 -n -Pn -sS -O --osscan-guess -p $PORTS $HOSTS -oX "$OUT/tr.xml" -oN "$OUT/tr.nmap"
tt=$(( ($(date +%s%N) - t0) / 1000000 ))
check "trawl -O exits 0" test "$(cat "$TMP/tr.rc")" = 0
check "trawl -O XML is valid against nmap.dtd" valid_xml "$OUT/tr.xml"
t0=$(date +%s%N)
# shellcheck disable=SC2086
NM 600 -n -Pn -sS -O --osscan-guess -p $PORTS $HOSTS -oX "$OUT/nm.xml"
tn=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# trawl -O ${tt} ms, nmap -O ${tn} ms, $(echo $HOSTS | wc -w) hosts"
if "$PY" "$HERE/os_results.py" compare "$OUT/tr.xml" "$OUT/nm.xml" >"$TMP/cmp.txt"; then
  ok "every host: trawl's fingerprint is Nmap's, its best class the same or near ($(tail -1 "$TMP/cmp.txt"))"
else
  nok "trawl -O and nmap -O differ ($(tail -1 "$TMP/cmp.txt"))"
fi
sed 's/^/       /' "$TMP/cmp.txt"
fpof() { "$PY" - "$OUT/tr.xml" "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
for h in ET.parse(sys.argv[1]).getroot().iter("host"):
    if h.find("address").get("addr") == sys.argv[2]:
        f = h.find("os/osfingerprint")
        print(f.get("fingerprint").replace("\nOS:", "") if f is not None else "")
PY
}
web=$(fpof "$LAB_WEB_IP")
win=$(fpof "$LAB_WIN_IP")
if [ -n "$web" ] && [ -n "$win" ] && [[ $win == *"T1(R=Y%DF=Y%T=80"* ]] && [[ $win == *"O1=M578"* ]] &&
  [[ $web == *"T1(R=Y%DF=Y%T=40"* ]] && [ "$web" != "$win" ]; then
  ok "the win stack (TTL 128, MSS only) and web's Linux defaults give different fingerprints"
else
  nok "win/web fingerprints: web '$web' win '$win'"
fi
check "normal output: Aggressive OS guesses and Network Distance for web" \
  grep -q "^Network Distance: 3 hops" "$OUT/tr.nmap"
check "normal output: OS details for lan2 (no open port, as Nmap)" grep -q "^OS details: " "$OUT/tr.nmap"

# ---- options
TR 120 -n -Pn -sS -O --osscan-limit -p $PORTS "$LAB_WEB_IP" "$LAB_LAN2_IP" -oX "$OUT/lim.xml"
n=$("$PY" - "$OUT/lim.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
print(" ".join(h.find("address").get("addr") for h in ET.parse(sys.argv[1]).getroot().iter("host") if h.find("os") is not None))
PY
)
check "--osscan-limit: only web (open and closed port) is fingerprinted, not lan2 ($n)" test "$n" = "$LAB_WEB_IP"
TR 120 -n -Pn -sS -O --max-os-tries 1 -d -p $PORTS "$LAB_WIN_IP" -oJ "$OUT/one.json"
check "--max-os-tries 1: one try" test "$(grep -c "OS try" "$TMP/tr.err")" = 1
check "-oJ: the host has an os object with its fingerprint" grep -q '"os":{"verdict":"none".*"fingerprint":"OS:SCAN' "$OUT/one.json"
# ---- per port: the NAT gateway forwards 22 to a Linux stack (nata) and 80
# to the TTL-128 stack (natb); web and win answer every port with one stack
TR 300 -n -Pn -sS --osscan-per-port -p $PORTS "$LAB_NAT_IP" "$LAB_WEB_IP" "$LAB_WIN_IP" -oX "$OUT/pp.xml" -oN "$OUT/pp.nmap"
check "--osscan-per-port XML is valid against nmap.dtd" valid_xml "$OUT/pp.xml"
"$PY" - "$OUT/pp.xml" >"$TMP/pp.txt" <<'PY'
import sys, xml.etree.ElementTree as ET
for h in ET.parse(sys.argv[1]).getroot().iter("host"):
    a = h.find("address").get("addr")
    for sc in h.iter("script"):
        if sc.get("id") == "os-per-port":
            groups = [",".join(e.text for e in t.find("table[@key='ports']")) for t in sc.findall("table")]
            print(a, " ".join(groups))
PY
sed 's/^/       /' "$TMP/pp.txt"
# the evidence (which signal split a group), for a failure's log
grep -A6 "os-per-port" "$OUT/pp.nmap" | sed 's/^/       /'
check "per port: nat is split into 22 and 80 (port forwarding)" grep -qx "$LAB_NAT_IP 22 80" "$TMP/pp.txt"
check "per port: web is one stack on all its open ports" grep -qx "$LAB_WEB_IP 22,80,443,2323" "$TMP/pp.txt"
check "per port: win is one stack on all its open ports" grep -qx "$LAB_WIN_IP 80,2323" "$TMP/pp.txt"
check "per port: normal output names the different stack" grep -q "80/tcp: a different stack.*port forwarding" "$OUT/pp.nmap"
TR 300 -n -Pn -A -p 80 "$LAB_WEB_IP"
check "-A: OS detection runs" grep -q "^No exact OS matches\|^Aggressive OS guesses\|^OS details" "$TMP/tr.out"
finish
