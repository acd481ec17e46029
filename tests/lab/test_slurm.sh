#!/usr/bin/env bash
# ctest-cost: 45
# test_slurm.sh BUILD_DIR: the Slurm recipe of docs/scale-out.md, for real
# (issue 15). Starts Debian's munged, slurmctld and slurmd (one node,
# "localhost", 4 CPUs, cgroup-free: proctrack/linuxproc, task/none, no
# accounting) on 127.0.0.1 with a config, key, state, spool and logs of
# their own under the test's temp dir and ports of their own; the daemons
# talk on loopback only, in the root namespace. Then it submits
# deploy/slurm/trawl-shard.sbatch as a job array (--array=0-3), whose tasks
# run trawl inside the lab's scanner namespace (TRAWL_CMD="ip netns exec
# SCAN-NS trawl") against lab addresses only, then the dependent merge job
# (--dependency=afterok:ARRAY), and checks that the merged result equals one
# unsharded scan: the same hosts, ports and states. merge_step (below) is
# the one place that decides how the shards are merged: with `trawl merge`
# (deploy/slurm/trawl-merge.sbatch) when the binary has it, and then ndiff
# must find no difference; until then with a python3 union of the shards'
# XML. Jobs are waited for by polling `scontrol show job` up to a deadline.
# At exit (trap) the jobs are cancelled, every daemon and job process is
# stopped by pid, the lab is taken down and the temp dir removed.
# Own lab (prefix twslurm<pid>-). Last line "N passed, M failed".
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/scan-lib.sh"
SRC=$(readlink -f "$HERE/../..")
scan_init slurm "${1:-}"

for t in munged mungekey slurmctld slurmd sbatch scontrol scancel sinfo; do
  command -v $t >/dev/null || nok "tool $t missing (scripts/deps.sh installs munge, slurmctld, slurmd, slurm-client)"
done
[ $fail -eq 0 ] || finish

SL=$TMP/slurm     # everything of the daemons: config, key, state, logs
SHOUT=$TMP/shards # the jobs' outputs (the shared file system of a cluster)
mkdir -p "$SL"/{munge,state,spool,log,jobout} "$SHOUT"
chmod 700 "$SL/munge"
export SLURM_CONF=$SL/slurm.conf
DAEMONS=() # "name pid starttime"

# starttime PID: field 22 of /proc/PID/stat, to tell a process from a later
# one with the same pid
starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }
# ours PID START: the process is still the one we started
ours() { [ -n "$2" ] && [ "$(starttime "$1")" = "$2" ]; }

# job_pids: the processes of our jobs (slurmstepd, the job scripts, trawl).
# slurmstepd leaves slurmd's process tree, so they are found by their
# environment, which carries this test's own SLURM_CONF, less this shell's
# own descendants (the daemons, sbatch, scontrol: they carry it too).
job_pids() {
  "$PY" - "$SLURM_CONF" $$ <<'EOF'
import os, sys
conf, me = ("SLURM_CONF=" + sys.argv[1]).encode(), sys.argv[2]
def parent(p):
    try:
        with open("/proc/%s/stat" % p) as f:
            return f.read().rsplit(")", 1)[1].split()[1]
    except OSError:
        return "0"
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/%s/environ" % p, "rb") as f:
            if conf not in f.read().split(b"\0"):
                continue
    except OSError:
        continue
    q = p
    while q not in ("0", "1", me):
        q = parent(q)
    if q != me:
        print(p)
EOF
}

