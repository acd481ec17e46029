#!/usr/bin/env bash
# ctest-cost: 40
# test_nse.sh BUILD_DIR: Nmap's own NSE scripts (Debian's nmap-common, read
# at run time; docs/nse.md) in real scans, in a lab of its own (prefix
# twnse<pid>-, torn down on EXIT), every command under `timeout`:
#   - http-title.nse and http-server-header.nse (Nmap's, not trawl's
#     http-title) on the web host's 80 and 443 give nmap's results for the
#     same scan, and the XML is valid under nmap.dtd;
#   - reverse-index.nse (a hostrule and a postrule dispatching on
#     SCRIPT_TYPE) gives nmap's post-scan result;
#   - -sC runs with no script failing and exits 0 (scripts needing the
#     openssl module, not built in yet, are named on one stderr line);
#   - a .nse asking for a module that does not exist is named and skipped,
#     the scan goes on; without nmap-common (TRAWL_NMAPDIR pointing
#     nowhere) asking for Nmap's scripts is one line naming nmap-common,
#     exit 2, and trawl's own banner script still runs.
# Skips (passes with a note) when nmap-common is not installed.
# Last line "N passed, M failed"; non-zero exit on any failure.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
SR=$HERE/script_results.py
scan_init nse "${1:-}"
if [ ! -r /usr/share/nmap/scripts/script.db ]; then
  ok "nmap-common not installed: nothing to check"
  finish
fi
scan_lab_up
W=$LAB_WEB_IP

# ------------------------------------------------------------ Nmap's http scripts
SC=http-title.nse,http-server-header.nse
if TR 120 -Pn -n -sT -sV -p 80,443 --script "$SC" -oX "$OUT/http.xml" "$W"; then
  ok "trawl --script $SC exits 0"
  check "its XML is valid under nmap.dtd" valid_xml "$OUT/http.xml"
  if NM 180 -Pn -n -sT -sV -p 80,443 --script http-title,http-server-header -oX "$OUT/nmap-http.xml" "$W"; then
    "$PY" "$SR" compare "$OUT/http.xml" "$OUT/nmap-http.xml" http-title,http-server-header >"$TMP/cmp" 2>&1 &&
      ok "http-title, http-server-header equal nmap's ($(head -1 "$TMP/cmp"))" ||
      { nok "http-title/http-server-header differ from nmap's"; show "$TMP/cmp"; }
  else
    nok "nmap --script http-title,http-server-header"
  fi
  grep -qE 'failed|skipped' "$TMP/tr.err" && { nok "stderr has script complaints"; show "$TMP/tr.err"; } || ok "nothing on stderr about the scripts"
else
  nok "trawl --script $SC"; show "$TMP/tr.err"
fi

# ------------------------------------------------------------ hostrule + postrule
if TR 120 -Pn -n -sT -p 22,80 --script reverse-index.nse -oX "$OUT/ri.xml" "$W" &&
   NM 120 -Pn -n -sT -p 22,80 --script reverse-index -oX "$OUT/nmap-ri.xml" "$W"; then
  "$PY" "$SR" compare "$OUT/ri.xml" "$OUT/nmap-ri.xml" reverse-index >"$TMP/cmp" 2>&1 &&
    ok "reverse-index (postrule) equals nmap's ($(head -1 "$TMP/cmp"))" ||
    { nok "reverse-index differs from nmap's"; show "$TMP/cmp"; }
else
  nok "reverse-index scans"; show "$TMP/tr.err"
fi

# ------------------------------------------------------------ -sC
if TR 180 -Pn -n -sT -sV -p 22,80,443,2323 -sC -oX "$OUT/sc.xml" "$W"; then
  ok "trawl -sT -sV -sC exits 0"
  check "-sC XML valid under nmap.dtd" valid_xml "$OUT/sc.xml"
  if grep -q 'failed' "$TMP/tr.err"; then nok "-sC: a script failed"; show "$TMP/tr.err"
  else ok "-sC: no script failed"; fi
  n=$(grep -c 'skipped' "$TMP/tr.err")
  [ "$n" -le 3 ] && ok "-sC: skipped scripts on $n line(s) (one per missing module)" ||
    { nok "-sC: $n skip lines"; show "$TMP/tr.err"; }
else
  nok "trawl -sC"; show "$TMP/tr.err"
fi

# ------------------------------------------------------------ missing module, missing nmap-common
cat >"$TMP/needmod.nse" <<'EON'
description = [[requires a module that does not exist]]
categories = {"safe"}
local x = require "no_such_module_for_trawl"
portrule = function() return true end
action = function() return "never" end
EON
chmod 644 "$TMP/needmod.nse"
if TR 60 -Pn -n -sT -p 80 --script "$TMP/needmod.nse,http-title.nse" "$W"; then
  grep -q "script 'needmod' skipped: it requires module 'no_such_module_for_trawl'" "$TMP/tr.err" &&
    ok "a missing module is named and the script skipped" || { nok "missing module not named"; show "$TMP/tr.err"; }
  grep -q 'http-title' "$TMP/tr.out" && ok "the other script still ran" || nok "http-title did not run"
else
  nok "scan with a script needing a missing module exits 0"; show "$TMP/tr.err"
fi
export TRAWL_NMAPDIR=$TMP/nonexistent
TR 60 -Pn -n -sT -p 80 --script vuln "$W"
rc=$(cat "$TMP/tr.rc")
[ "$rc" = 2 ] && [ "$(wc -l <"$TMP/tr.err")" = 1 ] && grep -q 'nmap-common' "$TMP/tr.err" &&
  ok "without nmap-common: one line naming it, exit 2" || { nok "without nmap-common (rc $rc)"; show "$TMP/tr.err"; }
if TR 60 -Pn -n -sT -p 2323 --script banner "$W" && grep -q 'TRAWL-LAB-BANNER' "$TMP/tr.out"; then
  ok "without nmap-common trawl's own banner runs"
else
  nok "trawl's banner without nmap-common"; show "$TMP/tr.err"
fi
unset TRAWL_NMAPDIR
finish
