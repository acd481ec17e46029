# shellcheck shell=bash
# scan-lib.sh: shared by the scanner's lab tests (test_scan_*.sh), sourced,
# not run. Brings up a lab of the test's own (unique prefix, torn down on
# EXIT), runs trawl and nmap inside its scanner namespace only, every
# command under `timeout`, and counts checks ("N passed, M failed" last).
#
#   scan_init NAME BUILD_DIR   checks root and tools, sets TRAWL, TMP, OUT
#   scan_lab_up                lab.sh up with prefix twNAME<pid>-, eval env
#   TR SECS ARGS...            trawl ARGS in the scanner namespace; stdout,
#                              stderr and exit status in $TMP/tr.{out,err,rc}
#   X SECS CMD...              any CMD in the scanner namespace
#   ok/nok/check/finish        as in test_lab.sh
#   bad_args RC NEEDLE ARGS... trawl ARGS must exit RC ("any": non-zero,
#                              not a timeout) with exactly one stderr line
#                              containing NEEDLE, and print no report
#   capture_start              tcpdump on every interface of the scanner
#                              namespace, from now on ($TMP/cap.pcap)
#   capture_quiet ADDR PORT    ends it with a control scan (trawl -sS of
#                              ADDR:PORT, which must show up in it) and
#                              checks that nothing was sent before
#   ports FILE / hosts FILE    scan_results.py: sorted result lines
#
# trawl opens its output files as root, but runs as nobody (and a test may
# run it as nobody from the start): $OUT is a directory anybody may write
# to (sticky, like /tmp) for that reason.

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=$HERE/lab.sh
RESULTS=$HERE/scan_results.py
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3
NMAP_DTD=/usr/share/nmap/nmap.dtd
NMAP_XSL=/usr/share/nmap/nmap.xsl

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
nok() { fail=$((fail + 1)); echo "FAIL - $*"; }
# check DESC CMD...: passes when CMD exits 0 (output kept in $TMP/cmd.out)
check() { local d=$1; shift; if "$@" >"$TMP/cmd.out" 2>&1; then ok "$d"; else nok "$d"; sed 's/^/       /' "$TMP/cmd.out" | head -20; fi; }
finish() {
  echo "$pass passed, $fail failed"
  [ $fail -eq 0 ]
  exit
}
# show FILE [N]: indent the first N (20) lines of FILE under a failure
show() { sed 's/^/       /' "$1" | head -"${2:-20}"; }

scan_cleanup() {
  local pid
  for pid in ${SCAN_PIDS:-}; do kill "$pid" 2>/dev/null; done
  if [ -n "${TRAWL_LAB_PREFIX:-}" ]; then timeout 60 "$LAB" down >/dev/null 2>&1; fi
  [ -n "${TMP:-}" ] && rm -rf "$TMP"
}

scan_init() {
  TEST_NAME=$1
  BUILD=${2:-}
  TMP=$(mktemp -d "/tmp/trawl-test-$TEST_NAME.XXXXXX")
  chmod 755 "$TMP"
  OUT=$TMP/out
  mkdir -m 1777 "$OUT"
  SCAN_PIDS=
  trap scan_cleanup EXIT
  if [ -z "$BUILD" ]; then nok "usage: test_scan_$TEST_NAME.sh BUILD_DIR"; finish; fi
  TRAWL=$(readlink -f "$BUILD")/trawl
  if [ "$(id -u)" -ne 0 ]; then nok "must run as root"; finish; fi
  [ -x "$TRAWL" ] || { nok "$TRAWL not built"; finish; }
  local t
  for t in ip nmap xmllint xsltproc ndiff tcpdump timeout nft; do
    command -v $t >/dev/null || nok "tool $t missing (scripts/deps.sh installs it)"
  done
  [ -r $NMAP_DTD ] || nok "$NMAP_DTD missing (Debian package nmap-common)"
  [ $fail -eq 0 ] || finish
}

# scan_sanitized: true when $TRAWL is built with AddressSanitizer (make
# test-asan). Its allocator keeps freed memory in a quarantine and pads every
# block, so absolute memory bounds hold only for the normal build; LSan
# cannot run under ptrace (strace), so traced runs turn leak checks off.
scan_sanitized() {
  # not `ldd | grep -q`: under pipefail, grep's early exit can leave ldd
  # with SIGPIPE and the pipeline false, at random
  case "$(ldd "$TRAWL" 2>/dev/null)" in *libasan*) return 0 ;; esac
  return 1
}

scan_lab_up() {
  # unique per test and run: twNAME<pid>- (lab.sh allows 24 characters)
  export TRAWL_LAB_PREFIX="tw${TEST_NAME:0:6}$$-"
  if ! timeout 120 "$LAB" up >"$TMP/up.log" 2>&1; then
    nok "lab.sh up (prefix $TRAWL_LAB_PREFIX)"
    show "$TMP/up.log"
    finish
  fi
  eval "$("$LAB" env)"
  S=$LAB_NS_SCAN
}

X() { local secs=$1; shift; timeout "$secs" ip netns exec "$S" "$@"; }
# TR SECS ARGS...: trawl in the scanner namespace
TR() {
  local secs=$1; shift
  timeout -k 5 "$secs" ip netns exec "$S" "$TRAWL" "$@" >"$TMP/tr.out" 2>"$TMP/tr.err" </dev/null
  echo $? >"$TMP/tr.rc"
  return "$(cat "$TMP/tr.rc")"
}
# NM SECS ARGS...: nmap in the scanner namespace
NM() {
  local secs=$1; shift
  timeout -k 5 "$secs" ip netns exec "$S" nmap "$@" >"$TMP/nm.out" 2>"$TMP/nm.err" </dev/null
}