slurm_cleanup() {
  local i n p st left
  local jobs=()
  [ -n "${ARRAY_JOB:-}" ] && jobs+=("$ARRAY_JOB")
  [ -n "${MERGE_JOB:-}" ] && jobs+=("$MERGE_JOB")
  [ ${#jobs[@]} -gt 0 ] && timeout 10 scancel --quiet "${jobs[@]}" 2>/dev/null
  # job processes first (by pid), then the daemons in reverse order
  for p in $(job_pids); do kill -TERM "$p" 2>/dev/null; done
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    read -r n p st <<<"${DAEMONS[$i]}"
    ours "$p" "$st" && kill -TERM "$p" 2>/dev/null
  done
  for _ in $(seq 100); do # up to 5 s
    left=0
    for i in "${!DAEMONS[@]}"; do
      read -r n p st <<<"${DAEMONS[$i]}"
      ours "$p" "$st" && left=1
    done
    [ -n "$(job_pids)" ] && left=1
    [ $left = 0 ] && break
    sleep 0.05
  done
  for i in "${!DAEMONS[@]}"; do
    read -r n p st <<<"${DAEMONS[$i]}"
    if ours "$p" "$st"; then echo "note - $n (pid $p) ignored TERM: KILL"; kill -KILL "$p" 2>/dev/null; fi
  done
  for p in $(job_pids); do kill -KILL "$p" 2>/dev/null; done
}
trap 'slurm_cleanup; scan_cleanup' EXIT
# a timeout (ctest) or ^C still runs the EXIT trap: no daemon is left behind
trap 'exit 143' TERM
trap 'exit 130' INT

# start NAME CMD...: run a daemon in the foreground (as a child of this
# shell), remember its pid and start time
start() {
  local n=$1; shift
  "$@" >"$SL/log/$n.out" 2>&1 </dev/null &
  local p=$!
  DAEMONS+=("$n $p $(starttime $p)")
}
daemon_alive() {
  local n p st
  for d in "${DAEMONS[@]}"; do
    read -r n p st <<<"$d"
    [ "$n" = "$1" ] && ours "$p" "$st" && return 0
  done
  return 1
}
# why NAME: the last lines of a daemon's output and log, under a failure
why() { tail -n 15 "$SL/log/$1.out" "$SL/log/$1.log" 2>/dev/null | sed 's/^/       /'; }

# two free TCP ports on loopback for slurmctld and slurmd (not Slurm's
# defaults 6817/6818, so that a cluster on this machine is not disturbed;
# below the ephemeral range, where clients' connections come and go)
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 12000))
    # no socket of any state on it (a TIME_WAIT left by a client can make
    # a daemon's bind fail too)
    ss -Htan "sport = :$p" | grep -q . || { echo $p; return; }
  done
  echo 0
}
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
[ "$SLURMD_PORT" != "$CTLD_PORT" ] || SLURMD_PORT=$((CTLD_PORT + 1))

# ------------------------------------------------------------------ munge
mungekey -c -k "$SL/munge/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$SL/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$SL/munge/munge.key"
MSOCK=$SL/munge/munge.sock
# --force: the socket's directory is private to root (700), which munged
# warns about; clients here all run as root
start munged munged -F --force --key-file="$SL/munge/munge.key" --socket="$MSOCK" \
  --pid-file="$SL/munge/munged.pid" --log-file="$SL/log/munged.log" --seed-file="$SL/munge/seed"
for _ in $(seq 100); do [ -S "$MSOCK" ] && break; sleep 0.05; done
if munge -S "$MSOCK" -n 2>/dev/null | unmunge -S "$MSOCK" >/dev/null 2>&1; then
  ok "munged runs on its own key and socket ($MSOCK)"
else
  nok "munged runs on its own key and socket"; why munged; finish
fi

# ------------------------------------------------------------------ slurm.conf
cat >"$SLURM_CONF" <<EOF
# written by tests/lab/test_slurm.sh: one node on loopback, no cgroups
ClusterName=trawltest
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$MSOCK
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$SL/slurmd.pid
SlurmctldLogFile=$SL/log/slurmctld.log
SlurmdLogFile=$SL/log/slurmd.log
PlugStackConfig=$SL/plugstack.conf
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# 4 CPUs on a 2-core machine: take the node as configured
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=lab Nodes=localhost Default=YES MaxTime=10 State=UP
EOF
: >"$SL/plugstack.conf"

