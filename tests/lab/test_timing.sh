#!/usr/bin/env bash
# test_timing.sh BUILD_DIR: trawl's timing table (src/scan/timing.c) against
# what Nmap itself says. For each timing template -T0..-T5, and for command
# lines that give RTT timeouts, retries, delays and rates alone or against
# each other, it runs
#   nmap -d ARGS -sL -n 198.18.0.1            (its "Timing report")
#   trawl --dry-run -d ARGS -sn -n 198.18.0.1 (the same lines, timing.c)
# each under `unshare -n` (a network namespace with no network at all: nmap
# -sL -n sends nothing anyway, and here it could not), parses both reports
# into fields (hostgroups min/max, rtt-timeouts init/min/max, max-scan-delay
# TCP/UDP/SCTP, parallelism min/max, max-retries, host-timeout, min-rate,
# max-rate) and compares them field by field. Command lines Nmap refuses
# must be refused by trawl too.
# Needs no lab. Exit 77 (ctest: skipped) when nmap is not installed (or
# TRAWL_NMAP names no program) or no network namespace can be made; last
# line "N passed, M failed".
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SKIP=77
BUILD=${1:-}
if [ -z "$BUILD" ]; then echo "usage: test_timing.sh BUILD_DIR"; exit 2; fi
TRAWL=$(readlink -f "$BUILD")/trawl
[ -x "$TRAWL" ] || { echo "FAIL - $TRAWL not built"; exit 1; }
NMAP=${TRAWL_NMAP:-$(command -v nmap)} # TRAWL_NMAP: another nmap to compare with
if [ -z "$NMAP" ] || [ ! -x "$NMAP" ]; then
  echo "SKIP: nmap is not installed (apt-get install nmap): nothing to compare trawl's timing table with"
  exit $SKIP
fi
# no network at all: a new network namespace (root), or a user namespace too
if unshare -n true 2>/dev/null; then
  NONET=(unshare -n)
elif unshare -rn true 2>/dev/null; then
  NONET=(unshare -rn)
else
  echo "SKIP: cannot make a network namespace (unshare -n) to run nmap in"
  exit $SKIP
