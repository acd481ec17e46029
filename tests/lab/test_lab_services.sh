#!/usr/bin/env bash
# ctest-cost: 160
# asan: skip (it checks the daemon host with real clients and nmap, not trawl)
# test_lab_services.sh BUILD_DIR: proves that the lab's daemon host (lab.sh
# services, lab-services.sh) is what README.md says it is, and records the
# reference that version detection (issue 10) and Nmap's scripts (issue 12)
# are compared with. Brings the lab up without services (and checks that
# none run), then `lab.sh services up`; from the scanner namespace checks
# that every daemon answers its own protocol with a real client (curl,
# openssl, smbclient, rsync, psql, mariadb, redis-cli, snmpget,
# svc_probe.py), that every daemon runs in namespace svc under hostname svc;
# then runs nmap -sV over every daemon port (TCP and UDP, only at the lab's
# address) and saves its XML to BUILD_DIR/tests/lab/services/nmap-sv.xml
# (with the ground truth, truth.txt, beside it), asserts that nmap named each
# port as the ground truth's NMAP_ columns say, prints nmap's time, and
# checks that `services down` and `down` leave nothing behind. Own lab
# (prefix $TRAWL_LAB_PREFIX, else twsvc<pid>-), torn down on EXIT.
# Last line "N passed, M failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
VRES=$HERE/version_results.py
PROBE=$HERE/svc_probe.py

BUILD=${1:-}
TMP=$(mktemp -d /tmp/trawl-test-services.XXXXXX)
chmod 755 "$TMP"
export TRAWL_LAB_PREFIX=${TRAWL_LAB_PREFIX:-twsvc$$-}
trap scan_cleanup EXIT
if [ -z "$BUILD" ]; then nok "usage: test_lab_services.sh BUILD_DIR"; finish; fi
if [ "$(id -u)" -ne 0 ]; then nok "must run as root"; finish; fi
for t in ip nmap curl openssl smbclient rsync psql mariadb redis-cli snmpget timeout xmllint; do
  command -v $t >/dev/null || nok "tool $t missing (scripts/deps.sh installs it)"
done
[ $fail -eq 0 ] || finish
OUTDIR=$(readlink -f "$BUILD")/tests/lab/services
mkdir -p "$OUTDIR" || { nok "cannot create $OUTDIR"; finish; }

# ------------------------------------------------------------------ up
if ! timeout 120 "$LAB" up >"$TMP/up.log" 2>&1; then
  nok "lab.sh up (prefix $TRAWL_LAB_PREFIX)"; show "$TMP/up.log"; finish
fi
eval "$("$LAB" env)"
S=$LAB_NS_SCAN
P=$LAB_PREFIX
SVC_NS=${P}svc
check "plain 'lab.sh up' starts no daemon host (no namespace $SVC_NS)" test ! -e "/run/netns/$SVC_NS"
t0=$(date +%s%N)
if ! timeout 120 "$LAB" services up >"$TMP/svc-up.log" 2>&1; then
  nok "lab.sh services up"; show "$TMP/svc-up.log" 30; finish
fi
up_ms=$((($(date +%s%N) - t0) / 1000000))
ok "lab.sh services up: $(tail -1 "$TMP/svc-up.log") (whole command $((up_ms / 1000)).$(printf %03d $((up_ms % 1000))) s)"
check "lab.sh services status: UP" bash -c "'$LAB' services status | tail -1 | grep -q UP"
check "lab.sh up --services again: both already up" \
  bash -c "'$LAB' up --services | tr '\n' ' ' | grep -q 'lab $P: already up services $P: already up'"
"$LAB" services truth >"$OUTDIR/truth.txt"
grep -v '^#' "$OUTDIR/truth.txt" >"$TMP/truth"
SVC=$LAB_SVC_IP
[ "$(wc -l <"$TMP/truth")" -ge 20 ] && ok "ground truth: $(wc -l <"$TMP/truth") daemon ports ($OUTDIR/truth.txt)" ||
  nok "ground truth has $(wc -l <"$TMP/truth") ports"