# trace_compare TRAWL_XML NMAP_XML CMP_OUT NMAP_ARGS...: trace_results.py
# compare into CMP_OUT; hosts that differ are traced by nmap once more
# (NMAP_ARGS, those hosts only) and count as the same if trawl's hops
# equal that answer: nmap's own traces vary from run to run under load
trace_compare() {
  local txml=$1 nxml=$2 cmp=$3; shift 3
  "$PY" "$HERE/trace_results.py" compare "$txml" "$nxml" >"$cmp" && return 0
  local -a again
  mapfile -t again < <("$PY" "$HERE/trace_results.py" differing "$cmp")
  [ "${#again[@]}" -gt 0 ] || return 1
  NM 300 "$@" -oX "$nxml.rerun" "${again[@]}"
  [ -s "$nxml.rerun" ] || return 1
  "$PY" "$HERE/trace_results.py" compare "$txml" "$nxml" "$nxml.rerun" >"$cmp"
}

ports() { "$PY" "$RESULTS" ports "$1"; }
hosts() { "$PY" "$RESULTS" hosts "$1"; }
runstats() { "$PY" "$RESULTS" runstats "$1"; }

# valid_xml FILE: well-formed and valid against Nmap's DTD
valid_xml() { xmllint --noout --dtdvalid "$NMAP_DTD" "$1"; }

# port_state PORTSFILE ADDR PORT [PROTO]: "STATE REASON TTL" or "none"
port_state() {
  awk -v a="$2" -v p="$3" -v pr="${4:-tcp}" \
    '$1 == a && $3 == p && $2 == pr { print $4, $5, $6; f = 1; exit } END { if (!f) print "none" }' "$1"
}
# host_line HOSTSFILE ADDR: "STATUS REASON TTL MAC" or "none"
host_line() {
  awk -v a="$2" '$1 == a { print $2, $3, $4, $5; f = 1; exit } END { if (!f) print "none" }' "$1"
}
# in_list WORD LIST...: WORD is one of LIST
in_list() { local w=$1 x; shift; for x in "$@"; do [ "$x" = "$w" ] && return 0; done; return 1; }

# capture_start: everything but IPv6 multicast (the kernel's own neighbour
# discovery and MLD chatter, which no trawl command causes)
capture_start() {
  timeout -k 2 300 ip netns exec "$S" tcpdump -i any -n -U -w "$TMP/cap.pcap" \
    'arp or ip or (ip6 and not ip6 multicast)' 2>"$TMP/tcpdump.err" &
  CAP=$!
  SCAN_PIDS="${SCAN_PIDS:-} $CAP"
  for _ in $(seq 100); do grep -q "listening on" "$TMP/tcpdump.err" && break; sleep 0.1; done
  check "tcpdump listens in the scanner namespace" grep -q "listening on" "$TMP/tcpdump.err"
}
# capture_quiet ADDR PORT: the control scan's SYN must be in the capture
# (proving it works), and no packet from before it
capture_quiet() {
  local a=$1 p=$2 mark
  sleep 0.2
  mark=$(date +%s.%N)
  TR 30 -sS -n -Pn -p "$p" "$a"
  check "control scan finds $a:$p open" grep -Eq "^$p/tcp +open" "$TMP/tr.out"
  for _ in $(seq 30); do
    [ "$(tcpdump -r "$TMP/cap.pcap" -n 2>/dev/null | grep -c "> $a.$p: Flags \[S\]")" -gt 0 ] && break
    sleep 0.1
  done
  kill -INT "$CAP" 2>/dev/null
  wait "$CAP" 2>/dev/null
  SCAN_PIDS=${SCAN_PIDS// $CAP/}
  tcpdump -r "$TMP/cap.pcap" -n -tt 2>/dev/null >"$TMP/cap.txt"
  check "capture works: the control scan's SYN to $a.$p is in it" grep -q "> $a.$p: Flags \[S\]" "$TMP/cap.txt"
  awk -v m="$mark" '$1 < m' "$TMP/cap.txt" >"$TMP/cap.before"
  if [ ! -s "$TMP/cap.before" ]; then ok "no packet sent by any of the bad command lines"
  else nok "packets sent by bad command lines: $(wc -l <"$TMP/cap.before")"; show "$TMP/cap.before" 10; fi
}

bad_args() {
  local want=$1 needle=$2; shift 2
  TR 30 "$@"
  local rc nl good=1
  rc=$(cat "$TMP/tr.rc")
  nl=$(wc -l <"$TMP/tr.err")
  if [ "$want" = any ]; then [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] || good=0
  else [ "$rc" = "$want" ] || good=0; fi
  if [ $good = 1 ] && [ "$nl" -eq 1 ] && grep -qF -- "$needle" "$TMP/tr.err" &&
    ! grep -q "scan report\|^Starting" "$TMP/tr.out"; then
    ok "trawl $* -> exit $rc: $(cat "$TMP/tr.err")"
  else
    nok "trawl $*: want one stderr line naming '$needle', exit $want, no report; got exit $rc, $nl lines:"
    show "$TMP/tr.err" 5
    show "$TMP/tr.out" 3
  fi
}