fi
TMP=$(mktemp -d /tmp/trawl-test-timing.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
TARGET=198.18.0.1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
nok() { fail=$((fail + 1)); echo "FAIL - $*"; }
show() { sed 's/^/       /' "$1" | head -"${2:-20}"; }

# fields FILE START: the indented "label: ..." lines after the line matching
# START, as sorted "key value" lines. "rtt-timeouts: init 1, min 2" gives
# rtt-timeouts.init 1 and rtt-timeouts.min 2; "max-retries: 10,
# host-timeout: 0" gives max-retries 10 and host-timeout 0.
fields() {
  awk -v start="$2" '
    $0 ~ start { on = 1; next }
    on && !/^  [a-z-]+: / { on = 0 }
    on {
      line = substr($0, 3)
      label = substr(line, 1, index(line, ":") - 1)
      rest = substr(line, index(line, ":") + 2)
      n = split(rest, part, ", ")
      for (i = 1; i <= n; i++) {
        p = part[i]
        if (i > 1 && index(p, ": ")) {
          label = substr(p, 1, index(p, ":") - 1)
          p = substr(p, index(p, ":") + 2)
        }
        if (split(p, kv, " ") == 2) print label "." kv[1], kv[2]
        else print label, p
      }
    }' "$1" | sort
}

NMAP_FIELDS=14 # what Nmap 7.93's report holds; fewer means its format changed

# same ARGS...: both accept the command line and report the same fields
same() {
  local args="$*"
  # shellcheck disable=SC2086 # ARGS are words on purpose
  timeout -k 2 60 "${NONET[@]}" "$NMAP" -d $args -sL -n "$TARGET" >"$TMP/nmap.out" 2>&1
  local nrc=$?
  # shellcheck disable=SC2086
  timeout -k 2 60 "${NONET[@]}" "$TRAWL" --dry-run -d $args -sn -n "$TARGET" >"$TMP/trawl.out" 2>&1
  local trc=$?
  if [ $nrc -ne 0 ]; then nok "nmap $args: exit $nrc"; show "$TMP/nmap.out"; return; fi
  if [ $trc -ne 0 ]; then nok "trawl $args: exit $trc (nmap accepts it)"; show "$TMP/trawl.out"; return; fi
  fields "$TMP/nmap.out" "Timing report" >"$TMP/nmap.f"
  fields "$TMP/trawl.out" "^timing report" >"$TMP/trawl.f"
  local nf
  nf=$(wc -l <"$TMP/nmap.f")
  if [ "$nf" -ne $NMAP_FIELDS ]; then
    nok "nmap $args: $nf fields in its Timing report, expected $NMAP_FIELDS"
    show "$TMP/nmap.out" 40
    return
  fi
  # every field of Nmap's report, compared as numbers, in trawl's report
  local diffs
  diffs=$(awk 'NR == FNR { t[$1] = $2; next }
               !($1 in t) { printf "%s: nmap %s, trawl none; ", $1, $2; next }
               t[$1] + 0 != $2 + 0 { printf "%s: nmap %s, trawl %s; ", $1, $2, t[$1] }' \
    "$TMP/trawl.f" "$TMP/nmap.f")
  if [ -z "$diffs" ]; then
    ok "$args: $(grep -F rtt-timeouts "$TMP/nmap.f" | awk '{ printf "%s=%s ", $1, $2 }')retries $(awk '$1 == "max-retries" { print $2 }' "$TMP/nmap.f")"
  else
    nok "$args: $diffs"
  fi
}

# refused ARGS...: nmap refuses the command line, and so does trawl (exit 2,
# one line)
refused() {
  local args="$*"
  # shellcheck disable=SC2086
  timeout -k 2 60 "${NONET[@]}" "$NMAP" -d $args -sL -n "$TARGET" >"$TMP/nmap.out" 2>&1
  local nrc=$?
  # shellcheck disable=SC2086
  timeout -k 2 60 "${NONET[@]}" "$TRAWL" --dry-run -d $args -sn -n "$TARGET" >"$TMP/trawl.out" 2>"$TMP/trawl.err"
  local trc=$?
  if [ $nrc -eq 0 ]; then nok "nmap $args: accepted (expected a refusal)"; return; fi
  if [ $trc -eq 2 ] && [ "$(wc -l <"$TMP/trawl.err")" -eq 1 ]; then
    ok "$args: refused by both ($(cat "$TMP/trawl.err"))"
  else
    nok "$args: nmap refuses it, trawl exit $trc"
    show "$TMP/trawl.err"
  fi
}

echo "# $("$NMAP" --version | head -1)"
for t in 0 1 2 3 4 5; do same "-T$t"; done
same -T paranoid
same -T insane
same ""
# RTT timeouts alone (issue 13) and against each other
same --max-rtt-timeout 50ms
same --max-rtt-timeout 5ms
same --initial-rtt-timeout 20s
same --initial-rtt-timeout 50ms
same --min-rtt-timeout 20s
same --min-rtt-timeout 0
same -T0 --max-rtt-timeout 1s
same -T1 --min-rtt-timeout 20s
same -T5 --max-rtt-timeout 100ms
same -T5 --initial-rtt-timeout 10ms
same --max-rtt-timeout 2s -T4
same --min-rtt-timeout 500ms --max-rtt-timeout 200ms
same --max-rtt-timeout 200ms --min-rtt-timeout 500ms
same --initial-rtt-timeout 5s --max-rtt-timeout 1s
same --min-rtt-timeout 500ms --initial-rtt-timeout 200ms
same -T5 --min-rtt-timeout 0.2s --max-rtt-timeout 2 --initial-rtt-timeout 1s
# the other fields
same --max-retries 3 -T5
same -T4 --max-retries 0
same --host-timeout 1s -T5
same --host-timeout 0 -T5
same --scan-delay 2s -T4
same -T0 --scan-delay 10ms
same --max-hostgroup 7
same --min-rate 100.5 --max-rate 1000
same --min-parallelism 2 --max-parallelism 5 --min-hostgroup 3 --max-scan-delay 10ms
same -T4 --max-scan-delay 20ms
same --scan-delay 10ms --max-scan-delay 5ms
same --max-scan-delay 0 -T5
same -T1 --max-parallelism 4
same --min-hostgroup 7 --max-hostgroup 7
# what Nmap refuses
refused --max-rtt-timeout 4ms
refused --max-rtt-timeout 0
refused --initial-rtt-timeout 0
refused --min-parallelism 0
refused --max-parallelism 0
refused --min-parallelism 6 --max-parallelism 5
refused --min-hostgroup 10 --max-hostgroup 5
refused --max-scan-delay -1

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
