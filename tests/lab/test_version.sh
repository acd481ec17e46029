#!/usr/bin/env bash
# ctest-cost: 170
# test_version.sh BUILD_DIR: trawl -sV against Nmap -sV on the lab's daemon
# host (lab.sh up --services, tests/lab/README.md "Daemon lab"), port by
# port. Own lab (prefix twversion<pid>-), torn down on EXIT, also on failure.
#
#   bad input   with a capture running in the scanner namespace (as
#               test_scan_badinput.sh): --version-intensity 12 gives one
#               line and exit 2, --versiondb /nonexistent one line and
#               exit 1, and neither sends a packet (a good scan afterwards
#               must show up in the capture, proving it works); a
#               --versiondb file written here with a malformed line and a
#               regex PCRE2 rejects warns FILE:LINE for each and still
#               scans, with the file's own match (product "labftpd").
#   versions    every port of `lab.sh services truth` (TCP and UDP), -n -Pn,
#               from the scanner namespace, each with -oX:
#                 trawl -sS -sU -sV
#                 nmap  -sS -sU -sV -T5 (the fastest timing; the default
#                       intensity 7; the answers are the same as -T3/-T4,
#                       docs/benchmarks.md "Version detection")
#               trawl exits 0, its XML is valid against nmap.dtd, every
#               port Nmap lists open trawl lists open too, the version
#               scripts' own output is hidden (and shown with --script
#               mqtt-version), and then
#               version_results.py's comparison, one same/differ line per
#               port (service name with "ssl/" and "NAME?", product,
#               version, extrainfo, tunnel). Nmap is the truth. A field
#               that is a live counter (memcached's uptime) is found by
#               measurement, not by name: ports whose only differences
#               are in digits are scanned by Nmap a second time, and a
#               field that changed between Nmap's two scans is compared
#               with digits masked (version_volatile.py). The test passes
#               only with differ=0.
# Last line "N passed, M failed"; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
VRES=$HERE/version_results.py
VVOL=$HERE/version_volatile.py
scan_init version "${1:-}"
export TRAWL_LAB_PREFIX="twversion$$-"
if ! timeout 180 "$LAB" up --services >"$TMP/up.log" 2>&1; then
  nok "lab.sh up --services (prefix $TRAWL_LAB_PREFIX)"
  show "$TMP/up.log" 30
  finish
fi
eval "$("$LAB" env)"
S=$LAB_NS_SCAN
SVC=$LAB_SVC_IP
"$LAB" services truth | grep -v '^#' >"$TMP/truth"
TCP=$(awk -v a="$SVC" '$1 == a && $2 == "tcp" { print $3 }' "$TMP/truth" | paste -sd,)
UDP=$(awk -v a="$SVC" '$1 == a && $2 == "udp" { print $3 }' "$TMP/truth" | paste -sd,)
if [ -n "$TCP" ] && [ -n "$UDP" ]; then ok "daemon host $SVC up: TCP $TCP, UDP $UDP"
else nok "no ports in lab.sh services truth"; show "$TMP/truth"; finish; fi

# ------------------------------------------------------------------ bad input
capture_start

bad_args 2 "'12'" -sV --version-intensity 12 -n -Pn -p 21 "$SVC"
bad_args 1 "/nonexistent" -sV --versiondb /nonexistent -n -Pn -p 21 "$SVC"

capture_quiet "$SVC" 21

