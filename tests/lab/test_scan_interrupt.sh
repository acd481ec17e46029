#!/usr/bin/env bash
# ctest-cost: 210
# test_scan_interrupt.sh BUILD_DIR: Ctrl-C in the middle of a big scan.
# trawl scans the lab's AnyIP /16 (198.19.0.0/16 x 22,80,443: 196,608 open
# ports) at a modest --max-rate with -oX, -oN and -oG; once its status line
# (--stats-every) shows progress and a first host is written it gets
# SIGINT. Then:
#   - it exits non-zero, soon, saying it was interrupted;
#   - the XML is well-formed and valid under nmap.dtd and ends with
#     <finished exit="error" errormsg="...interrupted...">;
#   - the normal and grepable files are complete (flushed): the same open
#     ports as the XML, and their trailers;
#   - only real open ports are reported, and (man page, OUTPUT) only
#     complete hosts: with -Pn every host here has exactly 3 open ports;
#   - `trawl --resume` of that output finishes the job: interrupted +
#     resumed results = the results of an uninterrupted run (sorted
#     host/port/state lists), which are the ground truth.
# Own lab (prefix twinter<pid>-). Last line "N passed, M failed".
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
scan_init interrupt "${1:-}"
scan_lab_up

NET=$LAB_BIG_NET
PORTS=$(tr ' ' , <<<"$LAB_BIG_TCP_OPEN")
NOPEN=$((65536 * $(wc -w <<<"$LAB_BIG_TCP_OPEN")))
ARGS=(-sS -n -Pn --max-rate 20000 --stats-every 200ms -p "$PORTS" "$NET")
openset() { "$PY" "$RESULTS" open "$1" | LC_ALL=C sort -u; }
# every (host, port) in ground truth: 198.19.0.0/16 x {22,80,443}
in_truth() { awk -v ports=" $LAB_BIG_TCP_OPEN " '
  { split($1, o, "."); if (!(o[1] == 198 && o[2] == 19 && index(ports, " " $2 " "))) { print "not open in the lab:", $0; bad = 1 } }
  END { exit bad }' "$1"; }

# ------------------------------------------------------------------ interrupt
timeout -k 5 120 ip netns exec "$S" "$TRAWL" "${ARGS[@]}" \
  -oX "$OUT/int.xml" -oN "$OUT/int.nmap" -oG "$OUT/int.gnmap" \
  >"$TMP/int.out" 2>"$TMP/int.err" </dev/null &
TO=$!
SCAN_PIDS=$TO
# trawl is the child of timeout (ip netns exec execs it)
TPID=
for _ in $(seq 50); do TPID=$(pgrep -P "$TO" | head -1); [ -n "$TPID" ] && break; sleep 0.1; done
# bounded wait (30 s) for a status line showing at least 5 % done AND a
# first complete host in the grepable file (hosts are written as they
# complete; 5 % of the probes alone does not promise a complete host: on a
# loaded CI machine it once did not, and -oX then rightly had none)
progress=""
for _ in $(seq 150); do
  progress=$(grep -o '[0-9.]*% done' "$TMP/int.err" | tail -1)
  [ -n "$progress" ] && awk -v p="${progress%%%*}" 'BEGIN { exit !(p >= 5) }' &&
    grep -q '^Host: .*Ports: ' "$OUT/int.gnmap" 2>/dev/null && break
  kill -0 "$TO" 2>/dev/null || break
  sleep 0.2
done
if [ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null; then
  ok "scan running, status shows '$progress' before SIGINT"
  kill -INT "$TPID"
else
  nok "scan still running when its status shows progress (status: '${progress:-none}')"
  show "$TMP/int.err"
fi
t0=$(date +%s%N)
for _ in $(seq 300); do kill -0 "$TO" 2>/dev/null || break; sleep 0.1; done
wait "$TO"
rc=$?
SCAN_PIDS=
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && [ "$rc" -lt 139 ]; then
  ok "interrupted trawl exits non-zero ($rc) by itself, $ms ms after SIGINT"
else
  nok "interrupted trawl exits non-zero by itself (exit $rc, $ms ms after SIGINT)"; show "$TMP/int.err" 5
fi
check "stderr says interrupted" grep -qi "interrupted" "$TMP/int.err"
check "int.xml is well-formed and valid under nmap.dtd" valid_xml "$OUT/int.xml"
rs=$(runstats "$OUT/int.xml" 2>/dev/null)
if [[ "$rs" == error\ *interrupted* ]]; then ok "runstats: finished exit=\"error\" errormsg with 'interrupted' ($rs)"
else nok "runstats: finished exit=\"error\" errormsg containing 'interrupted' (got: ${rs:-none})"; fi

openset "$OUT/int.xml" >"$TMP/int.xml.open" 2>/dev/null
openset "$OUT/int.gnmap" >"$TMP/int.gnmap.open" 2>/dev/null
# normal output: "scan report for ADDR" then "PORT/tcp open ..." lines
awk '/scan report for/ { h = $NF } /^[0-9]+\/tcp +open / { split($1, p, "/"); print h, p[1] }' \
  "$OUT/int.nmap" | LC_ALL=C sort -u >"$TMP/int.nmap.open"
n=$(wc -l <"$TMP/int.xml.open")
if [ "$n" -gt 0 ] && [ "$n" -lt "$NOPEN" ]; then ok "interrupted -oX has part of the open ports ($n of $NOPEN)"
else nok "interrupted -oX has part of the open ports (got $n of $NOPEN)"; fi
check "only real open ports reported" in_truth "$TMP/int.xml.open"
check "-oN flushed: the same open ports as -oX" diff "$TMP/int.xml.open" "$TMP/int.nmap.open"
check "-oG flushed: the same open ports as -oX" diff "$TMP/int.xml.open" "$TMP/int.gnmap.open"
check "-oN ends with its '# ... done' trailer" bash -c "tail -1 '$OUT/int.nmap' | grep -q '^# .* done at '"
check "-oG ends with its '# ... done' trailer" bash -c "tail -1 '$OUT/int.gnmap' | grep -q '^# .* done at '"
# complete hosts only: every listed host with all 3 ports
hosts "$OUT/int.xml" >"$TMP/int.hosts" 2>/dev/null
nh=$(awk '$2 == "up"' "$TMP/int.hosts" | wc -l)
partial=$(awk '{ c[$1]++ } END { for (h in c) if (c[h] < 3) n++; print n + 0 }' "$TMP/int.xml.open")
empty=$((nh - $(cut -d' ' -f1 "$TMP/int.xml.open" | sort -u | wc -l)))
if [ "$partial" -eq 0 ] && [ "$empty" -eq 0 ]; then
  ok "interrupted -oX lists only complete hosts ($nh hosts, all with 3 open ports)"
else
  nok "interrupted -oX lists only complete hosts (man page): of $nh hosts up, $partial have 1-2 of their 3 open ports, $empty none"
fi

# ------------------------------------------------------------------ uninterrupted reference
TR 180 "${ARGS[@]}" -oX "$OUT/full.xml"
rc=$(cat "$TMP/tr.rc")
openset "$OUT/full.xml" >"$TMP/full.open" 2>/dev/null
nf=$(wc -l <"$TMP/full.open")
if [ "$rc" = 0 ] && [ "$nf" = "$NOPEN" ] && in_truth "$TMP/full.open" >/dev/null; then
  ok "uninterrupted run: exit 0, all $NOPEN open ports, nothing else"
else
  nok "uninterrupted run: exit 0, all $NOPEN open ports (exit $rc, $nf open)"
fi

# ------------------------------------------------------------------ --resume
# Nmap resumes from its normal or grepable output; trawl also reads its XML
# (src/cli/resume.h). Each of the three is resumed from a fresh copy of the
# interrupted outputs. Results: the union of what every output file holds
# afterwards (normal and grepable are appended to; the XML of the resumed
# part may go to a file of its own: int.xml*) and what the resumed run
# printed, compared with the uninterrupted run.
mkdir "$TMP/orig"
cp -p "$OUT"/int.* "$TMP/orig/"
for f in gnmap nmap xml; do
  rm -f "$OUT"/int.*
  cp -p "$TMP/orig"/int.* "$OUT/"
  TR 180 --resume "$OUT/int.$f"
  rc=$(cat "$TMP/tr.rc")
  if [ "$rc" != 0 ]; then
    nok "trawl --resume int.$f exits 0 (got $rc: $(head -1 "$TMP/tr.err"))"
    continue
  fi
  ok "trawl --resume int.$f exits 0"
  {
    for x in "$OUT"/int.*; do openset "$x"; done
    awk '/scan report for/ { h = $NF } /^[0-9]+\/tcp +open / { split($1, p, "/"); print h, p[1] }' \
      "$TMP/tr.out" "$OUT/int.nmap"
  } 2>/dev/null | LC_ALL=C sort -u >"$TMP/resumed.open"
  if diff "$TMP/full.open" "$TMP/resumed.open" >"$TMP/diff"; then
    ok "--resume int.$f: interrupted + resumed = uninterrupted ($(wc -l <"$TMP/resumed.open") host/port/state lines)"
  else
    nok "--resume int.$f: interrupted + resumed = uninterrupted: $(grep -c '^<' "$TMP/diff") missing, $(grep -c '^>' "$TMP/diff") extra"
    show "$TMP/diff" 5
  fi
  for x in "$OUT"/int.xml*; do
    check "--resume int.$f: $(basename "$x") valid under nmap.dtd" valid_xml "$x"
  done
done

finish
