#!/usr/bin/env bash
# loop.sh BUILD_DIR: libtrawl's event loop against libuv and libev on the
# same workloads (bench/loop-{trawl,uv,ev}.c, parameters in
# bench/loop-common.h, method in docs/benchmarks.md). Run by `make
# bench-loop`. Each workload runs REPS times per library, the libraries
# interleaved (the starting one rotates), and the median is reported.
# WORKLOADS="timers ..." runs only those.
#
# stdout: exactly one line per workload,
#   RESULT <workload> trawl=<v><unit> libuv=<v><unit> libev=<v><unit> vs_libuv=<r> vs_libev=<r>
# where a ratio above 1.0 means libtrawl is faster (rates: trawl/peer, wall
# times: peer/trawl). Progress and machine details go to stderr.
set -euo pipefail

BUILD=${1:?usage: bench/loop.sh BUILD_DIR}
REPS=${REPS:-7}
BIN="$BUILD/bench"
for p in loop-trawl loop-uv loop-ev; do
  [ -x "$BIN/$p" ] || { echo "loop.sh: $BIN/$p missing (configure with -DTRAWL_BENCH=ON)" >&2; exit 1; }
done

# Numbers from a Debug or sanitizer build would say nothing about libtrawl.
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
san=$(sed -n 's/^TRAWL_SANITIZE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
btype=${btype:-RelWithDebInfo} # an empty cache entry: the top-level default
case "$btype" in
  Release|RelWithDebInfo) ;;
  *) if [ "${BENCH_ALLOW_DEBUG:-0}" != 1 ]; then
       echo "loop.sh: $BUILD is a '$btype' build; benchmark a Release or RelWithDebInfo build" >&2
       exit 1
     fi ;;
esac
case "$san" in ON|on|1|TRUE|true)
  echo "loop.sh: $BUILD is built with sanitizers; use a plain build" >&2; exit 1 ;;
esac

echo "loop.sh: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
     "kernel $(uname -r), build $btype, $REPS repetitions, median" >&2

