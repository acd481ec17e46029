#!/usr/bin/env bash
# test_cli_bugs.sh: the bugs of issue 13 ("An Nmap user's command line"),
# each checked the way it was found: a command line run through trawl in
# the lab's scanner namespace (its loopback and the lab's hosts), and where
# Nmap has an answer, through nmap in the same place for comparison.
# Every check here failed before its fix.
#
#   test_cli_bugs.sh BUILD_DIR   (root)
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init clibug "${1:-}"
scan_lab_up

WEB=$LAB_WEB_IP
DEAD=$LAB_DEAD_IP

# A listener on [::]:8081 in the scanner namespace (IPv6 loopback).
X 300 "$PY" -c 'import socket, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 8081)); s.listen(8); time.sleep(290)' &
SCAN_PIDS="$SCAN_PIDS $!"
for _ in $(seq 50); do X 5 ss -ltn | grep -q ':8081 ' && break; sleep 0.1; done
check "listener on [::]:8081 in the scanner namespace" sh -c "ip netns exec $S ss -ltn | grep -q ':8081 '"

# report_hosts FILE: the addresses of the "scan report" lines, sorted
report_hosts() { sed -n 's/^\(Trawl\|Nmap\) scan report for \(.* (\)\{0,1\}\([^ )]*\))\{0,1\}.*$/\3/p' "$1" | LC_ALL=C sort; }

# ---- 1. "::" among the targets hid "::1" ------------------------------------
TR 30 -6 -n -p 8081 ::/127
NM 30 -6 -n -p 8081 ::/127
if grep -q "^8081/tcp *open" "$TMP/tr.out" && [ "$(report_hosts "$TMP/tr.out")" = "::1" ]; then
  ok "1: -6 -n -p 8081 ::/127 finds ::1 with 8081 open (nmap: $(report_hosts "$TMP/nm.out" | tr '\n' ' '))"
else nok "1: -6 -n -p 8081 ::/127 finds ::1 with 8081 open"; show "$TMP/tr.out"; fi
check "1: same hosts as nmap for ::/127" diff <(report_hosts "$TMP/tr.out") <(report_hosts "$TMP/nm.out")
TR 30 -6 -Pn -n -p 8081 :: ::1
if grep -q "^8081/tcp *open" "$TMP/tr.out" && ! grep -q "scan report for ::$" "$TMP/tr.out" &&
  grep -q "no route to ::" "$TMP/tr.err"; then
  ok "1: -6 -Pn :: ::1: ::1 has 8081 open; :: is skipped with a warning, as nmap does"
else nok "1: -6 -Pn :: ::1"; show "$TMP/tr.out"; show "$TMP/tr.err" 3; fi

# ---- 2. -v lists down hosts; the -Pn hint for one down target ---------------
TR 30 -v -n -p 22 "$DEAD" "$WEB"
NM 30 -v -n -p 22 "$DEAD" "$WEB"
check "2: -v: '$DEAD [host down]' in trawl's report" grep -q "scan report for $DEAD \[host down\]" "$TMP/tr.out"
check "2: -v: nmap says the same" grep -q "scan report for $DEAD \[host down\]" "$TMP/nm.out"
TR 30 -v -n -p 22 -oX - "$DEAD"
check "2: -v -oX: the down host is a <host> with state down" grep -q '<status state="down" reason="no-response"' "$TMP/tr.out"
TR 30 -n -p 22 "$DEAD"
NM 30 -n -p 22 "$DEAD"
hint="Note: Host seems down. If it is really up, but blocking our ping probes, try -Pn"
check "2: one down target: the -Pn hint" grep -qF "$hint" "$TMP/tr.out"
check "2: nmap gives the same hint" grep -qF "$hint" "$TMP/nm.out"
TR 30 -n -Pn -p 22 "$DEAD"
check "2: no hint with -Pn" sh -c "! grep -qF 'Host seems down' $TMP/tr.out"

# ---- 3. --host-timeout shorter than discovery made hosts vanish ---------------
TR 30 --host-timeout 20ms -oG - -p 22,8080 127.0.0.0/30
NM 60 --host-timeout 20ms -oG - -p 22,8080 127.0.0.0/30
tr_up=$(grep -c "Status: Up" "$TMP/tr.out")
nm_up=$(grep -c "Status: Up" "$TMP/nm.out")
if [ "$tr_up" = 4 ] && grep -q "(4 hosts up)" "$TMP/tr.out"; then
  ok "3: --host-timeout 20ms 127.0.0.0/30: all 4 hosts reported (nmap: $nm_up)"
else nok "3: --host-timeout 20ms: 4 hosts reported, got $tr_up"; show "$TMP/tr.out"; fi

# ---- 4. the live status line is cleared before a host report --------------------
# On a terminal (script(1) gives one), a scan long enough for the status
# line: an unanswered port is re-sent until it is given up.
timeout -k 5 60 script -qec "ip netns exec $S $TRAWL -n -Pn -p 22,23 $DEAD" "$TMP/tty.txt" \
  </dev/null >/dev/null 2>&1
