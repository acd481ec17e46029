#!/usr/bin/env bash
# run.sh: run every libFuzzer harness (tests/fuzz/fuzz_NAME.c, built as
# BUILD/fuzz_NAME by `make fuzz`) for SECONDS each, JOBS at a time.
#
#   tests/fuzz/run.sh BUILD SECONDS [JOBS]
#
# FUZZ_ONLY="packet dispatch" (names without fuzz_) runs only those.
# Each harness starts from its seed corpus tests/fuzz/corpus/NAME/, which
# is only read: new inputs go to a scratch directory, so the tree is never
# modified. A harness passes when the fuzzer ends by the time limit with no
# finding (crash, leak, sanitizer report, an input over the timeout below,
# out of memory). One line
# per harness: executions, executions per second, corpus size; then
# "N passed, N failed". A finding's input and the fuzzer's log are kept
# under the scratch directory, whose path is printed; add the input to
# the corpus as a regression input once the bug is fixed (docs/fuzzing.md).
set -u

BUILD=${1:?usage: run.sh BUILD SECONDS [JOBS]}
SECONDS_EACH=${2:?usage: run.sh BUILD SECONDS [JOBS]}
JOBS=${3:-1}
SRC=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$BUILD" && pwd) || exit 2
SCRATCH=$(mktemp -d /tmp/trawl-fuzz.XXXXXX)

# one harness: prints its line, and "PASS" or "FAIL" in $SCRATCH/NAME.rc
run_one() {
  local name=$1 bin="$BUILD/fuzz_$1" work="$SCRATCH/$1"
  mkdir -p "$work/new" "$work/artifacts"
  local seeds=()
  [ -d "$SRC/corpus/$name" ] && seeds=("$SRC/corpus/$name")
  if [ ! -x "$bin" ]; then
    printf '%-22s FAILED: %s not built\n' "fuzz_$name" "$bin"
    echo FAIL >"$SCRATCH/$name.rc"
    return
  fi
  # -timeout: one input may take at most 25 s, except for targets: a
  # pattern of just under TARGETS_MAX_RANGES ranges ("*.*.0-63.1") is
  # accepted by design and takes seconds under ASan, more on a busy
  # machine; -rss_limit_mb: 2 GiB; -max_len: inputs up to 64 KiB (files,
  # long command lines).
  local timeout=25
  [ "$name" = targets ] && timeout=60
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$SECONDS_EACH" -timeout="$timeout" -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
      "$work/new" "${seeds[@]}" >"$work/log" 2>&1
  local rc=$?
  local execs rate corpus
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*' "$work/log" | tail -1 | sed 's/corp: //')
  # slow-unit-* files are libFuzzer's note of inputs over 10 s that stayed
  # under the timeout: reported, not failures; anything else is a finding
  local findings slow
  findings=$(ls "$work/artifacts" | grep -v '^slow-unit-')
  slow=$(ls "$work/artifacts" | grep -c '^slow-unit-')
  if [ "$rc" -eq 0 ] && [ -z "$findings" ]; then
    printf '%-22s ok: %s executions in %s s (%s/s), corpus %s%s\n' "fuzz_$name" \
      "${execs:-?}" "$SECONDS_EACH" "${rate:-?}" "${corpus:-?}" \
      "$([ "$slow" -gt 0 ] && echo ", $slow input(s) over 10 s (under the timeout)")"
    echo PASS >"$SCRATCH/$name.rc"
  else
    printf '%-22s FAILED (exit %s) after %s executions: %s; log %s\n' "fuzz_$name" "$rc" \
      "${execs:-?}" "$(echo "$findings" | head -1)" "$work/log"
    grep -m1 -E 'ERROR: |runtime error|invariant failed' "$work/log" | sed 's/^/    /'
    echo FAIL >"$SCRATCH/$name.rc"
  fi
}
export -f run_one
export BUILD SECONDS_EACH SRC SCRATCH

names=()
for f in "$SRC"/fuzz_*.c; do
  n=$(basename "$f" .c)
  n=${n#fuzz_}
  if [ -n "${FUZZ_ONLY:-}" ] && [[ " $FUZZ_ONLY " != *" $n "* ]]; then continue; fi
  names+=("$n")
done
[ ${#names[@]} -gt 0 ] || { echo "no harnesses in $SRC"; exit 2; }
echo "fuzzing ${#names[@]} harnesses for $SECONDS_EACH s each, $JOBS at a time (scratch: $SCRATCH)"
printf '%s\n' "${names[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one "$@"' _ {}

pass=0 fail=0
for n in "${names[@]}"; do
  if [ "$(cat "$SCRATCH/$n.rc" 2>/dev/null)" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "fuzz: $pass passed, $fail failed"
if [ "$fail" -eq 0 ]; then
  rm -rf "$SCRATCH"
  exit 0
fi
echo "fuzz: findings and logs kept in $SCRATCH"
exit 1