start slurmctld slurmctld -D -i
start slurmd slurmd -D -N localhost
# the node is up when sinfo says idle (bounded: 30 s)
state=
for _ in $(seq 300); do
  state=$(timeout 5 sinfo -h -n localhost -o %t 2>/dev/null)
  [ "$state" = idle ] && break
  daemon_alive slurmctld && daemon_alive slurmd || break
  sleep 0.1
done
if [ "$state" = idle ]; then
  ok "slurmctld (port $CTLD_PORT) and slurmd (port $SLURMD_PORT) up on loopback, node idle"
else
  nok "slurmctld and slurmd up, node localhost idle (node state '${state:-none}';" \
    "slurmctld $(daemon_alive slurmctld && echo running || echo DEAD)," \
    "slurmd $(daemon_alive slurmd && echo running || echo DEAD))"
  why slurmctld; why slurmd
  finish
fi

# ------------------------------------------------------------------ lab and the scan
scan_lab_up
SHARDS=4
SEED=1515
RATE=2000 # global; each shard gets RATE/SHARDS with --max-rate
# the lab's server segment (web, dns, win, nat, udp and a dead address)
# and 32 addresses of the AnyIP host, eight ports with open, closed and
# filtered (dropped and rejected) answers: 38 hosts x 8 ports
SCAN=(-sS -n -Pn -p 21,22,53,80,443,2323,8080,8081
  "$LAB_WEB_IP" "$LAB_DNS_IP" "$LAB_WIN_IP" "$LAB_NAT_IP" "$LAB_UDP_IP" "$LAB_DEAD_IP"
  "${LAB_BIG_NET%.*.*}.0.0/27")

t0=$(date +%s%N)
TR 120 "${SCAN[@]}" --seed $SEED -oX "$OUT/full.xml"
check "unsharded reference scan exits 0 ($(((($(date +%s%N) - t0) / 1000000))) ms)" test "$(cat "$TMP/tr.rc")" = 0