if grep -q "pkt/s" "$TMP/tty.txt" && grep -q "scan report for $DEAD" "$TMP/tty.txt"; then
  # what precedes the report on its line, after the last carriage return:
  # nothing, or the erase (ESC [K); before the fix, the status text
  if "$PY" - "$TMP/tty.txt" <<'EOF'
import sys
for line in open(sys.argv[1], "rb").read().split(b"\n"):
    at = line.find(b"Trawl scan report for")
    if at >= 0:
        tail = line[:at].split(b"\r")[-1]
        sys.exit(0 if tail in (b"", b"\x1b[K") else "before the report: %r" % tail)
sys.exit("no report line")
EOF
  then ok "4: on a terminal the status line is erased before the host report"
  else nok "4: status line and report share a line"; cat -A "$TMP/tty.txt" | head -5; fi
else
  nok "4: a status line and a report on the terminal"; cat -A "$TMP/tty.txt" | head -5
fi

# ---- 5. --resume wrote a written host again; extra options were dropped --------
# 127.0.0.1 answers at once, $DEAD never: SIGINT while $DEAD is still asked.
rm -f "$OUT/r.gnmap"
timeout -k 5 60 ip netns exec "$S" "$TRAWL" -n -Pn -p 22 --max-retries 10 --min-rtt-timeout 1s \
  -oG "$OUT/r.gnmap" 127.0.0.1 "$DEAD" >"$TMP/r.out" 2>"$TMP/r.err" </dev/null &
TO=$!
SCAN_PIDS="$SCAN_PIDS $TO"
TPID=
for _ in $(seq 50); do TPID=$(pgrep -P "$TO" | head -1); [ -n "$TPID" ] && break; sleep 0.1; done
sleep 1.5
kill -INT "$TPID" 2>/dev/null
wait "$TO" 2>/dev/null
marker=$(grep -o "next-target=[0-9]*" "$OUT/r.gnmap" | tail -1)
n1=$(grep -c "^Host: 127.0.0.1 .*Ports:" "$OUT/r.gnmap")
if [ "$n1" = 1 ] && [ "$marker" = "next-target=1" ]; then
  ok "5: interrupted: 127.0.0.1 written once, marker $marker"
else nok "5: interrupted: 127.0.0.1 written once, marker next-target=1 (got $n1, $marker)"; show "$OUT/r.gnmap"; fi
TR 60 --resume "$OUT/r.gnmap"
n1=$(grep -c "^Host: 127.0.0.1 .*Ports:" "$OUT/r.gnmap")
nd=$(grep -c "^Host: $DEAD .*Ports:" "$OUT/r.gnmap")
if [ "$(cat "$TMP/tr.rc")" = 0 ] && [ "$n1" = 1 ] && [ "$nd" = 1 ]; then
  ok "5: resumed: each host in the file once (127.0.0.1: $n1, $DEAD: $nd)"
else nok "5: resumed: each host once (exit $(cat "$TMP/tr.rc"), 127.0.0.1: $n1, $DEAD: $nd)"; show "$OUT/r.gnmap"; fi
bad_args 2 "--resume takes no other options" --resume "$OUT/r.gnmap" -p 80

# ---- 6. --open printed hosts without open ports ----------------------------------
TR 30 -n --open -p 80,81 "$WEB" 127.0.0.1
NM 30 -n --open -p 80,81 "$WEB" 127.0.0.1
if [ "$(report_hosts "$TMP/tr.out")" = "$WEB" ]; then
  ok "6: --open: only $WEB (with 80 open) is reported"
else nok "6: --open: only $WEB reported"; show "$TMP/tr.out"; fi
check "6: --open: the same hosts as nmap" diff <(report_hosts "$TMP/tr.out") <(report_hosts "$TMP/nm.out")
TR 30 -n --open -sn "$WEB" 127.0.0.1
check "6: --open -sn: every host up is reported (no ports to filter on)" \
  test "$(report_hosts "$TMP/tr.out" | wc -l)" = 2

# ---- 7. --dry-run --script nosuch exited 0 ----------------------------------------
bad_args 2 "nosuch" --dry-run --script nosuch "$WEB"
bad_args 2 "nosuch" -n -p 80 --script nosuch "$WEB"

# ---- 8. an empty -iL file blamed exclusions ------------------------------------
: >"$OUT/empty.txt"
bad_args 2 "no targets in the -iL file" -iL "$OUT/empty.txt"

# ---- 9. localhost/33 was accepted ------------------------------------------------
bad_args 2 "prefix length 33 out of range (0-32)" -n -p 80 localhost/33
bad_args 2 "prefix length 33 out of range (0-32)" -n -p 80 10.0.0.0/33

finish