PP_WARMUP=$(awk '/#define PP_WARMUP_MS/ { print $3 / 1000 }' "$(dirname "$0")/loop-common.h")
FILES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/trawl-bench-files.XXXXXX")
trap 'rm -rf "$FILES_DIR"' EXIT
"$BIN/loop-trawl" mkfiles "$FILES_DIR"
cat "$FILES_DIR"/* >/dev/null # page cache warm, for everyone

# run NAME WORKLOAD [ENV...]: one run, prints its value
run() {
  local prog=$1 w=$2
  shift 2
  local out
  if ! out=$(env "$@" "$BIN/$prog" "$w" "$FILES_DIR"); then
    echo "loop.sh: $prog $w failed" >&2
    exit 1
  fi
  if [ "$prog $w $*" = "loop-trawl files TRAWL_NO_IOURING=1" ]; then
    grep -q '^INFO backend=threadpool' <<<"$out" || { echo "loop.sh: pool run did not use the pool" >&2; exit 1; }
  elif [ "$prog $w" = "loop-trawl files" ]; then
    grep -q '^INFO backend=io_uring' <<<"$out" ||
      echo "loop.sh: warning: io_uring unavailable, 'files' measures the pool" >&2
  fi
  # "value cpu_rate" (cpu_rate: ping-pong round trips per CPU second, else -)
  awk '/^INFO cpu_rate=/ { split($2, a, "="); c = a[2] } $1 == "VALUE" { v = $2 }
       END { print v, (c == "" ? "-" : c) }' <<<"$out"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# result WORKLOAD KIND(rate|time) UNIT TRAWL UV EV
result() {
  awk -v w="$1" -v kind="$2" -v u="$3" -v t="$4" -v uv="$5" -v ev="$6" 'BEGIN {
    fmt = (kind == "rate") ? "%.0f" : "%.1f"
    ruv = (kind == "rate") ? t / uv : uv / t
    rev = (ev == "n/a") ? "n/a" : sprintf("%.2f", (kind == "rate") ? t / ev : ev / t)
    printf "RESULT %s trawl=" fmt "%s libuv=" fmt "%s libev=", w, t, u, uv, u
    if (ev == "n/a") printf "n/a"; else printf fmt "%s", ev, u
    printf " vs_libuv=%.2f vs_libev=%s\n", ruv, rev
  }'
}

libs=(trawl uv ev)
for w in ${WORKLOADS:-pingpong1 pingpong100 timers files}; do
  declare -a v_trawl=() v_uv=() v_ev=() v_pool=() c_trawl=() c_uv=() c_ev=()
  for ((r = 0; r < REPS; r++)); do
    for ((k = 0; k < 3; k++)); do
      lib=${libs[(r + k) % 3]}
      read -r val cpu < <(run "loop-$lib" "$w")
      [ -n "$val" ] || exit 1
      eval "v_$lib+=(\"\$val\"); c_$lib+=(\"\$cpu\")"
      if [ "$w" = files ] && [ "$lib" = trawl ]; then
        read -r val cpu < <(run loop-trawl files TRAWL_NO_IOURING=1)
        [ -n "$val" ] || exit 1
        v_pool+=("$val")
      elif [ "$w" = timers ] && [ "$lib" = trawl ]; then
        # the same timers allocated one by one (tw_timer_new)
        read -r val cpu < <(run loop-trawl timers TRAWL_BENCH_TIMER_ALLOC=1)
        [ -n "$val" ] || exit 1
        v_pool+=("$val")
      fi
    done
    echo "loop.sh: $w rep $((r + 1)): trawl=${v_trawl[r]} libuv=${v_uv[r]} libev=${v_ev[r]}${v_pool:+ trawl_variant=${v_pool[r]:-}}" >&2
  done
  mt=$(median "${v_trawl[@]}"); mu=$(median "${v_uv[@]}"); me=$(median "${v_ev[@]}")
  case $w in
    pingpong*)
      # Rates over CPU time: the same comparison without the machine's
      # other load in it (stderr only; see docs/benchmarks.md).
      echo "loop.sh: $w per CPU second (median): trawl=$(median "${c_trawl[@]}")" \
           "libuv=$(median "${c_uv[@]}") libev=$(median "${c_ev[@]}")" >&2
      result "$w" rate rt/s "$mt" "$mu" "$me" ;;
    timers)
      result "$w" time ms "$mt" "$mu" "$me"
      # The same libuv and libev runs, against timers from tw_timer_new.
      result timers_alloc time ms "$(median "${v_pool[@]}")" "$mu" "$me" ;;
    files)
      result files time ms "$mt" "$mu" "$me"
      # The same libuv and libev runs, against libtrawl on its thread pool.
      result files_pool time ms "$(median "${v_pool[@]}")" "$mu" "$me" ;;
  esac
  unset v_trawl v_uv v_ev v_pool c_trawl c_uv c_ev
done

# Instructions per round trip in user space (valgrind's callgrind counts
# them exactly, whatever the machine's load): what each library itself
# costs on top of the kernel, which does most of a loopback ping-pong.
# Lower is better; the ratio is libuv's count over libtrawl's.
if command -v valgrind >/dev/null && [ "${CALLGRIND:-1}" = 1 ]; then
  CG=$(mktemp -d "${TMPDIR:-/tmp}/trawl-bench-cg.XXXXXX")
  declare -A ir=()
  for lib in trawl uv ev; do
    out=$(valgrind --tool=callgrind --callgrind-out-file="$CG/$lib.out" \
            "$BIN/loop-$lib" pingpong1 "$FILES_DIR" 2>/dev/null) || { echo "loop.sh: callgrind run of $lib failed" >&2; continue; }
    rate=$(awk '$1 == "VALUE" { print $2 }' <<<"$out")
    total=$(callgrind_annotate "$CG/$lib.out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ { gsub(",", "", $1); print $1 }')
    # round trips in the run: the measured second plus the warm-up
    rts=$(awk -v r="$rate" -v w="$PP_WARMUP" 'BEGIN { printf "%.0f", r * (1 + w) }')
    [ -n "$total" ] && [ "${rts:-0}" -gt 0 ] && ir[$lib]=$(awk -v t="$total" -v n="$rts" 'BEGIN { printf "%.0f", t / n }')
  done
  rm -rf "$CG"
  if [ -n "${ir[trawl]:-}" ] && [ -n "${ir[uv]:-}" ] && [ -n "${ir[ev]:-}" ]; then
    awk -v t="${ir[trawl]}" -v u="${ir[uv]}" -v e="${ir[ev]}" 'BEGIN {
      printf "RESULT pingpong1_instr trawl=%dIr/rt libuv=%dIr/rt libev=%dIr/rt vs_libuv=%.2f vs_libev=%.2f\n", t, u, e, u / t, e / t }'
  fi
fi
