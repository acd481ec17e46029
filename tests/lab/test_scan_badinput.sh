#!/usr/bin/env bash
# test_scan_badinput.sh BUILD_DIR: malformed targets, ports, options and
# files. Each bad command line must give exactly one error line on stderr,
# naming the bad argument, a non-zero exit status, no scan report, and
# send nothing: a capture (tcpdump, every interface of the scanner
# namespace) runs all along and must hold no packet from before the
# positive control (one good scan, which must show up in it, proving the
# capture works). Then names: an unresolvable name is reported by name and
# the scan goes on with the other targets (a resolvable name included).
# Own lab (prefix twbadin<pid>-). Last line "N passed, M failed".
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init badinput "${1:-}"
scan_lab_up

W=$LAB_WEB_IP
printf '%s\n%s\n' "$W" 198.18.999.1 >"$TMP/bad-line2.lst"
chmod 644 "$TMP/bad-line2.lst"

capture_start

bad() { bad_args any "$@"; }
bad "'198.18.300.1'" -sS -p 80 198.18.300.1
bad "'198.18.30.0/33'" -sS -p 80 198.18.30.0/33
bad "'198.18.30.10/24/3'" -sS -p 80 198.18.30.10/24/3
bad "'198.18.30.10-5'" -sS -p 80 198.18.30.10-5
bad "'198.18.30.0/33'" -sS -p 80 "$W" 198.18.30.0/33
bad "'70000'" -sS -p 70000 "$W"
bad "'80-20'" -sS -p 80-20 "$W"
bad "'nosuchservice'" -sS -p nosuchservice "$W"
bad "'22,'" -sS -p 22, "$W"
bad "'99999'" -sS -p 80 --exclude-ports 99999 "$W"
bad "'U:53'" -sS -p U:53 "$W"
bad "'--bogus-option'" --bogus-option "$W"
bad "'-sZ'" -sZ "$W"
bad "'9'" -T9 "$W"
bad "--max-rate" --max-rate 0 "$W"
bad "--min-rate" --min-rate 10 --max-rate 5 "$W"
bad "'5x'" --scan-delay 5x "$W"
bad "--max-retries" --max-retries -1 "$W"
bad "'abc'" --host-timeout abc "$W"
bad "'-sT'" -sS -sT "$W"
bad "'-sn'" -sn -p 80 "$W"
bad "'-F'" -F -p 80 "$W"
bad "'70000'" --source-port 70000 "$W"
bad "'99999'" -PS99999 "$W"
bad "--shard" --shards 2 --shard 5 "$W"
bad "'2001:db8::1'" -sS -p 80 2001:db8::1
bad "'$W'" -6 -sS -p 80 "$W"
bad "/nonexistent/targets.lst" -iL /nonexistent/targets.lst
bad "bad-line2.lst:2" -sS -p 80 -iL "$TMP/bad-line2.lst"
bad "'198.18.1.999'" -sS -p 80 --exclude 198.18.1.999 "$W"
bad "'-p'" "$W" -p
bad "nosuchif0" -sS -p 80 -e nosuchif0 "$W"
bad "/nonexistent/dir/x.xml" -sS -p 80 -oX /nonexistent/dir/x.xml "$W"

capture_quiet "$W" 80

# ------------------------------------------------------------------ names
# nosuch.lab.test: NXDOMAIN from the lab's DNS; win.lab.test resolves to
# $LAB_WIN_IP. Nmap: 'Failed to resolve "nosuch.lab.test".' and scans the rest.
TR 60 -sS -n -p 80 nosuch.lab.test "$W" win.lab.test -oX "$OUT/names.xml"
rc=$(cat "$TMP/tr.rc")
check "unresolvable name: exit 0 (the other targets are scanned)" test "$rc" = 0
check "unresolvable name: a stderr line names 'nosuch.lab.test'" grep -q "nosuch.lab.test" "$TMP/tr.err"
ports "$OUT/names.xml" >"$TMP/names.ports" 2>/dev/null
check "unresolvable name: $W is still scanned (80 open)" grep -q "^$W tcp 80 open " "$TMP/names.ports"
check "resolvable name win.lab.test is scanned ($LAB_WIN_IP 80 open)" grep -q "^$LAB_WIN_IP tcp 80 open " "$TMP/names.ports"
check "-oX names win.lab.test (hostname type=user)" grep -q '<hostname name="win.lab.test" type="user"/>' "$OUT/names.xml"
check "normal output: 'scan report for win.lab.test ($LAB_WIN_IP)'" grep -q "scan report for win.lab.test ($LAB_WIN_IP)" "$TMP/tr.out"
TR 60 -sS -n -p 80 nosuch.lab.test
rc=$(cat "$TMP/tr.rc")
check "only an unresolvable name: the error names it" grep -q "nosuch.lab.test" "$TMP/tr.err"
check "only an unresolvable name: no scan report (exit $rc)" bash -c "! grep -q 'scan report' '$TMP/tr.out'"

# ------------------------------------------------------------------ full disk
# An output that cannot be written: one stderr line naming that output and
# its file, exit 1, and the other outputs still get everything.
full() { # LABEL FLAG: FLAG /dev/full next to a complete -oN file
  local label=$1 flag=$2
  rm -f "$OUT/full.nmap"
  TR 60 -sS -n -Pn -p 80,81 "$W" "$flag" /dev/full -oN "$OUT/full.nmap"
  local rc nl
  rc=$(cat "$TMP/tr.rc")
  nl=$(wc -l <"$TMP/tr.err")
  if [ "$rc" = 1 ] && [ "$nl" -eq 1 ] && grep -q "cannot write the $label output to /dev/full" "$TMP/tr.err"; then
    ok "$flag /dev/full -> exit 1: $(cat "$TMP/tr.err")"
  else
    nok "$flag /dev/full: want exit 1 and one line naming the $label output; got exit $rc, $nl lines:"
    show "$TMP/tr.err" 5
  fi
  check "$flag /dev/full: -oN still complete (80 open, 81 closed, end line)" \
    bash -c "grep -Eq '^80/tcp +open' '$OUT/full.nmap' && grep -Eq '^81/tcp +closed' '$OUT/full.nmap' && grep -q '^# Trawl done at' '$OUT/full.nmap'"
  check "$flag /dev/full: the terminal still gets the report" grep -Eq "^80/tcp +open" "$TMP/tr.out"
}
full xml -oX
full grepable -oG
full json -oJ
# standard output itself full: -oX to a file stays complete
rm -f "$OUT/full.xml"
timeout -k 5 60 ip netns exec "$S" "$TRAWL" -sS -n -Pn -p 80 "$W" -oX "$OUT/full.xml" \
  >/dev/full 2>"$TMP/tr.err" </dev/null
rc=$?
check "stdout on /dev/full -> exit 1 (got $rc)" test "$rc" = 1
check "stdout on /dev/full: one line naming standard output" \
  bash -c "[ \$(wc -l <'$TMP/tr.err') -eq 1 ] && grep -q 'cannot write the normal output to standard output' '$TMP/tr.err'"
check "stdout on /dev/full: -oX complete and valid" \
  bash -c "grep -q '<port protocol=\"tcp\" portid=\"80\"><state state=\"open\"' '$OUT/full.xml' && grep -q '</nmaprun>' '$OUT/full.xml'"

finish