# job_states JOBID: "STATE" per job (array tasks one line each)
job_states() {
  timeout 10 scontrol -o show job "$1" 2>/dev/null | sed -n 's/.* JobState=\([A-Z_]*\) .*/\1/p'
}
# wait_jobs JOBID COUNT SECS: until COUNT jobs of JOBID are in a final
# state, at most SECS; true when all of them COMPLETED
wait_jobs() {
  local id=$1 want=$2 end=$(($(date +%s) + $3)) st n
  while :; do
    st=$(job_states "$id")
    n=$(grep -cE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$' <<<"$st")
    [ "$n" -ge "$want" ] && break
    [ "$(date +%s)" -lt $end ] || { echo "still not done after $3 s: $(tr '\n' ' ' <<<"$st")"; return 1; }
    sleep 0.2
  done
  [ "$(grep -c '^COMPLETED$' <<<"$st")" = "$want" ] || { echo "states: $(tr '\n' ' ' <<<"$st")"; return 1; }
}

# ------------------------------------------------------------------ the job array
t0=$(date +%s%N)
ARRAY_JOB=$(timeout 30 sbatch --parsable --array=0-$((SHARDS - 1)) -o "$SL/jobout/shard-%A_%a.out" \
  "--export=ALL,TRAWL_SHARDS=$SHARDS,TRAWL_SEED=$SEED,TRAWL_RATE=$RATE,TRAWL_OUT=$SHOUT,TRAWL_CMD=ip netns exec $S $TRAWL" \
  "$SRC/deploy/slurm/trawl-shard.sbatch" "${SCAN[@]}" 2>"$TMP/sbatch.err")
if [[ $ARRAY_JOB =~ ^[0-9]+$ ]]; then
  ok "sbatch --array=0-$((SHARDS - 1)) deploy/slurm/trawl-shard.sbatch: job $ARRAY_JOB"
else
  nok "sbatch of the job array: $(cat "$TMP/sbatch.err")"; ARRAY_JOB=; finish
fi

# ------------------------------------------------------------------ the merge step
# have_merge: the trawl binary has the merge subcommand (`trawl merge
# --help` prints its own usage, with --allow-partial; a trawl without it
# prints the scanner's help, which has no such option)
have_merge() { timeout 10 "$TRAWL" merge --help 2>&1 | grep -q -- '--allow-partial'; }

# merge_step: submits the merge job that depends on the array, waits for
# it; leaves the merged result in $SHOUT: merged.xml (trawl merge, MERGED=xml)
# or union.txt (python3 union of the shards, MERGED=union). The only
# place that knows how the shards are merged.
merge_step() {
  local script
  if have_merge; then
    MERGED=xml
    script=$SRC/deploy/slurm/trawl-merge.sbatch
  else
    MERGED=union
    script=$TMP/union.sbatch
    cat >"$script" <<EOF
#!/bin/bash
# stand-in merge job while this trawl has no merge subcommand: the union of
# the shards' hosts, ports and states ("ADDR STATUS" and "ADDR PROTO PORT STATE")
exec "$PY" - "\$TRAWL_OUT"/shard-*.xml >"\$TRAWL_OUT/union.txt" <<'PY'
import sys, xml.etree.ElementTree as ET
seen = {}
for f in sys.argv[1:]:
    for h in ET.parse(f).getroot().iter("host"):
        a = h.find("address").get("addr")
        print(a, h.find("status").get("state"))
        for p in h.iter("port"):
            k = (a, p.get("protocol"), p.get("portid"))
            if k in seen:
                sys.exit("%s %s/%s in %s and %s" % (k[0], k[2], k[1], seen[k], f))
            seen[k] = f
            print(*k, p.find("state").get("state"))
PY
EOF
  fi
  MERGE_JOB=$(timeout 30 sbatch --parsable --dependency=afterok:$ARRAY_JOB -o "$SL/jobout/merge-%j.out" \
    "--export=ALL,TRAWL_SHARDS=$SHARDS,TRAWL_OUT=$SHOUT,TRAWL_CMD=$TRAWL" "$script" 2>"$TMP/sbatch.err")
  if [[ $MERGE_JOB =~ ^[0-9]+$ ]]; then
    ok "sbatch --dependency=afterok:$ARRAY_JOB $(basename "$script"): job $MERGE_JOB ($MERGED)"
  else
    nok "sbatch of the merge job: $(cat "$TMP/sbatch.err")"; MERGE_JOB=; return 1
  fi
  # while the array runs, the merge job waits on its dependency
  case $(job_states "$MERGE_JOB") in
    PENDING | COMPLETED) ok "the merge job is held until the array is done ($(job_states "$MERGE_JOB"))" ;;
    *) nok "the merge job is held until the array is done: $(job_states "$MERGE_JOB")" ;;
  esac
  if wait_jobs "$ARRAY_JOB" $SHARDS 90 >"$TMP/wait.out"; then
    ok "all $SHARDS array tasks COMPLETED ($(((($(date +%s%N) - t0) / 1000000))) ms after sbatch)"
  else
    nok "all $SHARDS array tasks COMPLETED: $(cat "$TMP/wait.out")"
    tail -n 5 "$SL"/jobout/shard-* | sed 's/^/       /'
  fi
  if wait_jobs "$MERGE_JOB" 1 60 >"$TMP/wait.out"; then
    ok "merge job COMPLETED ($(((($(date +%s%N) - t0) / 1000000))) ms after the array's sbatch)"
  else
    nok "merge job COMPLETED: $(cat "$TMP/wait.out")"
    tail -n 5 "$SL"/jobout/merge-* | sed 's/^/       /'
    return 1
  fi
}

# ------------------------------------------------------------------ shards
merge_step
for ((i = 0; i < SHARDS; i++)); do
  f=$SHOUT/shard-$i.xml
  if [ -s "$f" ] && valid_xml "$f" 2>/dev/null; then
    ok "shard $i: $(basename "$f") written and valid under nmap.dtd"
  else
    nok "shard $i: $f written and valid under nmap.dtd"
    tail -n 5 "$SL/jobout/shard-${ARRAY_JOB}_$i.out" 2>/dev/null | sed 's/^/       /'
  fi