# Every daemon lives in the svc namespace (never on the host), in a UTS
# namespace of its own whose hostname is svc.
svc_inode=$(stat -Lc %i "/run/netns/$SVC_NS")
bad=""
n=0
for f in "$LAB_SVC_RUNDIR"/*.pid; do
  pid=$(cat "$f")
  name=$(basename "$f" .pid)
  n=$((n + 1))
  [ "$(stat -Lc %i "/proc/$pid/ns/net" 2>/dev/null)" = "$svc_inode" ] || bad+=" $name:netns"
  [ "$(readlink "/proc/$pid/ns/uts")" != "$(readlink /proc/1/ns/uts)" ] || bad+=" $name:uts"
  [ "$(nsenter -t "$pid" -u hostname 2>/dev/null)" = svc ] || bad+=" $name:hostname"
done
if [ -z "$bad" ] && [ $n -ge 14 ]; then ok "$n daemons, each in namespace $SVC_NS with its own UTS namespace, hostname svc"
else nok "daemons outside svc or without their hostname ($n daemons):$bad"; fi

# ------------------------------------------------------------------ protocols
PW=$(cat "$LAB_SVC_PASSWORD_FILE")
# has DESC PATTERN CMD...: CMD's output (stdout+stderr) matches PATTERN
has() {
  local d=$1 pat=$2; shift 2
  "$@" >"$TMP/cmd.out" 2>&1
  if grep -Eq -- "$pat" "$TMP/cmd.out"; then ok "$d"; else nok "$d (no /$pat/)"; show "$TMP/cmd.out" 8; fi
}
tls_line() { # PORT: the first line a TLS-wrapped service sends
  echo QUIT | ip netns exec "$S" timeout 10 openssl s_client -quiet -connect "$SVC:$1" 2>/dev/null | head -1
}
has "21/tcp ftp: vsftpd, anonymous listing" 'README' X 15 curl -sS --max-time 10 "ftp://$SVC/"
has "990/tcp ftps (implicit TLS): anonymous listing" 'README' X 15 curl -sS -k --max-time 10 "ftps://$SVC/"
has "23/tcp telnet: inetd+telnetd, 'svc login: ' after option negotiation" '^svc login: ' X 15 /usr/bin/python3 "$PROBE" telnet "$SVC" 23
has "25/tcp smtp: '220 svc.lab.test ESMTP Exim'" '^< 220 svc\.lab\.test ESMTP Exim' X 15 curl -sv --max-time 10 "smtp://$SVC/"
has "587/tcp submission: Exim greeting and STARTTLS" '^< 250[- ]STARTTLS' X 15 curl -sv --max-time 10 "smtp://$SVC:587/"
has "465/tcp smtps (TLS): Exim greeting inside TLS" '^220 svc\.lab\.test ESMTP Exim' tls_line 465
has "80/tcp http: lighttpd serves 'trawl lab svc'" 'Server: lighttpd' X 15 curl -sS -i --max-time 10 "http://$SVC/"
has "443/tcp https: certificate for svc.lab.test verifies" '<title>trawl lab svc</title>' \
  X 15 curl -sS --max-time 10 --cacert "$LAB_SVC_RUNDIR/cert.pem" --resolve "svc.lab.test:443:$SVC" https://svc.lab.test/
has "110/tcp pop3: Dovecot greeting" '^\+OK Dovecot \(Debian\) ready' X 15 /usr/bin/python3 "$PROBE" line "$SVC" 110
has "143/tcp imap: Dovecot greeting" '^\* OK .*Dovecot \(Debian\) ready' X 15 /usr/bin/python3 "$PROBE" line "$SVC" 143
has "993/tcp imaps (TLS): Dovecot greeting inside TLS" '^\* OK .*Dovecot \(Debian\) ready' tls_line 993
has "995/tcp pop3s (TLS): Dovecot greeting inside TLS" '^\+OK Dovecot \(Debian\) ready' tls_line 995
has "139/tcp netbios-ssn: smbd lists share pub" 'pub +Disk +trawl lab share' X 30 smbclient -N -p 139 -L "//$SVC"
has "445/tcp microsoft-ds: smbd lists share pub" 'pub +Disk +trawl lab share' X 30 smbclient -N -p 445 -L "//$SVC"
has "873/tcp rsync: module pub" '^pub[[:space:]]+trawl lab rsync' X 15 rsync --contimeout=10 "rsync://$SVC/"
has "1883/tcp mqtt: mosquitto accepts an anonymous CONNECT" '^connack 0$' X 15 /usr/bin/python3 "$PROBE" mqtt "$SVC" 1883
has "8883/tcp mqtt over TLS: CONNACK 0" '^connack 0$' X 15 /usr/bin/python3 "$PROBE" mqtt "$SVC" 8883 --tls
has "3306/tcp mysql: MariaDB, user lab from the scanner" '^10\.11\.' \
  X 15 mariadb --connect-timeout=10 -h "$SVC" -u lab "-p$PW" -N -e 'select version()'
has "5432/tcp postgresql: PostgreSQL 15, scram login from the scanner" '^PostgreSQL 15\.' \
  env PGPASSWORD="$PW" PGCONNECT_TIMEOUT=10 ip netns exec "$S" timeout 15 psql -h "$SVC" -U postgres -d postgres -tAc 'select version()'
has "6379/tcp redis: PING" '^PONG' X 15 redis-cli -h "$SVC" -p 6379 ping
has "6380/tcp redis over TLS: PING" '^PONG' X 15 redis-cli --tls --insecure -h "$SVC" -p 6380 ping
has "8888/tcp http-proxy: tinyproxy fetches http://web.lab.test/" '^trawl lab web$' \
  X 15 curl -sS --max-time 10 -x "http://$SVC:8888" "http://$LAB_WEB_IP/"
has "11211/tcp memcached: version" '^VERSION 1\.6' X 15 /usr/bin/python3 "$PROBE" line "$SVC" 11211 version
has "11211/udp memcached: version" '^VERSION 1\.6' X 15 /usr/bin/python3 "$PROBE" memcached-udp "$SVC" 11211
mkdir -p "$TMP/snmp"
has "161/udp snmp: sysName.0 is svc (the daemon's own UTS name)" 'STRING: "svc"' \
  env SNMP_PERSISTENT_DIR="$TMP/snmp" ip netns exec "$S" timeout 15 snmpget -v2c -c public -t 3 -r 1 "$SVC" 1.3.6.1.2.1.1.5.0

# ------------------------------------------------------------------ nmap -sV
TCP=$LAB_SVC_TCP
UDP=$LAB_SVC_UDP
t0=$(date +%s%N)
timeout -k 5 900 ip netns exec "$S" nmap -n -Pn -sS -sU -sV --reason -p "T:$TCP,U:$UDP" "$SVC" \
  -oX "$OUTDIR/nmap-sv.xml" -oN "$OUTDIR/nmap-sv.txt" >"$TMP/nmap.out" 2>&1
rc=$?
nmap_ms=$((($(date +%s%N) - t0) / 1000000))
echo "# nmap -sV over $(wc -l <"$TMP/truth") daemon ports: $((nmap_ms / 1000)).$(printf %03d $((nmap_ms % 1000))) s"
if [ $rc = 0 ]; then ok "nmap -sV exits 0 ($((nmap_ms / 1000)) s; XML in $OUTDIR/nmap-sv.xml)"
else nok "nmap -sV exits 0 (got $rc)"; show "$TMP/nmap.out"; fi
check "nmap -sV XML valid under nmap.dtd" xmllint --noout --dtdvalid "$NMAP_DTD" "$OUTDIR/nmap-sv.xml"
# version_results.py: "ADDR PROTO PORT<TAB>NAME<TAB>PRODUCT<TAB>VERSION<TAB>
# EXTRAINFO<TAB>TUNNEL" per open port, NAME as the normal output shows it
# ("ssl/http", "imaps?" when the name comes from the port table).
/usr/bin/python3 "$VRES" services "$OUTDIR/nmap-sv.xml" >"$OUTDIR/nmap-sv.services" 2>"$TMP/vres.err"
# Each truth line against nmap's answer for that port.
while read -r addr proto port service tunnel daemon nname ntunnel nmethod; do
  want=$nname
  [ "$ntunnel" = ssl ] && want="ssl/$want"
  [ "$nmethod" = table ] && want+="?"
  line=$(awk -F'\t' -v k="$addr $proto $port" '$1 == k' "$OUTDIR/nmap-sv.services")
  if [ -z "$line" ]; then nok "$port/$proto ($daemon): not open in nmap's output"; continue; fi
  IFS=$'\t' read -r _ name product version _ _ <<<"$line"
  desc=""
  [ "$product" != - ] && desc=" $product"
  [ "$version" != - ] && desc+=" $version"
  # shellcheck disable=SC2053  # $want holds a glob on purpose
  if [[ $name == $want ]]; then
    ok "$port/$proto $daemon: nmap says $name$desc"
  else
    nok "$port/$proto $daemon: nmap says [$name], truth says [$want]"
  fi
  if [ "$service $tunnel" != "$nname $ntunnel" ] && [[ $nname != mosquitto* ]]; then
    echo "#   (the port really speaks $service, tunnel $tunnel; nmap 7.93 says $name)"
  fi
done <"$TMP/truth"
check "nmap -sV saw hostname svc.lab.test (Service Info)" grep -Eq 'Service Info: Hosts?: svc\.lab\.test' "$OUTDIR/nmap-sv.txt"

# ------------------------------------------------------------------ down
svc_pids=$(cat "$LAB_SVC_RUNDIR"/*.pid; ip netns pids "$SVC_NS")
check "lab.sh services down" timeout 60 "$LAB" services down
check "services down: namespace $SVC_NS gone" test ! -e "/run/netns/$SVC_NS"
check "services down: /etc/netns/$SVC_NS and $LAB_SVC_RUNDIR gone" \
  bash -c "! test -e '/etc/netns/$SVC_NS' && ! test -e '$LAB_SVC_RUNDIR'"
left=""
for pid in $svc_pids; do # a zombie waiting for its reaper counts as gone
  st=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
  st=${st##*) }
  [ "${st:0:1}" != Z ] && left+=" $pid"
done
if [ -z "$left" ]; then ok "services down: none of the $(wc -w <<<"$svc_pids") daemon processes is left"
else nok "services down: processes left:$left"; fi
check "services down: the rest of the lab is still up" timeout 30 "$LAB" status
check "lab.sh down" timeout 60 "$LAB" down
check "down: no namespace of prefix $P left" bash -c "! ip netns list | grep -q '^$P'"
finish