# A probe file of our own: line 4 is no directive, line 5's regex does not
# compile; the rest must still be used (the product "labftpd" is only here).
DB=$TMP/probes.txt
cat >"$DB" <<'EOF'
# test_version.sh's probe file
Probe TCP NULL q||
totalwaitms 5000
this line is not a directive
match bad-regex m/(unclosed/
match ftp m/^220 \(vsFTPd ([\d.]+)\)/ p/labftpd/ v/$1/
EOF
chmod 644 "$DB"
TR 60 -sV --versiondb "$DB" -n -Pn -p 21 "$SVC"
check "--versiondb with bad lines: exit 0 (got $(cat "$TMP/tr.rc"))" test "$(cat "$TMP/tr.rc")" = 0
check "--versiondb: warning names $DB:4 (not a directive)" grep -q "warning: $DB:4:" "$TMP/tr.err"
check "--versiondb: warning names $DB:5 (regex PCRE2 rejects)" grep -q "warning: $DB:5:" "$TMP/tr.err"
check "--versiondb: still scans, with the file's own match (21/tcp ftp labftpd)" \
  grep -Eq "^21/tcp +open +ftp +labftpd [0-9]" "$TMP/tr.out"

# ------------------------------------------------------------------ versions
SP="T:$TCP,U:$UDP"
t0=$(date +%s%N)
TR 600 -sS -sU -sV -n -Pn -p "$SP" "$SVC" -oX "$OUT/trawl.xml"
tt=$((($(date +%s%N) - t0) / 1000000))
rc=$(cat "$TMP/tr.rc")
if [ "$rc" = 0 ]; then ok "trawl -sS -sU -sV -p $SP: exit 0 ($((tt / 1000)).$(printf %03d $((tt % 1000))) s)"
else nok "trawl -sV: exit $rc"; show "$TMP/tr.err" 10; fi
check "trawl's -sV XML is valid against nmap.dtd" valid_xml "$OUT/trawl.xml"
# -sV runs the scripts of category version (mqtt-version, snmp-version):
# their answers are in the ports' services (compared below), their own
# output is hidden unless --script asks for them
check "-sV alone: no script output in the XML (the version scripts' is hidden)" \
  bash -c "! grep -q '<script id=' '$OUT/trawl.xml'"
TR 60 -sS -sV --script mqtt-version -n -Pn -p 1883 "$SVC" -oX "$OUT/trawl-mqtt.xml"
check "-sV --script mqtt-version: its output shown (\$SYS/broker/version)" \
  grep -q '<script id="mqtt-version" output=".*SYS/broker/version: mosquitto version' "$OUT/trawl-mqtt.xml"
# Under ASan (make test-asan) the point is trawl's memory safety on real
# daemons' answers; Nmap's -sV takes two minutes and its comparison is the
# same in both builds, so the normal pass (make test-normal) makes it.
if scan_sanitized; then
  echo "# ASan build: the comparison with Nmap runs in the normal build's pass"
  finish
fi
NMAPF=(-sS -sU -sV -n -Pn -T5)
t0=$(date +%s%N)
NM 900 "${NMAPF[@]}" -p "$SP" "$SVC" -oX "$OUT/nmap.xml"
tn=$((($(date +%s%N) - t0) / 1000000))
if [ -s "$OUT/nmap.xml" ] && grep -q "</nmaprun>" "$OUT/nmap.xml"; then
  ok "nmap ${NMAPF[*]}: done ($((tn / 1000)).$(printf %03d $((tn % 1000))) s)"
else nok "nmap -sV did not finish"; show "$TMP/nm.err" 10; finish; fi

"$PY" "$VRES" services "$OUT/nmap.xml" >"$TMP/nmap.svc" 2>&1
"$PY" "$VRES" services "$OUT/trawl.xml" >"$TMP/trawl.svc" 2>&1
cut -f1 "$TMP/nmap.svc" | sort >"$TMP/nmap.open"
cut -f1 "$TMP/trawl.svc" | sort >"$TMP/trawl.open"
check "Nmap lists open every port of the truth ($(wc -l <"$TMP/truth"))" \
  test "$(wc -l <"$TMP/nmap.open")" = "$(wc -l <"$TMP/truth")"
comm -23 "$TMP/nmap.open" "$TMP/trawl.open" >"$TMP/missing"
if [ ! -s "$TMP/missing" ]; then ok "every port Nmap lists open ($(wc -l <"$TMP/nmap.open")) trawl lists open"
else nok "ports Nmap lists open and trawl does not: $(paste -sd' ' "$TMP/missing")"; fi

# Live counters: the ports whose differences are only in digits get a
# second Nmap scan; what changed between Nmap's two scans is volatile.
"$PY" "$VVOL" candidates "$OUT/nmap.xml" "$OUT/trawl.xml" >"$TMP/vol.ports"
AGAIN=-
if [ -s "$TMP/vol.ports" ]; then
  VT=$(awk '$1 == "tcp" { print $2 }' "$TMP/vol.ports" | paste -sd,)
  VU=$(awk '$1 == "udp" { print $2 }' "$TMP/vol.ports" | paste -sd,)
  VP=${VT:+T:$VT}${VT:+${VU:+,}}${VU:+U:$VU}
  VS=(${VT:+-sS} ${VU:+-sU})
  sleep 1 # a counter in seconds must get the chance to move
  NM 600 "${VS[@]}" -sV -n -Pn -T5 -p "$VP" "$SVC" -oX "$OUT/nmap-again.xml"
  if grep -q "</nmaprun>" "$OUT/nmap-again.xml" 2>/dev/null; then
    AGAIN=$OUT/nmap-again.xml
    ok "ports differing only in digits ($VP): Nmap scanned them again"
  else nok "second Nmap scan of $VP did not finish"; fi
fi
"$PY" "$VVOL" compare "$OUT/nmap.xml" "$AGAIN" "$OUT/trawl.xml" >"$TMP/compare"
echo "# port by port, Nmap (truth) against trawl:"
sed 's/^/#   /' "$TMP/compare"
# For a differing port whose truth has tunnel=ssl and trawl's name is a
# bare "ssl", say what that means.
awk '$1 == "differ" && index($0, "|ssl other=ssl|") { print $3 }' "$TMP/compare" | paste -sd' ' >"$TMP/ssl"
[ -n "$(cat "$TMP/ssl")" ] &&
  echo "# TLS-wrapped ports where trawl stops at the TLS layer (Nmap restarts its probes inside TLS): $(cat "$TMP/ssl")"
summary=$(tail -1 "$TMP/compare")
if [ "$(grep -c '^differ' "$TMP/compare")" = 0 ] && grep -q "^same=[1-9][0-9]* differ=0 " <<<"$summary"; then
  ok "trawl -sV gives Nmap's answers on every port: $summary"
else
  nok "trawl -sV differs from Nmap: $summary"
  grep '^differ' "$TMP/compare" | sed 's/^/       /'
fi

finish