done
# every task scanned its own shard at its part of the global rate
want=$(awk -v r=$RATE -v n=$SHARDS 'BEGIN { printf "%.6g", r / n }')
check "each shard ran with --shards $SHARDS --shard I --seed $SEED --max-rate $want (RATE $RATE / $SHARDS)" \
  "$PY" - "$SHOUT" $SHARDS $SEED "$want" <<'EOF'
import sys, xml.etree.ElementTree as ET
d, n, seed, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for i in range(n):
    a = ET.parse("%s/shard-%d.xml" % (d, i)).getroot().get("args").split()
    want = {"--shards": str(n), "--shard": str(i), "--seed": seed, "--max-rate": rate}
    got = {k: a[a.index(k) + 1] for k in want if k in a}
    if got != want:
        sys.exit("shard %d: %s, want %s" % (i, got, want))
EOF
# each shard has a part of the ports, none all of them
check "the shards are disjoint parts: none has every (host, port)" \
  "$PY" - "$SHOUT" $SHARDS "$OUT/full.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
def pairs(f):
    return {(h.find("address").get("addr"), p.get("portid"))
            for h in ET.parse(f).getroot().iter("host") for p in h.iter("port")}
full = pairs(sys.argv[3])
for i in range(int(sys.argv[2])):
    s = pairs("%s/shard-%d.xml" % (sys.argv[1], i))
    print("shard", i, len(s), "of", len(full))
    if not s or s == full:
        sys.exit("shard %d has %d of %d" % (i, len(s), len(full)))
EOF

# ------------------------------------------------------------------ merged = unsharded
# listing FILE: "ADDR STATUS" and "ADDR PROTO PORT STATE" lines, sorted
listing() {
  "$PY" - "$1" <<'EOF' | LC_ALL=C sort -u
import sys, xml.etree.ElementTree as ET
for h in ET.parse(sys.argv[1]).getroot().iter("host"):
    a = h.find("address").get("addr")
    print(a, h.find("status").get("state"))
    for p in h.iter("port"):
        print(a, p.get("protocol"), p.get("portid"), p.find("state").get("state"))
EOF
}
listing "$OUT/full.xml" >"$TMP/full.list"
nports=$(awk 'NF == 4' "$TMP/full.list" | wc -l)
if [ "${MERGED:-}" = xml ]; then
  M=$SHOUT/merged.xml
  check "merged.xml valid under nmap.dtd" valid_xml "$M"
  listing "$M" >"$TMP/merged.list" 2>&1
  if diff "$TMP/full.list" "$TMP/merged.list" >"$TMP/diff"; then
    ok "merged = unsharded: the same hosts, ports and states ($nports ports)"
  else
    nok "merged = unsharded: hosts, ports and states differ"; show "$TMP/diff"
  fi
  timeout 60 ndiff "$OUT/full.xml" "$M" >"$TMP/ndiff.out" 2>&1
  rc=$?
  if [ $rc = 0 ]; then
    ok "ndiff full.xml merged.xml: no differences"
  else
    nok "ndiff full.xml merged.xml: no differences (exit $rc)"; show "$TMP/ndiff.out"
  fi
elif [ "${MERGED:-}" = union ]; then
  echo "note - this trawl has no 'merge' subcommand: the shards' union (python3) is compared instead, and ndiff is not run"
  LC_ALL=C sort -u "$SHOUT/union.txt" >"$TMP/union.list" 2>/dev/null
  if [ -s "$TMP/union.list" ] && diff "$TMP/full.list" "$TMP/union.list" >"$TMP/diff"; then
    ok "union of the shards = unsharded: the same hosts, ports and states ($nports ports)"
  else
    nok "union of the shards = unsharded: hosts, ports and states differ"; show "$TMP/diff"
  fi
fi
check "the unsharded scan found open, closed and filtered ports" \
  bash -c "grep -q ' open$' '$TMP/full.list' && grep -q ' closed$' '$TMP/full.list' && grep -q ' filtered$' '$TMP/full.list'"

finish
